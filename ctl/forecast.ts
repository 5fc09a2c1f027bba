import { ForecastResponse, ROUTES } from '../shared/api.js';
import { RpcopyError } from '../shared/errors.js';
import type { Command } from './command.js';
import { formatCost, range } from './forecast-cost.js';
import { bytes, columns, count, distinct, duration, localTime } from './format.js';
import { slowClient } from './preflight.js';

const LIMITERS: Record<string, string> = {
  copy_job_quota: 'the concurrent copy-job quota (jobs in flight)',
  request_rate: 'the StartCopyJob request rate (copy.start_rate)',
  resource_chains: 'the resource chains (one job per resource at a time): the heaviest chain alone takes this long',
  nothing_left: 'nothing: no point is left to copy',
};

const gib = bytes;
const formatDuration = duration;

export const forecastCommand: Command = {
  name: 'forecast',
  summary: 'time left, what limits the run, measured rates per resource type, windows needed and the finish date',
  usage: 'rpctl forecast [--cost] [--json]',
  options: { cost: { type: 'boolean', default: false } },
  async run(ctx) {
    const f = await slowClient(ctx).get(ROUTES.forecast, ForecastResponse);
    if (ctx.values.cost === true) {
      if (!f.cost) throw new RpcopyError('INTERNAL', 'this rpcopyd does not forecast costs: upgrade it');
      ctx.out(ctx.json ? JSON.stringify(f.cost, null, 2) : formatCost(f.cost));
      return 0;
    }
    if (ctx.json) {
      ctx.out(JSON.stringify(f, null, 2));
      return 0;
    }
    const lines = [
      columns([
        ['remaining', `${count(f.remainingItems)} points, ${gib(f.remainingBytes)}`],
        ['work left', `${formatDuration(f.workMs)} of copying, windows aside`],
        ['limited by', LIMITERS[f.limiter] ?? f.limiter],
        [
          'bounds',
          `quota ${formatDuration(f.bounds.quotaMs)}, request rate ${formatDuration(f.bounds.requestRateMs)}, ` +
            `chains ${formatDuration(f.bounds.chainsMs)}`,
        ],
        [
          'finish',
          f.finishAt
            ? `${localTime(f.finishAt)}${f.windowsNeeded !== null ? ` (${f.windowsNeeded} change windows)` : ''}`
            : 'does not fit the schedule (the run’s max runtime, or no window opens)',
        ],
      ]),
      '',
      columns([
        ['TYPE', 'REMAINING', 'SIZE', 'JOB MODEL', 'LAST HOUR'],
        ...f.byType.map((t) => [
          t.resourceType,
          count(t.remainingItems),
          gib(t.remainingBytes),
          `${formatDuration(t.model.baseMs)} + ${((t.model.msPerByte * 2 ** 30) / 1000).toFixed(1)} s/GiB (${
            t.model.source === 'measured' ? `${t.model.samples} measured` : t.model.source
          })`,
          `${count(t.lastHour.items)} copies, ${gib(t.lastHour.bytes)}`,
        ]),
      ]),
    ];
    if (f.notes.length > 0) lines.push('', ...distinct(f.notes).map((n) => `note: ${n}`));
    if (f.cost) {
      lines.push(
        '',
        `storage cost: ${range(f.cost.monthlyCostLow, f.cost.monthlyCostHigh)} in ${f.cost.peakMonth}, its highest month (rpctl forecast --cost)`,
      );
    }
    ctx.out(lines.join('\n'));
    return 0;
  },
};
