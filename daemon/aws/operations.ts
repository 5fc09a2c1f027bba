// The narrow AWS ports rpcopy uses, as data: each operation's name, the
// account side it runs on, and its request-rate budget. Workers implement
// them (daemon/workers/aws.ts); the main thread paces them (daemon/aws/port.ts).
//
// Rates are AWS's published per-account limits where they exist
// (aws-backup.md §3: list 20/s, describe 15/s, DescribeBackupVault 5/s), kept a
// little below them so that bursts from other tools still fit.

export type Account = 'source' | 'destination';

export interface RecoveryPointRow {
  arn: string;
  vaultName: string;
  resourceArn: string;
  resourceType: string;
  resourceName: string | null;
  status: string;
  statusMessage: string | null;
  creationDate: number;
  completionDate: number | null;
  sizeBytes: number | null;
  encryptionKeyArn: string | null;
  encryptionKeyType: string | null;
  isEncrypted: boolean | null;
  parentArn: string | null;
  isParent: boolean;
  compositeMemberIdentifier: string | null;
  lifecycleColdAfterDays: number | null;
  lifecycleDeleteAfterDays: number | null;
  moveToColdAt: number | null;
  deleteAt: number | null;
  vaultType: string | null;
  isContinuous: boolean;
}

export interface VaultSummary {
  name: string;
  arn: string;
  vaultType: string;
  encryptionKeyArn: string | null;
  locked: boolean;
  minRetentionDays: number | null;
  maxRetentionDays: number | null;
  lockDate: number | null;
  numberOfRecoveryPoints: number | null;
}

/** Request and response of every worker operation. */
export interface Operations {
  getCallerIdentity: { input: Record<string, never>; output: { account: string; arn: string; userId: string } };
  listBackupVaults: { input: { nextToken?: string }; output: { vaults: VaultSummary[]; nextToken?: string } };
  listRecoveryPoints: {
    input: { vaultName: string; nextToken?: string; pageSize: number; createdAfter?: number; byResourceArn?: string };
    output: { points: RecoveryPointRow[]; nextToken?: string };
  };
  describeKey: { input: { keyArn: string }; output: { keyManager: 'AWS' | 'CUSTOMER'; alias: string | null } };
  // Destination vaults (daemon/vaults), preflight and compliance.
  describeVault: { input: { name: string }; output: VaultDetail };
  listTags: { input: { arn: string }; output: { tags: Record<string, string> } };
  /** The vault's access policy document, or null when it has none. */
  getVaultAccessPolicy: { input: { name: string }; output: { policy: string | null } };
  /** The vault's notification configuration, or null when it has none. */
  getVaultNotifications: { input: { name: string }; output: { notifications: VaultNotifications | null } };
  createBackupVault: {
    input: { name: string; tags: Record<string, string>; encryptionKeyArn: string; creatorRequestId: string };
    output: { arn: string };
  };
  createLogicallyAirGappedBackupVault: {
    input: {
      name: string;
      tags: Record<string, string>;
      encryptionKeyArn?: string;
      creatorRequestId: string;
      minRetentionDays: number;
      maxRetentionDays: number;
    };
    output: { arn: string };
  };
  putVaultLock: {
    input: { name: string; minRetentionDays?: number; maxRetentionDays?: number; changeableForDays?: number };
    output: Record<string, never>;
  };
  putVaultAccessPolicy: { input: { name: string; policy: string }; output: Record<string, never> };
  putVaultNotifications: { input: { name: string } & VaultNotifications; output: Record<string, never> };
  tagResource: { input: { arn: string; tags: Record<string, string> }; output: Record<string, never> };
  describeGlobalSettings: { input: Record<string, never>; output: { settings: Record<string, string> } };
  describeOrganization: { input: Record<string, never>; output: { id: string; masterAccountId: string | null } };
  getRole: { input: { name: string }; output: { arn: string; path: string; trustPolicy: string } };
  simulatePrincipalPolicy: {
    input: {
      policySourceArn: string;
      actions: string[];
      resourceArns?: string[];
      context?: { key: string; type: 'string'; values: string[] }[];
    };
    output: { results: { action: string; decision: string }[] };
  };
  describeKeyDetail: {
    input: { keyArn: string };
    output: { arn: string; keyManager: string; keyState: string; enabled: boolean; keyUsage: string | null };
  };
  // The copy engine (daemon/copy).
  startCopyJob: {
    input: {
      recoveryPointArn: string;
      sourceVaultName: string;
      destinationVaultArn: string;
      iamRoleArn: string;
      idempotencyToken: string;
      lifecycle?: { deleteAfterDays?: number; moveToColdStorageAfterDays?: number };
    };
    output: { copyJobId: string; creationDate: number | null };
  };
  describeCopyJob: { input: { copyJobId: string }; output: { job: CopyJobSummary } };
  /** One page of ListCopyJobs; the caller paginates (each page is its own paced call). */
  listCopyJobs: {
    input: {
      state?: 'CREATED' | 'RUNNING' | 'COMPLETED' | 'FAILED' | 'PARTIAL';
      createdAfter?: number;
      completeAfter?: number;
      destinationVaultArn?: string;
      sourceRecoveryPointArn?: string;
      nextToken?: string;
    };
    output: { jobs: CopyJobSummary[]; nextToken?: string };
  };
  /** DescribeRecoveryPoint: verification of a copy in the destination vault. */
  describeRecoveryPoint: {
    input: { vaultName: string; recoveryPointArn: string };
    output: {
      arn: string;
      status: string;
      deleteAfterDays: number | null;
      moveToColdStorageAfterDays: number | null;
      sourceVaultArn: string | null;
      creationDate: number | null;
    };
  };
}

/** A copy job as rpcopy needs it (DescribeCopyJob and ListCopyJobs share the shape). */
export interface CopyJobSummary {
  copyJobId: string;
  state: string;
  sourceRecoveryPointArn: string;
  sourceVaultArn: string | null;
  destinationVaultArn: string | null;
  destinationRecoveryPointArn: string | null;
  resourceArn: string | null;
  resourceType: string | null;
  creationDate: number | null;
  completionDate: number | null;
  statusMessage: string | null;
  messageCategory: string | null;
  sizeBytes: number | null;
  isParent: boolean;
}

export interface VaultNotifications {
  topicArn: string;
  events: string[];
}

/** DescribeBackupVault in full, for replication and compliance (LockDate present = compliance mode). */
export interface VaultDetail extends VaultSummary {
  vaultState: string | null;
  creatorRequestId: string | null;
  encryptionKeyType: string | null;
}

export type OperationName = keyof Operations;

/**
 * Requests per second per account at which each operation starts. Published quotas (aws-backup.md §4.2) are
 * used as they are: the port's limiter drops below them when AWS throttles (others share the account's
 * budget, or its quota is lower) and climbs back as calls go through.
 */
export const OPERATION_RATES: Record<OperationName, number> = {
  getCallerIdentity: 10,
  // aws-backup.md §4.2: List* 20/s, Get*/DescribeRecoveryPoint 15/s, DescribeBackupVault and TagResource 5/s.
  listBackupVaults: 20,
  listRecoveryPoints: 20,
  describeKey: 50,
  describeVault: 5,
  listTags: 20,
  getVaultAccessPolicy: 15,
  getVaultNotifications: 15,
  // Unpublished rates: kept low, a few calls per vault.
  createBackupVault: 2,
  createLogicallyAirGappedBackupVault: 2,
  putVaultLock: 2,
  putVaultAccessPolicy: 2,
  putVaultNotifications: 4,
  tagResource: 4,
  describeGlobalSettings: 5,
  describeOrganization: 5,
  getRole: 10,
  simulatePrincipalPolicy: 5,
  describeKeyDetail: 20,
  // aws-backup.md §4.2: StartCopyJob, DescribeCopyJob and ListCopyJobs are unpublished; StartCopyJob starts low
  // (copy throughput is bounded by the concurrent-job quota, not by this rate), the others as Describe*/List*.
  startCopyJob: 4,
  describeCopyJob: 12,
  listCopyJobs: 18,
  describeRecoveryPoint: 15,
};
