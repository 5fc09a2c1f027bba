// Change windows and the runs after the first, through the built daemon against the sandbox:
// - window.max_runtime with a daily window caps the work of the window occurrence: when it is used up the
//   service waits for the next window (no second run with a fresh deadline), and a restart inside the same
//   window starts no work;
// - rpctl retry after the pipeline is done, once the window has closed: the rerun waits for the next window
//   (state waiting_for_window, no AWS call), and rpctl reset is accepted meanwhile.
// Windows are whole minutes, so the second test waits for a real window close (two to three minutes).

import t from 'tap';
import { copySandbox, expectExit, runOnce } from '../helpers/copy.js';
import { runCtlAsync, spawnDaemon, waitFor } from '../helpers/process.js';
import { appendWindow, hhmm, logEvents, slowCopySandbox, statusOf } from '../helpers/window.js';

t.setTimeout(600_000);

t.test('max_runtime caps the work per window occurrence, across a restart', async (t) => {
  // The work outlasts the max runtime.
  const sandbox = await slowCopySandbox(t);
  const now = Date.now();
  // A window that opened a minute ago and stays open for the whole test.
  appendWindow(sandbox.config, {
    start: hhmm(now - 60_000),
    stop: hhmm(now + 60 * 60_000),
    timezone: 'UTC',
    max_runtime: '20s',
    drain: '4s',
  });
  const daemon = spawnDaemon([], sandbox.env, t);
  await waitFor(
    () => logEvents(daemon).some((e) => e.event === 'window.closed'),
    'the run to reach its max runtime',
    120_000,
    100,
  );
  await waitFor(
    async () => (await statusOf(sandbox.env)).state === 'waiting_for_window',
    'the service to wait for the next window',
    30_000,
    200,
  );
  // Long enough for a second run to announce itself, if one started.
  await new Promise((r) => setTimeout(r, 3_000));
  const s = await statusOf(sandbox.env);
  t.equal(s.state, 'waiting_for_window', 'the used-up window is not worked in again');
  const window = s.window as { open: boolean; opensAt: string | null };
  t.equal(window.open, false, 'status reports the window closed for work');
  t.ok(
    window.opensAt !== null && Date.parse(window.opensAt) > now + 23 * 3_600_000,
    `the next opening is tomorrow's window (${window.opensAt})`,
  );
  t.equal(
    logEvents(daemon).filter((e) => e.event === 'window.open').length,
    1,
    'one run in this window occurrence, not a new one with a fresh deadline',
  );
  await runCtlAsync(['stop'], sandbox.env);
  t.equal((await daemon.exited).code, 0);

  // A restart inside the same window: its max runtime is still used up.
  await sandbox.admin.resetCounters();
  const restarted = spawnDaemon([], sandbox.env, t);
  await waitFor(
    async () => (await statusOf(sandbox.env)).state === 'waiting_for_window',
    'the restarted service to wait for the next window',
    60_000,
    200,
  );
  await new Promise((r) => setTimeout(r, 1_500));
  t.equal((await statusOf(sandbox.env)).state, 'waiting_for_window', 'the restart gets no fresh budget');
  t.same(
    logEvents(restarted).filter((e) => e.event === 'window.open'),
    [],
    'the restarted service starts no run in this window',
  );
  const counters = await sandbox.admin.counters();
  t.same(
    Object.keys(counters).filter((op) => op.startsWith('backup:')),
    [],
    'and makes no Backup call',
  );
  await runCtlAsync(['stop'], sandbox.env);
  t.equal((await restarted.exited).code, 0);
});

t.test('rpctl retry after the pipeline is done and the window closed waits for the next window', async (t) => {
  // Seed 2 at this size has points under the generator's unshared CMK: failed canaries to retry.
  const sandbox = await copySandbox(t, 1_000, {}, 2);
  expectExit(t, await runOnce(t, sandbox), 'the first run copies everything it can');
  // A window that closes at the next minute boundary at least two minutes away: the service, resuming a
  // finished pipeline, is done before then even on a busy machine.
  const now = Date.now();
  const closes = Math.ceil((now + 120_000) / 60_000) * 60_000;
  appendWindow(sandbox.config, { start: hhmm(now - 60_000), stop: hhmm(closes), timezone: 'UTC' });
  const daemon = spawnDaemon([], sandbox.env, t);
  await waitFor(
    async () => (await statusOf(sandbox.env)).state === 'done',
    'the pipeline to be done inside the window',
    closes - Date.now(),
    200,
  );
  await waitFor(() => Date.now() > closes + 1_000, 'the window to close', 180_000, 500);
  t.equal((await statusOf(sandbox.env)).state, 'done');

  await sandbox.admin.resetCounters();
  const retried = await runCtlAsync(['retry', '--reason', 'key_not_accessible', '--json'], sandbox.env);
  t.equal(retried.code, 0, retried.stderr);
  t.ok(JSON.parse(retried.stdout).requeued > 0, 'failed points were requeued');
  await waitFor(
    async () => (await statusOf(sandbox.env)).state === 'waiting_for_window',
    'the rerun to wait for the window',
    15_000,
    100,
  );
  await new Promise((r) => setTimeout(r, 3_000));
  const s = await statusOf(sandbox.env);
  t.equal(s.state, 'waiting_for_window', 'the rerun waits for the next window');
  const window = s.window as { open: boolean; opensAt: string | null; drainFrom: string | null };
  t.equal(window.open, false);
  t.equal(window.drainFrom, null, 'no drain time of the finished window');
  t.ok(window.opensAt !== null && Date.parse(window.opensAt) > closes, `opens next time (${window.opensAt})`);
  const counters = await sandbox.admin.counters();
  t.same(
    Object.keys(counters).filter((op) => op.startsWith('backup:')),
    [],
    'no Backup call outside the window',
  );
  const reset = await runCtlAsync(['reset', 'failed', '--yes'], sandbox.env);
  t.equal(reset.code, 0, `rpctl reset is accepted while the rerun waits (${reset.stderr.trim()})`);
  t.match(reset.stdout, /when the change window opens/);
  t.equal((await statusOf(sandbox.env)).state, 'waiting_for_window');
  await runCtlAsync(['stop'], sandbox.env);
  t.equal((await daemon.exited).code, 0);
});
