// The real AWS SDK v3 clients against the sandbox: paginators, error names as
// rpcopy will see them (err.name), copy jobs, idempotency, faults, credentials.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BackupClient,
  CreateLogicallyAirGappedBackupVaultCommand,
  DescribeBackupVaultCommand,
  DescribeCopyJobCommand,
  DescribeRecoveryPointCommand,
  GetBackupVaultAccessPolicyCommand,
  ListBackupVaultsCommand,
  ListCopyJobsCommand,
  ListRecoveryPointsByBackupVaultCommand,
  PutBackupVaultLockConfigurationCommand,
  paginateListBackupVaults,
  paginateListCopyJobs,
  StartCopyJobCommand,
} from '@aws-sdk/client-backup';
import { GetRoleCommand, IAMClient, SimulatePrincipalPolicyCommand } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { fromIni } from '@aws-sdk/credential-providers';
import t from 'tap';
import { SandboxAdmin } from './client.js';
import { SandboxClock } from './clock.js';
import { writeCredentialsProfile } from './credentials.js';
import { type SandboxHandle, startSandbox } from './server.js';
import { COPY_ROLE, clientConfig, copyablePoints, createDestVault, listAllPoints } from './testkit.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

let h: SandboxHandle;
let admin: SandboxAdmin;
let src: BackupClient;
let dst: BackupClient;

t.before(async () => {
  // Sandbox time stands still unless a test advances it (admin.advanceClock): copy-job states and credential
  // lifetimes must not depend on how much real time a loaded machine takes between two calls.
  const startedAt = Date.now();
  h = await startSandbox({
    points: 400,
    seed: 11,
    timeFactor: 1000,
    // These tests list right after writing with the clock stopped; lagging listings are tested in dynamics.test.ts.
    knobs: { throttling: { enabled: false }, listingLagSeconds: 0 },
    clock: new SandboxClock(() => startedAt),
  });
  admin = new SandboxAdmin(h.adminUrl);
  src = new BackupClient(clientConfig(h, 'source', 1));
  dst = new BackupClient(clientConfig(h, 'destination', 1));
});
t.teardown(async () => {
  src.destroy();
  dst.destroy();
  await h.close();
});

t.test('paginators list exactly what the generator made', async (t) => {
  const truth = await admin.truth();
  const names: string[] = [];
  for await (const page of paginateListBackupVaults({ client: src, pageSize: 5 }, {})) {
    names.push(...(page.BackupVaultList ?? []).map((v) => v.BackupVaultName as string));
  }
  t.same(
    names,
    truth.vaults.map((v) => v.name),
    'all 12 vaults, over several pages',
  );
  let total = 0;
  for (const vt of truth.vaults) {
    const points = await listAllPoints(src, vt.name, 7);
    t.equal(points.length, vt.points, `${vt.name}: ${vt.points} points`);
    t.equal(
      new Set(points.map((p) => p.RecoveryPointArn)).size,
      points.length,
      `${vt.name}: no duplicates across pages`,
    );
    total += points.length;
  }
  t.equal(total, truth.totalPoints);
  const types = new Set(
    (await Promise.all(truth.vaults.map((v) => listAllPoints(src, v.name)))).flat().map((p) => p.ResourceType),
  );
  t.same([...types].sort(), ['Aurora', 'DynamoDB', 'EBS', 'EC2', 'EFS', 'FSx', 'RDS', 'S3']);
});

t.test('list filters and describe', async (t) => {
  const all = await listAllPoints(src, 'prod-mixed-weekly');
  const ebs = await src.send(
    new ListRecoveryPointsByBackupVaultCommand({
      BackupVaultName: 'prod-mixed-weekly',
      ByResourceType: 'EBS',
      MaxResults: 1000,
    }),
  );
  t.equal(ebs.RecoveryPoints?.length, all.filter((p) => p.ResourceType === 'EBS').length, 'ByResourceType');
  const one = all[all.length - 1];
  const byRes = await src.send(
    new ListRecoveryPointsByBackupVaultCommand({
      BackupVaultName: 'prod-mixed-weekly',
      ByResourceArn: one?.ResourceArn,
      MaxResults: 1000,
    }),
  );
  t.equal(byRes.RecoveryPoints?.length, all.filter((p) => p.ResourceArn === one?.ResourceArn).length, 'ByResourceArn');
  const cut = all[5]?.CreationDate as Date;
  const after = await src.send(
    new ListRecoveryPointsByBackupVaultCommand({
      BackupVaultName: 'prod-mixed-weekly',
      ByCreatedAfter: cut,
      MaxResults: 1000,
    }),
  );
  t.equal(after.RecoveryPoints?.length, all.filter((p) => (p.CreationDate as Date) > cut).length, 'ByCreatedAfter');
  const d = await src.send(
    new DescribeRecoveryPointCommand({ BackupVaultName: 'prod-mixed-weekly', RecoveryPointArn: one?.RecoveryPointArn }),
  );
  t.equal(d.RecoveryPointArn, one?.RecoveryPointArn);
  t.ok(['WARM', 'COLD'].includes(d.StorageClass as string));
  const cold = all.find(
    (p) =>
      p.CalculatedLifecycle?.MoveToColdStorageAt &&
      p.CalculatedLifecycle.MoveToColdStorageAt.getTime() <= h.sandbox.clock.now(),
  );
  if (cold) {
    const dc = await src.send(
      new DescribeRecoveryPointCommand({
        BackupVaultName: 'prod-mixed-weekly',
        RecoveryPointArn: cold.RecoveryPointArn,
      }),
    );
    t.equal(dc.StorageClass, 'COLD', 'a point past MoveToColdStorageAt is COLD');
  }
  const efs = await listAllPoints(src, 'aws/efs/automatic-backup-vault');
  t.ok(efs.length > 0, 'a vault name containing slashes works as a path label');
  const v = await src.send(new DescribeBackupVaultCommand({ BackupVaultName: 'prod-ebs-daily' }));
  t.equal(v.Locked, true);
  t.ok(v.LockDate instanceof Date, 'compliance lock has a LockDate');
  const gov = await src.send(new DescribeBackupVaultCommand({ BackupVaultName: 'prod-rds-monthly' }));
  t.equal(gov.Locked, true);
  t.equal(gov.LockDate, undefined, 'governance lock: no LockDate');
  const list = await src.send(new ListBackupVaultsCommand({}));
  t.equal(
    list.BackupVaultList?.find((x) => x.BackupVaultName === 'prod-ebs-daily')?.LockDate,
    undefined,
    'ListBackupVaults omits LockDate, as AWS does',
  );
});

t.test('error names as the daemon sees them', async (t) => {
  await t.rejects(src.send(new DescribeBackupVaultCommand({ BackupVaultName: 'no-such-vault' })), {
    name: 'ResourceNotFoundException',
  });
  await t.rejects(
    src.send(new ListRecoveryPointsByBackupVaultCommand({ BackupVaultName: 'Default', MaxResults: 1001 })),
    {
      name: 'InvalidParameterValueException',
    },
  );
  await t.rejects(
    src.send(new ListRecoveryPointsByBackupVaultCommand({ BackupVaultName: 'Default', NextToken: 'bogus' })),
    {
      name: 'InvalidParameterValueException',
    },
  );
  const page = await src.send(
    new ListRecoveryPointsByBackupVaultCommand({ BackupVaultName: 'prod-ebs-daily', MaxResults: 2 }),
  );
  t.ok(page.NextToken);
  await t.rejects(
    src.send(
      new ListRecoveryPointsByBackupVaultCommand({ BackupVaultName: 'dev-shortterm', NextToken: page.NextToken }),
    ),
    {
      name: 'InvalidParameterValueException',
    },
    'a token from another listing is refused',
  );
  await t.rejects(
    src.send(
      new StartCopyJobCommand({
        RecoveryPointArn: 'x',
        SourceBackupVaultName: 'Default',
        DestinationBackupVaultArn: '',
        IamRoleArn: 'r',
      }),
    ),
    {
      name: 'MissingParameterValueException',
    },
  );
  await t.rejects(src.send(new GetBackupVaultAccessPolicyCommand({ BackupVaultName: 'dev-shortterm' })), {
    name: 'ResourceNotFoundException',
  });
  await t.rejects(
    dst.send(new PutBackupVaultLockConfigurationCommand({ BackupVaultName: 'Default', ChangeableForDays: 1 })),
    {
      name: 'InvalidParameterValueException',
    },
  );
  await t.rejects(
    dst.send(
      new CreateLogicallyAirGappedBackupVaultCommand({
        BackupVaultName: 'lag-x',
        MinRetentionDays: 1,
        MaxRetentionDays: 30,
      }),
    ),
    { name: 'InvalidParameterValueException' },
  );
});

t.test('throttling', async (t) => {
  // One call per 1000 s: the bucket admits its one-call burst and refuses the rest, however slowly they arrive
  // (at 1/s, calls more than a second apart on a loaded machine would all be admitted).
  await admin.setKnobs({ throttling: { enabled: true, rates: { DescribeBackupVault: 0.001 } } });
  t.teardown(() => admin.setKnobs({ throttling: { enabled: false } }).then(() => undefined));
  const calls = [1, 2, 3].map(() =>
    src.send(new DescribeBackupVaultCommand({ BackupVaultName: 'Default' })).then(
      () => 'ok',
      (e: Error) => e.name,
    ),
  );
  const results = await Promise.all(calls);
  t.same(results.sort(), ['ThrottlingException', 'ThrottlingException', 'ok'], `got ${results.join(',')}`);
  const iam = new IAMClient({ ...clientConfig(h, 'source', 1) });
  await admin.setKnobs({ throttling: { rates: { GetRole: 0.001 } } });
  const names = await Promise.all(
    [1, 2, 3].map(() =>
      iam.send(new GetRoleCommand({ RoleName: 'AWSBackupDefaultServiceRole' })).then(
        () => 'ok',
        (e: Error) => e.name,
      ),
    ),
  );
  t.same(names.sort(), ['Throttling', 'Throttling', 'ok'], `IAM (query protocol) throttling code: ${names.join(',')}`);
  iam.destroy();
});

t.test('a copy job runs CREATED → RUNNING → COMPLETED and the copy lands with the requested lifecycle', async (t) => {
  const destArn = await createDestVault(h, dst, 'copy-target');
  const point = copyablePoints(h, await listAllPoints(src, 'prod-ebs-daily'))[0];
  t.ok(point, 'a copyable point exists');
  // Time factor 10: EBS waits 6 s of sandbox time in CREATED and runs at least 30 s; the sandbox clock only moves
  // when the test advances it, so real time passing during the test does not matter.
  await admin.setKnobs({ timeFactor: 10 });
  const input = {
    RecoveryPointArn: point?.RecoveryPointArn,
    SourceBackupVaultName: 'prod-ebs-daily',
    DestinationBackupVaultArn: destArn,
    IamRoleArn: COPY_ROLE(h.accounts.source),
    IdempotencyToken: 'tok-copy-1',
    Lifecycle: { DeleteAfterDays: 200 },
  };
  const started = await src.send(new StartCopyJobCommand(input));
  await admin.setKnobs({ timeFactor: 1000 });
  // Same token and same request: the same job, no new one.
  const again = await src.send(new StartCopyJobCommand(input));
  t.equal(again.CopyJobId, started.CopyJobId);
  const d1 = await src.send(new DescribeCopyJobCommand({ CopyJobId: started.CopyJobId }));
  t.equal(d1.CopyJob?.State, 'CREATED');
  await admin.advanceClock(7_000);
  const d2 = await src.send(new DescribeCopyJobCommand({ CopyJobId: started.CopyJobId }));
  t.equal(d2.CopyJob?.State, 'RUNNING');
  await admin.advanceClock(24 * 3600 * 1000);
  const d3 = await src.send(new DescribeCopyJobCommand({ CopyJobId: started.CopyJobId }));
  t.equal(d3.CopyJob?.State, 'COMPLETED');
  const copies = await listAllPoints(dst, 'copy-target');
  t.equal(copies.length, 1);
  t.equal(copies[0]?.RecoveryPointArn, d3.CopyJob?.DestinationRecoveryPointArn);
  t.equal(copies[0]?.Lifecycle?.DeleteAfterDays, 200);
  t.equal(copies[0]?.CreationDate?.getTime(), point?.CreationDate?.getTime(), 'copies keep the source creation date');
  t.equal(
    copies[0]?.SourceBackupVaultArn,
    `arn:aws:backup:${h.region}:${h.accounts.source}:backup-vault:prod-ebs-daily`,
  );

  const ledger = await admin.ledgerFor(point?.RecoveryPointArn as string);
  t.equal(ledger.jobIds.length, 1, 'ledger: one job for the point');
  t.same(
    ledger.calls.map((c) => c.outcome),
    ['created', 'replayed'],
  );
  const listed = await src.send(new ListCopyJobsCommand({ BySourceRecoveryPointArn: point?.RecoveryPointArn }));
  t.equal(listed.CopyJobs?.length, 1, 'ListCopyJobs bySourceRecoveryPointArn');
});

t.test('one job per resource at a time; quota; failures AWS produces', async (t) => {
  const destArn = await createDestVault(h, dst, 'failure-target');
  const points = copyablePoints(h, await listAllPoints(src, 'prod-ebs-daily'));
  const byRes = new Map<string, typeof points>();
  for (const p of points) byRes.set(p.ResourceArn as string, [...(byRes.get(p.ResourceArn as string) ?? []), p]);
  const chain = [...byRes.values()].find((c) => c.length >= 2);
  t.ok(chain, 'a resource with two copyable points');
  const start = (
    p: { RecoveryPointArn?: string },
    vault = 'prod-ebs-daily',
    dest = destArn,
    extra: Record<string, unknown> = {},
  ) =>
    src.send(
      new StartCopyJobCommand({
        RecoveryPointArn: p.RecoveryPointArn,
        SourceBackupVaultName: vault,
        DestinationBackupVaultArn: dest,
        IamRoleArn: COPY_ROLE(h.accounts.source),
        ...extra,
      }),
    );
  await admin.setKnobs({ timeFactor: 10 });
  const j1 = await start(chain?.[0] ?? {});
  const j2 = await start(chain?.[1] ?? {});
  await admin.setKnobs({ timeFactor: 1000 });
  await admin.advanceClock(7_000);
  const s1 = await src.send(new DescribeCopyJobCommand({ CopyJobId: j1.CopyJobId }));
  const s2 = await src.send(new DescribeCopyJobCommand({ CopyJobId: j2.CopyJobId }));
  t.equal(s1.CopyJob?.State, 'RUNNING');
  t.equal(s2.CopyJob?.State, 'CREATED', 'the second job of the same resource waits');
  await admin.completeAllJobs();

  await admin.setKnobs({ copyJobQuota: 1 });
  await start(points[points.length - 1] ?? {});
  await t.rejects(start(points[points.length - 2] ?? {}), { name: 'LimitExceededException' });
  await admin.setKnobs({ copyJobQuota: 100 });
  await admin.completeAllJobs();

  const truth = await admin.truth();
  const rdsVault = await listAllPoints(src, 'prod-rds-monthly');
  const continuous = rdsVault.find((p) => p.RecoveryPointArn?.includes(':continuous:') && p.Status === 'COMPLETED');
  if (truth.vaults.find((v) => v.name === 'prod-rds-monthly')?.flags.continuous && continuous) {
    await t.rejects(
      start(continuous, 'prod-rds-monthly'),
      { name: 'InvalidRequestException' },
      'continuous backups cannot be copied',
    );
  }
  const w = h.sandbox.world;
  let managed: { vault: string; arn: string } | undefined;
  for (const v of truth.vaults) {
    if (managed || !v.flags.awsManagedKey) continue;
    const p = (await listAllPoints(src, v.name)).find(
      (p) =>
        p.Status === 'COMPLETED' &&
        ['RDS', 'Aurora', 'EBS', 'EC2', 'FSx'].includes(p.ResourceType ?? '') &&
        !p.RecoveryPointArn?.includes(':continuous:') &&
        p.EncryptionKeyArn &&
        w.findKey(w.source, p.EncryptionKeyArn)?.manager === 'AWS',
    );
    if (p) managed = { vault: v.name, arn: p.RecoveryPointArn as string };
  }
  t.ok(managed, 'a not-fully-managed point under an AWS managed key (aws/rds, aws/ebs, aws/fsx)');
  const fm = await start({ RecoveryPointArn: managed?.arn }, managed?.vault);
  // A vault whose policy does not admit the source account.
  await createDestVault(
    h,
    dst,
    'closed-vault',
    JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${h.accounts.destination}:root` },
          Action: 'backup:CopyIntoBackupVault',
          Resource: '*',
        },
      ],
    }),
  );
  const denied = await start(
    points[3] ?? {},
    'prod-ebs-daily',
    `arn:aws:backup:${h.region}:${h.accounts.destination}:backup-vault:closed-vault`,
  );
  // Lifecycle outside the destination lock.
  const lockedArn = await createDestVault(h, dst, 'locked-vault');
  await dst.send(
    new PutBackupVaultLockConfigurationCommand({
      BackupVaultName: 'locked-vault',
      MinRetentionDays: 30,
      MaxRetentionDays: 90,
    }),
  );
  const lockFail = await start(points[4] ?? {}, 'prod-ebs-daily', lockedArn, { Lifecycle: { DeleteAfterDays: 7 } });
  await admin.completeAllJobs();
  const msg = async (id?: string) => (await src.send(new DescribeCopyJobCommand({ CopyJobId: id }))).CopyJob;
  const a = await msg(fm.CopyJobId);
  t.equal(a?.State, 'FAILED');
  t.match(a?.StatusMessage, /AWS managed key|default CMK/);
  const b = await msg(denied.CopyJobId);
  t.equal(b?.State, 'FAILED');
  t.equal(b?.StatusMessage, 'Access Denied trying to call AWS Backup service');
  const c = await msg(lockFail.CopyJobId);
  t.equal(c?.State, 'FAILED');
  t.match(c?.StatusMessage, /vault lock/);
  let failed = 0;
  for await (const page of paginateListCopyJobs({ client: src, pageSize: 2 }, { ByState: 'FAILED' }))
    failed += page.CopyJobs?.length ?? 0;
  t.equal(failed, 3, 'ListCopyJobs byState, paginated');
});

t.test('drop after StartCopyJob: the SDK retries; a token keeps it to one job', async (t) => {
  await createDestVault(h, dst, 'drop-target');
  const destArn = `arn:aws:backup:${h.region}:${h.accounts.destination}:backup-vault:drop-target`;
  const retrying = new BackupClient(clientConfig(h, 'source', 3));
  t.teardown(() => retrying.destroy());
  const points = copyablePoints(h, await listAllPoints(src, 'legacy-ec2-ami'));
  await admin.dropAfterStartCopyJob(1);
  const input = {
    RecoveryPointArn: points[0]?.RecoveryPointArn,
    SourceBackupVaultName: 'legacy-ec2-ami',
    DestinationBackupVaultArn: destArn,
    IamRoleArn: COPY_ROLE(h.accounts.source),
    IdempotencyToken: 'drop-token-1',
  };
  const out = await retrying.send(new StartCopyJobCommand(input));
  t.equal(out.$metadata.attempts, 2, 'first attempt lost, second answered');
  const entry = await admin.ledgerFor(points[0]?.RecoveryPointArn as string);
  t.equal(entry.jobIds.length, 1, 'one job thanks to the token');
  t.equal(entry.calls[0]?.dropped, true);
  t.equal(entry.calls[1]?.outcome, 'replayed');
});

t.test('transient 503 is a ServiceUnavailableException the SDK retries', async (t) => {
  await admin.setKnobs({ transientErrorRate: 1, transientErrorOperations: ['ListBackupVaults'] });
  await t.rejects(src.send(new ListBackupVaultsCommand({})), {
    name: 'ServiceUnavailableException',
    $metadata: { httpStatusCode: 503 },
  });
  await admin.setKnobs({ transientErrorRate: 0 });
});

t.test('STS and IAM', async (t) => {
  const sts = new STSClient(clientConfig(h, 'source', 1));
  const iam = new IAMClient(clientConfig(h, 'source', 1));
  t.teardown(() => {
    sts.destroy();
    iam.destroy();
  });
  const id = await sts.send(new GetCallerIdentityCommand({}));
  t.equal(id.Account, h.accounts.source);
  t.match(id.Arn, /^arn:aws:sts::111111111111:assumed-role\/AWSReservedSSO_BackupAdmin_[0-9a-f]+\/rpcopy-operator$/);
  const roleName = id.Arn?.split('/')[1] as string;
  const role = await iam.send(new GetRoleCommand({ RoleName: roleName }));
  t.match(role.Role?.Arn, /:role\/aws-reserved\/sso\.amazonaws\.com\//, 'GetRole gives the ARN with its path');
  await t.rejects(
    iam.send(new SimulatePrincipalPolicyCommand({ PolicySourceArn: id.Arn, ActionNames: ['backup:StartCopyJob'] })),
    { name: 'InvalidInput' },
  );
  await admin.setKnobs({ iamDeniedActions: { [h.accounts.source]: ['backup:StartCopyJob', 'kms:*'] } });
  const sim = await iam.send(
    new SimulatePrincipalPolicyCommand({
      PolicySourceArn: role.Role?.Arn,
      ActionNames: ['backup:StartCopyJob', 'backup:ListCopyJobs', 'kms:DescribeKey'],
    }),
  );
  t.same(
    sim.EvaluationResults?.map((r) => r.EvalDecision),
    ['implicitDeny', 'allowed', 'implicitDeny'],
  );
  await t.rejects(
    src.send(
      new StartCopyJobCommand({
        RecoveryPointArn: 'x',
        SourceBackupVaultName: 'Default',
        DestinationBackupVaultArn: 'y',
        IamRoleArn: 'z',
      }),
    ),
    { name: 'AccessDeniedException' },
    'denied actions are enforced on the real call too',
  );
  await admin.setKnobs({ iamDeniedActions: { [h.accounts.source]: [] } });
  await t.rejects(iam.send(new GetRoleCommand({ RoleName: 'Nope' })), { name: 'NoSuchEntity' });
});

t.test('air-gapped vault creation and points added for an inventory refresh', async (t) => {
  const lag = await dst.send(
    new CreateLogicallyAirGappedBackupVaultCommand({
      BackupVaultName: 'lag-replica',
      MinRetentionDays: 7,
      MaxRetentionDays: 3650,
    }),
  );
  t.equal(lag.VaultState, 'CREATING');
  await admin.advanceClock(1000);
  const v = await dst.send(new DescribeBackupVaultCommand({ BackupVaultName: 'lag-replica' }));
  t.equal(v.VaultState, 'AVAILABLE');
  t.equal(v.VaultType, 'LOGICALLY_AIR_GAPPED_BACKUP_VAULT');
  t.equal(v.EncryptionKeyType, 'AWS_OWNED_KMS_KEY');
  const before = (await listAllPoints(src, 'fsx-filesystems')).length;
  const added = await admin.addRecoveryPoints({ vault: 'fsx-filesystems', count: 3, resourceType: 'FSx' });
  const after = await listAllPoints(src, 'fsx-filesystems');
  t.equal(after.length, before + 3);
  t.same(
    after.slice(-3).map((p) => p.RecoveryPointArn),
    added.recoveryPointArns,
    'new points come after the existing ones',
  );
  const d = await src.send(
    new DescribeRecoveryPointCommand({
      BackupVaultName: 'fsx-filesystems',
      RecoveryPointArn: added.recoveryPointArns[0],
    }),
  );
  t.equal(d.Status, 'COMPLETED');
  const counters = await admin.counters();
  t.ok((counters['backup:ListRecoveryPointsByBackupVault']?.calls ?? 0) > 0, 'counters per operation');
});

t.test('credentials: expiry, unknown key, stale secret, rotation through the credentials file', async (t) => {
  const dir = t.testdir();
  const file = join(dir, 'credentials');
  const config = join(dir, 'config');
  writeFileSync(config, `[profile src]\nregion = ${h.region}\n`);
  writeCredentialsProfile(file, 'other', h.credentialsFor('destination'));
  writeCredentialsProfile(file, 'src', h.credentialsFor('source'));
  const fresh = () =>
    new BackupClient({
      region: h.region,
      endpoint: h.url,
      maxAttempts: 1,
      credentials: fromIni({ profile: 'src', filepath: file, configFilepath: config, ignoreCache: true }),
    });
  const c1 = fresh();
  await c1.send(new ListBackupVaultsCommand({}));

  const good = h.credentialsFor('source');
  // The issued secret is random and may already end in 'x' (3 chances in 64: '+', '/' and 'x' all become 'x'),
  // so change its last character to one it certainly is not; an unchanged secret would rightly be accepted.
  const staleSecret = `${good.secretAccessKey.slice(0, -1)}${good.secretAccessKey.endsWith('x') ? 'y' : 'x'}`;
  t.not(staleSecret, good.secretAccessKey, 'the stale secret differs from the issued one');
  const stale = new BackupClient({
    region: h.region,
    endpoint: h.url,
    maxAttempts: 1,
    credentials: { ...good, secretAccessKey: staleSecret },
  });
  await t.rejects(stale.send(new ListBackupVaultsCommand({})), {
    name: 'InvalidSignatureException',
    $metadata: { httpStatusCode: 403 },
  });
  const unknown = new BackupClient({
    region: h.region,
    endpoint: h.url,
    maxAttempts: 1,
    credentials: { ...good, accessKeyId: 'ASIAUNKNOWNUNKNOWN00' },
  });
  await t.rejects(unknown.send(new ListBackupVaultsCommand({})), { name: 'UnrecognizedClientException' });
  const stsUnknown = new STSClient({
    region: h.region,
    endpoint: h.url,
    maxAttempts: 1,
    credentials: { ...good, accessKeyId: 'ASIAUNKNOWNUNKNOWN00' },
  });
  await t.rejects(stsUnknown.send(new GetCallerIdentityCommand({})), { name: 'InvalidClientTokenId' });
  const stsStale = new STSClient({
    region: h.region,
    endpoint: h.url,
    maxAttempts: 1,
    credentials: { ...good, secretAccessKey: 'wrong' },
  });
  await t.rejects(stsStale.send(new GetCallerIdentityCommand({})), { name: 'SignatureDoesNotMatch' });

  await admin.expireCredentials('source');
  await t.rejects(c1.send(new ListBackupVaultsCommand({})), {
    name: 'ExpiredTokenException',
    $metadata: { httpStatusCode: 403 },
  });
  const sts = new STSClient({
    region: h.region,
    endpoint: h.url,
    maxAttempts: 1,
    credentials: fromIni({ profile: 'src', filepath: file, configFilepath: config, ignoreCache: true }),
  });
  await t.rejects(sts.send(new GetCallerIdentityCommand({})), { name: 'ExpiredToken' });
  const iam = new IAMClient({
    region: h.region,
    endpoint: h.url,
    maxAttempts: 1,
    credentials: fromIni({ profile: 'src', filepath: file, configFilepath: config, ignoreCache: true }),
  });
  await t.rejects(iam.send(new GetRoleCommand({ RoleName: 'AWSBackupDefaultServiceRole' })), { name: 'ExpiredToken' });

  const rotated = await admin.rotateCredentials('source', file, 'src');
  await t.rejects(
    c1.send(new ListBackupVaultsCommand({})),
    { name: 'ExpiredTokenException' },
    'an old client keeps its old key',
  );
  const c2 = fresh();
  const ok = await c2.send(new ListBackupVaultsCommand({}));
  t.ok(
    ok.BackupVaultList?.length,
    `a new client with fromIni({ ignoreCache: true }) uses generation ${rotated.generation}`,
  );
  const other = (await import('node:fs')).readFileSync(file, 'utf8');
  t.match(other, /\[other\]\naws_access_key_id = ASIA/, 'other profiles are kept');

  // Credentials that live 2 seconds of sandbox time.
  await admin.expireCredentialsEvery('source', 2);
  await c2.send(new ListBackupVaultsCommand({}));
  await admin.advanceClock(2500);
  await t.rejects(c2.send(new ListBackupVaultsCommand({})), { name: 'ExpiredTokenException' });
  await admin.autoRotateCredentials('source', file, 'src', 1);
  await admin.advanceClock(1500);
  const c3 = fresh();
  await c3.send(new ListBackupVaultsCommand({}));
  t.pass('auto-rotation wrote fresh credentials into the file');
  await admin.stopAutoRotate('source');
  await admin.expireCredentialsEvery('source', null);
  for (const c of [c1, c2, c3, stale, unknown]) c.destroy();
  for (const c of [sts, stsUnknown, stsStale]) c.destroy();
  iam.destroy();
});
