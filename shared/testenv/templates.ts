// The two CloudFormation templates (JSON) of the rehearsal:
// - source: the representative vaults with their compliance settings, the
//   customer-managed KMS keys, the copy service role, rpcopy's operator role,
//   the smallest affordable resource of each of the 8 types plus the awkward
//   cases, and backup plans (snapshot and continuous) that put recovery points
//   of each resource into the vaults the shape gives it;
// - destination: the key rpcopy gives new vaults, rpcopy's operator role and
//   the notification topics rpcopy points replicated vaults at.
// The operator roles grant exactly the actions preflight checks
// (shared/permissions.ts). Pure: returns objects, writes nothing.

// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${...} here is CloudFormation Fn::Sub or shell syntax, on purpose.

import { REQUIRED_ACTIONS, type RequiredAction } from '../permissions.js';
import {
  AIRGAP_STAGING_VAULT,
  COPY_ROLE,
  continuousIn,
  GRACE_CHANGEABLE_FOR_DAYS,
  IMMUTABLE_CHANGEABLE_FOR_DAYS,
  keyLogicalId,
  OPERATOR_ROLE,
  REHEARSAL_RESOURCES,
  type RehearsalResource,
  type RehearsalVault,
  rehearsalVaults,
  resourcesIn,
  scheduleFor,
} from './rehearsal.js';
import {
  DESTINATION_VAULT_KEY_ALIAS,
  type KeyRef,
  notificationTopicName,
  SOURCE_CUSTOMER_KEYS,
  type VaultPolicyKind,
} from './shape.js';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON is free-form; cfn-validate.ts checks it.
export type Template = Record<string, any>;
// biome-ignore lint/suspicious/noExplicitAny: as above.
type Json = any;

const ref = (name: string) => ({ Ref: name });
const getAtt = (id: string, attribute: string) => ({ 'Fn::GetAtt': [id, attribute] });
const sub = (text: string) => ({ 'Fn::Sub': text });
const TAG = { Key: 'rpcopy-rehearsal', Value: 'true' };

const ACCOUNT_ID_PATTERN = '\\d{12}';

/** The ARN of a rehearsal resource as AWS Backup names it (the protected resource), as a template expression. */
function resourceArn(r: RehearsalResource): Json {
  switch (r.type) {
    case 'EBS':
      return sub(`arn:\${AWS::Partition}:ec2:\${AWS::Region}:\${AWS::AccountId}:volume/\${${r.id}}`);
    case 'EC2':
      return sub(`arn:\${AWS::Partition}:ec2:\${AWS::Region}:\${AWS::AccountId}:instance/\${${r.id}}`);
    case 'RDS':
      return getAtt(r.id, 'DBInstanceArn');
    case 'Aurora':
      return getAtt(r.id, 'DBClusterArn');
    case 'S3':
    case 'EFS':
    case 'DynamoDB':
      return getAtt(r.id, 'Arn');
    case 'FSx':
      return getAtt(r.id, 'ResourceARN');
  }
}

function keyArn(ref: KeyRef): Json {
  return getAtt(keyLogicalId(ref), 'Arn');
}

function kebab(id: string): string {
  return id.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

/** The CloudFormation resources that make one rehearsal resource (Aurora needs an instance beside its cluster). */
function resourceDefinitions(r: RehearsalResource): Record<string, Json> {
  const customerKey = r.key && !r.key.startsWith('aws/') ? keyArn(r.key) : undefined;
  const Tags = [TAG, { Key: 'Name', Value: `rpcopy-rehearsal-${kebab(r.id)}` }];
  const dbCommon = {
    MasterUsername: 'rpcopy',
    ManageMasterUserPassword: true,
    DBSubnetGroupName: ref('DbSubnetGroup'),
    BackupRetentionPeriod: 1,
    DeletionProtection: false,
    StorageEncrypted: true,
    ...(customerKey ? { KmsKeyId: customerKey } : {}),
    CopyTagsToSnapshot: true,
    Tags,
  };
  const del = { DeletionPolicy: 'Delete', UpdateReplacePolicy: 'Delete' };
  switch (r.type) {
    case 'EBS':
      return {
        [r.id]: {
          Type: 'AWS::EC2::Volume',
          ...del,
          Properties: {
            AvailabilityZone: getAtt('SubnetA', 'AvailabilityZone'),
            Size: 1,
            VolumeType: 'gp3',
            Encrypted: true,
            // Without KmsKeyId, EBS uses the account's default key: aws/ebs unless the account changed it.
            ...(customerKey ? { KmsKeyId: customerKey } : {}),
            Tags,
          },
        },
      };
    case 'EC2':
      return {
        [r.id]: {
          Type: 'AWS::EC2::Instance',
          ...del,
          Properties: {
            ImageId: ref('LatestAmiId'),
            InstanceType: 't4g.nano',
            SubnetId: ref('SubnetA'),
            SecurityGroupIds: [getAtt('SecurityGroup', 'GroupId')],
            BlockDeviceMappings: [
              {
                DeviceName: '/dev/xvda',
                Ebs: {
                  VolumeSize: 8,
                  VolumeType: 'gp3',
                  Encrypted: true,
                  ...(customerKey ? { KmsKeyId: customerKey } : {}),
                  DeleteOnTermination: true,
                },
              },
            ],
            Tags,
          },
        },
      };
    case 'RDS':
      return {
        [r.id]: {
          Type: 'AWS::RDS::DBInstance',
          ...del,
          Properties: {
            DBInstanceIdentifier: `rpcopy-${kebab(r.id)}`,
            Engine: 'postgres',
            DBInstanceClass: 'db.t4g.micro',
            AllocatedStorage: '20',
            StorageType: 'gp3',
            MultiAZ: false,
            PubliclyAccessible: false,
            DeleteAutomatedBackups: true,
            VPCSecurityGroups: [getAtt('SecurityGroup', 'GroupId')],
            ...dbCommon,
          },
        },
      };
    case 'Aurora':
      return {
        [r.id]: {
          Type: 'AWS::RDS::DBCluster',
          ...del,
          Properties: {
            DBClusterIdentifier: `rpcopy-${kebab(r.id)}`,
            Engine: 'aurora-postgresql',
            ServerlessV2ScalingConfiguration: { MinCapacity: ref('AuroraMinCapacity'), MaxCapacity: 1 },
            VpcSecurityGroupIds: [getAtt('SecurityGroup', 'GroupId')],
            ...dbCommon,
          },
        },
        [`${r.id}Instance`]: {
          Type: 'AWS::RDS::DBInstance',
          ...del,
          Properties: {
            DBClusterIdentifier: ref(r.id),
            DBInstanceClass: 'db.serverless',
            Engine: 'aurora-postgresql',
            PubliclyAccessible: false,
            Tags,
          },
        },
      };
    case 'S3':
      return {
        [r.id]: {
          Type: 'AWS::S3::Bucket',
          ...del,
          Properties: {
            BucketName: sub(`rpcopy-\${AWS::AccountId}-\${AWS::Region}-${r.id.toLowerCase()}`),
            // AWS Backup backs up only versioned buckets.
            VersioningConfiguration: { Status: 'Enabled' },
            PublicAccessBlockConfiguration: {
              BlockPublicAcls: true,
              BlockPublicPolicy: true,
              IgnorePublicAcls: true,
              RestrictPublicBuckets: true,
            },
            Tags,
          },
        },
      };
    case 'EFS':
      return {
        [r.id]: {
          Type: 'AWS::EFS::FileSystem',
          ...del,
          Properties: {
            Encrypted: true,
            // Automatic backups: AWS creates aws/efs/automatic-backup-vault and backs up daily (35 days).
            BackupPolicy: { Status: r.vaults.includes('aws/efs/automatic-backup-vault') ? 'ENABLED' : 'DISABLED' },
            FileSystemTags: Tags,
          },
        },
      };
    case 'DynamoDB':
      return {
        [r.id]: {
          Type: 'AWS::DynamoDB::Table',
          ...del,
          Properties: {
            TableName: `rpcopy-${kebab(r.id)}`,
            BillingMode: 'PAY_PER_REQUEST',
            AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
            KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
            DeletionProtectionEnabled: false,
            Tags,
          },
        },
      };
    case 'FSx':
      return {
        [r.id]: {
          Type: 'AWS::FSx::FileSystem',
          ...del,
          Properties: {
            FileSystemType: 'OPENZFS',
            StorageCapacity: 64,
            StorageType: 'SSD',
            SubnetIds: [ref('SubnetA')],
            SecurityGroupIds: [getAtt('SecurityGroup', 'GroupId')],
            ...(customerKey ? { KmsKeyId: customerKey } : {}),
            OpenZFSConfiguration: {
              DeploymentType: 'SINGLE_AZ_1',
              ThroughputCapacity: 64,
              // FSx's own daily backups off: AWS Backup makes the recovery points.
              AutomaticBackupRetentionDays: 0,
            },
            Tags,
          },
        },
      };
  }
}

function keyPolicy(shareWithParameter: string | undefined, description: string): Json {
  const statements: Json[] = [
    {
      Sid: 'EnableIamPolicies',
      Effect: 'Allow',
      Principal: { AWS: sub('arn:${AWS::Partition}:iam::${AWS::AccountId}:root') },
      Action: 'kms:*',
      Resource: '*',
    },
  ];
  if (shareWithParameter) {
    const other = sub(`arn:\${AWS::Partition}:iam::\${${shareWithParameter}}:root`);
    statements.push(
      {
        Sid: 'AllowUseByTheOtherAccount',
        Effect: 'Allow',
        Principal: { AWS: other },
        Action: ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey*', 'kms:ReEncrypt*'],
        Resource: '*',
      },
      {
        Sid: 'AllowGrantsForAwsServicesToTheOtherAccount',
        Effect: 'Allow',
        Principal: { AWS: other },
        Action: ['kms:CreateGrant', 'kms:ListGrants', 'kms:RevokeGrant'],
        Resource: '*',
        Condition: { Bool: { 'kms:GrantIsForAWSResource': 'true' } },
      },
    );
  }
  return { Version: '2012-10-17', Id: description, Statement: statements };
}

function kmsKey(
  alias: KeyRef | typeof DESTINATION_VAULT_KEY_ALIAS,
  description: string,
  shareWithParameter: string | undefined,
): Record<string, Json> {
  const id = keyLogicalId(alias);
  return {
    [id]: {
      Type: 'AWS::KMS::Key',
      DeletionPolicy: 'Delete',
      UpdateReplacePolicy: 'Delete',
      Properties: {
        Description: description,
        EnableKeyRotation: false,
        PendingWindowInDays: 7,
        KeyPolicy: keyPolicy(shareWithParameter, alias),
        Tags: [TAG],
      },
    },
    [`${id}Alias`]: {
      Type: 'AWS::KMS::Alias',
      Properties: { AliasName: `alias/${alias}`, TargetKeyId: ref(id) },
    },
  };
}

/** rpcopy's operator role for one side: exactly the actions preflight simulates (shared/permissions.ts). */
function operatorRole(side: 'source' | 'destination'): Record<string, Json> {
  const actions: readonly RequiredAction[] = REQUIRED_ACTIONS[side];
  const onStar = actions.filter((a) => a.resource === undefined).map((a) => a.action);
  const onCopyRole = actions.filter((a) => a.resource === 'copyRole').map((a) => a.action);
  const statements: Json[] = [
    { Sid: 'RpcopyPreflightActions', Effect: 'Allow', Action: [...new Set(onStar)], Resource: '*' },
  ];
  if (onCopyRole.length > 0) {
    statements.push({
      Sid: 'PassTheCopyRoleToAwsBackup',
      Effect: 'Allow',
      Action: [...new Set(onCopyRole)],
      Resource: getAtt('CopyRole', 'Arn'),
      Condition: { StringEquals: { 'iam:PassedToService': 'backup.amazonaws.com' } },
    });
  }
  return {
    OperatorRole: {
      Type: 'AWS::IAM::Role',
      Properties: {
        RoleName: OPERATOR_ROLE.name,
        Path: OPERATOR_ROLE.path,
        Description: `rpcopy's identity in the ${side} account: the actions its preflight checks`,
        MaxSessionDuration: 43_200,
        AssumeRolePolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { AWS: sub('arn:${AWS::Partition}:iam::${AWS::AccountId}:root') },
              Action: 'sts:AssumeRole',
            },
          ],
        },
        Policies: [{ PolicyName: `rpcopy-${side}`, PolicyDocument: { Version: '2012-10-17', Statement: statements } }],
        Tags: [TAG],
      },
    },
  };
}

/** SNS topics (same names in both accounts) that vault notifications go to; AWS Backup may publish to them. */
function notificationTopics(vaults: readonly RehearsalVault[]): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const v of vaults) {
    if (!v.spec.notifications) continue;
    const id = `Topic${v.stem}`;
    out[id] = {
      Type: 'AWS::SNS::Topic',
      Properties: { TopicName: notificationTopicName(v.spec.name), Tags: [TAG] },
    };
    out[`${id}Policy`] = {
      Type: 'AWS::SNS::TopicPolicy',
      Properties: {
        Topics: [ref(id)],
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'AllowAwsBackupToPublish',
              Effect: 'Allow',
              Principal: { Service: 'backup.amazonaws.com' },
              Action: 'SNS:Publish',
              Resource: ref(id),
            },
          ],
        },
      },
    };
  }
  return out;
}

function vaultAccessPolicy(kind: VaultPolicyKind): Json {
  const denyDelete = {
    Sid: 'DenyRecoveryPointDeletion',
    Effect: 'Deny',
    Principal: { AWS: '*' },
    Action: ['backup:DeleteRecoveryPoint', 'backup:UpdateRecoveryPointLifecycle', 'backup:PutBackupVaultAccessPolicy'],
    Resource: '*',
    Condition: {
      StringNotLike: { 'aws:PrincipalArn': sub('arn:${AWS::Partition}:iam::${AWS::AccountId}:role/BackupBreakGlass') },
    },
  };
  const allowOrgCopy = {
    Sid: 'AllowOrganizationCopyIn',
    Effect: 'Allow',
    Principal: { AWS: '*' },
    Action: 'backup:CopyIntoBackupVault',
    Resource: '*',
    Condition: { StringEquals: { 'aws:PrincipalOrgID': ref('OrganizationId') } },
  };
  const statements =
    kind === 'deny-delete' ? [denyDelete] : kind === 'allow-org-copy' ? [allowOrgCopy] : [denyDelete, allowOrgCopy];
  return { Version: '2012-10-17', Statement: statements };
}

function lockConfiguration(v: RehearsalVault): Json | undefined {
  const lock = v.spec.lock;
  if (!lock) return undefined;
  const base: Json = {
    MinRetentionDays: lock.min ?? 1,
    ...(lock.max !== undefined ? { MaxRetentionDays: lock.max } : {}),
  };
  switch (v.variant) {
    case 'governance-lock':
      return base;
    case 'compliance-lock-in-grace':
      return { ...base, ChangeableForDays: GRACE_CHANGEABLE_FOR_DAYS };
    case 'compliance-lock-immutable':
      return {
        ...base,
        ChangeableForDays: {
          'Fn::If': ['MakeLocksImmutable', IMMUTABLE_CHANGEABLE_FOR_DAYS, GRACE_CHANGEABLE_FOR_DAYS],
        },
      };
    default:
      return undefined;
  }
}

/** The vault resource (template vaults only). */
function vaultResource(v: RehearsalVault): Record<string, Json> {
  const id = `Vault${v.stem}`;
  const s = v.spec;
  const notifications = s.notifications
    ? { Notifications: { BackupVaultEvents: [...s.notifications], SNSTopicArn: ref(`Topic${v.stem}`) } }
    : {};
  const tags = Object.keys(v.tags).length > 0 ? { BackupVaultTags: { ...v.tags } } : {};
  if (s.type === 'LOGICALLY_AIR_GAPPED_BACKUP_VAULT') {
    return {
      [id]: {
        Type: 'AWS::Backup::LogicallyAirGappedBackupVault',
        // Its points cannot be deleted before they expire, so a stack deletion would fail here: keep it, delete it
        // with teardown.sh once its points have expired.
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
        Properties: {
          BackupVaultName: s.name,
          MinRetentionDays: s.lock?.min ?? 7,
          MaxRetentionDays: s.lock?.max ?? 36_500,
          ...tags,
          ...notifications,
        },
      },
    };
  }
  const lock = lockConfiguration(v);
  return {
    [id]: {
      Type: 'AWS::Backup::BackupVault',
      DeletionPolicy: 'Delete',
      UpdateReplacePolicy: 'Delete',
      Properties: {
        BackupVaultName: s.name,
        ...(s.key.startsWith('aws/') || s.key === 'aws-owned' ? {} : { EncryptionKeyArn: keyArn(s.key) }),
        ...tags,
        ...(lock ? { LockConfiguration: lock } : {}),
        ...(s.policy ? { AccessPolicy: vaultAccessPolicy(s.policy) } : {}),
        ...notifications,
      },
    },
  };
}

/** A vault's name as a plan rule's TargetBackupVault: a Ref where the template creates it (so it is created first). */
function vaultNameRef(v: RehearsalVault): Json {
  return v.origin === 'template' ? ref(`Vault${v.stem}`) : v.spec.name;
}

function lifecycleJson(l: { DeleteAfterDays?: number; MoveToColdStorageAfterDays?: number }): Json {
  return {
    ...(l.MoveToColdStorageAfterDays !== undefined ? { MoveToColdStorageAfterDays: l.MoveToColdStorageAfterDays } : {}),
    ...(l.DeleteAfterDays !== undefined ? { DeleteAfterDays: l.DeleteAfterDays } : {}),
  };
}

function planWithSelection(
  stem: string,
  planName: string,
  rule: Json,
  resources: readonly RehearsalResource[],
): Record<string, Json> {
  return {
    [`Plan${stem}`]: {
      Type: 'AWS::Backup::BackupPlan',
      Properties: {
        BackupPlan: { BackupPlanName: planName, BackupPlanRule: [rule] },
        BackupPlanTags: { [TAG.Key]: TAG.Value },
      },
    },
    [`Selection${stem}`]: {
      Type: 'AWS::Backup::BackupSelection',
      Properties: {
        BackupPlanId: ref(`Plan${stem}`),
        BackupSelection: {
          SelectionName: planName,
          IamRoleArn: getAtt('CopyRole', 'Arn'),
          Resources: resources.map(resourceArn),
        },
      },
    },
  };
}

/** Backup plans: one per vault the template or AWS creates backups in, one per continuous rule, one for the air gap. */
function backupPlans(vaults: readonly RehearsalVault[]): Record<string, Json> {
  const out: Record<string, Json> = {};
  const byName = new Map(vaults.map((v) => [v.spec.name, v]));
  for (const v of vaults) {
    const name = v.spec.name;
    if (v.origin === 'efs-automatic-backups') continue;
    if (v.spec.type === 'LOGICALLY_AIR_GAPPED_BACKUP_VAULT') {
      const staging = byName.get(AIRGAP_STAGING_VAULT);
      const members = resourcesIn(name);
      if (!staging || members.length === 0) continue;
      Object.assign(
        out,
        planWithSelection(
          v.stem,
          `rpcopy-rehearsal-${v.stem}`,
          {
            RuleName: 'copy-to-air-gapped-vault',
            TargetBackupVault: vaultNameRef(staging),
            ScheduleExpression: scheduleFor(v.spec.intervalDays, v.hour),
            Lifecycle: lifecycleJson(staging.lifecycle),
            CopyActions: [
              {
                DestinationBackupVaultArn: getAtt(`Vault${v.stem}`, 'BackupVaultArn'),
                Lifecycle: lifecycleJson(v.lifecycle),
              },
            ],
          },
          members,
        ),
      );
      continue;
    }
    const members = resourcesIn(name);
    if (members.length > 0) {
      Object.assign(
        out,
        planWithSelection(
          v.stem,
          `rpcopy-rehearsal-${v.stem}`,
          {
            RuleName: 'scheduled',
            TargetBackupVault: vaultNameRef(v),
            ScheduleExpression: scheduleFor(v.spec.intervalDays, v.hour),
            Lifecycle: lifecycleJson(v.lifecycle),
          },
          members,
        ),
      );
    }
    const continuous = continuousIn(name);
    if (continuous.length > 0) {
      Object.assign(
        out,
        planWithSelection(
          `${v.stem}Continuous`,
          `rpcopy-rehearsal-${v.stem}-continuous`,
          {
            RuleName: 'continuous',
            TargetBackupVault: vaultNameRef(v),
            // Continuous backups start with the first run of the rule: daily, an hour after the snapshot rule.
            ScheduleExpression: scheduleFor(1, (v.hour + 1) % 24),
            EnableContinuousBackup: true,
            // Continuous backups are kept at most 35 days.
            Lifecycle: { DeleteAfterDays: 35 },
          },
          continuous,
        ),
      );
    }
  }
  return out;
}

function network(): Record<string, Json> {
  const subnet = (az: number, cidr: string) => ({
    Type: 'AWS::EC2::Subnet',
    Properties: {
      VpcId: ref('Vpc'),
      CidrBlock: cidr,
      AvailabilityZone: { 'Fn::Select': [az, { 'Fn::GetAZs': '' }] },
      MapPublicIpOnLaunch: false,
      Tags: [TAG],
    },
  });
  return {
    // Private subnets only: no internet gateway, no NAT gateway, no public IPv4 address (each of those costs).
    Vpc: {
      Type: 'AWS::EC2::VPC',
      Properties: { CidrBlock: '10.77.0.0/16', EnableDnsSupport: true, EnableDnsHostnames: true, Tags: [TAG] },
    },
    SubnetA: subnet(0, '10.77.0.0/24'),
    SubnetB: subnet(1, '10.77.1.0/24'),
    SecurityGroup: {
      Type: 'AWS::EC2::SecurityGroup',
      Properties: {
        GroupDescription: 'rpcopy rehearsal resources: no inbound traffic',
        VpcId: ref('Vpc'),
        Tags: [TAG],
      },
    },
    DbSubnetGroup: {
      Type: 'AWS::RDS::DBSubnetGroup',
      Properties: {
        DBSubnetGroupDescription: 'rpcopy rehearsal databases',
        SubnetIds: [ref('SubnetA'), ref('SubnetB')],
        Tags: [TAG],
      },
    },
  };
}

export function sourceTemplate(): Template {
  const vaults = rehearsalVaults();
  const resources: Record<string, Json> = {};
  for (const key of SOURCE_CUSTOMER_KEYS) {
    Object.assign(
      resources,
      kmsKey(
        key.ref,
        key.sharedWithDestination
          ? `rpcopy rehearsal ${key.ref}: shared with the destination account`
          : `rpcopy rehearsal ${key.ref}: NOT shared with the destination account (copies of its resources fail)`,
        key.sharedWithDestination ? 'DestinationAccountId' : undefined,
      ),
    );
  }
  resources.CopyRole = {
    Type: 'AWS::IAM::Role',
    Properties: {
      RoleName: COPY_ROLE.name,
      Path: COPY_ROLE.path,
      Description: 'AWS Backup service role of the rehearsal: plans, on-demand backups and rpcopy copy jobs',
      AssumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { Service: 'backup.amazonaws.com' }, Action: 'sts:AssumeRole' }],
      },
      ManagedPolicyArns: [
        sub('arn:${AWS::Partition}:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup'),
        sub('arn:${AWS::Partition}:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores'),
        sub('arn:${AWS::Partition}:iam::aws:policy/AWSBackupServiceRolePolicyForS3Backup'),
        sub('arn:${AWS::Partition}:iam::aws:policy/AWSBackupServiceRolePolicyForS3Restore'),
      ],
      Tags: [TAG],
    },
  };
  Object.assign(resources, operatorRole('source'));
  Object.assign(resources, notificationTopics(vaults));
  for (const v of vaults) if (v.origin === 'template') Object.assign(resources, vaultResource(v));
  Object.assign(resources, network());
  for (const r of REHEARSAL_RESOURCES) Object.assign(resources, resourceDefinitions(r));
  Object.assign(resources, backupPlans(vaults));

  const outputs: Record<string, Json> = {
    CopyRoleArn: { Description: 'source.copy_role_arn', Value: getAtt('CopyRole', 'Arn') },
    OperatorRoleArn: { Description: "rpcopy's role in the source account", Value: getAtt('OperatorRole', 'Arn') },
  };
  for (const v of vaults) {
    if (v.spec.type === 'LOGICALLY_AIR_GAPPED_BACKUP_VAULT') {
      outputs[`Vault${v.stem}Arn`] = { Value: getAtt(`Vault${v.stem}`, 'BackupVaultArn') };
    }
  }
  for (const r of REHEARSAL_RESOURCES) {
    outputs[`${r.id}Arn`] = { Description: r.why, Value: resourceArn(r) };
  }

  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Description:
      'rpcopy rehearsal, SOURCE account: the representative vaults, keys, roles, one small resource of each of the 8 types plus the awkward cases, and backup plans. Rendered by rpctl testenv render from shared/testenv.',
    Parameters: {
      DestinationAccountId: {
        Type: 'String',
        AllowedPattern: ACCOUNT_ID_PATTERN,
        Description: 'The destination account: the shared keys admit it',
      },
      OrganizationId: {
        Type: 'String',
        AllowedPattern: 'o-[a-z0-9]{10,32}',
        Description: 'The organization of both accounts (the legacy-ec2-ami vault policy admits it)',
      },
      ImmutableComplianceLocks: {
        Type: 'String',
        AllowedValues: ['false', 'true'],
        Default: 'false',
        Description: `true: the vault lock the shape has as already immutable (prod-ebs-daily) becomes immutable ${IMMUTABLE_CHANGEABLE_FOR_DAYS} days after deployment, IRREVERSIBLY: the vault cannot be deleted until its points expire. false: it stays in its grace time (removable).`,
      },
      AuroraMinCapacity: {
        Type: 'Number',
        Default: '0.5',
        MinValue: '0',
        MaxValue: '1',
        Description:
          'Aurora Serverless v2 minimum ACUs. 0.5 is always accepted; 0 (auto-pause) costs less when idle but needs an engine version that supports it',
      },
      LatestAmiId: {
        Type: 'AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>',
        Default: '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64',
        Description: 'AMI of the t4g.nano instance (arm64)',
      },
    },
    Conditions: {
      MakeLocksImmutable: { 'Fn::Equals': [ref('ImmutableComplianceLocks'), 'true'] },
    },
    Resources: resources,
    Outputs: outputs,
  };
}

export function destinationTemplate(): Template {
  const vaults = rehearsalVaults();
  const resources: Record<string, Json> = {
    ...kmsKey(
      DESTINATION_VAULT_KEY_ALIAS,
      'rpcopy rehearsal: the key of the vaults rpcopy creates (destination.encryption_key_arn)',
      'SourceAccountId',
    ),
    ...operatorRole('destination'),
    ...notificationTopics(vaults),
  };
  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Description:
      "rpcopy rehearsal, DESTINATION account: the key for new vaults, rpcopy's role and the notification topics. rpcopy creates the vaults. Rendered by rpctl testenv render from shared/testenv.",
    Parameters: {
      SourceAccountId: {
        Type: 'String',
        AllowedPattern: ACCOUNT_ID_PATTERN,
        Description: 'The source account: the key admits it',
      },
    },
    Resources: resources,
    Outputs: {
      DestinationKeyArn: {
        Description: 'destination.encryption_key_arn',
        Value: getAtt(keyLogicalId(DESTINATION_VAULT_KEY_ALIAS), 'Arn'),
      },
      OperatorRoleArn: {
        Description: "rpcopy's role in the destination account",
        Value: getAtt('OperatorRole', 'Arn'),
      },
    },
  };
}
