/**
 * Internal data model of the emulated accounts. Timestamps are epoch
 * milliseconds here; the protocol layers convert them to what each wire format
 * wants (epoch seconds in JSON, ISO-8601 in XML).
 */

export const RESOURCE_TYPES = ['EBS', 'EC2', 'RDS', 'Aurora', 'S3', 'EFS', 'DynamoDB', 'FSx'] as const;
export type ResourceType = (typeof RESOURCE_TYPES)[number];

/** Types whose backups AWS Backup fully manages (encrypted with the vault key). [doc ENC] */
export const FULLY_MANAGED: ReadonlySet<ResourceType> = new Set(['S3', 'EFS', 'DynamoDB']);
/** Types that support the cold-storage tier (a subset; EBS uses its own archive tier). [doc Lifecycle] */
export const COLD_CAPABLE: ReadonlySet<ResourceType> = new Set(['EFS', 'DynamoDB']);

export type RecoveryPointStatus =
  | 'COMPLETED'
  | 'PARTIAL'
  | 'DELETING'
  | 'EXPIRED'
  | 'AVAILABLE'
  | 'STOPPED'
  | 'CREATING';
export type VaultType = 'BACKUP_VAULT' | 'LOGICALLY_AIR_GAPPED_BACKUP_VAULT';
export type CopyJobState = 'CREATED' | 'RUNNING' | 'COMPLETED' | 'FAILED' | 'PARTIAL';

export interface Lifecycle {
  MoveToColdStorageAfterDays?: number;
  DeleteAfterDays?: number;
  OptInToArchiveForSupportedResources?: boolean;
}

export interface CreatedBy {
  BackupPlanId: string;
  BackupPlanArn: string;
  BackupPlanVersion: string;
  BackupRuleId: string;
}

export interface RecoveryPoint {
  arn: string;
  account: string;
  vaultName: string;
  vaultArn: string;
  vaultType: VaultType;
  sourceVaultArn?: string;
  resourceArn: string;
  resourceType: ResourceType;
  resourceName?: string;
  createdBy?: CreatedBy;
  iamRoleArn: string;
  status: RecoveryPointStatus;
  statusMessage?: string;
  creationDate: number;
  initiationDate?: number;
  completionDate?: number;
  sizeBytes: number;
  lifecycle?: Lifecycle;
  encryptionKeyArn?: string;
  isEncrypted: boolean;
  encryptionKeyType?: 'AWS_OWNED_KMS_KEY' | 'CUSTOMER_MANAGED_KMS_KEY';
  /** Continuous (point-in-time) backup; StartCopyJob does not support these. */
  continuous: boolean;
  /** Set through the admin API: CalculatedLifecycle dates that replace the ones the lifecycle gives. */
  moveToColdAtOverride?: number;
  deleteAtOverride?: number;
  /** When a copy landed in this (destination) vault; listings show it only once the listing lag has passed. */
  landedAt?: number;
}

export interface VaultLock {
  minRetentionDays?: number;
  maxRetentionDays?: number;
  /** Set for compliance mode only; absent means governance mode. [doc VL] */
  lockDate?: number;
}

export interface Vault {
  account: string;
  name: string;
  arn: string;
  type: VaultType;
  creationDate: number;
  /** LAG vaults report CREATING until this time. */
  availableAt: number;
  encryptionKeyArn: string;
  encryptionKeyType?: 'AWS_OWNED_KMS_KEY' | 'CUSTOMER_MANAGED_KMS_KEY';
  creatorRequestId?: string;
  lock?: VaultLock;
  policy?: string;
  notifications?: { topicArn: string; events: string[] };
  tags: Record<string, string>;
  /** Index of this vault in the generated dataset, if its points are generated. */
  generatedIndex?: number;
  /** Materialised points (added by the admin API or copied in), in insertion order. */
  points: RecoveryPoint[];
}

export interface KmsKey {
  account: string;
  keyId: string;
  arn: string;
  aliases: string[];
  manager: 'AWS' | 'CUSTOMER';
  description: string;
  creationDate: number;
  /** Accounts the key policy lets use this key (cross-account copy of not-fully-managed types needs it). */
  sharedWith: string[];
}

export interface IamRole {
  account: string;
  name: string;
  path: string;
  arn: string;
  roleId: string;
  createDate: number;
  assumeRolePolicy: string;
}

export function lifecycleDates(
  creationDate: number,
  lifecycle: Lifecycle | undefined,
  type: ResourceType,
): { moveToColdAt?: number; deleteAt?: number } {
  if (!lifecycle) return {};
  const day = 86_400_000;
  const out: { moveToColdAt?: number; deleteAt?: number } = {};
  if (lifecycle.MoveToColdStorageAfterDays !== undefined && COLD_CAPABLE.has(type)) {
    out.moveToColdAt = creationDate + lifecycle.MoveToColdStorageAfterDays * day;
  }
  if (lifecycle.DeleteAfterDays !== undefined) out.deleteAt = creationDate + lifecycle.DeleteAfterDays * day;
  return out;
}

/** A point's CalculatedLifecycle dates, with the admin API's overrides. */
export function pointDates(p: RecoveryPoint): { moveToColdAt?: number; deleteAt?: number } {
  const d = lifecycleDates(p.creationDate, p.lifecycle, p.resourceType);
  if (p.moveToColdAtOverride !== undefined) d.moveToColdAt = p.moveToColdAtOverride;
  if (p.deleteAtOverride !== undefined) d.deleteAt = p.deleteAtOverride;
  return d;
}
