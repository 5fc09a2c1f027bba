// One destination vault against its source and the [compliance] config (daemon/compliance/compare.ts), the
// pure helpers of preflight, and the vaults.confirm_compliance_lock config key.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { compareVault } from '../../daemon/compliance/compare.js';
import { arnRegion, roleNameOfSession, trustsBackup } from '../../daemon/preflight/checks.js';
import { lockOf } from '../../daemon/vaults/lock.js';
import type { VaultState } from '../../daemon/vaults/phase.js';
import { copyStatement } from '../../daemon/vaults/policy.js';
import { ConfigError, loadConfig } from '../../shared/config.js';
import { REQUIRED_ACTIONS, requiredActionNames } from '../../shared/permissions.js';
import { writeTestConfig } from '../helpers/config.js';

const dir = mkdtempSync(join(tmpdir(), 'rpc-compliance-'));
const config = loadConfig(writeTestConfig(dir), {}, {});
const KEY = config.destination.encryptionKeyArn;
const DAY = 86_400_000;

function vault(
  overrides: Partial<VaultState['detail']> = {},
  rest: Partial<Omit<VaultState, 'detail'>> = {},
): VaultState {
  const detail = {
    name: 'v',
    arn: 'arn:aws:backup:eu-west-2:222222222222:backup-vault:v',
    vaultType: 'BACKUP_VAULT',
    encryptionKeyArn: KEY,
    locked: false,
    minRetentionDays: null,
    maxRetentionDays: null,
    lockDate: null,
    numberOfRecoveryPoints: 0,
    vaultState: 'AVAILABLE',
    creatorRequestId: null,
    encryptionKeyType: 'CUSTOMER_MANAGED_KMS_KEY',
    ...overrides,
  };
  return {
    detail,
    lock: lockOf(detail),
    tags: {},
    policy: JSON.stringify({ Version: '2012-10-17', Statement: [copyStatement('111111111111')] }),
    notifications: null,
    ...rest,
  };
}

const context = { config, destinationName: 'v', organizationId: null };

t.test('a like-for-like destination has no drift', async (t) => {
  const locked = { locked: true, minRetentionDays: 7, maxRetentionDays: 365, lockDate: Date.now() - DAY };
  const source = vault(locked, { tags: { Env: 'prod', 'aws:reserved': 'x' } });
  const dest = vault({ ...locked, lockDate: Date.now() + 3 * DAY }, { tags: { Env: 'prod' } });
  const result = compareVault(source, dest, context);
  t.same(result.drift, []);
  t.match(result.notes.join(), /aws:reserved/);
});

t.test('every kind of drift is one line', async (t) => {
  const source = vault(
    { locked: true, minRetentionDays: 30, maxRetentionDays: 3650, lockDate: Date.now() - DAY },
    {
      tags: { Env: 'prod', Team: 'x' },
      notifications: { topicArn: 'arn:aws:sns:eu-west-2:111111111111:t', events: ['COPY_JOB_FAILED'] },
      policy: JSON.stringify({
        Statement: [
          { Sid: 'DenyDelete', Effect: 'Deny', Principal: '*', Action: 'backup:DeleteRecoveryPoint', Resource: '*' },
        ],
      }),
    },
  );
  const dest = vault(
    {
      locked: true,
      minRetentionDays: 7,
      maxRetentionDays: 36500,
      encryptionKeyArn: 'arn:aws:kms:eu-west-2:222222222222:key/other',
    },
    { tags: { Env: 'dev' }, policy: null },
  );
  const kinds = compareVault(source, dest, context).drift.map((d) => d.kind);
  t.same(kinds.sort(), [
    'access_policy',
    'access_policy',
    'encryption_key',
    'lock',
    'lock',
    'lock',
    'notifications',
    'tags',
    'tags',
  ]);
  t.same(
    compareVault(source, undefined, context).drift.map((d) => d.kind),
    ['missing'],
  );
});

t.test('the [compliance] expectations', async (t) => {
  const strict = { ...config, compliance: { requireVaultLock: true, minRetentionDays: 35 } };
  const kinds = compareVault(vault(), vault(), { ...context, config: strict }).drift.map((d) => d.kind);
  t.same(kinds, ['required_lock', 'min_retention']);
  const ok = vault({ locked: true, minRetentionDays: 35, maxRetentionDays: 100 });
  t.same(compareVault(vault(), ok, { ...context, config: strict }).drift, []);
});

t.test('preflight helpers', async (t) => {
  t.same(roleNameOfSession('arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_Admin_1/me'), {
    kind: 'role',
    name: 'AWSReservedSSO_Admin_1',
  });
  t.same(roleNameOfSession('arn:aws:iam::111111111111:user/ops/alice'), { kind: 'user' });
  t.equal(roleNameOfSession('arn:aws:iam::111111111111:root'), undefined);
  t.ok(
    trustsBackup(
      JSON.stringify({
        Statement: [{ Effect: 'Allow', Principal: { Service: 'backup.amazonaws.com' }, Action: 'sts:AssumeRole' }],
      }),
    ),
  );
  t.notOk(
    trustsBackup(
      JSON.stringify({
        Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
      }),
    ),
  );
  t.notOk(trustsBackup('not json'));
  t.equal(arnRegion('arn:aws:kms:eu-west-1:222222222222:key/x'), 'eu-west-1');
  t.ok(requiredActionNames('source').includes('backup:StartCopyJob'));
  t.notOk(requiredActionNames('source', { includeOptional: false }).includes('organizations:DescribeOrganization'));
  const all = [...REQUIRED_ACTIONS.source, ...REQUIRED_ACTIONS.destination];
  t.ok(
    all.every((a) => /^[a-z0-9-]+:[A-Za-z]+$/.test(a.action)),
    'every entry is service:Action',
  );
});

t.test('vaults.confirm_compliance_lock: a boolean, false by default', async (t) => {
  t.equal(config.vaults.confirmComplianceLock, false);
  const on = loadConfig(
    writeTestConfig(join(dir, 'on'), { extra: '\n[vaults]\nconfirm_compliance_lock = true\n' }),
    {},
    {},
  );
  t.equal(on.vaults.confirmComplianceLock, true);
  const errorOf = (extra: string, name: string): string => {
    try {
      loadConfig(writeTestConfig(join(dir, name), { extra }), {}, {});
    } catch (err) {
      t.ok(err instanceof ConfigError, `${name}: a ConfigError`);
      return (err as Error).message;
    }
    return 'no error';
  };
  t.match(
    errorOf('\n[vaults]\nconfirm_compliance_lock = "yes"\n', 'bad'),
    /config\.toml:\d+: vaults\.confirm_compliance_lock: expected true or false/,
  );
  t.match(errorOf('\n[vaults]\nconfirm_compliance = true\n', 'typo'), /vaults\.confirm_compliance: unknown key/);
});
