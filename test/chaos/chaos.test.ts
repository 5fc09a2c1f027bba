// The chaos simulation in CI: a fixed handful of seeds (test/chaos/), each a random fault schedule against the
// sandbox and the real daemon, judged by the sandbox's copy jobs. `npm run chaos -- --seed S` replays one.

import t from 'tap';
import { formatResult, runSeed } from './chaos.js';
import { formatSchedule, generateSchedule } from './schedule.js';

/** Seeds chosen so that together they draw every fault kind the generator has (see bench/results/chaos.md). */
export const CI_SEEDS = [2, 6, 8];

// Each seed takes about a minute on a quiet machine, more under load; the final phase bounds itself.
t.setTimeout(1_500_000);

t.test('a seed draws the same schedule every time', async (t) => {
  for (const seed of [1, 2, 99]) {
    t.same(generateSchedule(seed), generateSchedule(seed), `seed ${seed}`);
    t.equal(formatSchedule(generateSchedule(seed)), formatSchedule(generateSchedule(seed)));
  }
  t.not(formatSchedule(generateSchedule(1)), formatSchedule(generateSchedule(2)), 'seeds differ');
  const kinds = new Set(CI_SEEDS.flatMap((s) => generateSchedule(s).steps.map((step) => step.kind)));
  for (const kind of [
    'kill',
    'dropStartCopyJob',
    'knobs',
    'ctl',
    'window',
    'maxRuntime',
    'snapshot',
    'restore',
    'source',
    'expireCredentials',
  ]) {
    t.ok(kinds.has(kind as never), `the CI seeds draw ${kind}`);
  }
});

for (const seed of CI_SEEDS) {
  t.test(`chaos seed ${seed}: every eligible point copied exactly once, nothing ineligible, run done`, async (t) => {
    const result = await runSeed(seed);
    t.same(result.verdict.violations, [], `seed ${seed}: no violations`);
    if (result.verdict.violations.length > 0) t.comment(formatResult(result, true));
    t.ok(result.verdict.pointsCopied > 0, `points were copied (${result.verdict.pointsCopied})`);
  });
}
