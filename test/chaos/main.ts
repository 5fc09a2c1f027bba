// `npm run chaos -- --seeds N [--from S]` runs seeds S..S+N-1 one after another; `--seed S` replays one seed;
// `--print` shows a seed's schedule without running it. A failing seed prints its seed, schedule and
// violations, and the command exits 1 once every seed has run.

import { parseArgs } from 'node:util';
import { formatResult, runSeed } from './chaos.js';
import { formatSchedule, generateSchedule } from './schedule.js';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string' },
    seed: { type: 'string' },
    from: { type: 'string', default: '1' },
    print: { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
  },
});

function integer(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) {
    console.error(`chaos: --${name} must be a whole number, got ${JSON.stringify(text)}`);
    process.exit(2);
  }
  return Number(text);
}

const one = integer('seed', values.seed);
const count = integer('seeds', values.seeds);
const from = integer('from', values.from) ?? 1;
if ((one === undefined) === (count === undefined)) {
  console.error('usage: npm run chaos -- --seeds N [--from S] | --seed S [--print] [--verbose]');
  process.exit(2);
}
const seeds = one !== undefined ? [one] : Array.from({ length: count ?? 0 }, (_, i) => from + i);

if (values.print) {
  for (const seed of seeds) console.log(formatSchedule(generateSchedule(seed)));
  process.exit(0);
}

const failed: number[] = [];
const harnessErrors: number[] = [];
const times: number[] = [];
for (const seed of seeds) {
  let result: Awaited<ReturnType<typeof runSeed>>;
  try {
    result = await runSeed(seed, values.verbose ? (line) => console.log(`[${seed}] ${line}`) : undefined);
  } catch (err) {
    // The harness itself broke (not a verdict on the daemon): say so, and go on with the next seed.
    harnessErrors.push(seed);
    console.log(
      `seed ${seed}: HARNESS ERROR ${(err as Error).stack ?? String(err)}\nreplay: npm run chaos -- --seed ${seed}`,
    );
    continue;
  }
  times.push(result.totalMs);
  const ok = result.verdict.violations.length === 0;
  if (!ok) failed.push(seed);
  console.log(formatResult(result, !ok));
}
const sorted = [...times].sort((a, b) => a - b);
const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
const list = (seeds: number[]) => (seeds.length ? ` (${seeds.join(', ')})` : '');
console.log(
  `chaos: ${seeds.length} seeds, ${failed.length} failing${list(failed)}, ${harnessErrors.length} harness errors${list(
    harnessErrors,
  )}, median ${(median / 1000).toFixed(1)} s per seed`,
);
process.exit(failed.length + harnessErrors.length > 0 ? 1 : 0);
