import { ROUTES, StatusResponse } from '../shared/api.js';
import { formatDuration } from '../shared/duration.js';
import type { Command } from './command.js';
import { columns, count } from './format.js';

export const statusCommand: Command = {
  name: 'status',
  summary: 'phase, state, counts per state and the daemon it talks to',
  usage: 'rpctl status [--json]',
  async run(ctx) {
    const status = await ctx.client().get(ROUTES.status, StatusResponse);
    if (ctx.json) {
      ctx.out(JSON.stringify(status, null, 2));
      return 0;
    }
    const state = status.state === 'paused' && status.pauseReason ? `paused (${status.pauseReason})` : status.state;
    const c = status.counts;
    ctx.out(
      columns([
        ['state', state],
        ['phase', status.phase],
        [
          'points',
          `${count(c.discovered)} discovered (${status.inventory.vaultsDone} of ${status.inventory.vaultsSelected} vaults listed)`,
        ],
        [
          'items',
          `${count(c.skipped)} skipped, ${count(c.queued)} queued, ${count(c.inFlight)} in flight, ` +
            `${count(c.completed)} completed, ${count(c.failed)} failed`,
        ],
        ['accounts', `${status.source.accountId} → ${status.destination.accountId} in ${status.source.region}`],
        [
          'daemon',
          `rpcopyd ${status.daemon.version}, pid ${status.daemon.pid}, up ${formatDuration(status.daemon.uptimeMs)}`,
        ],
        ['state dir', status.daemon.stateDir],
      ]),
    );
    return 0;
  },
};
