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

/**
 * What AWS's own count of running copy jobs says beside rpcopy's: the account's jobs include other backup plans'
 * and tools', and once rpcopy is done the count is from its last look, so a job there is not one it follows.
 */
export function awsInFlightText(status: StatusResponse): string {
  const copy = status.copy;
  if (!copy || copy.awsInFlight === null) return '';
  const n = copy.awsInFlight;
  const notFollowed = copy.awsInFlightNotFollowed;
  if (status.state === 'done' || status.phase === 'done') {
    if (n === 0) return '';
    const when = copy.lastSweepAt ? ` at its last look (${localTime(copy.lastSweepAt)})` : '';
    return `AWS reported ${count(n)} CREATED or RUNNING${when}, none of them a job rpcopy follows (another backup plan's or tool's)`;
  }
  const others =
    notFollowed !== undefined && notFollowed !== null && notFollowed > 0
      ? ` (${count(notFollowed)} not rpcopy's to follow: another backup plan's or tool's, or an answer still on its way)`
      : '';
  return `AWS reports ${count(n)} CREATED or RUNNING${others}`;
}

/** What an operator's pause means for the copy jobs already started. */
export function pauseEffect(status: StatusResponse): string | undefined {
  if (status.state !== 'paused') return undefined;
  if (status.pauseReason === 'credentials') {
    return 'AWS cannot be called: copy jobs already started run on in AWS but are not followed until the credentials work again';
  }
  // Only a running copy phase follows jobs; a pause before it (preflight) leaves earlier runs' jobs to its start.
  return status.phase === 'copy'
    ? 'no new copy job starts; copy jobs already started are still followed and verified'
    : 'nothing new starts; copy jobs started earlier are reconciled when the copy phase starts';
}

function copyRows(status: StatusResponse): [string, string][] {
  const copy = status.copy;
  if (!copy) return [];
  const aws = awsInFlightText(status);
  const rows: [string, string][] = [
    [
      'copy jobs',
      `${count(status.counts.inFlight)} in flight of a limit of ${copy.inFlightLimit} (max ${copy.maxInFlight}` +
        `${copy.learnedQuota !== null ? `, account quota seen at ${copy.learnedQuota}` : ''})` +
        `${aws ? `; ${aws}` : ''}`,
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

/** A run that stops at the plan (or before copying) says so, so that "done" never reads as "copied". */
const STOPS_BEFORE_COPY = { dry_run: 'a dry run', no_copy: 'a --no-copy run' } as const;

export function stateText(status: StatusResponse): string {
  const state = status.state === 'paused' && status.pauseReason ? `paused (${status.pauseReason})` : status.state;
  const stops = status.runMode && status.runMode !== 'copy' ? STOPS_BEFORE_COPY[status.runMode] : undefined;
  return stops ? `${state} (${stops}: nothing is copied)` : state;
}

export function itemsText(status: StatusResponse): string {
  const c = status.counts;
  const forLater = status.runMode && status.runMode !== 'copy' ? ' for a copying run' : '';
  return (
    `${count(c.skipped)} skipped, ${count(c.queued)} queued${forLater}, ${count(c.inFlight)} in flight, ` +
    `${count(c.completed)} completed, ${count(c.failed)} failed`
  );
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
    const state = stateText(status);
    ctx.out(
      columns([
        ['state', state],
        ...(status.state === 'paused' && status.pauseDetail
          ? ([['why', status.pauseDetail]] as [string, string][])
          : []),
        ...(pauseEffect(status) ? ([['meanwhile', pauseEffect(status)]] as [string, string][]) : []),
        ...(status.warnings ?? []).map((w): [string, string] => ['WARNING', w]),
        ['phase', status.phase],
        [
          'points',
          `${count(status.counts.discovered)} discovered (${status.inventory.vaultsDone} of ${status.inventory.vaultsSelected} vaults listed)`,
        ],
        ['items', itemsText(status)],
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
