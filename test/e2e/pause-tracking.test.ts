// An operator's pause stops new work, not the tracking of work already started: copy jobs in flight when
// `rpctl pause` lands are seen to finish, verified and counted while the daemon stays paused, and no
// StartCopyJob goes out until `rpctl resume`. (A credentials pause cannot call AWS at all: credentials.test.ts.)

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BackupClient, StartCopyJobCommand } from '@aws-sdk/client-backup';
import { fromIni } from '@aws-sdk/credential-providers';
import Database from 'better-sqlite3';
import t from 'tap';
import { readVaultProgress } from '../../daemon/read-model.js';
import { assertClean, copySandbox, ledgerVerdict, readItems } from '../helpers/copy.js';
import { runCtlAsync, spawnDaemon, waitFor } from '../helpers/process.js';

t.setTimeout(300_000);

interface Status {
  state: string;
  pauseReason?: string;
  phase: string;
  counts: { queued: number; inFlight: number; completed: number };
  copy?: {
    startedThisRun: number;
    finishedThisRun: number;
    verifiedThisRun: number;
    awsInFlight: number | null;
    awsInFlightNotFollowed?: number | null;
  };
}

/** A copy job someone else starts in the source account (another tool), of a point the plan skipped. */
async function startForeignJob(sandbox: { dir: string; url: string; stateDir: string }): Promise<string> {
  const db = new Database(join(sandbox.stateDir, 'rpcopy.db'), { readonly: true, fileMustExist: true });
  let row: { arn: string; vault: string; destination: string };
  try {
    row = db
      .prepare(
        `SELECT p.arn, p.vault_name AS vault, (SELECT arn FROM destination_vaults WHERE arn IS NOT NULL LIMIT 1)
           AS destination
         FROM recovery_points p JOIN copy_items i ON i.point_id = p.id
         WHERE i.state = 'skipped' AND p.status = 'COMPLETED' LIMIT 1`,
      )
      .get() as typeof row;
  } finally {
    db.close();
  }
  const client = new BackupClient({
    region: 'eu-west-2',
    endpoint: sandbox.url,
    credentials: fromIni({
      profile: 'rpcopy-source',
      filepath: join(sandbox.dir, 'credentials'),
      configFilepath: join(sandbox.dir, 'aws-config'),
      ignoreCache: true,
    }),
  });
  try {
    await client.send(
      new StartCopyJobCommand({
        RecoveryPointArn: row.arn,
        SourceBackupVaultName: row.vault,
        DestinationBackupVaultArn: row.destination,
        IamRoleArn: 'arn:aws:iam::111111111111:role/service-role/AWSBackupDefaultServiceRole',
      }),
    );
  } finally {
    client.destroy();
  }
  return row.arn;
}

t.test('jobs in flight when rpctl pause lands finish and are verified while paused; nothing new starts', async (t) => {
  const sandbox = await copySandbox(t, 300, {}, 3);
  // Jobs take seconds (not instants): some are certainly in flight when the pause lands.
  await sandbox.admin.setKnobs({ timeFactor: 150 });
  writeFileSync(
    sandbox.config,
    readFileSync(sandbox.config, 'utf8').replace(/max_in_flight = \d+/, 'max_in_flight = 12'),
  );
  const daemon = spawnDaemon([], sandbox.env, t);
  const status = async (): Promise<Status> => {
    const r = await runCtlAsync(['status', '--json'], sandbox.env);
    if (r.code !== 0) throw new Error(`rpctl status exited ${r.code}: ${r.stderr}\n${daemon.output().slice(-2000)}`);
    return JSON.parse(r.stdout) as Status;
  };
  let before: Status | undefined;
  await waitFor(
    async () => {
      const s = await runCtlAsync(['status', '--json'], sandbox.env);
      if (daemon.child.exitCode !== null) throw new Error(`the daemon exited:\n${daemon.output().slice(-2000)}`);
      if (s.code !== 0) return false;
      before = JSON.parse(s.stdout) as Status;
      return before.phase === 'copy' && before.counts.inFlight >= 4 && before.counts.queued > 0;
    },
    'copy jobs in flight with more queued',
    120_000,
    100,
  ).catch((err: unknown) => {
    t.comment(JSON.stringify(before));
    throw err;
  });
  const paused = await runCtlAsync(['pause', '--json'], sandbox.env);
  t.equal(paused.code, 0, paused.stderr);
  t.equal((await status()).state, 'paused', 'paused at once');
  // A StartCopyJob already on the wire when the pause landed may still create its job: give it a moment, then
  // take the sandbox's list as the jobs started before the pause.
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  const atPause = await sandbox.admin.copyJobs();
  const startedAtPause = new Set(atPause.map((j) => j.CopyJobId));
  const unfinishedAtPause = atPause.filter((j) => j.State === 'CREATED' || j.State === 'RUNNING').length;
  t.ok(unfinishedAtPause > 0, `jobs were running on AWS when the pause landed (${unfinishedAtPause})`);
  // rpctl watch's per-vault figures say why queued points wait: behind their resource's copy in flight, or
  // held for a canary still running (the daemon's own query, on the store as it is now).
  const store = new Database(join(sandbox.stateDir, 'rpcopy.db'), { readonly: true, fileMustExist: true });
  const perVault = readVaultProgress(store, Date.now());
  store.close();
  const waiting = perVault.vaults.reduce(
    (n, v) => ({ resource: n.resource + (v.waiting?.resource ?? 0), canary: n.canary + (v.waiting?.canary ?? 0) }),
    { resource: 0, canary: 0 },
  );
  t.ok(waiting.resource + waiting.canary > 0, `queued points are explained (${JSON.stringify(waiting)})`);
  t.ok(
    perVault.vaults.every((v) => (v.waiting?.resource ?? 0) + (v.waiting?.canary ?? 0) <= v.queued),
    'never more explained than queued',
  );
  // AWS finishes them now (a large FSx copy would otherwise take minutes).
  await sandbox.admin.completeAllJobs();
  // Another tool starts a copy job of its own that runs for minutes: AWS's count includes it, rpcopy's does not.
  await sandbox.admin.setKnobs({ timeFactor: 1 });
  const foreignPoint = await startForeignJob(sandbox);
  await sandbox.admin.setKnobs({ timeFactor: 150 });

  // While paused: the in-flight count falls to zero as AWS finishes the jobs, and each is verified.
  let during: Status | undefined;
  await waitFor(
    async () => {
      during = await status();
      if (during.state !== 'paused') throw new Error(`the daemon left the pause by itself: ${during.state}`);
      return during.counts.inFlight === 0;
    },
    'the jobs in flight at the pause to be tracked to the end while paused',
    90_000,
    250,
  ).catch(async (err: unknown) => {
    const jobs = await sandbox.admin.copyJobs();
    t.comment(
      JSON.stringify({ during, unfinished: jobs.filter((j) => j.State === 'CREATED' || j.State === 'RUNNING').length }),
    );
    t.comment(daemon.output().slice(-4000));
    throw err;
  });
  await waitFor(
    () => {
      const items = readItems(sandbox.stateDir).filter((i) => i.copyJobId && startedAtPause.has(i.copyJobId));
      return items.length === startedAtPause.size && items.every((i) => i.state === 'verified' || i.state === 'failed');
    },
    'the copies made during the pause to be verified',
    60_000,
    250,
  );
  const settled = await status();
  t.equal(settled.state, 'paused', 'still paused');
  t.equal(settled.pauseReason, 'operator');
  t.ok(settled.counts.queued > 0, 'points are still waiting to be copied');
  t.ok(
    settled.counts.completed > (before?.counts.completed ?? 0),
    `completed copies were counted during the pause (${before?.counts.completed} → ${settled.counts.completed})`,
  );
  t.ok(
    (settled.copy?.finishedThisRun ?? 0) >= unfinishedAtPause,
    'the engine counted the finished jobs during the pause',
  );
  // AWS's count of running jobs agrees with rpcopy's once the foreign job is told apart.
  await waitFor(
    async () => ((await status()).copy?.awsInFlightNotFollowed ?? 0) >= 1,
    'a sweep to see the foreign job',
    30_000,
    250,
  );
  const told = await status();
  t.equal(told.counts.inFlight, 0, 'rpcopy follows no job');
  t.equal(told.copy?.awsInFlight, told.copy?.awsInFlightNotFollowed, 'every job AWS still runs is not rpcopy’s');
  const text = await runCtlAsync(['status'], sandbox.env);
  t.match(text.stdout, /AWS reports 1 CREATED or RUNNING \(1 not rpcopy's to follow/, 'rpctl status says so');
  t.match(text.stdout, /meanwhile\s+no new copy job starts; copy jobs already started are still followed/);
  // Nothing new was submitted: the sandbox holds no job the daemon did not have before the pause.
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  const stillPaused = await sandbox.admin.copyJobs();
  t.same(
    stillPaused
      .filter((j) => !startedAtPause.has(j.CopyJobId) && j.SourceRecoveryPointArn !== foreignPoint)
      .map((j) => j.CopyJobId),
    [],
    'no copy job was started while paused',
  );
  t.equal((await status()).copy?.startedThisRun, settled.copy?.startedThisRun, 'the engine started nothing');

  // Resume: the rest is copied, each point exactly once.
  const resumed = await runCtlAsync(['resume', '--json'], sandbox.env);
  t.equal(resumed.code, 0, resumed.stderr);
  // The first jobs after the resume fail the way AWS asks to retry: their points are copied again a minute later.
  await sandbox.admin.setKnobs({ timeFactor: 100_000, copyFailureRate: 1 });
  await waitFor(
    async () => (await sandbox.admin.copyJobs('FAILED')).length > 0,
    'a copy job to fail after the resume',
    30_000,
    50,
  );
  await sandbox.admin.setKnobs({ copyFailureRate: 0 });
  await waitFor(
    async () => {
      // A resource's next copy waits for its earlier one's planned end: finish them all as they come.
      await sandbox.admin.completeAllJobs();
      return (await status()).state === 'done';
    },
    'the run to finish after the resume',
    240_000,
    250,
  );
  const verdict = await ledgerVerdict(sandbox);
  t.same(verdict.ineligibleCopied, [foreignPoint], 'the only skipped point copied is the other tool’s');
  // A point whose first job failed has two jobs by design: one failed, one copied (reconcile's duplicates below
  // counts jobs that did not fail).
  const failedJobs = (await sandbox.admin.copyJobs('FAILED')).filter((j) => j.SourceRecoveryPointArn !== foreignPoint);
  const retriedPoints = new Set(failedJobs.map((j) => j.SourceRecoveryPointArn));
  t.ok(
    [...verdict.duplicates, ...verdict.verifiedWithoutTheirJob].every((arn) => retriedPoints.has(arn)),
    'points with two jobs are only the retried ones',
  );
  assertClean(
    t,
    {
      ...verdict,
      ineligibleCopied: [],
      duplicates: verdict.duplicates.filter((arn) => !retriedPoints.has(arn)),
      verifiedWithoutTheirJob: verdict.verifiedWithoutTheirJob.filter((arn) => !retriedPoints.has(arn)),
    },
    'after a pause and resume',
  );
  t.ok((await sandbox.admin.copyJobs()).length > startedAtPause.size, 'copying went on after the resume');

  // rpctl reconcile tells a retried point's second job from a duplicate: "N for M points (K retried)".
  const reconciled = JSON.parse((await runCtlAsync(['reconcile', '--json'], sandbox.env)).stdout) as {
    vaults: { destination: string; copyJobs: number; sourcePoints: number; failedJobs: number }[];
    counts: { duplicates: number };
  };
  t.equal(reconciled.counts.duplicates, 0, 'no duplicate');
  const retried = reconciled.vaults.reduce((n, v) => n + v.copyJobs - v.sourcePoints, 0);
  t.ok(failedJobs.length > 0 && retried === failedJobs.length, `each failed job's point was retried (${retried})`);
  t.ok(reconciled.vaults.reduce((n, v) => n + v.failedJobs, 0) >= failedJobs.length, 'the failed jobs are counted');
  const table = await runCtlAsync(['reconcile'], sandbox.env);
  const vault = reconciled.vaults.find((v) => v.copyJobs > v.sourcePoints);
  t.match(
    table.stdout,
    new RegExp(
      `${vault?.destination}\\s+${vault?.copyJobs} for ${vault?.sourcePoints} points \\(${(vault?.copyJobs ?? 0) - (vault?.sourcePoints ?? 0)} retried\\)`,
    ),
    'the table says so',
  );
});
