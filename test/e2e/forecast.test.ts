// The forecast against the sandbox's scaled copy durations: made at 20 % progress, it lands within ±15 % of
// the time the rest of the run actually took. The run is quota-bound (4 jobs in flight) on one EBS vault, the
// case the operator's multi-day job is in; the forecast must also say so.

import { readFileSync, writeFileSync } from 'node:fs';
import t from 'tap';
import { tuneConfig } from '../helpers/copy.js';
import { runCtlAsync, spawnDaemon, waitFor } from '../helpers/process.js';
import { startSandboxProcess } from '../helpers/sandbox.js';

t.setTimeout(600_000);

t.test('a forecast made at 20 % progress lands within ±15 % of the actual finish', async (t) => {
  const quota = 4;
  const sandbox = await startSandboxProcess(t, {
    points: 3_000,
    seed: 3,
    timeFactor: 5_000,
    extraArgs: ['--no-throttling'],
    // Listings without lag: with jobs of seconds and four slots, the sandbox's default 2 s listing lag would add a
    // tracking delay per job that the forecast (which models AWS's job durations) leaves out on purpose; real
    // jobs take minutes to hours.
    knobs: { copyJobQuota: quota, listingLagSeconds: 0 },
  });
  tuneConfig(sandbox, { maxInFlight: quota, startRate: 20 });
  writeFileSync(
    sandbox.config,
    readFileSync(sandbox.config, 'utf8').replace(/^vaults = .*$/m, 'vaults = ["prod-ebs-daily"]'),
  );
  const daemon = spawnDaemon(['--once'], sandbox.env, t);
  let forecastAt = 0;
  let predictedFinish = 0;
  let forecast: Record<string, unknown> = {};
  await waitFor(
    async () => {
      if (daemon.child.exitCode !== null)
        throw new Error(`the run ended before 20 %:\n${daemon.output().slice(-2000)}`);
      const s = await runCtlAsync(['status', '--json'], sandbox.env);
      if (s.code !== 0) return false;
      const status = JSON.parse(s.stdout);
      const c = status.counts;
      const planned = c.queued + c.inFlight + c.completed + c.failed;
      if (status.phase !== 'copy' || planned === 0 || c.completed / planned < 0.2) return false;
      const f = await runCtlAsync(['forecast', '--json'], sandbox.env);
      if (f.code !== 0) return false;
      forecastAt = Date.now();
      forecast = JSON.parse(f.stdout);
      predictedFinish = Date.parse(String(forecast.finishAt));
      return true;
    },
    '20 % of the copies',
    300_000,
    250,
  );
  t.equal(forecast.limiter, 'copy_job_quota', 'the forecast names the quota as the limit');
  const human = await runCtlAsync(['forecast'], sandbox.env);
  t.match(human.stdout, /limited by\s+the concurrent copy-job quota/);
  const exit = await daemon.exited;
  t.equal(exit.code, 0, 'the run finishes');
  const done = daemon
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { event?: string; time: string })
    .find((l) => l.event === 'copy.done');
  t.ok(done, 'the copy phase reported its end');
  const actualFinish = Date.parse(String(done?.time));
  const actual = actualFinish - forecastAt;
  const predicted = predictedFinish - forecastAt;
  const error = (predicted - actual) / actual;
  t.comment(
    `forecast at 20 %: ${Math.round(predicted / 1000)} s left; actual ${Math.round(actual / 1000)} s (${(error * 100).toFixed(1)} %)`,
  );
  t.ok(Math.abs(error) <= 0.15, `within ±15 % of the actual finish (${(error * 100).toFixed(1)} %)`);
});
