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
  describeBackupVault: { input: { name: string }; output: VaultSummary };
  listRecoveryPoints: {
    input: { vaultName: string; nextToken?: string; pageSize: number; createdAfter?: number };
    output: { points: RecoveryPointRow[]; nextToken?: string };
  };
  describeKey: { input: { keyArn: string }; output: { keyManager: 'AWS' | 'CUSTOMER'; alias: string | null } };
}

export type OperationName = keyof Operations;

/** Requests per second per account; undefined means unpaced by rpcopy (AWS publishes no limit). */
export const OPERATION_RATES: Record<OperationName, number> = {
  getCallerIdentity: 10,
  listBackupVaults: 18,
  describeBackupVault: 5,
  listRecoveryPoints: 18,
  describeKey: 50,
};
