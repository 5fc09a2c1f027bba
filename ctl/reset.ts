import { createInterface } from 'node:readline/promises';
import { ResetResponse, ROUTES } from '../shared/api.js';
import { RpcopyError } from '../shared/errors.js';
import type { Command } from './command.js';

const WHAT: Record<string, string> = {
  inventory: 'list the source vaults again from the start (points are matched by ARN; nothing is duplicated)',
  metadata: 'read the metadata CSV again and re-join it',
  plan: 'decide again every point whose copy has not started',
  failed: 'requeue every failed point with fresh attempts (canaries run again first)',
  all: 'all of the above: inventory, metadata, plan and failed points',
};

export const resetCommand: Command = {
  name: 'reset',
  summary:
    'regenerate part of the state (inventory, metadata, plan, failed, all), after confirmation; no copy is undone',
  usage: 'rpctl reset inventory|metadata|plan|failed|all [--vault NAME] [--yes] [--json]',
  options: { vault: { type: 'string' }, yes: { type: 'boolean', short: 'y' } },
  async run(ctx) {
    const [target, ...extra] = ctx.positionals;
    if (target === undefined || extra.length > 0 || !(target in WHAT)) {
      throw new RpcopyError(
        'BAD_REQUEST',
        `rpctl reset: expected one of ${Object.keys(WHAT).join(', ')}${target ? `, got ${JSON.stringify(target)}` : ''}`,
      );
    }
    const vault = typeof ctx.values.vault === 'string' ? ctx.values.vault : undefined;
    if (ctx.values.yes !== true) {
      if (!process.stdin.isTTY || !process.stdout.isTTY) {
        throw new RpcopyError('BAD_REQUEST', 'rpctl reset: not a terminal, so nothing to confirm with: add --yes');
      }
      const question = `This will ${WHAT[target]}${vault ? ` for vault ${vault}` : ''}. Continue? [y/N] `;
      const rl = createInterface({ input: process.stdin, output: process.stdout });
      const answer = await rl.question(question);
      rl.close();
      if (!/^y(es)?$/i.test(answer.trim())) {
        ctx.out('nothing was reset');
        return 0;
      }
    }
    const result = await ctx.client().post(ROUTES.reset, ResetResponse, { target, ...(vault ? { vault } : {}) });
    ctx.out(ctx.json ? JSON.stringify(result, null, 2) : result.message);
    return 0;
  },
};
