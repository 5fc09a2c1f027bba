// How the representative shape (shape.ts) becomes a rehearsal in two real,
// disposable AWS accounts: which small, cheap resources stand for each
// resource type and each awkward case, which vaults back each of them up,
// which CSV case each one is, and where a real account must differ from the
// sandbox (and why). Pure data and pure functions; the templates, the CSV,
// the config and the scripts are all rendered from it (render.ts).

import {
  type AppKey,
  type ComplianceVariant,
  type CsvCategory,
  complianceVariant,
  type DESTINATION_VAULT_KEY_ALIAS,
  isReservedTagKey,
  type KeyRef,
  type ResourceType,
  type ShapeLifecycle,
  VAULT_SPECS,
  type VaultSpec,
} from './shape.js';

const STACK_PREFIX = 'rpcopy-rehearsal';
export const SOURCE_STACK = `${STACK_PREFIX}-source`;
export const DESTINATION_STACK = `${STACK_PREFIX}-destination`;
export const SOURCE_PROFILE = `${STACK_PREFIX}-source`;
export const DESTINATION_PROFILE = `${STACK_PREFIX}-destination`;

/** The role AWS Backup uses for the plans, the on-demand backups and rpcopy's copies (source.copy_role_arn). */
export const COPY_ROLE = { name: 'RpcopyRehearsalAWSBackupRole', path: '/service-role/' } as const;
/** The role rpcopy runs as in each account; its path is there on purpose (STS drops it: preflight must look it up). */
export const OPERATOR_ROLE = { name: 'rpcopy-rehearsal-operator', path: '/rpcopy/' } as const;

/** The source vault whose plan rule copies into the air-gapped vault (backups never land in one directly). */
export const AIRGAP_STAGING_VAULT = 'prod-mixed-weekly';

/** Destination names for the two source vaults that cannot be recreated under their own name (rpctl plan proposes these). */
export const DESTINATION_VAULT_NAMES: Readonly<Record<string, string>> = {
  Default: 'Default-copy',
  'aws/efs/automatic-backup-vault': 'aws-efs-automatic-backup-vault',
};

/**
 * A compliance lock in grace time stays removable; its LockDate is this far out, so the rehearsal can be torn down
 * whenever. (ChangeableForDays accepts 3 to 36500.)
 */
export const GRACE_CHANGEABLE_FOR_DAYS = 36_500;
/** With ImmutableComplianceLocks=true, the shape's already-immutable lock becomes immutable this soon (the minimum). */
export const IMMUTABLE_CHANGEABLE_FOR_DAYS = 3;

export interface RehearsalResource {
  /** CloudFormation logical id; its ARN is the stack output `${id}Arn`. */
  id: string;
  type: ResourceType;
  /** The resource's own key: a shape key; undefined = the service's default encryption. */
  key?: KeyRef;
  app: AppKey;
  csv: CsvCategory;
  /** Source vaults that receive snapshot backups of it (by the vault's plan and by backup-now.sh). */
  vaults: readonly string[];
  /** The vault whose continuous-backup rule covers it. */
  continuousIn?: string;
  /** What it stands for in the shape. */
  why: string;
}

/**
 * One resource of every type with a customer-managed key and a valid APMID (these are copied), the awkward
 * cases (an AWS-managed key, a key not shared with the destination, continuous backups), and free resources
 * (empty DynamoDB tables and S3 buckets) that carry the CSV's cases, so that no type loses its only copy to a
 * CSV trap.
 */
export const REHEARSAL_RESOURCES: readonly RehearsalResource[] = [
  {
    id: 'EbsVolume',
    type: 'EBS',
    key: 'ebs-cmk',
    app: 'payments',
    csv: 'valid',
    vaults: ['Default', 'prod-ebs-daily', 'prod-mixed-weekly', 'airgapped-archive'],
    why: 'EBS volume under a CMK shared with the destination: copied',
  },
  {
    id: 'EbsVolumeAwsManagedKey',
    type: 'EBS',
    key: 'aws/ebs',
    app: 'hr',
    csv: 'valid',
    vaults: ['prod-ebs-daily', 'dev-shortterm'],
    why: 'EBS volume under the AWS-managed aws/ebs key: skipped as aws_managed_key',
  },
  {
    id: 'EbsVolumeUnsharedKey',
    type: 'EBS',
    key: 'legacy-unshared-cmk',
    app: 'payments',
    csv: 'valid',
    vaults: ['legacy-ec2-ami'],
    why: 'EBS volume under a CMK whose policy does not admit the destination: its copy job fails',
  },
  {
    id: 'Ec2Instance',
    type: 'EC2',
    key: 'ebs-cmk',
    app: 'crm',
    csv: 'valid',
    vaults: ['prod-ebs-daily', 'prod-mixed-weekly', 'dev-shortterm', 'airgapped-archive', 'legacy-ec2-ami'],
    why: 'EC2 instance (AMI backups) with a CMK-encrypted root volume: copied',
  },
  {
    id: 'RdsInstance',
    type: 'RDS',
    key: 'rds-cmk',
    app: 'ledger',
    csv: 'valid',
    vaults: ['Default', 'prod-rds-monthly', 'prod-mixed-weekly', 'finance-compliance', 'dev-shortterm'],
    continuousIn: 'prod-rds-monthly',
    why: 'RDS instance under a CMK: snapshots copied; its continuous backup skipped as continuous_backup',
  },
  {
    id: 'AuroraCluster',
    type: 'Aurora',
    key: 'rds-cmk',
    app: 'billing',
    csv: 'valid',
    vaults: ['prod-rds-monthly', 'finance-compliance'],
    why: 'Aurora Serverless v2 cluster under a CMK: copied',
  },
  {
    id: 'S3Bucket',
    type: 'S3',
    app: 'analytics',
    csv: 'valid',
    vaults: ['prod-mixed-weekly', 'finance-compliance', 'dev-shortterm', 'analytics-s3', 'airgapped-archive'],
    why: 'versioned S3 bucket (fully managed: the vault key encrypts its backups): copied',
  },
  {
    id: 'S3BucketContinuous',
    type: 'S3',
    app: 'analytics',
    csv: 'valid',
    vaults: [],
    continuousIn: 'analytics-s3',
    why: 'versioned S3 bucket with continuous backup only: skipped as continuous_backup',
  },
  {
    id: 'EfsFileSystem',
    type: 'EFS',
    app: 'warehouse',
    csv: 'valid',
    vaults: ['Default', 'aws/efs/automatic-backup-vault', 'prod-mixed-weekly', 'airgapped-archive'],
    why: 'EFS file system with automatic backups on (they create aws/efs/automatic-backup-vault): copied',
  },
  {
    id: 'DynamoTable',
    type: 'DynamoDB',
    app: 'inventory',
    csv: 'valid',
    vaults: ['Default', 'prod-mixed-weekly', 'finance-compliance', 'dynamo-tables', 'airgapped-archive'],
    why: 'on-demand DynamoDB table (with advanced backup features on: fully managed): copied',
  },
  {
    id: 'FsxFileSystem',
    type: 'FSx',
    key: 'fsx-cmk',
    app: 'auth',
    csv: 'valid',
    vaults: ['prod-mixed-weekly', 'fsx-filesystems'],
    why: 'FSx for OpenZFS file system (the smallest FSx) under a CMK: copied',
  },
  {
    id: 'TrapTableEmptyApmid',
    type: 'DynamoDB',
    app: 'search',
    csv: 'empty',
    vaults: ['dynamo-tables'],
    why: 'CSV row with an empty APMID: skipped as apmid_empty',
  },
  {
    id: 'TrapBucketNotAllowed',
    type: 'S3',
    app: 'ftp',
    csv: 'notAllowed',
    vaults: ['analytics-s3'],
    why: 'CSV row with an APMID outside filter.allowed_apmids: skipped as apmid_not_allowed',
  },
  {
    id: 'TrapTableAbsent',
    type: 'DynamoDB',
    app: 'mobile',
    csv: 'absent',
    vaults: ['dynamo-tables'],
    why: 'no CSV row: skipped as apmid_missing',
  },
  {
    id: 'TrapBucketConflict',
    type: 'S3',
    app: 'payments',
    csv: 'conflict',
    vaults: ['analytics-s3'],
    why: 'two CSV rows with different APMIDs: skipped as apmid_conflict',
  },
  {
    id: 'TrapTableMalformed',
    type: 'DynamoDB',
    app: 'sandbox',
    csv: 'malformed',
    vaults: ['dynamo-tables'],
    why: 'its only CSV row is the last line, whose quote never closes: reported, skipped as apmid_missing',
  },
  {
    id: 'TrapBucketMalformed',
    type: 'S3',
    app: 'billing',
    csv: 'malformed',
    vaults: ['analytics-s3'],
    why: 'its only CSV row has three columns: reported, skipped as apmid_missing',
  },
  {
    id: 'TrapTableDuplicate',
    type: 'DynamoDB',
    app: 'ledger',
    csv: 'duplicateSame',
    vaults: ['dynamo-tables'],
    why: 'two agreeing CSV rows: reported as a duplicate, copied',
  },
];

/** How a source vault exists in the rehearsal. */
export type VaultOrigin =
  /** Created by the source template. */
  | 'template'
  /** `Default`: CloudFormation cannot create it; the AWS Backup console creates it on first use of its Backup vaults page. */
  | 'console'
  /** `aws/efs/automatic-backup-vault`: created by AWS when an EFS file system's automatic backups are on. */
  | 'efs-automatic-backups';

export interface RehearsalVault {
  spec: VaultSpec;
  variant: ComplianceVariant;
  origin: VaultOrigin;
  /** CloudFormation logical id of the vault (template vaults), its plan and selection use the same stem. */
  stem: string;
  /** Tags as created: the reserved `aws:` keys of the shape are dropped (AWS refuses them). */
  tags: Record<string, string>;
  droppedTags: string[];
  /** Retention of backups into this vault; see lifecycleNote. */
  lifecycle: ShapeLifecycle;
  lifecycleNote?: string;
  /** Hour (UTC) of its plan's rule; staggered so that one resource's jobs into different vaults do not collide. */
  hour: number;
}

function pascal(name: string): string {
  return name
    .split(/[^a-zA-Z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join('');
}

export function rehearsalVaults(): RehearsalVault[] {
  return VAULT_SPECS.map((spec, index) => {
    const origin: VaultOrigin =
      spec.name === 'Default'
        ? 'console'
        : spec.name === 'aws/efs/automatic-backup-vault'
          ? 'efs-automatic-backups'
          : 'template';
    const tags = Object.fromEntries(Object.entries(spec.tags).filter(([k]) => !isReservedTagKey(k)));
    const droppedTags = Object.keys(spec.tags).filter(isReservedTagKey);
    let lifecycle: ShapeLifecycle = { ...spec.lifecycle };
    let lifecycleNote: string | undefined;
    if (spec.type === 'LOGICALLY_AIR_GAPPED_BACKUP_VAULT') {
      // Points in an air-gapped vault cannot be deleted before they expire: keep them the vault's minimum.
      lifecycle = { DeleteAfterDays: spec.lock?.min ?? 7 };
      lifecycleNote = `copies kept ${lifecycle.DeleteAfterDays} days (the vault's minimum), not ${spec.lifecycle?.DeleteAfterDays}: an air-gapped vault's points cannot be deleted earlier, and the vault cannot be deleted while it holds any`;
    } else if (spec.lifecycle?.DeleteAfterDays === undefined && spec.lock?.max !== undefined) {
      // The sandbox's never-expiring points predate the lock; a real vault lock refuses new ones above its maximum.
      lifecycle = { DeleteAfterDays: spec.lock.max };
      lifecycleNote = `backups kept ${spec.lock.max} days (the lock's maximum) instead of never expiring: a vault lock with MaxRetentionDays refuses new backups that never expire`;
    }
    return {
      spec,
      variant: complianceVariant(spec),
      origin,
      stem: pascal(spec.name),
      tags,
      droppedTags,
      lifecycle,
      lifecycleNote,
      hour: (index * 2) % 24,
    };
  });
}

export function rehearsalVault(name: string): RehearsalVault {
  const v = rehearsalVaults().find((x) => x.spec.name === name);
  if (!v) throw new RangeError(`no vault ${name}`);
  return v;
}

/** The resources that get snapshot backups into a vault. */
export function resourcesIn(vaultName: string): RehearsalResource[] {
  return REHEARSAL_RESOURCES.filter((r) => r.vaults.includes(vaultName));
}

/** The resources whose continuous backup lands in a vault. */
export function continuousIn(vaultName: string): RehearsalResource[] {
  return REHEARSAL_RESOURCES.filter((r) => r.continuousIn === vaultName);
}

/** The cron expression (UTC) of a vault's plan rule for its backup interval. */
export function scheduleFor(intervalDays: number, hour: number): string {
  switch (intervalDays) {
    case 1:
      return `cron(0 ${hour} * * ? *)`;
    case 7:
      return `cron(0 ${hour} ? * SUN *)`;
    case 14:
      return `cron(0 ${hour} 1,15 * ? *)`;
    default:
      return `cron(0 ${hour} 1 * ? *)`;
  }
}

/** `aws backup ... --lifecycle` shorthand for a lifecycle. */
export function lifecycleShorthand(l: ShapeLifecycle): string {
  const parts: string[] = [];
  if (l.MoveToColdStorageAfterDays !== undefined)
    parts.push(`MoveToColdStorageAfterDays=${l.MoveToColdStorageAfterDays}`);
  if (l.DeleteAfterDays !== undefined) parts.push(`DeleteAfterDays=${l.DeleteAfterDays}`);
  return parts.join(',');
}

/** Key logical id in the source template for a shape key ref (customer-managed keys only). */
export function keyLogicalId(ref: KeyRef | typeof DESTINATION_VAULT_KEY_ALIAS): string {
  return `Key${pascal(ref)}`;
}
