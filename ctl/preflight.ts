import { PreflightResponse, ROUTES } from '../shared/api.js';
import { ERROR_CODES } from '../shared/errors.js';
import { socketPath } from '../shared/socket.js';
import { createClient } from './client.js';
import type { Command, CommandContext } from './command.js';
import { columns } from './format.js';

/** Exit code when a check fails (preflight) or finds drift (compliance); documented in docs/operator-guide.md. */
export const CHECK_FAILED_EXIT = ERROR_CODES.CHECK_FAILED.exit;

/** The checks call AWS (a few seconds, more under throttling): a client with a longer timeout than status's. */
export function slowClient(ctx: CommandContext) {
  const stateDir =
    (ctx.values['state-dir'] as string | undefined) ?? process.env.RPCOPY_STATE_DIR ?? ctx.config().daemon.stateDir;
  return createClient(socketPath(stateDir), 180_000);
}

export const preflightCommand: Command = {
  name: 'preflight',
  summary: 'check identities, region, organization, IAM permissions, copy role, key and vault policies',
  usage: 'rpctl preflight [--json]',
  async run(ctx) {
    const result = await slowClient(ctx).post(ROUTES.preflight, PreflightResponse);
    if (ctx.json) {
      ctx.out(JSON.stringify(result, null, 2));
    } else {
      const rows = result.checks.map((c) => [c.status.toUpperCase(), c.check, c.detail]);
      const lines = [columns([['STATUS', 'CHECK', 'DETAIL'], ...rows])];
      const toFix = result.checks.filter((c) => c.status !== 'pass' && c.fix);
      if (toFix.length > 0) {
        lines.push('', 'How to fix:');
        for (const c of toFix) lines.push(`  ${c.check}: ${c.fix}`);
      }
      const count = (s: string) => result.checks.filter((c) => c.status === s).length;
      lines.push('', `${count('pass')} pass, ${count('fail')} fail, ${count('unknown')} unknown`);
      ctx.out(lines.join('\n'));
    }
    return result.ok ? 0 : CHECK_FAILED_EXIT;
  },
};
