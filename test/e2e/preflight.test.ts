// Preflight against the sandbox, through the built daemon and rpctl:
// - every action the sandbox's IAM simulation denies is named, with how to fix it; the daemon pauses with
//   reason `preflight` before writing anything to the destination, and goes on after the fix and rpctl resume;
// - a wrong account id or a wrong region is refused (--once exits with the paused code, nothing is written).

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { runCtlAsync, spawnDaemon, waitFor } from '../helpers/process.js';
import { DESTINATION_WRITES, type RunningSandbox, startSandboxProcess } from '../helpers/sandbox.js';

const SRC = '111111111111';
const DST = '222222222222';

async function writeCalls(sandbox: RunningSandbox): Promise<number> {
  const counters = await sandbox.admin.counters();
  return DESTINATION_WRITES.reduce((sum, w) => sum + (counters[w]?.calls ?? 0), 0);
}

async function status(sandbox: RunningSandbox): Promise<{ state: string; pauseReason?: string; pauseDetail?: string }> {
  const s = await runCtlAsync(['status', '--json'], sandbox.env);
  return s.code === 0 ? JSON.parse(s.stdout) : { state: 'unreachable' };
}

t.test('preflight names every denied action, pauses, and goes on once fixed', async (t) => {
  const denied = {
    [SRC]: ['backup:StartCopyJob', 'iam:PassRole', 'backup:CopyFromBackupVault'],
    [DST]: ['backup:CreateBackupVault', 'backup:PutBackupVaultLockConfiguration', 'organizations:DescribeOrganization'],
  };
  const explicit = { [DST]: ['kms:CreateGrant'] };
  const sandbox = await startSandboxProcess(t, {
    points: 300,
    seed: 4,
    timeFactor: 1000,
    knobs: { iamDeniedActions: denied, iamExplicitDenies: explicit },
  });
  // Consent to compliance locks, so that after the fix every destination vault (air-gapped too) exists.
  writeFileSync(sandbox.config, `${readFileSync(sandbox.config, 'utf8')}\n[vaults]\nconfirm_compliance_lock = true\n`);
  const daemon = spawnDaemon(['--no-copy'], sandbox.env, t);
  await waitFor(
    async () => {
      if (daemon.child.exitCode !== null) throw new Error(`daemon exited:\n${daemon.output()}`);
      return (await status(sandbox)).state === 'paused';
    },
    'the preflight pause',
    120_000,
    200,
  );
  const paused = await status(sandbox);
  t.equal(paused.pauseReason, 'preflight');
  for (const action of ['backup:StartCopyJob', 'iam:PassRole', 'backup:CreateBackupVault', 'kms:CreateGrant']) {
    t.match(paused.pauseDetail, action, `the pause names ${action}`);
  }
  t.equal(await writeCalls(sandbox), 0, 'nothing was written to the destination');

  const json = await runCtlAsync(['preflight', '--json'], sandbox.env);
  t.equal(json.code, 12, 'rpctl preflight exits non-zero on a failure');
  const checks = JSON.parse(json.stdout).checks as { check: string; status: string; detail: string; fix?: string }[];
  for (const [account, side] of [
    [SRC, 'source'],
    [DST, 'destination'],
  ] as const) {
    for (const action of [...denied[account]!, ...(explicit[account as keyof typeof explicit] ?? [])]) {
      const row = checks.find((c) => c.check === `${side}.permission ${action}`);
      t.ok(row, `${side}: ${action} is named`);
      t.equal(row?.status, action.startsWith('organizations:') ? 'unknown' : 'fail', `${side}: ${action} status`);
      t.match(row?.fix, action, `${side}: the fix names ${action}`);
    }
  }
  t.match(
    checks.find((c) => c.check === 'destination.permission kms:CreateGrant')?.detail,
    /explicitly denied/,
    'an explicit Deny is told apart',
  );
  t.match(checks.find((c) => c.check === 'destination.permission kms:CreateGrant')?.fix, /remove the Deny/);
  t.match(
    checks.find((c) => c.check === 'source.permission iam:PassRole')?.detail,
    /on arn:aws:iam::111111111111:role\/service-role\/AWSBackupDefaultServiceRole/,
  );
  t.equal(checks.find((c) => c.check === 'organization')?.status, 'unknown', 'an unreadable organization is unknown');
  for (const check of [
    'source.identity',
    'destination.identity',
    'accounts.differ',
    'source.copy_role',
    'destination.key',
  ]) {
    t.equal(checks.find((c) => c.check === check)?.status, 'pass', `${check} passes`);
  }
  const human = await runCtlAsync(['preflight'], sandbox.env);
  t.equal(human.code, 12);
  t.match(human.stdout, /^STATUS +CHECK +DETAIL/m, 'a table');
  t.match(human.stdout, /How to fix:\n.*backup:StartCopyJob/s);

  // Resuming without a fix pauses again; after the fix the pipeline goes on and creates the vaults.
  await runCtlAsync(['resume'], sandbox.env);
  await waitFor(async () => (await status(sandbox)).state === 'paused', 'the second pause', 60_000, 200);
  t.equal(await writeCalls(sandbox), 0, 'still nothing written');
  await sandbox.admin.setKnobs({ iamDeniedActions: { [SRC]: [], [DST]: [] }, iamExplicitDenies: { [DST]: [] } });
  const resumed = await runCtlAsync(['resume'], sandbox.env);
  t.equal(resumed.code, 0, resumed.stderr);
  await waitFor(
    async () => {
      const s = await status(sandbox);
      if (s.state === 'paused' && s.pauseDetail?.includes('preflight failed'))
        throw new Error(`still paused: ${s.pauseDetail}`);
      return s.state === 'done';
    },
    'the pipeline to finish after the fix',
    120_000,
    200,
  );
  t.ok((await writeCalls(sandbox)) > 0, 'the vaults were created after the fix');
  const after = await runCtlAsync(['preflight', '--json'], sandbox.env);
  t.equal(after.code, 0, 'rpctl preflight passes after the fix');
  await runCtlAsync(['stop'], sandbox.env);
  await daemon.exited;
});

t.test('a wrong account id or a wrong region is refused', async (t) => {
  const sandbox = await startSandboxProcess(t, { points: 200, seed: 6, timeFactor: 1000 });
  const original = readFileSync(sandbox.config, 'utf8');
  const variants = {
    account: original
      .replace(`account_id = "${SRC}"`, 'account_id = "333333333333"')
      .replace(`arn:aws:iam::${SRC}:role`, 'arn:aws:iam::333333333333:role'),
    region: original.replaceAll('eu-west-2', 'eu-west-1'),
  };
  for (const [name, text] of Object.entries(variants)) {
    const config = join(sandbox.dir, `config-${name}.toml`);
    writeFileSync(config, text);
    const daemon = spawnDaemon(
      ['--once', '--no-copy', '--config', config, '--state-dir', join(sandbox.dir, `state-${name}`)],
      sandbox.env,
      t,
    );
    const exit = await daemon.exited;
    t.equal(exit.code, 8, `${name}: --once exits with the paused code`);
    const output = daemon.output();
    if (name === 'account') {
      t.match(output, /source\.identity: profile rpcopy-source is account 111111111111/, 'the wrong account is named');
    } else {
      t.match(output, /source\.region: AWS answers for source from eu-west-2/, 'the source region is named');
      t.match(output, /destination\.region: AWS answers for destination from eu-west-2/);
    }
    t.notMatch(output, /"event":"vaults\.started"/, `${name}: the vaults phase never started`);
  }
  t.equal(await writeCalls(sandbox), 0, 'nothing was written to the destination');

  // A dry run of the right config stops after the plan: no preflight pause, nothing written.
  const dry = spawnDaemon(['--once', '--dry-run', '--state-dir', join(sandbox.dir, 'state-dry')], sandbox.env, t);
  t.equal((await dry.exited).code, 0, 'a dry run finishes');
  t.notMatch(dry.output(), /"event":"(preflight\.done|vaults\.started)"/, 'no preflight or vaults phase in a dry run');
  t.equal(await writeCalls(sandbox), 0, 'a dry run writes nothing to the destination');
});
