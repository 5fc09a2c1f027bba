import { ROUTES, StatusResponse } from '../shared/api.js';
import type { Command } from './command.js';
import { columns, count, duration, localTime, measured } from './format.js';

function windowRows(status: StatusResponse): [string, string][] {
  const w = status.window;
  if (!w) return [];
  if (!w.open) {
    return [['window', `closed; opens ${w.opensAt ? localTime(w.opensAt) : 'never (no window day configured)'}`]];
  }
  const closes = w.closesAt ? `open until ${localTime(w.closesAt)}` : 'open';
  return [['window', `${closes}${w.drainFrom ? `; no new copy job from ${localTime(w.drainFrom)}` : ''}`]];
}

function copyRows(status: StatusResponse): [string, string][] {
  const copy = status.copy;
  if (!copy) return [];
  const rows: [string, string][] = [
    [
      'copy jobs',
      `${count(status.counts.inFlight)} in flight of a window of ${copy.window} (max ${copy.maxInFlight}` +
        `${copy.learnedQuota !== null ? `, account quota seen at ${copy.learnedQuota}` : ''})` +
        `${copy.awsInFlight !== null ? `; AWS reports ${count(copy.awsInFlight)} CREATED or RUNNING` : ''}`,
    ],
    [
      'this run',
      `${count(copy.startedThisRun)} started, ${count(copy.finishedThisRun)} finished, ${count(copy.verifiedThisRun)} verified` +
        `; average job time ${measured(copy.meanJobSeconds === null ? null : copy.meanJobSeconds * 1000)}`,
    ],
    [
      'canaries',
      `${copy.canaries.open} passed, ${copy.canaries.probing} running, ${copy.canaries.pending} waiting, ${copy.canaries.failed} failed`,
    ],
  ];
  for (const f of copy.topFailures) {
    rows.push([`failed: ${f.reason}`, `${count(f.count)} (${f.kind}) — ${f.description}; e.g. ${f.example}`]);
  }
  for (const r of copy.retrying) rows.push([`retrying: ${r.reason}`, `${count(r.count)} waiting for another attempt`]);
  if (copy.topFailures.length > 0) rows.push(['', 'once a cause is fixed: rpctl retry --reason REASON']);
  return rows;
}

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
        ...(status.state === 'paused' && status.pauseDetail
          ? ([['why', status.pauseDetail]] as [string, string][])
          : []),
        ...(status.warnings ?? []).map((w): [string, string] => ['WARNING', w]),
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
        ...windowRows(status),
        ...copyRows(status),
        ['accounts', `${status.source.accountId} → ${status.destination.accountId} in ${status.source.region}`],
        [
          'daemon',
          `rpcopyd ${status.daemon.version}, pid ${status.daemon.pid}, up ${duration(status.daemon.uptimeMs)}`,
        ],
        ['state dir', status.daemon.stateDir],
      ]),
    );
    return 0;
  },
};
