// The rehearsal's CloudFormation templates (shared/testenv), without AWS: they fit the inline size limit and
// pass the real cfn-lint (skipped, and said so, where cfn-lint is not installed);
// all 8 resource types and the awkward cases are there and backed up; every compliance variant of the shape is
// there with the shape's settings, in a form a real account accepts; every action preflight checks is granted
// to the role that needs it, and nothing else.

// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${...} in these strings is CloudFormation syntax, on purpose.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { trustsBackup } from '../../daemon/preflight/checks.js';
import { REQUIRED_ACTIONS } from '../../shared/permissions.js';
import { TEMPLATE_BODY_LIMIT, templateSizeProblem } from '../../shared/testenv/cfn-validate.js';
import {
  AIRGAP_STAGING_VAULT,
  COPY_ROLE,
  GRACE_CHANGEABLE_FOR_DAYS,
  IMMUTABLE_CHANGEABLE_FOR_DAYS,
  keyLogicalId,
  REHEARSAL_RESOURCES,
  rehearsalVault,
  rehearsalVaults,
} from '../../shared/testenv/rehearsal.js';
import { FILES, renderTestEnv } from '../../shared/testenv/render.js';
import {
  COMPLIANCE_VARIANTS,
  complianceVariant,
  isReservedTagKey,
  notificationTopicName,
  RESOURCE_TYPES,
  SOURCE_CUSTOMER_KEYS,
  VAULT_SPECS,
} from '../../shared/testenv/shape.js';
import { destinationTemplate, sourceTemplate, type Template } from '../../shared/testenv/templates.js';
import { cfnLint, cfnLintVersion, referencedNames } from '../helpers/cfn.js';

// biome-ignore lint/suspicious/noExplicitAny: templates are free-form JSON.
type Json = any;

const rendered = renderTestEnv();
const fileText = (name: string) => {
  const f = rendered.files.find((x) => x.name === name);
  if (!f) throw new Error(`no ${name}`);
  return f.content;
};
const source: Template = JSON.parse(fileText(FILES.sourceTemplate));
const destination: Template = JSON.parse(fileText(FILES.destinationTemplate));

const resourcesOfType = (template: Template, type: string): [string, Json][] =>
  Object.entries(template.Resources as Record<string, Json>).filter(([, r]) => r.Type === type);
const selections = resourcesOfType(source, 'AWS::Backup::BackupSelection');
const plans = resourcesOfType(source, 'AWS::Backup::BackupPlan');
/** Logical ids of the resources some backup selection covers. */
const selected = new Set(
  selections
    .flatMap(([, s]) => [...referencedNames(s.Properties.BackupSelection.Resources)])
    .filter((name) => !name.startsWith('AWS::')),
);

t.test('both templates are what the builders return and fit the inline size limit', async (t) => {
  for (const [name, template] of [
    [FILES.sourceTemplate, source],
    [FILES.destinationTemplate, destination],
  ] as const) {
    const bytes = Buffer.byteLength(fileText(name));
    t.ok(bytes < TEMPLATE_BODY_LIMIT, `${name}: ${bytes} bytes, deployable without an S3 bucket`);
    t.equal(templateSizeProblem(name, bytes), undefined);
    t.same(template, name === FILES.sourceTemplate ? sourceTemplate() : destinationTemplate(), 'file = builder');
  }
  t.match(templateSizeProblem('x.json', TEMPLATE_BODY_LIMIT + 1), /inline limit/, 'one byte over is refused');
});

const cfnLintFound = cfnLintVersion();
t.test(
  'cfn-lint passes both templates, and fails a broken one',
  { skip: cfnLintFound ? false : 'cfn-lint is not on PATH, so the templates are NOT validated (pip install cfn-lint)' },
  async (t) => {
    t.comment(cfnLintFound);
    const dir = mkdtempSync(join(tmpdir(), 'rpcopy-cfn-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const files = [FILES.sourceTemplate, FILES.destinationTemplate].map((name) => {
      const path = join(dir, name);
      writeFileSync(path, fileText(name));
      return path;
    });
    const clean = cfnLint(files);
    t.same(clean.findings, [], 'no errors or warnings');
    t.equal(clean.status, 0);

    // The check can fail: a misspelt property and a ${...} outside Fn::Sub are both reported.
    const broken: Json = structuredClone(source);
    broken.Resources.EbsVolume.Properties.Sise = 1;
    broken.Resources.S3Bucket.Properties.BucketName = 'rpcopy-${AWS::AccountId}';
    const brokenFile = join(dir, 'broken.json');
    writeFileSync(brokenFile, JSON.stringify(broken, null, 2));
    const found = cfnLint([brokenFile]);
    t.not(found.status, 0);
    t.match(found.findings.join('\n'), /E3002:.*Sise/, 'unknown property');
    t.match(found.findings.join('\n'), /E1029:/, '${...} outside Fn::Sub');
  },
);

t.test('all 8 resource types, each backed up, with the awkward cases', async (t) => {
  const cfnType: Record<string, string> = {
    EBS: 'AWS::EC2::Volume',
    EC2: 'AWS::EC2::Instance',
    RDS: 'AWS::RDS::DBInstance',
    Aurora: 'AWS::RDS::DBCluster',
    S3: 'AWS::S3::Bucket',
    EFS: 'AWS::EFS::FileSystem',
    DynamoDB: 'AWS::DynamoDB::Table',
    FSx: 'AWS::FSx::FileSystem',
  };
  for (const type of RESOURCE_TYPES) {
    const ofType = REHEARSAL_RESOURCES.filter((r) => r.type === type);
    t.ok(ofType.length > 0, `${type} is in the rehearsal`);
    for (const r of ofType) {
      t.equal(source.Resources[r.id]?.Type, cfnType[type], `${r.id} is an ${cfnType[type]}`);
      t.ok(source.Outputs[`${r.id}Arn`], `${r.id}'s ARN is a stack output`);
      if (r.vaults.length > 0 || r.continuousIn) t.ok(selected.has(r.id), `${r.id} is in a backup selection`);
    }
    // At least one of each type is copyable: a valid CSV row, a customer-managed key or a fully managed type.
    t.ok(
      ofType.some(
        (r) => r.csv === 'valid' && (r.key === undefined || !r.key.startsWith('aws/')) && r.vaults.length > 0,
      ),
      `${type}: one resource is expected to be copied`,
    );
  }
  const rds = source.Resources.RdsInstance.Properties;
  t.equal(rds.DBInstanceClass, 'db.t4g.micro');
  t.equal(rds.MultiAZ, false, 'Multi-AZ DB clusters cannot be copied; a single-AZ instance');
  t.same(source.Resources.S3Bucket.Properties.VersioningConfiguration, { Status: 'Enabled' }, 'S3 versioning');
  t.equal(source.Resources.FsxFileSystem.Properties.StorageCapacity, 64, 'the smallest FSx for OpenZFS');
  t.equal(source.Resources.Ec2Instance.Properties.InstanceType, 't4g.nano');
  t.equal(source.Resources.AuroraClusterInstance.Properties.DBInstanceClass, 'db.serverless');

  // AWS-managed key: an encrypted EBS volume without KmsKeyId (aws/ebs), backed up.
  const managed = resourcesOfType(source, 'AWS::EC2::Volume').filter(
    ([, r]) => r.Properties.Encrypted === true && r.Properties.KmsKeyId === undefined,
  );
  t.ok(
    managed.length > 0 && managed.every(([id]) => selected.has(id)),
    'a resource under an AWS-managed key, backed up',
  );
  // Continuous backups: a plan rule with EnableContinuousBackup and a selection.
  const continuousPlans = plans.filter(([, p]) =>
    p.Properties.BackupPlan.BackupPlanRule.some((rule: Json) => rule.EnableContinuousBackup === true),
  );
  t.ok(continuousPlans.length > 0, 'a continuous backup rule');
  for (const [id] of continuousPlans) {
    const selection = selections.find(([, s]) => s.Properties.BackupPlanId.Ref === id);
    t.ok(selection && selection[1].Properties.BackupSelection.Resources.length > 0, `${id} selects resources`);
  }
  // A key not shared with the destination, used by a backed-up resource.
  for (const key of SOURCE_CUSTOMER_KEYS) {
    const id = keyLogicalId(key.ref);
    const policy = JSON.stringify(source.Resources[id]?.Properties.KeyPolicy);
    t.equal(policy.includes('DestinationAccountId'), key.sharedWithDestination, `${key.ref} shared as the shape says`);
    const users = Object.entries(source.Resources as Record<string, Json>).filter(
      ([, r]) => r.Type !== 'AWS::KMS::Alias' && referencedNames(r.Properties ?? {}).has(id),
    );
    t.ok(users.length > 0, `${key.ref} is used`);
  }
  // Every selected resource exists, and every rehearsal resource is selected or EFS-automatic.
  for (const id of selected) {
    if (!source.Resources[id]) t.fail(`selection names ${id}`);
  }
});

t.test('every vault and compliance variant of the shape, with its settings', async (t) => {
  const vaults = [
    ...resourcesOfType(source, 'AWS::Backup::BackupVault'),
    ...resourcesOfType(source, 'AWS::Backup::LogicallyAirGappedBackupVault'),
  ];
  const byName = new Map(vaults.map(([id, r]) => [r.Properties.BackupVaultName as string, { id, r }]));
  const seen = new Set<string>();
  const ruleTargets = plans.flatMap(([, p]) =>
    p.Properties.BackupPlan.BackupPlanRule.map((rule: Json) => rule.TargetBackupVault),
  );
  for (const spec of VAULT_SPECS) {
    const variant = complianceVariant(spec);
    if (spec.name === 'Default') {
      t.notOk(byName.has('Default'), 'Default is not created by CloudFormation (it exists)');
      t.ok(ruleTargets.includes('Default'), 'a plan backs up into Default by name');
      seen.add(variant);
      continue;
    }
    if (spec.name === 'aws/efs/automatic-backup-vault') {
      t.notOk(byName.has(spec.name), 'the EFS service vault is not created by CloudFormation');
      const efs = resourcesOfType(source, 'AWS::EFS::FileSystem');
      t.ok(
        efs.some(([, r]) => r.Properties.BackupPolicy?.Status === 'ENABLED'),
        'EFS automatic backups create it',
      );
      continue;
    }
    const found = byName.get(spec.name);
    if (!found) {
      t.fail(`vault ${spec.name} is missing`);
      continue;
    }
    seen.add(variant);
    const p = found.r.Properties;
    const expectedTags = Object.fromEntries(Object.entries(spec.tags).filter(([k]) => !isReservedTagKey(k)));
    t.same(p.BackupVaultTags ?? {}, expectedTags, `${spec.name}: tags (reserved aws: keys left out)`);
    if (spec.notifications) {
      t.same(p.Notifications.BackupVaultEvents, spec.notifications, `${spec.name}: notification events`);
      const topic = source.Resources[p.Notifications.SNSTopicArn.Ref];
      t.equal(topic?.Properties.TopicName, notificationTopicName(spec.name), `${spec.name}: topic`);
      t.ok(
        Object.values(destination.Resources as Record<string, Json>).some(
          (r) => r.Type === 'AWS::SNS::Topic' && r.Properties.TopicName === notificationTopicName(spec.name),
        ),
        `${spec.name}: the destination has the same topic name for rpcopy to point at`,
      );
    } else t.equal(p.Notifications, undefined, `${spec.name}: no notifications`);
    t.equal(
      p.AccessPolicy !== undefined,
      spec.policy !== undefined,
      `${spec.name}: access policy present as in the shape`,
    );
    if (spec.policy) {
      const sids = p.AccessPolicy.Statement.map((s: Json) => s.Sid);
      t.equal(sids.includes('DenyRecoveryPointDeletion'), spec.policy.includes('deny-delete'), `${spec.name}: deny`);
      t.equal(sids.includes('AllowOrganizationCopyIn'), spec.policy.includes('allow'), `${spec.name}: org copy`);
    }
    if (spec.key.startsWith('aws/') || spec.key === 'aws-owned') t.equal(p.EncryptionKeyArn, undefined);
    else t.ok(referencedNames(p.EncryptionKeyArn).size === 1, `${spec.name}: its own CMK`);

    switch (variant) {
      case 'logically-air-gapped':
        t.equal(found.r.Type, 'AWS::Backup::LogicallyAirGappedBackupVault');
        t.equal(p.MinRetentionDays, spec.lock?.min);
        t.equal(p.MaxRetentionDays, spec.lock?.max);
        t.equal(found.r.DeletionPolicy, 'Retain', 'kept by a stack deletion (its points cannot be deleted early)');
        break;
      case 'no-lock':
        t.equal(p.LockConfiguration, undefined, `${spec.name}: no lock`);
        break;
      case 'governance-lock':
        t.same(p.LockConfiguration, { MinRetentionDays: spec.lock?.min, MaxRetentionDays: spec.lock?.max });
        break;
      case 'compliance-lock-in-grace':
        t.equal(p.LockConfiguration.ChangeableForDays, GRACE_CHANGEABLE_FOR_DAYS, `${spec.name}: compliance, in grace`);
        break;
      case 'compliance-lock-immutable':
        t.same(
          p.LockConfiguration.ChangeableForDays,
          { 'Fn::If': ['MakeLocksImmutable', IMMUTABLE_CHANGEABLE_FOR_DAYS, GRACE_CHANGEABLE_FOR_DAYS] },
          `${spec.name}: compliance; immutable only when the operator asks`,
        );
        t.equal(source.Parameters.ImmutableComplianceLocks.Default, 'false', 'irreversible locks are opt-in');
        break;
    }
    if (p.LockConfiguration) {
      t.equal(p.LockConfiguration.MinRetentionDays, spec.lock?.min ?? 1, `${spec.name}: min retention`);
      t.equal(p.LockConfiguration.MaxRetentionDays, spec.lock?.max, `${spec.name}: max retention`);
    }
  }
  t.same([...seen].sort(), [...COMPLIANCE_VARIANTS].sort(), 'every compliance variant of the shape is present');
});

t.test('backups fit their vaults: rule and copy lifecycles within the vault locks, schedules valid', async (t) => {
  const vaultByRef = new Map<string, (typeof VAULT_SPECS)[number]>();
  for (const v of rehearsalVaults()) if (v.origin === 'template') vaultByRef.set(`Vault${v.stem}`, v.spec);
  const lockOf = (target: Json) => {
    const spec = typeof target === 'string' ? VAULT_SPECS.find((s) => s.name === target) : vaultByRef.get(target.Ref);
    return spec;
  };
  const within = (days: number | undefined, spec: (typeof VAULT_SPECS)[number] | undefined, what: string) => {
    if (!spec?.lock) return;
    t.ok(days !== undefined, `${what}: a lock refuses backups that never expire`);
    if (days === undefined) return;
    t.ok(days >= (spec.lock.min ?? 1), `${what}: ${days} >= min ${spec.lock.min}`);
    if (spec.lock.max !== undefined) t.ok(days <= spec.lock.max, `${what}: ${days} <= max ${spec.lock.max}`);
  };
  for (const [id, plan] of plans) {
    for (const rule of plan.Properties.BackupPlan.BackupPlanRule) {
      const spec = lockOf(rule.TargetBackupVault);
      t.ok(spec, `${id}: targets a shape vault`);
      t.match(rule.ScheduleExpression, /^cron\(\d+ \d+ [^ ]+ [^ ]+ [^ ]+ \*\)$/, `${id}: schedule`);
      within(rule.Lifecycle?.DeleteAfterDays, spec, `${id} ${rule.RuleName}`);
      if (rule.EnableContinuousBackup) t.ok(rule.Lifecycle.DeleteAfterDays <= 35, `${id}: continuous <= 35 days`);
      const cold = rule.Lifecycle?.MoveToColdStorageAfterDays;
      if (cold !== undefined) t.ok(rule.Lifecycle.DeleteAfterDays >= cold + 90, `${id}: 90 days in cold storage`);
      for (const copy of rule.CopyActions ?? []) {
        const target = vaultByRef.get(copy.DestinationBackupVaultArn['Fn::GetAtt'][0]);
        t.equal(target?.type, 'LOGICALLY_AIR_GAPPED_BACKUP_VAULT', `${id}: copies into the air-gapped vault`);
        within(copy.Lifecycle?.DeleteAfterDays, target, `${id} copy`);
        t.equal(rule.TargetBackupVault.Ref, `Vault${rehearsalVault(AIRGAP_STAGING_VAULT).stem}`, 'staged in its vault');
      }
    }
  }
});

t.test('every action preflight checks is granted to the role that needs it, and nothing more', async (t) => {
  for (const [side, template] of [
    ['source', source],
    ['destination', destination],
  ] as const) {
    const role = template.Resources.OperatorRole;
    t.equal(role.Type, 'AWS::IAM::Role');
    const statements: Json[] = role.Properties.Policies.flatMap((p: Json) => p.PolicyDocument.Statement);
    t.ok(
      statements.every((s) => s.Effect === 'Allow'),
      'only Allow statements',
    );
    const granted = new Map<string, Json[]>();
    for (const s of statements) {
      for (const action of [s.Action].flat()) granted.set(action, [...(granted.get(action) ?? []), s]);
    }
    for (const required of REQUIRED_ACTIONS[side]) {
      const on = granted.get(required.action) ?? [];
      if (required.resource === 'copyRole') {
        t.ok(
          on.some(
            (s) =>
              JSON.stringify(s.Resource) === JSON.stringify({ 'Fn::GetAtt': ['CopyRole', 'Arn'] }) &&
              s.Condition?.StringEquals?.['iam:PassedToService'] === 'backup.amazonaws.com',
          ),
          `${side}: ${required.action} on the copy role, passed to AWS Backup only`,
        );
      } else
        t.ok(
          on.some((s) => s.Resource === '*'),
          `${side}: ${required.action} on *`,
        );
    }
    t.same(
      [...granted.keys()].sort(),
      [...new Set(REQUIRED_ACTIONS[side].map((a) => a.action))].sort(),
      `${side}: exactly the actions of shared/permissions.ts`,
    );
    t.equal(role.Properties.Path, '/rpcopy/', 'a role path, which STS drops and preflight must look up');
  }
  const copyRole = source.Resources.CopyRole.Properties;
  t.ok(trustsBackup(JSON.stringify(copyRole.AssumeRolePolicyDocument)), 'the copy role trusts AWS Backup');
  t.equal(`${copyRole.Path}${copyRole.RoleName}`, `${COPY_ROLE.path}${COPY_ROLE.name}`);
  t.ok(
    copyRole.ManagedPolicyArns.some((a: Json) => a['Fn::Sub'].endsWith('/AWSBackupServiceRolePolicyForBackup')),
    'AWSBackupServiceRolePolicyForBackup',
  );
  t.ok(
    copyRole.ManagedPolicyArns.some((a: Json) => a['Fn::Sub'].endsWith('/AWSBackupServiceRolePolicyForS3Backup')),
    'S3 backups need their own managed policy',
  );
  const destKey = destination.Resources.KeyRpcopyDestCmk.Properties.KeyPolicy;
  t.match(JSON.stringify(destKey), /SourceAccountId/, 'the destination key admits the source account');
});
