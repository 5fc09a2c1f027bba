// The copy engine against the sandbox, with the sandbox's ledger of every
// StartCopyJob call and copy job as the judge (test/helpers/copy.ts):
// - a run copies every eligible point exactly once, verifies it, and holds a
//   combination whose canary fails (one job, not one per point); rpctl retry
//   requeues only the chosen reason;
// - responses lost after StartCopyJob was applied: no duplicate;
// - the store forgets (an older copy restored while AWS keeps the newer jobs):
//   no duplicate, nothing missed;
// - transient errors, throttling and a quota below max_in_flight: everything
//   completes and no permanent failure comes from a transient cause.
// Crashes at every protocol step and SIGKILLs at random moments are in
// copy-crash.test.ts (a file of their own, so tap runs the two side by side).

import { copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import {
  assertClean,
  copySandbox,
  expectExit,
  ledgerVerdict,
  readItems,
  runOnce,
  tuneConfig,
} from '../helpers/copy.js';
import { runCtlAsync, spawnDaemon, waitFor } from '../helpers/process.js';
import { startSandboxProcess } from '../helpers/sandbox.js';

// Daemon runs against a fresh sandbox each, two of them killed on purpose: minutes, not the suite's default.
t.setTimeout(900_000);

t.test('copies every eligible point once, verifies it, and holds a failed canary’s combination', async (t) => {
  // Seed 2 at this size has points under the generator's unshared CMK that the plan copies.
  const sandbox = await copySandbox(t, 1_000, {}, 2);
  const run = await runOnce(t, sandbox);
  expectExit(t, run, 'rpcopyd --once exits 0 when every point is final');
  const verdict = await ledgerVerdict(sandbox);
  assertClean(t, verdict, 'clean run');
  const summary = await sandbox.admin.ledgerSummary();
  t.equal(summary.pointsWithMultipleJobs, 0, 'the ledger has no point with two jobs');
  t.equal(summary.startCopyJobCalls, summary.jobsCreated, 'one StartCopyJob call per job: no resend, no rejection');

  // The unshared key: its canary failed once; the rest of the combination was never submitted.
  const canaries = verdict.failed.key_not_accessible ?? 0;
  const held = verdict.failed.canary_failed ?? 0;
  t.ok(canaries >= 1, 'the unshared-key canary failed and says why');
  t.ok(held >= 1, 'the canary’s combination is held, not submitted');
  const jobsFailed = summary.jobsByState.FAILED ?? 0;
  t.equal(jobsFailed, canaries, 'one failed job per failed canary, none for the held points');

  // rpctl retry requeues only that class: the canary runs again (and fails again), the held points stay held.
  const daemon = spawnDaemon([], sandbox.env, t);
  await waitFor(async () => (await runCtlAsync(['status', '--json'], sandbox.env)).code === 0, 'the daemon', 60_000);
  const bad = await runCtlAsync(['retry', '--reason', 'no_such_reason'], sandbox.env);
  t.equal(bad.code, 2, 'an unknown reason is refused');
  t.match(bad.stderr, /unknown failure reason "no_such_reason"; expected one of .*key_not_accessible/);
  await waitFor(
    async () => JSON.parse((await runCtlAsync(['status', '--json'], sandbox.env)).stdout).state === 'done',
    'the pipeline to settle',
    120_000,
    200,
  );
  // rpctl reconcile: AWS's records agree with the store.
  const reconciled = await runCtlAsync(['reconcile', '--json'], sandbox.env);
  t.equal(reconciled.code, 0, 'reconcile finds nothing wrong');
  if (reconciled.code !== 0) t.comment(reconciled.stdout.slice(0, 3000));
  const report = JSON.parse(reconciled.stdout);
  t.same(
    report.counts,
    { duplicates: 0, orphans: 0, missing: 0, mismatched: 0 },
    'no duplicate, orphan or missing copy',
  );
  t.equal(
    report.vaults.reduce((n: number, v: { destinationPoints: number }) => n + v.destinationPoints, 0),
    verdict.verified,
    'the destination vaults hold exactly the verified copies',
  );
  // Live re-tuning and the operator's pause, through the control API.
  const set = await runCtlAsync(['set', 'max-in-flight', '7'], sandbox.env);
  t.equal(set.code, 0, set.stderr);
  const tuned = JSON.parse((await runCtlAsync(['status', '--json'], sandbox.env)).stdout);
  t.equal(tuned.copy.maxInFlight, 7, 'rpctl set max-in-flight takes effect at once');
  const badSet = await runCtlAsync(['set', 'max-in-flight', 'lots'], sandbox.env);
  t.equal(badSet.code, 2);
  t.match(badSet.stderr, /max-in-flight: expected a whole number from 1 to 10000/);
  const paused = JSON.parse((await runCtlAsync(['pause', '--json'], sandbox.env)).stdout);
  t.equal(paused.paused, true, 'rpctl pause closes the gate');
  const resumed = JSON.parse((await runCtlAsync(['resume', '--json'], sandbox.env)).stdout);
  t.equal(resumed.resumed, true, 'rpctl resume opens it');
  t.match(resumed.message, /was paused: operator/);
  await runCtlAsync(['set', 'max-in-flight', '100'], sandbox.env);
  // The retried canaries' first StartCopyJob meets a server error (not applied, outcome unknown), so
  // reconciliation looks at the point's jobs: its earlier, failed job is there, created minutes ago, and must not
  // be taken for the answer to the new attempt (a stale keep-alive connection reset on a busy machine does the same).
  await sandbox.admin.setKnobs({ transientErrorRate: 1, transientErrorOperations: ['StartCopyJob'] });
  const retried = await runCtlAsync(['retry', '--reason', 'key_not_accessible', '--json'], sandbox.env);
  t.equal(retried.code, 0, retried.stderr);
  const answer = JSON.parse(retried.stdout);
  t.equal(answer.requeued, canaries + held, 'canary and held points');
  t.equal(answer.combos, canaries, 'each failed canary runs again');
  await waitFor(
    () => (daemon.output().match(/StartCopyJob outcome unknown/g) ?? []).length >= canaries,
    'each retried canary’s StartCopyJob outcome to be unknown',
    60_000,
  );
  await sandbox.admin.setKnobs({ transientErrorRate: 0, transientErrorOperations: [] });
  // The service's pipeline had finished: it copies the requeued points now. The canary fails again (the key is
  // still unshared): one new job per canary, and its points are held again without a job.
  await waitFor(
    async () => JSON.parse((await runCtlAsync(['status', '--json'], sandbox.env)).stdout).state === 'done',
    'the requeued points to settle',
    120_000,
    200,
  );
  const after = await sandbox.admin.ledgerSummary();
  if (!t.equal((after.jobsByState.FAILED ?? 0) - jobsFailed, canaries, 'one new job per canary')) {
    t.comment(
      daemon
        .output()
        .split('\n')
        .filter((l) => /copy|canary|StartCopyJob/i.test(l))
        .slice(-40)
        .join('\n'),
    );
  }
  t.equal(after.pointsWithMultipleJobs, canaries, 'only the canaries were copied twice');
  const items = readItems(sandbox.stateDir);
  t.equal(items.filter((i) => i.failureReason === 'canary_failed').length, held, 'the held points are held again');
  t.equal(
    items.filter((i) => i.state === 'failed' && i.failureReason === 'destination_vault_unavailable').length,
    verdict.failed.destination_vault_unavailable ?? 0,
    'other failures are untouched',
  );

  // rpctl reset: confirmation, then the pipeline runs again over the reset state; no copy is duplicated.
  const unconfirmed = await runCtlAsync(['reset', 'failed'], sandbox.env);
  t.equal(unconfirmed.code, 2, 'without a terminal, reset needs --yes');
  t.match(unconfirmed.stderr, /add --yes/);
  const unknown = await runCtlAsync(['reset', 'everything', '--yes'], sandbox.env);
  t.equal(unknown.code, 2);
  const pointsBefore = (await runCtlAsync(['status', '--json'], sandbox.env)).stdout;
  const reset = await runCtlAsync(['reset', 'failed', '--yes', '--json'], sandbox.env);
  t.equal(reset.code, 0, reset.stderr);
  t.equal(JSON.parse(reset.stdout).requeued, items.filter((i) => i.state === 'failed').length, 'every failed point');
  const relist = await runCtlAsync(['reset', 'inventory', '--vault', 'dev-shortterm', '--yes'], sandbox.env);
  t.equal(relist.code, 2, 'a second reset while the pipeline runs again is refused');
  await waitFor(
    async () => JSON.parse((await runCtlAsync(['status', '--json'], sandbox.env)).stdout).state === 'done',
    'the pipeline to run again after the reset',
    120_000,
    200,
  );
  const inventoryAgain = await runCtlAsync(['reset', 'inventory', '--vault', 'dev-shortterm', '--yes'], sandbox.env);
  t.equal(inventoryAgain.code, 0, inventoryAgain.stderr);
  await waitFor(
    async () => JSON.parse((await runCtlAsync(['status', '--json'], sandbox.env)).stdout).state === 'done',
    'the relisting',
    120_000,
    200,
  );
  t.equal(
    JSON.parse((await runCtlAsync(['status', '--json'], sandbox.env)).stdout).counts.discovered,
    JSON.parse(pointsBefore).counts.discovered,
    'relisting a vault duplicates no point',
  );
  const afterReset = await sandbox.admin.ledgerSummary();
  t.equal(afterReset.pointsWithMultipleJobs, canaries, 'resets copied nothing twice but the failing canaries again');
  t.equal(readItems(sandbox.stateDir).filter((i) => i.state === 'verified').length, verdict.verified, 'copies kept');
  await runCtlAsync(['stop'], sandbox.env);
  await daemon.exited;
});

t.test('StartCopyJob applied but its response lost: reconciled, never duplicated', async (t) => {
  const sandbox = await copySandbox(t, 400, { dropAfterStartCopyJob: { count: 8, probability: 0 } }, 5);
  const run = await runOnce(t, sandbox);
  expectExit(t, run, 'the run finishes');
  const summary = await sandbox.admin.ledgerSummary();
  t.equal(summary.droppedResponses, 8, 'eight responses were lost');
  t.equal(summary.pointsWithMultipleJobs, 0, 'no duplicate');
  assertClean(t, await ledgerVerdict(sandbox), 'lost responses');
  t.match(run.output, /StartCopyJob outcome unknown; reconciling before any resend/);
});

t.test('the store forgot: an older copy restored while AWS keeps the newer jobs', async (t) => {
  const sandbox = await copySandbox(t, 600, {}, 6);
  const store = join(sandbox.stateDir, 'rpcopy.db');
  const first = await runOnce(t, sandbox, { RPCOPY_CRASH_AT: 'after-verify:25' });
  t.equal(first.signal, 'SIGKILL');
  // A consistent older copy (WAL included), like a backup of the state directory.
  const old = join(sandbox.dir, 'old.db');
  const db = new Database(store);
  await db.backup(old);
  db.close();
  const before = (await sandbox.admin.ledgerSummary()).jobsCreated;
  const second = await runOnce(t, sandbox, { RPCOPY_CRASH_AT: 'after-verify:60' });
  t.equal(second.signal, 'SIGKILL');
  const middle = (await sandbox.admin.ledgerSummary()).jobsCreated;
  t.ok(middle > before + 20, `AWS has jobs the old store does not know (${middle - before})`);
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${store}${suffix}`, { force: true });
  copyFileSync(old, store);
  const final = await runOnce(t, sandbox);
  expectExit(t, final, 'the final run finishes');
  t.match(final.output, /took over copy jobs AWS has that the store did not record/);
  assertClean(t, await ledgerVerdict(sandbox), 'restored store');
  t.equal((await sandbox.admin.ledgerSummary()).pointsWithMultipleJobs, 0);
});

t.test('transient errors, throttling bursts and a quota below the window: all completes', async (t) => {
  const quota = 6;
  const sandbox = await startSandboxProcess(t, {
    points: 500,
    seed: 7,
    // Jobs long enough (about a second) that the window, not the job duration, bounds what is in flight.
    timeFactor: 20_000,
    knobs: {
      copyJobQuota: quota,
      transientErrorRate: 0.05,
      throttling: { enabled: true, rates: { StartCopyJob: 50, ListCopyJobs: 5, DescribeRecoveryPoint: 4 } },
    },
  });
  // StartCopyJob fast enough to fill more than the quota; listings and verifications meet the sandbox's throttling.
  tuneConfig(sandbox, { maxInFlight: 40, startRate: 40 });
  const run = await runOnce(t, sandbox);
  expectExit(t, run, 'the run finishes');
  const verdict = await ledgerVerdict(sandbox);
  assertClean(t, verdict, 'faults');
  const summary = await sandbox.admin.ledgerSummary();
  t.equal(summary.pointsWithMultipleJobs, 0, 'no duplicate');
  const ledger = await sandbox.admin.ledger();
  const rejections = ledger.flatMap((e) => e.calls.filter((c) => c.outcome === 'rejected').map((c) => c.error));
  t.ok(
    rejections.some((e) => e === 'LimitExceededException'),
    'the quota refused some jobs (the window learned it)',
  );
  const expected = new Set(['LimitExceededException', 'ThrottlingException', 'ServiceUnavailableException']);
  t.same(
    rejections.filter((e) => !expected.has(String(e))),
    [],
    'StartCopyJob was refused only for the quota, the rate or an injected server fault',
  );
  const counters = await sandbox.admin.counters();
  const throttled = Object.values(counters).reduce(
    (n, c) => n + ((c as { errors?: Record<string, number> }).errors?.ThrottlingException ?? 0),
    0,
  );
  t.ok(throttled > 0, `the sandbox throttled rpcopy (${throttled} times) and the run still completed`);
  // The sandbox refuses any job beyond the quota, so no accepted job ever exceeded it; check the jobs' overlap too.
  const jobs = await sandbox.admin.copyJobs();
  const events = jobs.flatMap((j) => [
    { at: Number(j.CreationDate), d: 1 },
    { at: Number(j.CompletionDate ?? Number.POSITIVE_INFINITY), d: -1 },
  ]);
  events.sort((a, b) => a.at - b.at || a.d - b.d);
  let level = 0;
  let peak = 0;
  for (const e of events) {
    level += e.d;
    peak = Math.max(peak, level);
  }
  t.ok(peak <= quota, `copy jobs in flight never exceeded the quota (peak ${peak} of ${quota})`);
});
