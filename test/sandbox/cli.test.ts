// The real AWS CLI (Debian's awscli 2.9, /usr/bin/aws; override with
// RPCOPY_TEST_AWS_CLI) against the sandbox, for every operation rpcopy uses.
// awscli 2.9 predates AWS_ENDPOINT_URL, so every call passes --endpoint-url.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import t, { type Test } from 'tap';
import { SandboxAdmin } from './client.js';
import { SandboxClock } from './clock.js';
import { DEST_PROFILE, type SandboxFiles, SOURCE_PROFILE, writeSandboxFiles } from './files.js';
import { type SandboxHandle, startSandbox } from './server.js';

const CLI = process.env.RPCOPY_TEST_AWS_CLI ?? '/usr/bin/aws';

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** The AWS error code from "An error occurred (Code) when calling …". */
  error?: string;
}

// Each CLI call starts a Python process (~1.3 s of CPU); this file makes about 40 of them and took 107 s on two
// cores shared with three busy processes. A root t.setTimeout replaces the configured 240 s (it does not add to
// it), so give the hang watchdog ample room on a loaded CI machine; no assertion depends on elapsed time.
t.setTimeout(480_000);

if (!existsSync(CLI)) {
  t.plan(0, `AWS CLI not found at ${CLI} (apt-get install -y awscli, or set RPCOPY_TEST_AWS_CLI)`);
} else {
  let h: SandboxHandle;
  let files: SandboxFiles;
  let admin: SandboxAdmin;

  const aws = (profile: string, args: string[], env: Record<string, string> = {}): Promise<CliResult> =>
    new Promise((resolve) => {
      execFile(
        CLI,
        ['--endpoint-url', h.url, '--profile', profile, '--output', 'json', ...args],
        {
          env: {
            PATH: process.env.PATH ?? '/usr/bin:/bin',
            HOME: process.env.HOME ?? '/tmp',
            AWS_SHARED_CREDENTIALS_FILE: files.credentials,
            AWS_CONFIG_FILE: files.config,
            AWS_PAGER: '',
            AWS_MAX_ATTEMPTS: '1',
            ...env,
          },
          maxBuffer: 64 * 1024 * 1024,
        },
        (err, stdout, stderr) => {
          const code = err ? ((err as { code?: number }).code ?? 1) : 0;
          resolve({
            code: typeof code === 'number' ? code : 1,
            stdout,
            stderr,
            error: /An error occurred \(([^)]+)\)/.exec(stderr)?.[1],
          });
        },
      );
    });
  const ok = async (t: Test, profile: string, args: string[]): Promise<Record<string, unknown>> => {
    const r = await aws(profile, args);
    t.equal(r.code, 0, `aws ${args.slice(0, 2).join(' ')}${r.code ? `: ${r.stderr.trim()}` : ''}`);
    return r.stdout.trim() ? (JSON.parse(r.stdout) as Record<string, unknown>) : {};
  };

  t.before(async () => {
    // Sandbox time stands still unless a test advances it: a CLI call takes seconds on a loaded machine.
    const startedAt = Date.now();
    h = await startSandbox({
      points: 300,
      seed: 5,
      timeFactor: 1000,
      // These tests list right after writing with the clock stopped; lagging listings are tested in dynamics.test.ts.
      knobs: { throttling: { enabled: false }, listingLagSeconds: 0 },
      clock: new SandboxClock(() => startedAt),
    });
    files = writeSandboxFiles(h, t.testdir());
    admin = new SandboxAdmin(h.adminUrl);
  });
  t.teardown(() => h.close());

  t.test('read operations, fully paginated listing equal to the generator', async (t) => {
    const truth = await admin.truth();
    const [vaults, global, who, aliases, key, org] = await Promise.all([
      ok(t, SOURCE_PROFILE, ['backup', 'list-backup-vaults', '--page-size', '5']),
      ok(t, SOURCE_PROFILE, ['backup', 'describe-global-settings']),
      ok(t, SOURCE_PROFILE, ['sts', 'get-caller-identity']),
      ok(t, SOURCE_PROFILE, ['kms', 'list-aliases']),
      ok(t, SOURCE_PROFILE, ['kms', 'describe-key', '--key-id', 'alias/aws/rds']),
      ok(t, DEST_PROFILE, ['organizations', 'describe-organization']),
    ]);
    t.equal((vaults.BackupVaultList as unknown[]).length, 12, 'CLI followed ListBackupVaults tokens');
    t.same((global.GlobalSettings as Record<string, string>).isCrossAccountBackupEnabled, 'true');
    t.equal(who.Account, h.accounts.source);
    t.ok((aliases.Aliases as { AliasName: string }[]).some((a) => a.AliasName === 'alias/aws/ebs'));
    t.equal((key.KeyMetadata as { KeyManager: string }).KeyManager, 'AWS');
    t.equal((org.Organization as { Id: string }).Id, h.sandbox.world.organization.id);

    // The biggest vault, listed with small pages so the CLI follows many NextTokens.
    const big = truth.vaults.reduce((a, b) => (b.points > a.points ? b : a));
    const listed = await ok(t, SOURCE_PROFILE, [
      'backup',
      'list-recovery-points-by-backup-vault',
      '--backup-vault-name',
      big.name,
      '--page-size',
      '7',
    ]);
    const points = listed.RecoveryPoints as { RecoveryPointArn: string; ResourceArn: string }[];
    t.equal(points.length, big.points, `${big.name}: ${big.points} points through the CLI paginator`);
    t.equal(new Set(points.map((p) => p.RecoveryPointArn)).size, big.points);
    const efs = await ok(t, SOURCE_PROFILE, [
      'backup',
      'list-recovery-points-by-backup-vault',
      '--backup-vault-name',
      'aws/efs/automatic-backup-vault',
    ]);
    t.equal(
      (efs.RecoveryPoints as unknown[]).length,
      truth.vaults.find((v) => v.name === 'aws/efs/automatic-backup-vault')?.points,
    );
    const p = points[0] as { RecoveryPointArn: string; ResourceArn: string };
    const [described, byRes, vault, tags, policy, notif] = await Promise.all([
      ok(t, SOURCE_PROFILE, [
        'backup',
        'describe-recovery-point',
        '--backup-vault-name',
        big.name,
        '--recovery-point-arn',
        p.RecoveryPointArn,
      ]),
      ok(t, SOURCE_PROFILE, [
        'backup',
        'list-recovery-points-by-backup-vault',
        '--backup-vault-name',
        big.name,
        '--by-resource-arn',
        p.ResourceArn,
      ]),
      ok(t, SOURCE_PROFILE, ['backup', 'describe-backup-vault', '--backup-vault-name', 'prod-ebs-daily']),
      ok(t, SOURCE_PROFILE, [
        'backup',
        'list-tags',
        '--resource-arn',
        `arn:aws:backup:${h.region}:${h.accounts.source}:backup-vault:prod-ebs-daily`,
      ]),
      ok(t, SOURCE_PROFILE, ['backup', 'get-backup-vault-access-policy', '--backup-vault-name', 'prod-ebs-daily']),
      ok(t, SOURCE_PROFILE, ['backup', 'get-backup-vault-notifications', '--backup-vault-name', 'prod-ebs-daily']),
    ]);
    t.equal(described.RecoveryPointArn, p.RecoveryPointArn, 'an ARN with ":" and "/" as a path label');
    t.ok((byRes.RecoveryPoints as { ResourceArn: string }[]).every((x) => x.ResourceArn === p.ResourceArn));
    t.equal(vault.Locked, true);
    t.ok(vault.LockDate, 'compliance lock date');
    t.equal((tags.Tags as Record<string, string>).Environment, 'prod');
    t.match(String(policy.Policy), /DenyRecoveryPointDeletion/);
    t.ok((notif.BackupVaultEvents as string[]).includes('COPY_JOB_FAILED'));
  });

  t.test('destination writes, a copy job to COMPLETED, one job for a repeated token', async (t) => {
    const name = 'cli-replica';
    const created = await ok(t, DEST_PROFILE, [
      'backup',
      'create-backup-vault',
      '--backup-vault-name',
      name,
      '--encryption-key-arn',
      h.sandbox.world.destVaultKeyArn,
      '--backup-vault-tags',
      'Environment=prod,Replica=true',
    ]);
    const destArn = created.BackupVaultArn as string;
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${h.accounts.source}:root` },
          Action: 'backup:CopyIntoBackupVault',
          Resource: '*',
        },
      ],
    });
    const [listed] = await Promise.all([
      ok(t, SOURCE_PROFILE, [
        'backup',
        'list-recovery-points-by-backup-vault',
        '--backup-vault-name',
        'prod-ebs-daily',
      ]),
      ok(t, DEST_PROFILE, [
        'backup',
        'put-backup-vault-access-policy',
        '--backup-vault-name',
        name,
        '--policy',
        policy,
      ]),
      ok(t, DEST_PROFILE, [
        'backup',
        'put-backup-vault-notifications',
        '--backup-vault-name',
        name,
        '--sns-topic-arn',
        `arn:aws:sns:${h.region}:${h.accounts.destination}:backup-events`,
        '--backup-vault-events',
        'COPY_JOB_FAILED',
        'COPY_JOB_SUCCESSFUL',
      ]),
      ok(t, DEST_PROFILE, [
        'backup',
        'put-backup-vault-lock-configuration',
        '--backup-vault-name',
        name,
        '--min-retention-days',
        '7',
        '--max-retention-days',
        '3650',
        '--changeable-for-days',
        '3',
      ]),
      ok(t, DEST_PROFILE, ['backup', 'tag-resource', '--resource-arn', destArn, '--tags', 'Owner=rpcopy']),
    ]);
    const [tags, lockView, policyBack, notifBack] = await Promise.all([
      ok(t, DEST_PROFILE, ['backup', 'list-tags', '--resource-arn', destArn]),
      ok(t, DEST_PROFILE, ['backup', 'describe-backup-vault', '--backup-vault-name', name]),
      ok(t, DEST_PROFILE, ['backup', 'get-backup-vault-access-policy', '--backup-vault-name', name]),
      ok(t, DEST_PROFILE, ['backup', 'get-backup-vault-notifications', '--backup-vault-name', name]),
    ]);
    t.same(tags.Tags, { Environment: 'prod', Replica: 'true', Owner: 'rpcopy' });
    t.equal(lockView.MinRetentionDays, 7);
    t.ok(lockView.LockDate);
    t.equal(policyBack.Policy, policy);
    t.equal(notifBack.SNSTopicArn, `arn:aws:sns:${h.region}:${h.accounts.destination}:backup-events`);

    const w = h.sandbox.world;
    const point = (
      listed.RecoveryPoints as { RecoveryPointArn: string; Status: string; EncryptionKeyArn?: string }[]
    ).find((p) => {
      const k = p.EncryptionKeyArn ? w.findKey(w.source, p.EncryptionKeyArn) : undefined;
      return p.Status === 'COMPLETED' && k?.manager === 'CUSTOMER' && k.sharedWith.includes(w.dest.id);
    });
    t.ok(point, 'a copyable point');
    const start = [
      'backup',
      'start-copy-job',
      '--recovery-point-arn',
      point?.RecoveryPointArn ?? '',
      '--source-backup-vault-name',
      'prod-ebs-daily',
      '--destination-backup-vault-arn',
      destArn,
      '--iam-role-arn',
      `arn:aws:iam::${h.accounts.source}:role/service-role/AWSBackupDefaultServiceRole`,
      '--idempotency-token',
      'cli-token-1',
      '--lifecycle',
      'DeleteAfterDays=120',
    ];
    // The sandbox clock stands still between the calls, so the job is still CREATED until the clock is advanced.
    const first = await ok(t, SOURCE_PROFILE, start);
    const second = await ok(t, SOURCE_PROFILE, start);
    t.equal(second.CopyJobId, first.CopyJobId, 'same token and request → same CopyJobId');
    const entry = await admin.ledgerFor(point?.RecoveryPointArn ?? '');
    t.equal(entry.jobIds.length, 1, 'ledger: exactly one job');
    const d1 = await ok(t, SOURCE_PROFILE, ['backup', 'describe-copy-job', '--copy-job-id', String(first.CopyJobId)]);
    t.equal((d1.CopyJob as { State: string }).State, 'CREATED');
    await admin.advanceClock(24 * 3600 * 1000);
    const d2 = await ok(t, SOURCE_PROFILE, ['backup', 'describe-copy-job', '--copy-job-id', String(first.CopyJobId)]);
    const job = d2.CopyJob as { State: string; DestinationRecoveryPointArn: string };
    t.equal(job.State, 'COMPLETED');
    const [jobs, byState, copies] = await Promise.all([
      ok(t, SOURCE_PROFILE, [
        'backup',
        'list-copy-jobs',
        '--by-resource-arn',
        (listed.RecoveryPoints as { ResourceArn: string; RecoveryPointArn: string }[]).find(
          (p) => p.RecoveryPointArn === point?.RecoveryPointArn,
        )?.ResourceArn ?? '',
        '--by-destination-vault-arn',
        destArn,
        '--by-created-after',
        '2000-01-01T00:00:00Z',
      ]),
      ok(t, SOURCE_PROFILE, ['backup', 'list-copy-jobs', '--by-state', 'COMPLETED']),
      ok(t, DEST_PROFILE, ['backup', 'list-recovery-points-by-backup-vault', '--backup-vault-name', name]),
    ]);
    t.equal((jobs.CopyJobs as unknown[]).length, 1, 'list-copy-jobs with filters');
    t.ok((byState.CopyJobs as { CopyJobId: string }[]).some((j) => j.CopyJobId === first.CopyJobId));
    const copy = (copies.RecoveryPoints as { RecoveryPointArn: string; Lifecycle: { DeleteAfterDays: number } }[])[0];
    t.equal(copy?.RecoveryPointArn, job.DestinationRecoveryPointArn, 'the copy is in the destination vault');
    t.equal(copy?.Lifecycle.DeleteAfterDays, 120);
  });

  t.test('IAM get-role and simulate-principal-policy', async (t) => {
    const who = await ok(t, DEST_PROFILE, ['sts', 'get-caller-identity']);
    const roleName = String(who.Arn).split('/')[1] ?? '';
    const role = await ok(t, DEST_PROFILE, ['iam', 'get-role', '--role-name', roleName]);
    const arn = (role.Role as { Arn: string }).Arn;
    await admin.setKnobs({
      iamDeniedActions: { [h.accounts.destination]: ['backup:PutBackupVaultLockConfiguration'] },
    });
    const sim = await ok(t, DEST_PROFILE, [
      'iam',
      'simulate-principal-policy',
      '--policy-source-arn',
      arn,
      '--action-names',
      'backup:CreateBackupVault',
      'backup:PutBackupVaultLockConfiguration',
    ]);
    t.same(
      (sim.EvaluationResults as { EvalDecision: string }[]).map((r) => r.EvalDecision),
      ['allowed', 'implicitDeny'],
    );
    await admin.setKnobs({ iamDeniedActions: { [h.accounts.destination]: [] } });
  });

  t.test('error codes: bad input, throttling, expired token, stale secret', async (t) => {
    const [missing, badMax] = await Promise.all([
      aws(SOURCE_PROFILE, ['backup', 'describe-backup-vault', '--backup-vault-name', 'missing-vault']),
      aws(SOURCE_PROFILE, [
        'backup',
        'list-recovery-points-by-backup-vault',
        '--backup-vault-name',
        'Default',
        '--max-results',
        '5000',
      ]),
    ]);
    t.equal(missing.error, 'ResourceNotFoundException');
    t.equal(badMax.error, 'InvalidParameterValueException');

    // One call per 1000 s: exactly one of the four is admitted, however far apart the CLI processes send them.
    await admin.setKnobs({ throttling: { enabled: true, rates: { ListBackupVaults: 0.001 } } });
    const burst = await Promise.all([1, 2, 3, 4].map(() => aws(SOURCE_PROFILE, ['backup', 'list-backup-vaults'])));
    t.same(
      burst.map((r) => r.error ?? 'ok').sort(),
      ['ThrottlingException', 'ThrottlingException', 'ThrottlingException', 'ok'],
      `throttled: ${burst.map((r) => r.error ?? 'ok').join(',')}`,
    );
    await admin.setKnobs({ throttling: { enabled: false } });

    await admin.expireCredentials('source');
    const [expired, expiredSts] = await Promise.all([
      aws(SOURCE_PROFILE, ['backup', 'list-backup-vaults']),
      aws(SOURCE_PROFILE, ['sts', 'get-caller-identity']),
    ]);
    t.equal(expired.error, 'ExpiredTokenException');
    t.equal(expiredSts.error, 'ExpiredToken');
    await admin.rotateCredentials('source', files.credentials, SOURCE_PROFILE);
    const again = await aws(SOURCE_PROFILE, ['backup', 'list-backup-vaults']);
    t.equal(again.code, 0, 'the CLI reads the rewritten profile');

    const cred = h.credentialsFor('source');
    const staleEnv = {
      AWS_ACCESS_KEY_ID: cred.accessKeyId,
      AWS_SECRET_ACCESS_KEY: 'stale-secret',
      AWS_SESSION_TOKEN: cred.sessionToken,
      AWS_DEFAULT_REGION: h.region,
    };
    const run = (args: string[]) =>
      new Promise<CliResult>((resolve) =>
        execFile(
          CLI,
          ['--endpoint-url', h.url, ...args],
          {
            env: {
              PATH: process.env.PATH ?? '',
              HOME: process.env.HOME ?? '/tmp',
              AWS_PAGER: '',
              AWS_MAX_ATTEMPTS: '1',
              AWS_CONFIG_FILE: '/dev/null',
              AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
              ...staleEnv,
            },
          },
          (err, stdout, stderr) =>
            resolve({ code: err ? 1 : 0, stdout, stderr, error: /An error occurred \(([^)]+)\)/.exec(stderr)?.[1] }),
        ),
      );
    const [staleBackup, staleSts] = await Promise.all([
      run(['backup', 'list-backup-vaults']),
      run(['sts', 'get-caller-identity']),
    ]);
    t.equal(staleBackup.error, 'InvalidSignatureException');
    t.equal(staleSts.error, 'SignatureDoesNotMatch');
  });
}
