// Destination vaults against the sandbox, through the built daemon and rpctl:
// - without the operator's consent, compliance locks stay governance (same limits) and the air-gapped vault is
//   not created; rpctl compliance reports both as drift;
// - a pre-existing weaker destination vault is strengthened and reported, a stricter one is never loosened, and
//   nothing the operator put there is removed;
// - with consent, every lock variant the generator produces is replicated exactly (read back with the SDK);
// - a further run changes nothing (no write call reaches AWS).

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BackupClient,
  CreateBackupVaultCommand,
  DescribeBackupVaultCommand,
  GetBackupVaultAccessPolicyCommand,
  GetBackupVaultNotificationsCommand,
  ListTagsCommand,
  PutBackupVaultAccessPolicyCommand,
  PutBackupVaultLockConfigurationCommand,
} from '@aws-sdk/client-backup';
import { fromIni } from '@aws-sdk/credential-providers';
import Database from 'better-sqlite3';
import t from 'tap';
import { runUntilDone, stopDaemon } from '../helpers/pipeline.js';
import { runCtlAsync, spawnDaemon } from '../helpers/process.js';
import { DESTINATION_WRITES, type RunningSandbox, startSandboxProcess } from '../helpers/sandbox.js';

const SRC = '111111111111';
const DST = '222222222222';
const LAG = 'LOGICALLY_AIR_GAPPED_BACKUP_VAULT';

function client(sandbox: RunningSandbox, profile: 'rpcopy-source' | 'rpcopy-dest'): BackupClient {
  return new BackupClient({
    region: 'eu-west-2',
    endpoint: sandbox.url,
    credentials: fromIni({
      profile,
      filepath: join(sandbox.dir, 'credentials'),
      configFilepath: join(sandbox.dir, 'aws-config'),
      ignoreCache: true,
    }),
  });
}

interface ReadVault {
  type: string;
  locked: boolean;
  min: number | undefined;
  max: number | undefined;
  lockDate: number | undefined;
  key: string | undefined;
  creatorRequestId: string | undefined;
  tags: Record<string, string>;
  policy: { Statement: { Sid?: string; Effect: string }[] } | null;
  notifications: { topic: string; events: string[] } | null;
}

async function readVault(backup: BackupClient, name: string): Promise<ReadVault | undefined> {
  const v = await backup.send(new DescribeBackupVaultCommand({ BackupVaultName: name })).catch((err: Error) => {
    if (err.name === 'ResourceNotFoundException') return undefined;
    throw err;
  });
  if (!v) return undefined;
  const tags = await backup.send(new ListTagsCommand({ ResourceArn: v.BackupVaultArn }));
  const policy = await backup
    .send(new GetBackupVaultAccessPolicyCommand({ BackupVaultName: name }))
    .then((p) => JSON.parse(p.Policy ?? 'null'))
    .catch(() => null);
  const notifications = await backup
    .send(new GetBackupVaultNotificationsCommand({ BackupVaultName: name }))
    .then((n) => ({ topic: n.SNSTopicArn ?? '', events: [...(n.BackupVaultEvents ?? [])].sort() }))
    .catch(() => null);
  return {
    type: v.VaultType ?? '',
    locked: v.Locked ?? false,
    min: v.MinRetentionDays,
    max: v.MaxRetentionDays,
    lockDate: v.LockDate?.getTime(),
    key: v.EncryptionKeyArn,
    creatorRequestId: v.CreatorRequestId,
    tags: tags.Tags ?? {},
    policy,
    notifications,
  };
}

const modeOf = (v: ReadVault) =>
  v.type === LAG ? 'air-gapped' : v.lockDate !== undefined ? 'compliance' : v.locked ? 'governance' : 'none';

function copyTargets(sandbox: RunningSandbox): string[] {
  const db = new Database(join(sandbox.stateDir, 'rpcopy.db'), { readonly: true });
  try {
    return (
      db.prepare(`SELECT source_vault_name AS s FROM destination_vaults ORDER BY 1`).all() as { s: string }[]
    ).map((r) => r.s);
  } finally {
    db.close();
  }
}

function events(sandbox: RunningSandbox, kind: string): { message: string; data: Record<string, unknown> }[] {
  const db = new Database(join(sandbox.stateDir, 'rpcopy.db'), { readonly: true });
  try {
    return (
      db.prepare('SELECT message, data FROM events WHERE kind = ? ORDER BY id').all(kind) as {
        message: string;
        data: string;
      }[]
    ).map((e) => ({ message: e.message, data: JSON.parse(e.data) }));
  } finally {
    db.close();
  }
}

async function writeCalls(sandbox: RunningSandbox): Promise<Record<string, number>> {
  const counters = await sandbox.admin.counters();
  return Object.fromEntries(DESTINATION_WRITES.map((w) => [w, counters[w]?.calls ?? 0]));
}

t.test('vaults: consent, strengthening, exact replication, and a second run that changes nothing', async (t) => {
  const sandbox = await startSandboxProcess(t, { points: 900, seed: 3, timeFactor: 1000 });
  const source = client(sandbox, 'rpcopy-source');
  const dest = client(sandbox, 'rpcopy-dest');
  t.teardown(() => {
    source.destroy();
    dest.destroy();
  });
  const info = await sandbox.admin.info();

  // A weaker pre-existing destination vault (governance 7..36500, its source is governance 30..3650), with a
  // statement and a tag of the operator's own; and a stricter one (minimum 14 where the source has 7).
  const operatorStatement = {
    Sid: 'OperatorReadOnly',
    Effect: 'Allow',
    Principal: { AWS: `arn:aws:iam::${DST}:role/Auditor` },
    Action: 'backup:DescribeBackupVault',
    Resource: '*',
  };
  await dest.send(
    new CreateBackupVaultCommand({
      BackupVaultName: 'prod-rds-monthly',
      EncryptionKeyArn: info.destVaultKeyArn,
      BackupVaultTags: { Owner: 'dr-team' },
    }),
  );
  await dest.send(
    new PutBackupVaultLockConfigurationCommand({
      BackupVaultName: 'prod-rds-monthly',
      MinRetentionDays: 7,
      MaxRetentionDays: 36500,
    }),
  );
  await dest.send(
    new PutBackupVaultAccessPolicyCommand({
      BackupVaultName: 'prod-rds-monthly',
      Policy: JSON.stringify({ Version: '2012-10-17', Statement: [operatorStatement] }),
    }),
  );
  await dest.send(
    new CreateBackupVaultCommand({ BackupVaultName: 'dynamo-tables', EncryptionKeyArn: info.destVaultKeyArn }),
  );
  await dest.send(
    new PutBackupVaultLockConfigurationCommand({
      BackupVaultName: 'dynamo-tables',
      MinRetentionDays: 14,
      MaxRetentionDays: 400,
    }),
  );

  // Run 1: no consent to compliance locks.
  let daemon = await runUntilDone(t, sandbox, ['--no-copy']);
  const compliance1 = await runCtlAsync(['compliance'], sandbox.env);
  const compliance1Json = await runCtlAsync(['compliance', '--json'], sandbox.env);
  await stopDaemon(daemon, sandbox.env);
  const targets = copyTargets(sandbox);
  t.ok(targets.length >= 6, `the plan copies from ${targets.length} vaults: ${targets.join(', ')}`);

  const sourceVaults = new Map<string, ReadVault>();
  for (const name of targets) {
    const v = await readVault(source, name);
    if (v) sourceVaults.set(name, v);
  }
  const modes = new Set([...sourceVaults.values()].map(modeOf));
  t.same([...modes].sort(), ['air-gapped', 'compliance', 'governance', 'none'], 'every lock variant is copied from');

  for (const [name, src] of sourceVaults) {
    const d = await readVault(dest, name);
    if (modeOf(src) === 'air-gapped') {
      t.equal(d, undefined, `${name}: an air-gapped vault is not created without consent`);
      continue;
    }
    t.ok(d, `${name}: created`);
    if (!d) continue;
    t.equal(d.min, name === 'dynamo-tables' ? 14 : src.min, `${name}: minimum`);
    t.equal(d.max, src.max, `${name}: maximum`);
    if (modeOf(src) === 'compliance') {
      t.equal(modeOf(d), 'governance', `${name}: a compliance source gets governance until confirmed`);
    } else {
      t.equal(modeOf(d), modeOf(src), `${name}: lock mode`);
    }
  }
  t.equal(compliance1.code, 12, 'rpctl compliance exits non-zero on drift');
  const drift1 = JSON.parse(compliance1Json.stdout) as { ok: boolean; drift: { vault: string; kind: string }[] };
  t.equal(drift1.ok, false);
  const compliantSources = [...sourceVaults].filter(([, v]) => modeOf(v) === 'compliance').map(([n]) => n);
  for (const name of compliantSources) {
    t.ok(
      drift1.drift.some((d) => d.vault === name && d.kind === 'lock'),
      `${name}: the unapplied compliance lock is drift`,
    );
  }
  t.ok(
    drift1.drift.some((d) => d.vault === 'airgapped-archive' && d.kind === 'missing'),
    'the uncreated air-gapped vault is drift',
  );
  t.match(compliance1.stdout, /would lock in compliance mode once confirmed/, 'shows what it would lock');
  t.equal(
    compliance1.stdout.split('\n').filter((l) => /^ {2}\S+: (lock|missing|tags|access_policy): /.test(l)).length,
    drift1.drift.filter((d) => ['lock', 'missing', 'tags', 'access_policy'].includes(d.kind)).length,
    'one line per drift',
  );

  // The weaker vault was strengthened, and nothing of the operator's was removed.
  const rds = await readVault(dest, 'prod-rds-monthly');
  t.equal(rds?.min, 30, 'weaker minimum raised to the source');
  t.equal(rds?.max, 3650, 'weaker maximum lowered to the source');
  // The SDK fills in a random CreatorRequestId (an idempotency token) when none is given: not rpcopy's.
  t.notMatch(rds?.creatorRequestId ?? '', /^rpcopy-/, "not recreated: still the operator's vault");
  t.same(rds?.policy?.Statement[0], operatorStatement, "the operator's statement is kept, first");
  t.ok(
    rds?.policy?.Statement.some((s) => s.Sid === 'RpcopyAllowCopyFromSourceAccount'),
    'the source is admitted',
  );
  t.ok(
    rds?.policy?.Statement.some((s) => s.Sid === 'DenyRecoveryPointDeletion'),
    "the source's Deny is mirrored",
  );
  t.equal(rds?.tags.Owner, 'dr-team', "the operator's tag is kept");
  t.equal(rds?.tags.CostCentre, 'CC-1002', 'missing tags added');
  const rdsEvent = events(sandbox, 'vaults.vault').find((e) => e.data.destination === 'prod-rds-monthly');
  t.match(rdsEvent?.message, /existing; lock governance lock, min 7 \/ max 36500 days → governance min 30 \/ max 3650/);
  const dynamoEvent = events(sandbox, 'vaults.vault').find((e) => e.data.destination === 'dynamo-tables');
  t.match(JSON.stringify(dynamoEvent?.data.notes), /minimum retention 14 days is stricter/, 'a stricter lock is noted');

  // Run 2: the operator confirms compliance locks.
  writeFileSync(sandbox.config, `${readFileSync(sandbox.config, 'utf8')}\n[vaults]\nconfirm_compliance_lock = true\n`);
  daemon = await runUntilDone(t, sandbox, ['--no-copy']);
  const compliance2 = await runCtlAsync(['compliance', '--json'], sandbox.env);
  const preflight2 = await runCtlAsync(['preflight', '--json'], sandbox.env);
  await stopDaemon(daemon, sandbox.env);
  const result2 = JSON.parse(compliance2.stdout) as { ok: boolean; drift: unknown[] };
  t.same(result2.drift, [], 'no drift once confirmed');
  t.equal(compliance2.code, 0);
  t.equal(preflight2.code, 0, 'rpctl preflight passes');
  const checks = JSON.parse(preflight2.stdout).checks as { check: string; status: string }[];
  t.ok(
    targets.every((name) => checks.some((c) => c.check === `destination.vault_policy ${name}` && c.status === 'pass')),
    'preflight: every destination vault admits the source account',
  );

  const now = (await sandbox.admin.clock()).now;
  for (const [name, src] of sourceVaults) {
    const d = await readVault(dest, name);
    t.ok(d, `${name}: exists`);
    if (!d) continue;
    t.equal(d.type, src.type, `${name}: vault type`);
    t.equal(modeOf(d), modeOf(src), `${name}: lock mode`);
    t.equal(d.locked, src.locked, `${name}: locked`);
    t.equal(d.min, name === 'dynamo-tables' ? 14 : src.min, `${name}: minimum retention`);
    t.equal(d.max, src.max, `${name}: maximum retention`);
    if (modeOf(src) === 'compliance') {
      t.ok(d.lockDate !== undefined && d.lockDate >= now + 2.9 * 86_400_000, `${name}: a fresh grace period ≥ 3 days`);
    }
    t.equal(d.key, info.destVaultKeyArn, `${name}: the configured key`);
    const replicable = Object.fromEntries(Object.entries(src.tags).filter(([k]) => !k.startsWith('aws:')));
    t.same(Object.fromEntries(Object.entries(d.tags).filter(([k]) => k in replicable)), replicable, `${name}: tags`);
    t.ok(
      d.policy?.Statement.some((s) => s.Sid === 'RpcopyAllowCopyFromSourceAccount'),
      `${name}: admits the source`,
    );
    for (const deny of src.policy?.Statement.filter((s) => s.Effect === 'Deny') ?? []) {
      t.ok(
        d.policy?.Statement.some((s) => JSON.stringify(s) === JSON.stringify(deny).replaceAll(SRC, DST)),
        `${name}: mirrors ${deny.Sid}`,
      );
    }
    t.same(d.notifications?.events, src.notifications?.events, `${name}: notification events`);
    if (src.notifications) t.equal(d.notifications?.topic, src.notifications.topic.replace(SRC, DST), `${name}: topic`);
  }

  // Run 3: nothing to do.
  const before = await writeCalls(sandbox);
  const once = spawnDaemon(['--once', '--no-copy'], sandbox.env, t);
  const exit = await once.exited;
  t.equal(exit.code, 0, 'the third run finishes');
  t.same(await writeCalls(sandbox), before, 'a second run sends no write to AWS');
  const last = events(sandbox, 'vaults.done').at(-1);
  t.match(last?.data, { changed: 0, failed: 0 }, 'and reports nothing changed');
});
