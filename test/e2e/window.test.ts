// Change windows through the built daemon against the sandbox:
// - outside the window nothing starts: a service waits (state waiting_for_window, no AWS call), --once exits 9;
// - a run whose time is up (max runtime) stops gracefully mid-copy with drain honoured, and the next run finishes
//   with nothing lost or duplicated (the sandbox's ledger as judge).

import t from 'tap';
import { ledgerVerdict } from '../helpers/copy.js';
import { runCtlAsync, spawnDaemon, waitFor } from '../helpers/process.js';
import { startSandboxProcess } from '../helpers/sandbox.js';
import { appendWindow, hhmm, logEvents, slowCopySandbox, statusOf } from '../helpers/window.js';

t.setTimeout(600_000);

t.test('outside the window nothing starts: the service waits, --once exits 9', async (t) => {
  const sandbox = await startSandboxProcess(t, { points: 200, seed: 1, timeFactor: 100_000 });
  // A window that opens in two hours and lasts one (UTC), on every day.
  const now = Date.now();
  appendWindow(sandbox.config, {
    start: hhmm(now + 2 * 3_600_000),
    stop: hhmm(now + 3 * 3_600_000),
    timezone: 'UTC',
  });
  await sandbox.admin.resetCounters();
  const daemon = spawnDaemon([], sandbox.env, t);
  let status: Record<string, unknown> = {};
  await waitFor(
    async () => {
      status = await statusOf(sandbox.env);
      return status.state === 'waiting_for_window';
    },
    'waiting_for_window',
    60_000,
    100,
  );
  const window = status.window as { open: boolean; opensAt: string };
  t.equal(window.open, false);
  t.ok(
    Math.abs(Date.parse(window.opensAt) - (now + 2 * 3_600_000)) < 120_000,
    `opens in two hours (${window.opensAt})`,
  );
  const human = await runCtlAsync(['status'], sandbox.env);
  t.match(human.stdout, /window\s+closed; opens /);
  await new Promise((r) => setTimeout(r, 1_500));
  const counters = await sandbox.admin.counters();
  const backupCalls = Object.entries(counters).filter(([op]) => op.startsWith('backup:'));
  t.same(backupCalls, [], 'no Backup call is made outside the window');
  await runCtlAsync(['stop'], sandbox.env);
  t.equal((await daemon.exited).code, 0, 'a waiting service stops cleanly');

  const once = spawnDaemon(['--once'], sandbox.env, t);
  const exit = await once.exited;
  t.equal(exit.code, 9, '--once outside the window exits 9');
  t.match(once.output(), /outside the change window: no work starts until/);
});

t.test('max runtime ends a run mid-copy, drain holds back new jobs, the next run finishes the rest', async (t) => {
  const sandbox = await slowCopySandbox(t);
  appendWindow(sandbox.config, { drain: '4s' });
  const first = spawnDaemon(['--once', '--max-runtime', '20s'], sandbox.env, t);
  const exit = await first.exited;
  t.equal(exit.code, 9, '--once whose time is up exits 9');
  const lines = logEvents(first);
  const opened = lines.find((l) => l.event === 'window.open');
  t.ok(opened, 'the run announced its deadline');
  t.ok(
    lines.some((l) => l.event === 'window.closed'),
    'the run ended because its time was up',
  );
  t.ok(
    lines.some((l) => l.event === 'copy.started'),
    'it was copying when its time ran out',
  );
  const progress = lines.filter((l) => l.event === 'progress');
  t.ok(progress.length >= 3, `the daemon logged progress lines at its interval (${progress.length})`);
  t.ok(
    progress.some((l) => l.phase === 'copy' && typeof l.done === 'number' && typeof l.total === 'number'),
    'a progress line carries phase, done and total',
  );
  t.match(String(progress.at(-1)?.msg), /^progress: .*copies final/);
  const drainFrom = Number(opened?.drainFrom);
  const jobs = await sandbox.admin.copyJobs();
  t.ok(jobs.length > 0, `jobs were started (${jobs.length})`);
  const late = jobs.filter((j) => Number(j.CreationDate) * 1000 > drainFrom + 1_000);
  t.same(late, [], 'no copy job was created after the drain point');

  const second = spawnDaemon(['--once'], sandbox.env, t);
  const done = await second.exited;
  t.equal(done.code, 0, 'the next run finishes');
  if (done.code !== 0) t.comment(second.output().slice(-3000));
  const verdict = await ledgerVerdict(sandbox);
  t.same(verdict.duplicates, [], 'no point has two jobs');
  t.same(verdict.open, [], 'every planned point is final');
  t.same(verdict.ineligibleCopied, []);
  t.same(verdict.verifiedWithoutTheirJob, []);
  t.ok(verdict.verified > 0);
});
