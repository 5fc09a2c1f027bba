// What changes under rpcopy during a run, through the real SDK and the admin API: lagging listings, a short
// idempotency window, errors after StartCopyJob was applied, source points that go cold, start deleting, are
// deleted or expire, PARTIAL copies, copies that predate the test, and the judge's view of all of it.
import {
  BackupClient,
  DescribeCopyJobCommand,
  DescribeRecoveryPointCommand,
  ListCopyJobsCommand,
  type ListCopyJobsCommandInput,
  ListRecoveryPointsByBackupVaultCommand,
  StartCopyJobCommand,
} from '@aws-sdk/client-backup';
import t from 'tap';
import { SandboxAdmin } from './client.js';
import { SandboxClock } from './clock.js';
import { type SandboxHandle, startSandbox } from './server.js';
import { COPY_ROLE, clientConfig, copyablePoints, createDestVault, listAllPoints } from './testkit.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

let h: SandboxHandle;
let admin: SandboxAdmin;
let src: BackupClient;
let dst: BackupClient;
let destArn: string;
let role: string;
/** Copyable points of prod-ebs-daily, handed out one per use so tests do not share points. */
let spare: string[];
const VAULT = 'prod-ebs-daily';

const take = (): string => {
  const arn = spare.shift();
  if (!arn) throw new Error('out of copyable points');
  return arn;
};

const start = (arn: string, token?: string, client = src) =>
  client.send(
    new StartCopyJobCommand({
      RecoveryPointArn: arn,
      SourceBackupVaultName: VAULT,
      DestinationBackupVaultArn: destArn,
      IamRoleArn: role,
      IdempotencyToken: token,
    }),
  );

const listedJobIds = async (input: ListCopyJobsCommandInput) =>
  ((await src.send(new ListCopyJobsCommand(input))).CopyJobs ?? []).map((j) => j.CopyJobId);

const destArns = async () => (await listAllPoints(dst, 'dyn-target')).map((p) => p.RecoveryPointArn);

t.before(async () => {
  // Sandbox time stands still unless a test advances it, so the lag is crossed only when a test says so.
  const startedAt = Date.now();
  h = await startSandbox({
    points: 400,
    seed: 13,
    timeFactor: 1000,
    knobs: { throttling: { enabled: false } },
    clock: new SandboxClock(() => startedAt),
  });
  admin = new SandboxAdmin(h.adminUrl);
  src = new BackupClient(clientConfig(h, 'source', 1));
  dst = new BackupClient(clientConfig(h, 'destination', 1));
  destArn = await createDestVault(h, dst, 'dyn-target');
  role = COPY_ROLE(h.accounts.source);
  spare = copyablePoints(h, await listAllPoints(src, VAULT)).map((p) => p.RecoveryPointArn as string);
});
t.teardown(async () => {
  src.destroy();
  dst.destroy();
  await h.close();
});

t.test('listings lag behind writes by listingLagSeconds; Describe calls do not', async (t) => {
  t.equal((await admin.knobs()).listingLagSeconds, 2, 'a lag of a few seconds by default');
  await admin.setKnobs({ listingLagSeconds: 30 });
  const arn = take();
  const before = new Date((await admin.clock()).now - 1000);
  const { CopyJobId } = await start(arn, 'lag-1');
  const described = await src.send(new DescribeCopyJobCommand({ CopyJobId }));
  t.equal(described.CopyJob?.State, 'CREATED', 'DescribeCopyJob finds the new job at once');

  const filters = [
    { BySourceRecoveryPointArn: arn },
    { ByDestinationVaultArn: destArn },
    { ByState: 'CREATED' as const },
    { ByCreatedAfter: before },
    { ByResourceArn: described.CopyJob?.ResourceArn },
    {},
  ];
  for (const f of filters) t.notOk((await listedJobIds(f)).includes(CopyJobId), `not listed yet: ${Object.keys(f)}`);

  await admin.advanceClock(29_000);
  t.notOk((await listedJobIds({ BySourceRecoveryPointArn: arn })).includes(CopyJobId), 'still not listed at 29 s');
  await admin.advanceClock(1_000);
  for (const f of filters) t.ok((await listedJobIds(f)).includes(CopyJobId), `listed after 30 s: ${Object.keys(f)}`);

  // The job finishes: Describe sees it at once, the listing shows the old state for another 30 s.
  await admin.completeAllJobs();
  const done = await src.send(new DescribeCopyJobCommand({ CopyJobId }));
  t.equal(done.CopyJob?.State, 'COMPLETED');
  const copyArn = done.CopyJob?.DestinationRecoveryPointArn as string;
  const listed = (await src.send(new ListCopyJobsCommand({ BySourceRecoveryPointArn: arn }))).CopyJobs?.[0];
  t.not(listed?.State, 'COMPLETED', 'the listing still shows the job unfinished');
  t.equal(listed?.CompletionDate, undefined);
  t.notOk((await listedJobIds({ ByState: 'COMPLETED' })).includes(CopyJobId), 'not listed as COMPLETED yet');
  t.notOk((await destArns()).includes(copyArn), 'the copy is not in the destination listing yet');
  const copy = await dst.send(
    new DescribeRecoveryPointCommand({ BackupVaultName: 'dyn-target', RecoveryPointArn: copyArn }),
  );
  t.equal(copy.Status, 'COMPLETED', 'DescribeRecoveryPoint finds the copy at once');

  await admin.advanceClock(30_000);
  t.ok((await listedJobIds({ ByState: 'COMPLETED' })).includes(CopyJobId), 'listed as COMPLETED after the lag');
  t.ok((await destArns()).includes(copyArn), 'the copy is listed after the lag');

  await admin.setKnobs({ listingLagSeconds: 0 });
  const other = await start(take());
  t.ok((await listedJobIds({ ByDestinationVaultArn: destArn })).includes(other.CopyJobId), 'lag 0: listed at once');
  await admin.completeAllJobs();
});

t.test('a short idempotency window: the same token after it creates a second job', async (t) => {
  await admin.setKnobs({ idempotencyTtlSeconds: 3, listingLagSeconds: 0 });
  const arn = take();
  const first = await start(arn, 'ttl-token');
  await admin.advanceClock(3_000);
  const again = await start(arn, 'ttl-token');
  t.equal(again.CopyJobId, first.CopyJobId, 'within the window: the same job');
  await admin.advanceClock(1_000);
  const late = await start(arn, 'ttl-token');
  t.not(late.CopyJobId, first.CopyJobId, 'after the window: a new job');
  const ledger = await admin.ledgerFor(arn);
  t.equal(ledger.jobIds.length, 2, 'two jobs for one point');
  t.same(
    ledger.calls.map((c) => c.outcome),
    ['created', 'replayed', 'created'],
  );
  await admin.setKnobs({ idempotencyTtlSeconds: 3600 });
  await admin.completeAllJobs();
});

t.test('an error after StartCopyJob was applied', async (t) => {
  await admin.setKnobs({ listingLagSeconds: 0 });
  const arn = take();
  t.same(await admin.errorAfterStartCopyJob(1, 0, 500), { count: 1, probability: 0, status: 500 });
  const err = await start(arn, 'after-commit').catch((e: Error & { $metadata?: { httpStatusCode?: number } }) => e);
  t.type(err, Error);
  t.equal((err as Error).name, 'InternalFailure');
  t.equal((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode, 500);
  const ledger = await admin.ledgerFor(arn);
  t.equal(ledger.jobIds.length, 1, 'the job exists although the caller saw an error');
  t.equal(ledger.calls[0]?.errorAfterCommit, 'InternalFailure');
  const resend = await start(arn, 'after-commit');
  t.equal(resend.CopyJobId, ledger.jobIds[0], 'a resend with the same token gets the job');

  // 503 and the SDK's own retry: the retry sends the same body, so the same token.
  const arn2 = take();
  await admin.errorAfterStartCopyJob(1, 0, 503);
  const retrying = new BackupClient(clientConfig(h, 'source', 3));
  const out = await start(arn2, 'after-commit-2', retrying);
  retrying.destroy();
  const ledger2 = await admin.ledgerFor(arn2);
  t.same(
    ledger2.calls.map((c) => [c.outcome, c.errorAfterCommit]),
    [
      ['created', 'ServiceUnavailableException'],
      ['replayed', undefined],
    ],
  );
  t.same(ledger2.jobIds, [out.CopyJobId], 'one job');
  t.same(
    (await admin.knobs()).errorAfterStartCopyJob,
    { count: 0, probability: 0, status: 503 },
    'the count is used up',
  );
  await t.rejects(admin.errorAfterStartCopyJob(1, 0, 404 as 503), /status must be 500 or 503/);
  await admin.completeAllJobs();
});

t.test('source points that change during the run', async (t) => {
  await admin.setKnobs({ listingLagSeconds: 0 });
  const describe = (arn: string) =>
    src.send(new DescribeRecoveryPointCommand({ BackupVaultName: VAULT, RecoveryPointArn: arn }));
  const errorOf = (p: Promise<unknown>) =>
    p.then(
      () => 'no error',
      (e: Error) => e.name,
    );

  // A new point: listed and copyable.
  const [fresh] = (await admin.addRecoveryPoints({ vault: VAULT, resourceType: 'EBS' })).recoveryPointArns;
  t.ok(
    (await listAllPoints(src, VAULT)).some((p) => p.RecoveryPointArn === fresh),
    'a new point is listed',
  );

  // Cold storage: the job is accepted and ends FAILED, as for every cold point.
  const cold = take();
  const now = (await admin.clock()).now;
  await admin.patchRecoveryPoint({ vault: VAULT, recoveryPointArn: cold, moveToColdStorageAt: now - 1000 });
  const d = await describe(cold);
  t.equal(d.StorageClass, 'COLD');
  t.equal(d.CalculatedLifecycle?.MoveToColdStorageAt?.getTime(), now - 1000);
  const coldJob = await start(cold);
  await admin.completeAllJobs();
  const coldDone = await src.send(new DescribeCopyJobCommand({ CopyJobId: coldJob.CopyJobId }));
  t.equal(coldDone.CopyJob?.State, 'FAILED');
  t.match(coldDone.CopyJob?.StatusMessage, /cold storage/);

  // DELETING and EXPIRED: refused.
  const deleting = take();
  await admin.setRecoveryPointStatus(VAULT, deleting, 'DELETING');
  t.equal(await errorOf(start(deleting)), 'InvalidRequestException', 'DELETING cannot be copied');
  t.equal((await describe(deleting)).StorageClass, 'DELETED');
  const expired = take();
  await admin.setRecoveryPointStatus(VAULT, expired, 'EXPIRED');
  t.equal(await errorOf(start(expired)), 'InvalidRequestException', 'EXPIRED cannot be copied');
  await t.rejects(admin.setRecoveryPointStatus(VAULT, expired, 'GONE'), /status must be one of/);

  // Deleted while a job on it runs: the job still finishes, then the point is gone.
  const deleted = take();
  const running = await start(deleted);
  await admin.deleteRecoveryPoint(VAULT, deleted);
  t.notOk(
    (await listAllPoints(src, VAULT)).some((p) => p.RecoveryPointArn === deleted),
    'gone from the listing',
  );
  t.equal(await errorOf(describe(deleted)), 'ResourceNotFoundException');
  t.equal(await errorOf(start(deleted)), 'ResourceNotFoundException');
  await admin.completeAllJobs();
  const finished = await src.send(new DescribeCopyJobCommand({ CopyJobId: running.CopyJobId }));
  t.equal(finished.CopyJob?.State, 'COMPLETED', 'the job that was running finishes');

  // Removed at DeleteAt once the clock passes it (with deletePointsAtDeleteAt).
  const timed = take();
  const at = (await admin.clock()).now + 10_000;
  await admin.patchRecoveryPoint({ vault: VAULT, recoveryPointArn: timed, deleteAt: at });
  t.equal((await describe(timed)).CalculatedLifecycle?.DeleteAt?.getTime(), at);
  await admin.advanceClock(11_000);
  t.equal((await describe(timed)).RecoveryPointArn, timed, 'kept while deletePointsAtDeleteAt is off');
  await admin.setKnobs({ deletePointsAtDeleteAt: true });
  t.equal(await errorOf(describe(timed)), 'ResourceNotFoundException', 'deleted at its DeleteAt');
  t.notOk((await listAllPoints(src, VAULT)).some((p) => p.RecoveryPointArn === timed));
  await admin.setKnobs({ deletePointsAtDeleteAt: false });

  const judge = await admin.judge({ activeOnly: true });
  const view = (arn: string) => judge.points.find((p) => p.recoveryPointArn === arn);
  t.same(view(cold)?.ineligibleJobs?.[0]?.reasons, ['cold storage'], 'the judge sees the copy of a cold point');
  t.equal(view(cold)?.storageClass, 'COLD');
  t.equal(view(deleted)?.exists, false);
  t.equal(view(deleted)?.status, 'DELETED');
  t.same(view(deleted)?.completedCopies, { [destArn]: 1 }, 'its copy counts');
  t.same(view(deleted)?.ineligibleJobs, undefined, 'it was eligible when the job was created');
  t.equal(view(deleting)?.jobsCreated, 0);
  t.same(view(deleting)?.ineligibleNow, ['status DELETING']);
});

t.test('copy jobs that end PARTIAL', async (t) => {
  await admin.setKnobs({ listingLagSeconds: 0 });
  const arn = take();
  t.same(await admin.forceCopyOutcome(arn, 'PARTIAL'), { [arn]: 'PARTIAL' });
  const { CopyJobId } = await start(arn);
  await admin.completeAllJobs();
  const job = (await src.send(new DescribeCopyJobCommand({ CopyJobId }))).CopyJob;
  t.equal(job?.State, 'PARTIAL');
  t.match(job?.StatusMessage, /some items/);
  t.ok(job?.CompletionDate);
  const copy = await dst.send(
    new DescribeRecoveryPointCommand({
      BackupVaultName: 'dyn-target',
      RecoveryPointArn: job?.DestinationRecoveryPointArn,
    }),
  );
  t.equal(copy.Status, 'PARTIAL', 'the copy lands as a PARTIAL recovery point');
  t.ok((await listedJobIds({ ByState: 'PARTIAL' })).includes(CopyJobId), 'ListCopyJobs byState PARTIAL');
  await admin.forceCopyOutcome(arn, null);
  t.same(await admin.forcedCopyOutcomes(), {}, 'undone');
  await t.rejects(admin.forceCopyOutcome(arn, 'DONE' as 'PARTIAL'), /outcome must be/);
  const judged = (await admin.judge({ recoveryPointArn: arn })).points[0];
  t.same(judged?.partialCopies, { [destArn]: 1 });
  t.same(judged?.completedCopies, {}, 'a partial copy is not a completed one');

  await admin.setKnobs({ copyPartialRate: 1 });
  const other = await start(take());
  await admin.setKnobs({ copyPartialRate: 0 });
  await admin.completeAllJobs();
  t.equal((await src.send(new DescribeCopyJobCommand({ CopyJobId: other.CopyJobId }))).CopyJob?.State, 'PARTIAL');
});

t.test('copies that exist in the destination before the test', async (t) => {
  await admin.setKnobs({ listingLagSeconds: 5 });
  const [a, b] = [take(), take()];
  const source = await src.send(new DescribeRecoveryPointCommand({ BackupVaultName: VAULT, RecoveryPointArn: a }));
  const { copies } = await admin.seedDestinationCopies({ destinationVault: 'dyn-target', recoveryPointArns: [a] });
  t.equal(copies.length, 1);
  t.equal(copies[0]?.jobId, undefined, 'no job in the history');
  const listed = (await dst.send(new ListRecoveryPointsByBackupVaultCommand({ BackupVaultName: 'dyn-target' })))
    .RecoveryPoints;
  const copy = listed?.find((p) => p.RecoveryPointArn === copies[0]?.destPointArn);
  t.ok(copy, 'listed at once: it predates the test');
  t.equal(copy?.ResourceArn, source.ResourceArn);
  t.equal(copy?.ResourceType, source.ResourceType);
  t.equal(copy?.CreationDate?.getTime(), source.CreationDate?.getTime(), 'the source creation date');
  t.equal(copy?.SourceBackupVaultArn, source.BackupVaultArn);
  t.equal(copy?.Status, 'COMPLETED');
  t.same(await listedJobIds({ BySourceRecoveryPointArn: a }), [], 'no job for it');

  const copiedAt = '2020-01-01T00:00:00Z';
  const withJob = await admin.seedDestinationCopies({
    destinationVault: 'dyn-target',
    recoveryPointArns: [b],
    withJob: true,
    copiedAt,
  });
  const jobId = withJob.copies[0]?.jobId as string;
  const old = (await src.send(new ListCopyJobsCommand({ BySourceRecoveryPointArn: b }))).CopyJobs ?? [];
  t.same(
    old.map((j) => [j.CopyJobId, j.State, j.DestinationRecoveryPointArn]),
    [[jobId, 'COMPLETED', withJob.copies[0]?.destPointArn]],
    'the old job is in the history',
  );

  // A seeded share of a vault: deterministic for a seed.
  const share = await admin.seedDestinationCopies({
    destinationVault: 'dyn-target',
    sourceVault: 'prod-rds-monthly',
    share: 0.5,
    seed: 7,
  });
  const total = (await listAllPoints(src, 'prod-rds-monthly')).length;
  t.ok(share.copies.length > 0 && share.copies.length < total, `${share.copies.length} of ${total} points`);

  const judge = await admin.judge();
  const view = (arn: string) => judge.points.find((p) => p.recoveryPointArn === arn);
  t.same(view(a)?.completedCopies, { [destArn]: 1 });
  t.equal(view(a)?.preexistingCopies, 1);
  t.equal(view(a)?.jobsCreated, 0, 'no job created during the test');
  t.same(view(b)?.completedCopies, { [destArn]: 1 });
  t.equal(judge.totals.points, judge.points.length);
  t.ok(judge.points.length >= total, 'every source point is in the view');
  const ledger = await admin.ledgerFor(a);
  t.same(
    ledger.preexistingCopies,
    copies.map(({ destVaultArn, destPointArn }) => ({ destVaultArn, destPointArn })),
  );
});
