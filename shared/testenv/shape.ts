// The representative shape of the source account, in one place: the twelve
// vaults with their compliance settings, the resource types, the applications
// and their APMIDs, and the cases of the metadata CSV. Two consumers read it:
// the sandbox's generator (test/sandbox/generator.ts), which derives up to
// millions of emulated recovery points from it, and the rehearsal templates
// (shared/testenv/render.ts), which create the same shape in two real AWS
// accounts. Keeping both on this data is what makes the rehearsal and the
// tests agree. Pure data and pure functions: no I/O, nothing at import time.
//
// Changing a value here changes the sandbox's generated data for every seed;
// the numbers are shares of draws from the sandbox's seeded random streams.

/** The eight resource types of the job, in the order the sandbox's model lists them. */
export const RESOURCE_TYPES = ['EBS', 'EC2', 'RDS', 'Aurora', 'S3', 'EFS', 'DynamoDB', 'FSx'] as const;
export type ResourceType = (typeof RESOURCE_TYPES)[number];

export type VaultType = 'BACKUP_VAULT' | 'LOGICALLY_AIR_GAPPED_BACKUP_VAULT';

/** A backup rule's lifecycle, as AWS Backup names its fields. */
export interface ShapeLifecycle {
  MoveToColdStorageAfterDays?: number;
  DeleteAfterDays?: number;
}

/** The KMS keys of the source account that vaults and resources use. `aws/...` are AWS-managed keys. */
export type KeyRef =
  | 'aws/backup'
  | 'aws/ebs'
  | 'aws/rds'
  | 'aws/fsx'
  | 'backup-vault-cmk'
  | 'ebs-cmk'
  | 'rds-cmk'
  | 'fsx-cmk'
  | 'finance-cmk'
  | 'legacy-unshared-cmk'
  | 'aws-owned';

/** The access-policy variants of source vaults. */
export type VaultPolicyKind = 'deny-delete' | 'allow-org-copy' | 'deny-delete-and-allow-copy';

export interface VaultSpec {
  name: string;
  type: VaultType;
  /** Share of the account's points held in this vault. */
  weight: number;
  types: ReadonlyArray<readonly [ResourceType, number]>;
  key: KeyRef;
  /** Resource-level CMK used by not-fully-managed types in this vault. */
  resourceCmk?: { ebs?: KeyRef; rds?: KeyRef; fsx?: KeyRef };
  /** Lock: lockDays relative to the anchor (negative = already immutable); omit lockDays for governance mode. */
  lock?: { min?: number; max?: number; lockDays?: number };
  policy?: VaultPolicyKind;
  notifications?: string[];
  tags: Record<string, string>;
  /** Days between consecutive backups of one resource. */
  intervalDays: number;
  lifecycle?: ShapeLifecycle;
  /** Share of S3/RDS resources whose newest point is a continuous backup. */
  continuousShare?: number;
  /** Share of points not created by the vault's plan (on-demand backups). */
  onDemandShare: number;
}

/**
 * Twelve vaults with diverse compliance settings: compliance lock (immutable
 * and still in grace time), governance lock, no lock, a logically air-gapped
 * vault, `Default`, and the EFS service vault whose name cannot be recreated.
 */
export const VAULT_SPECS: readonly VaultSpec[] = [
  {
    name: 'Default',
    type: 'BACKUP_VAULT',
    weight: 3,
    types: [
      ['EBS', 3],
      ['RDS', 2],
      ['EFS', 1],
      ['DynamoDB', 1],
    ],
    key: 'aws/backup',
    tags: {},
    intervalDays: 7,
    lifecycle: { DeleteAfterDays: 120 },
    onDemandShare: 0.5,
  },
  {
    name: 'aws/efs/automatic-backup-vault',
    type: 'BACKUP_VAULT',
    weight: 4,
    types: [['EFS', 1]],
    key: 'aws/backup',
    tags: {},
    intervalDays: 1,
    lifecycle: { DeleteAfterDays: 35 },
    onDemandShare: 0,
  },
  {
    name: 'prod-ebs-daily',
    type: 'BACKUP_VAULT',
    weight: 20,
    types: [
      ['EBS', 8],
      ['EC2', 2],
    ],
    key: 'backup-vault-cmk',
    lock: { min: 7, max: 365, lockDays: -200 },
    policy: 'deny-delete',
    notifications: ['BACKUP_JOB_COMPLETED', 'COPY_JOB_FAILED', 'RECOVERY_POINT_MODIFIED'],
    tags: { Environment: 'prod', CostCentre: 'CC-1001', Compliance: 'SOX' },
    intervalDays: 1,
    lifecycle: { DeleteAfterDays: 35 },
    onDemandShare: 0.03,
  },
  {
    name: 'prod-rds-monthly',
    type: 'BACKUP_VAULT',
    weight: 12,
    types: [
      ['RDS', 3],
      ['Aurora', 2],
    ],
    key: 'backup-vault-cmk',
    lock: { min: 30, max: 3650 },
    policy: 'deny-delete',
    notifications: ['BACKUP_JOB_FAILED', 'COPY_JOB_FAILED'],
    tags: { Environment: 'prod', CostCentre: 'CC-1002' },
    intervalDays: 30,
    lifecycle: { DeleteAfterDays: 365 },
    continuousShare: 0.2,
    onDemandShare: 0.02,
  },
  {
    name: 'prod-mixed-weekly',
    type: 'BACKUP_VAULT',
    weight: 15,
    types: [
      ['EBS', 2],
      ['EC2', 1],
      ['RDS', 1],
      ['S3', 1],
      ['EFS', 2],
      ['DynamoDB', 2],
      ['FSx', 1],
    ],
    key: 'backup-vault-cmk',
    tags: { Environment: 'prod', Schedule: 'weekly' },
    intervalDays: 7,
    lifecycle: { MoveToColdStorageAfterDays: 30, DeleteAfterDays: 365 },
    onDemandShare: 0.05,
  },
  {
    name: 'finance-compliance',
    type: 'BACKUP_VAULT',
    weight: 6,
    types: [
      ['RDS', 2],
      ['Aurora', 1],
      ['S3', 1],
      ['DynamoDB', 1],
    ],
    key: 'finance-cmk',
    resourceCmk: { rds: 'finance-cmk' },
    // Compliance mode still in its grace time: LockDate in the future.
    lock: { min: 365, max: 2555, lockDays: 2 },
    policy: 'deny-delete-and-allow-copy',
    notifications: ['BACKUP_JOB_COMPLETED', 'BACKUP_JOB_FAILED', 'COPY_JOB_SUCCESSFUL', 'COPY_JOB_FAILED'],
    tags: { Environment: 'prod', DataClass: 'confidential', Compliance: 'PCI, SOX' },
    intervalDays: 30,
    lifecycle: { DeleteAfterDays: 2555 },
    continuousShare: 0.1,
    onDemandShare: 0,
  },
  {
    name: 'dev-shortterm',
    type: 'BACKUP_VAULT',
    weight: 8,
    types: [
      ['EBS', 3],
      ['EC2', 1],
      ['RDS', 1],
      ['S3', 1],
    ],
    key: 'aws/backup',
    tags: { Environment: 'dev' },
    intervalDays: 1,
    lifecycle: { DeleteAfterDays: 14 },
    onDemandShare: 0.1,
  },
  {
    name: 'analytics-s3',
    type: 'BACKUP_VAULT',
    weight: 8,
    types: [['S3', 1]],
    key: 'backup-vault-cmk',
    tags: { Environment: 'prod', Team: 'analytics' },
    notifications: ['BACKUP_JOB_FAILED'],
    intervalDays: 1,
    lifecycle: { DeleteAfterDays: 90 },
    continuousShare: 0.3,
    onDemandShare: 0,
  },
  {
    name: 'dynamo-tables',
    type: 'BACKUP_VAULT',
    weight: 7,
    types: [['DynamoDB', 1]],
    key: 'backup-vault-cmk',
    lock: { min: 7, max: 400 },
    tags: { Environment: 'prod' },
    intervalDays: 7,
    lifecycle: { MoveToColdStorageAfterDays: 60, DeleteAfterDays: 400 },
    onDemandShare: 0.02,
  },
  {
    name: 'fsx-filesystems',
    type: 'BACKUP_VAULT',
    weight: 5,
    types: [['FSx', 1]],
    key: 'backup-vault-cmk',
    tags: { Environment: 'prod', Storage: 'fsx' },
    intervalDays: 1,
    lifecycle: { DeleteAfterDays: 90 },
    onDemandShare: 0.01,
  },
  {
    name: 'airgapped-archive',
    type: 'LOGICALLY_AIR_GAPPED_BACKUP_VAULT',
    weight: 4,
    types: [
      ['EBS', 2],
      ['EC2', 1],
      ['S3', 1],
      ['EFS', 1],
      ['DynamoDB', 1],
    ],
    key: 'aws-owned',
    // Logically air-gapped vaults are always compliance-locked with Min/Max set at creation. [doc LAG]
    lock: { min: 7, max: 3650, lockDays: -90 },
    tags: { Environment: 'prod', Isolation: 'air-gapped' },
    intervalDays: 30,
    lifecycle: { DeleteAfterDays: 3650 },
    onDemandShare: 0,
  },
  {
    name: 'legacy-ec2-ami',
    type: 'BACKUP_VAULT',
    weight: 8,
    types: [
      ['EC2', 2],
      ['EBS', 1],
    ],
    key: 'backup-vault-cmk',
    resourceCmk: { ebs: 'ebs-cmk' },
    lock: { min: 1, max: 36500 },
    policy: 'allow-org-copy',
    tags: { Environment: 'legacy', Owner: 'platform-team', 'aws:backup:source-resource': 'retired' },
    intervalDays: 14,
    // Never expires: copies of these into a vault with MaxRetentionDays fail unless a Lifecycle is given.
    onDemandShare: 0.2,
  },
];

/** The compliance variant a vault stands for (what rpcopy must read and reproduce). */
export type ComplianceVariant =
  | 'no-lock'
  | 'governance-lock'
  | 'compliance-lock-immutable'
  | 'compliance-lock-in-grace'
  | 'logically-air-gapped';

export function complianceVariant(spec: VaultSpec): ComplianceVariant {
  if (spec.type === 'LOGICALLY_AIR_GAPPED_BACKUP_VAULT') return 'logically-air-gapped';
  if (!spec.lock) return 'no-lock';
  if (spec.lock.lockDays === undefined) return 'governance-lock';
  return spec.lock.lockDays < 0 ? 'compliance-lock-immutable' : 'compliance-lock-in-grace';
}

export const COMPLIANCE_VARIANTS: readonly ComplianceVariant[] = [
  'no-lock',
  'governance-lock',
  'compliance-lock-immutable',
  'compliance-lock-in-grace',
  'logically-air-gapped',
];

/** Tag keys starting with `aws:` are reserved: AWS refuses them on writes (the sandbox keeps one to test that). */
export function isReservedTagKey(key: string): boolean {
  return key.toLowerCase().startsWith('aws:');
}

/** The SNS topic a vault's notifications go to, in either account (rpcopy keeps the topic name). */
export function notificationTopicName(vaultName: string): string {
  return `backup-notifications-${vaultName.replace(/[^a-zA-Z0-9-]/g, '-')}`;
}

/** Customer-managed keys of the source account and whether their key policy admits the destination account. */
export const SOURCE_CUSTOMER_KEYS: readonly { ref: KeyRef; sharedWithDestination: boolean }[] = [
  { ref: 'backup-vault-cmk', sharedWithDestination: true },
  { ref: 'ebs-cmk', sharedWithDestination: true },
  { ref: 'rds-cmk', sharedWithDestination: true },
  { ref: 'fsx-cmk', sharedWithDestination: true },
  { ref: 'finance-cmk', sharedWithDestination: true },
  // Its key policy never granted the destination: copies of EBS/EC2 points under it fail.
  { ref: 'legacy-unshared-cmk', sharedWithDestination: false },
];

/** The destination key rpcopy gives new vaults; its policy admits the source account. */
export const DESTINATION_VAULT_KEY_ALIAS = 'rpcopy-dest-cmk';

/**
 * Shares of awkward resource-level keys among not-fully-managed resources: cumulative thresholds of one
 * uniform draw per resource (below the first: the AWS-managed key; below the second: the other variant).
 */
export const RESOURCE_KEY_SHARES = {
  /** EBS and EC2: aws/ebs below 0.1, the unshared CMK below 0.13, else the vault's resource CMK. */
  ebs: { awsManagedBelow: 0.1, unsharedCmkBelow: 0.13 },
  /** RDS: aws/rds below 0.12. */
  rds: { awsManagedBelow: 0.12 },
  /** Aurora: aws/rds below 0.1, unencrypted below 0.13. */
  aurora: { awsManagedBelow: 0.1, unencryptedBelow: 0.13 },
  /** FSx: aws/fsx below 0.1. */
  fsx: { awsManagedBelow: 0.1 },
} as const;

/** Share of DynamoDB tables backed up without AWS Backup's advanced features (not copyable cross-account). */
export const PLAIN_DYNAMO_SHARE = 0.15;

/** Applications, their APMIDs and how they appear in the CSV's appName column. */
export const APPS = [
  { key: 'payments', apmid: 'APM0001001', name: 'Payments, EU', weight: 4 },
  { key: 'ledger', apmid: 'APM0001002', name: 'General Ledger', weight: 3 },
  { key: 'crm', apmid: 'APM0001003', name: 'CRM "Classic"', weight: 3 },
  { key: 'hr', apmid: 'APM0001004', name: 'HR Portal', weight: 2 },
  { key: 'analytics', apmid: 'APM0001005', name: 'Analytics Platform', weight: 3 },
  { key: 'search', apmid: 'APM0001006', name: 'Search', weight: 2 },
  { key: 'billing', apmid: 'APM0001007', name: 'Billing, Invoicing & Tax', weight: 3 },
  { key: 'inventory', apmid: 'APM0001008', name: 'Inventory', weight: 2 },
  { key: 'auth', apmid: 'APM0001009', name: 'Auth Service', weight: 2 },
  { key: 'warehouse', apmid: 'APM0001010', name: 'Entrepôt de données', weight: 2 },
  { key: 'ftp', apmid: 'APM0002001', name: 'Legacy FTP', weight: 1 },
  { key: 'sandbox', apmid: 'APM0002002', name: 'Developer sandbox', weight: 1 },
  { key: 'mobile', apmid: 'APM0002003', name: 'Mobile API (retired)', weight: 1 },
] as const;

export type App = (typeof APPS)[number];
export type AppKey = App['key'];

export const ALLOWED_APMIDS: readonly string[] = APPS.filter((a) => a.apmid.startsWith('APM0001')).map((a) => a.apmid);

export function appByKey(key: AppKey): App {
  const app = APPS.find((a) => a.key === key);
  if (!app) throw new RangeError(`no app ${key}`);
  return app;
}

/** How a resource appears in the metadata CSV. */
export type CsvCategory = 'valid' | 'duplicateSame' | 'empty' | 'notAllowed' | 'absent' | 'conflict' | 'malformed';

export const CSV_CATEGORIES: readonly CsvCategory[] = [
  'valid',
  'duplicateSame',
  'empty',
  'notAllowed',
  'absent',
  'conflict',
  'malformed',
];

/** Cumulative shares of the CSV cases (one uniform draw per resource); the rest is valid or not allowed. */
const CSV_CASE_SHARES = {
  absentBelow: 0.07,
  emptyBelow: 0.12,
  conflictBelow: 0.15,
  malformedBelow: 0.17,
  duplicateSameBelow: 0.2,
} as const;

export function csvCategory(u: number, apmid: string): CsvCategory {
  if (u < CSV_CASE_SHARES.absentBelow) return 'absent';
  if (u < CSV_CASE_SHARES.emptyBelow) return 'empty';
  if (u < CSV_CASE_SHARES.conflictBelow) return 'conflict';
  if (u < CSV_CASE_SHARES.malformedBelow) return 'malformed';
  if (u < CSV_CASE_SHARES.duplicateSameBelow) return 'duplicateSame';
  return ALLOWED_APMIDS.includes(apmid) ? 'valid' : 'notAllowed';
}

// The CSV's line formats, shared so that the sandbox's file and the rehearsal's file are written alike.

export const CSV_HEADER = 'resourceArn,APMID,appName,owner';

/** Every this-many resources, the sandbox adds a row for a resource that does not exist (at least 3 in all). */
export const CSV_ORPHAN_EVERY = 40;
export const CSV_MIN_ORPHANS = 3;

function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function ownerOf(appKey: string): string {
  return `team-${appKey}@example.com`;
}

/** A well-formed four-column row. */
export function csvRow(arn: string, apmid: string, appName: string, owner: string): string {
  return [arn, apmid, appName, owner].map(csvField).join(',');
}

/** The other allowed APMID a conflicting duplicate row names. */
export function conflictingApmid(apmid: string): string {
  return ALLOWED_APMIDS[(ALLOWED_APMIDS.indexOf(apmid) + 1) % ALLOWED_APMIDS.length] ?? 'APM0001001';
}

/** A malformed row with three columns. */
export function threeColumnRow(arn: string, app: App): string {
  return `${csvField(arn)},${app.apmid},${csvField(app.name)}`;
}

/** A malformed row whose quote never closes; kept for the last line, as it swallows the rest in a strict parser. */
export function unbalancedQuoteRow(arn: string, app: App): string {
  return `${csvField(arn)},${app.apmid},"${app.name.replace(/"/g, '')},${ownerOf(app.key)}`;
}

/** A malformed row with a fifth column. */
export function fiveColumnRow(arn: string): string {
  return `${csvRow(arn, 'APM0001001', 'Search', ownerOf('search'))},extra`;
}

/** The file: UTF-8 BOM, CRLF line ends, a final line end. */
export function csvFileText(lines: readonly string[]): string {
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}
