// Worker-thread side of the AWS ports (a piscina task file).
//
// A task carries everything it needs: the operation, its input, and the
// account's credentials with their generation number. Clients are cached per
// (account, generation) and rebuilt when the generation changes, so a worker
// never signs a request with credentials the main thread has replaced.
// Workers never retry on their own (maxAttempts 1: pacing and backoff are the
// main thread's) and never write state: they return results or a WireError.

import {
  BackupClient,
  DescribeBackupVaultCommand,
  ListBackupVaultsCommand,
  ListRecoveryPointsByBackupVaultCommand,
  type RecoveryPointByBackupVault,
} from '@aws-sdk/client-backup';
import { DescribeKeyCommand, KMSClient, ListAliasesCommand } from '@aws-sdk/client-kms';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentials } from '../aws/credentials.js';
import { toWireError, type WireError } from '../aws/errors.js';
import type { Account, OperationName, Operations, RecoveryPointRow, VaultSummary } from '../aws/operations.js';

export interface AwsTask<K extends OperationName = OperationName> {
  operation: K;
  input: Operations[K]['input'];
  account: Account;
  generation: number;
  credentials: AwsCredentials;
  region: string;
}

export type AwsTaskResult<K extends OperationName = OperationName> =
  | { ok: true; output: Operations[K]['output']; generation: number }
  | { ok: false; error: WireError; generation: number };

interface Clients {
  generation: number;
  backup: BackupClient;
  sts: STSClient;
  kms: KMSClient;
}

const cache = new Map<Account, Clients>();

function clientsFor(task: AwsTask): Clients {
  const cached = cache.get(task.account);
  if (cached && cached.generation === task.generation) return cached;
  if (cached) {
    cached.backup.destroy();
    cached.sts.destroy();
    cached.kms.destroy();
  }
  const { accessKeyId, secretAccessKey, sessionToken } = task.credentials;
  const common = {
    region: task.region,
    credentials: { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) },
    maxAttempts: 1,
    requestHandler: { connectionTimeout: 10_000, requestTimeout: 60_000 },
  };
  const clients: Clients = {
    generation: task.generation,
    backup: new BackupClient(common),
    sts: new STSClient(common),
    kms: new KMSClient(common),
  };
  cache.set(task.account, clients);
  return clients;
}

const ms = (date: Date | undefined): number | null => (date ? date.getTime() : null);

function toRow(p: RecoveryPointByBackupVault, vaultName: string): RecoveryPointRow {
  const arn = p.RecoveryPointArn ?? '';
  return {
    arn,
    vaultName: p.BackupVaultName ?? vaultName,
    resourceArn: p.ResourceArn ?? '',
    resourceType: p.ResourceType ?? 'unknown',
    resourceName: p.ResourceName ?? null,
    status: p.Status ?? 'unknown',
    statusMessage: p.StatusMessage ?? null,
    creationDate: p.CreationDate?.getTime() ?? 0,
    completionDate: ms(p.CompletionDate),
    sizeBytes: p.BackupSizeInBytes ?? null,
    encryptionKeyArn: p.EncryptionKeyArn ?? null,
    encryptionKeyType: p.EncryptionKeyType ?? null,
    isEncrypted: p.IsEncrypted ?? null,
    parentArn: p.ParentRecoveryPointArn ?? null,
    isParent: p.IsParent ?? false,
    compositeMemberIdentifier: p.CompositeMemberIdentifier ?? null,
    lifecycleColdAfterDays: p.Lifecycle?.MoveToColdStorageAfterDays ?? null,
    lifecycleDeleteAfterDays: p.Lifecycle?.DeleteAfterDays ?? null,
    moveToColdAt: ms(p.CalculatedLifecycle?.MoveToColdStorageAt),
    deleteAt: ms(p.CalculatedLifecycle?.DeleteAt),
    vaultType: p.VaultType ?? null,
    // Continuous (point-in-time) backups carry this ARN form for every resource type.
    isContinuous: arn.includes(':recovery-point:continuous:'),
  };
}

function toVault(v: {
  BackupVaultName?: string;
  BackupVaultArn?: string;
  VaultType?: string;
  EncryptionKeyArn?: string;
  Locked?: boolean;
  MinRetentionDays?: number;
  MaxRetentionDays?: number;
  LockDate?: Date;
  NumberOfRecoveryPoints?: number;
}): VaultSummary {
  return {
    name: v.BackupVaultName ?? '',
    arn: v.BackupVaultArn ?? '',
    vaultType: v.VaultType ?? 'BACKUP_VAULT',
    encryptionKeyArn: v.EncryptionKeyArn ?? null,
    locked: v.Locked ?? false,
    minRetentionDays: v.MinRetentionDays ?? null,
    maxRetentionDays: v.MaxRetentionDays ?? null,
    lockDate: ms(v.LockDate),
    numberOfRecoveryPoints: v.NumberOfRecoveryPoints ?? null,
  };
}

type Handlers = {
  [K in OperationName]: (c: Clients, input: Operations[K]['input']) => Promise<Operations[K]['output']>;
};

const handlers: Handlers = {
  async getCallerIdentity(c) {
    const out = await c.sts.send(new GetCallerIdentityCommand({}));
    return { account: out.Account ?? '', arn: out.Arn ?? '', userId: out.UserId ?? '' };
  },
  async listBackupVaults(c, input) {
    const out = await c.backup.send(new ListBackupVaultsCommand({ NextToken: input.nextToken, MaxResults: 1000 }));
    return { vaults: (out.BackupVaultList ?? []).map(toVault), ...(out.NextToken ? { nextToken: out.NextToken } : {}) };
  },
  async describeBackupVault(c, input) {
    return toVault(await c.backup.send(new DescribeBackupVaultCommand({ BackupVaultName: input.name })));
  },
  async listRecoveryPoints(c, input) {
    const out = await c.backup.send(
      new ListRecoveryPointsByBackupVaultCommand({
        BackupVaultName: input.vaultName,
        MaxResults: input.pageSize,
        NextToken: input.nextToken,
        ...(input.createdAfter !== undefined ? { ByCreatedAfter: new Date(input.createdAfter) } : {}),
      }),
    );
    return {
      points: (out.RecoveryPoints ?? []).map((p) => toRow(p, input.vaultName)),
      ...(out.NextToken ? { nextToken: out.NextToken } : {}),
    };
  },
  async describeKey(c, input) {
    const out = await c.kms.send(new DescribeKeyCommand({ KeyId: input.keyArn }));
    const keyId = out.KeyMetadata?.KeyId;
    let alias: string | null = null;
    if (keyId) {
      // The alias names the AWS-managed key (aws/ebs, aws/rds) in reports; it is not needed for the decision.
      const aliases = await c.kms.send(new ListAliasesCommand({ KeyId: keyId })).catch(() => undefined);
      alias = aliases?.Aliases?.[0]?.AliasName ?? null;
    }
    return { keyManager: out.KeyMetadata?.KeyManager === 'AWS' ? 'AWS' : 'CUSTOMER', alias };
  },
};

export default async function runAwsTask(task: AwsTask): Promise<AwsTaskResult> {
  try {
    const handler = handlers[task.operation] as (c: Clients, input: unknown) => Promise<unknown>;
    const output = await handler(clientsFor(task), task.input);
    return { ok: true, output: output as Operations[OperationName]['output'], generation: task.generation };
  } catch (err) {
    return { ok: false, error: toWireError(err), generation: task.generation };
  }
}
