import { ForecastResponse, ROUTES } from '../shared/api.js';
import type { Command } from './command.js';
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
  usage: 'rpctl forecast [--json]',
  async run(ctx) {
    const f = await slowClient(ctx).get(ROUTES.forecast, ForecastResponse);
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
    ctx.out(lines.join('\n'));
    return 0;
  },
};
