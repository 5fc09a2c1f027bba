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
  type BackupVaultEvent,
  type CopyJob,
  CreateBackupVaultCommand,
  CreateLogicallyAirGappedBackupVaultCommand,
  DescribeBackupVaultCommand,
  DescribeCopyJobCommand,
  DescribeGlobalSettingsCommand,
  DescribeRecoveryPointCommand,
  GetBackupVaultAccessPolicyCommand,
  GetBackupVaultNotificationsCommand,
  ListBackupVaultsCommand,
  ListCopyJobsCommand,
  ListRecoveryPointsByBackupVaultCommand,
  ListTagsCommand,
  PutBackupVaultAccessPolicyCommand,
  PutBackupVaultLockConfigurationCommand,
  PutBackupVaultNotificationsCommand,
  type RecoveryPointByBackupVault,
  StartCopyJobCommand,
  TagResourceCommand,
} from '@aws-sdk/client-backup';
import { GetRoleCommand, IAMClient, SimulatePrincipalPolicyCommand } from '@aws-sdk/client-iam';
import { DescribeKeyCommand, KMSClient, ListAliasesCommand } from '@aws-sdk/client-kms';
import { DescribeOrganizationCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { toWireError } from '../aws/errors.js';
import type {
  Account,
  CopyJobSummary,
  OperationName,
  Operations,
  RecoveryPointRow,
  VaultSummary,
} from '../aws/operations.js';
import type { AwsTask, AwsTaskResult } from '../aws/task.js';

interface Clients {
  generation: number;
  backup: BackupClient;
  sts: STSClient;
  kms: KMSClient;
  iam: IAMClient;
  organizations: OrganizationsClient;
}

const cache = new Map<Account, Clients>();

function clientsFor(task: AwsTask): Clients {
  const cached = cache.get(task.account);
  if (cached && cached.generation === task.generation) return cached;
  if (cached) {
    // Requests may still be in flight on the old clients (a StartCopyJob whose abort would make its outcome
    // unknown): close their connections once those have settled, not now. No new request uses them.
    const old = cached;
    setTimeout(() => {
      old.backup.destroy();
      old.sts.destroy();
      old.kms.destroy();
      old.iam.destroy();
      old.organizations.destroy();
    }, 120_000).unref();
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
    iam: new IAMClient(common),
    organizations: new OrganizationsClient(common),
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

function toCopyJob(j: CopyJob): CopyJobSummary {
  return {
    copyJobId: j.CopyJobId ?? '',
    state: j.State ?? 'UNKNOWN',
    sourceRecoveryPointArn: j.SourceRecoveryPointArn ?? '',
    sourceVaultArn: j.SourceBackupVaultArn ?? null,
    destinationVaultArn: j.DestinationBackupVaultArn ?? null,
    destinationRecoveryPointArn: j.DestinationRecoveryPointArn ?? null,
    resourceArn: j.ResourceArn ?? null,
    resourceType: j.ResourceType ?? null,
    creationDate: ms(j.CreationDate),
    completionDate: ms(j.CompletionDate),
    statusMessage: j.StatusMessage ?? null,
    messageCategory: j.MessageCategory ?? null,
    sizeBytes: j.BackupSizeInBytes ?? null,
    isParent: j.IsParent ?? false,
  };
}

/** A Get* answer of "there is none" (aws-backup.md §2.6: ResourceNotFoundException, UNCONFIRMED). */
function isNotFound(err: unknown): boolean {
  return err instanceof Error && err.name === 'ResourceNotFoundException';
}

type Handlers = {
  [K in OperationName]: (c: Clients, input: Operations[K]['input']) => Promise<Operations[K]['output']>;
};

type CopyOperation = 'startCopyJob' | 'describeCopyJob' | 'listCopyJobs' | 'describeRecoveryPoint';

const copyHandlers: Pick<Handlers, CopyOperation> = {
  async startCopyJob(c, input) {
    const lifecycle = input.lifecycle;
    const out = await c.backup.send(
      new StartCopyJobCommand({
        RecoveryPointArn: input.recoveryPointArn,
        SourceBackupVaultName: input.sourceVaultName,
        DestinationBackupVaultArn: input.destinationVaultArn,
        IamRoleArn: input.iamRoleArn,
        // Always ours: the SDK's own random token would only protect its own retries (aws-backup.md §1.2).
        IdempotencyToken: input.idempotencyToken,
        ...(lifecycle && (lifecycle.deleteAfterDays !== undefined || lifecycle.moveToColdStorageAfterDays !== undefined)
          ? {
              Lifecycle: {
                ...(lifecycle.deleteAfterDays !== undefined ? { DeleteAfterDays: lifecycle.deleteAfterDays } : {}),
                ...(lifecycle.moveToColdStorageAfterDays !== undefined
                  ? { MoveToColdStorageAfterDays: lifecycle.moveToColdStorageAfterDays }
                  : {}),
              },
            }
          : {}),
      }),
    );
    return { copyJobId: out.CopyJobId ?? '', creationDate: ms(out.CreationDate) };
  },
  async describeCopyJob(c, input) {
    const out = await c.backup.send(new DescribeCopyJobCommand({ CopyJobId: input.copyJobId }));
    if (!out.CopyJob)
      throw Object.assign(new Error(`copy job ${input.copyJobId} not returned`), { name: 'ResourceNotFoundException' });
    return { job: toCopyJob(out.CopyJob) };
  },
  async listCopyJobs(c, input) {
    const out = await c.backup.send(
      new ListCopyJobsCommand({
        MaxResults: 1000,
        NextToken: input.nextToken,
        ...(input.state ? { ByState: input.state } : {}),
        ...(input.createdAfter !== undefined ? { ByCreatedAfter: new Date(input.createdAfter) } : {}),
        ...(input.completeAfter !== undefined ? { ByCompleteAfter: new Date(input.completeAfter) } : {}),
        ...(input.destinationVaultArn ? { ByDestinationVaultArn: input.destinationVaultArn } : {}),
        ...(input.sourceRecoveryPointArn ? { BySourceRecoveryPointArn: input.sourceRecoveryPointArn } : {}),
      }),
    );
    return { jobs: (out.CopyJobs ?? []).map(toCopyJob), ...(out.NextToken ? { nextToken: out.NextToken } : {}) };
  },
  async describeRecoveryPoint(c, input) {
    const out = await c.backup.send(
      new DescribeRecoveryPointCommand({ BackupVaultName: input.vaultName, RecoveryPointArn: input.recoveryPointArn }),
    );
    return {
      arn: out.RecoveryPointArn ?? input.recoveryPointArn,
      status: out.Status ?? 'UNKNOWN',
      deleteAfterDays: out.Lifecycle?.DeleteAfterDays ?? null,
      moveToColdStorageAfterDays: out.Lifecycle?.MoveToColdStorageAfterDays ?? null,
      sourceVaultArn: out.SourceBackupVaultArn ?? null,
      creationDate: ms(out.CreationDate),
    };
  },
};

const handlers: Handlers = {
  ...copyHandlers,
  async getCallerIdentity(c) {
    const out = await c.sts.send(new GetCallerIdentityCommand({}));
    return { account: out.Account ?? '', arn: out.Arn ?? '', userId: out.UserId ?? '' };
  },
  async listBackupVaults(c, input) {
    const out = await c.backup.send(new ListBackupVaultsCommand({ NextToken: input.nextToken, MaxResults: 1000 }));
    return { vaults: (out.BackupVaultList ?? []).map(toVault), ...(out.NextToken ? { nextToken: out.NextToken } : {}) };
  },
  async listRecoveryPoints(c, input) {
    const out = await c.backup.send(
      new ListRecoveryPointsByBackupVaultCommand({
        BackupVaultName: input.vaultName,
        MaxResults: input.pageSize,
        NextToken: input.nextToken,
        ...(input.createdAfter !== undefined ? { ByCreatedAfter: new Date(input.createdAfter) } : {}),
        ...(input.byResourceArn !== undefined ? { ByResourceArn: input.byResourceArn } : {}),
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
  async describeVault(c, input) {
    const out = await c.backup.send(new DescribeBackupVaultCommand({ BackupVaultName: input.name }));
    return {
      ...toVault(out),
      vaultState: out.VaultState ?? null,
      creatorRequestId: out.CreatorRequestId ?? null,
      encryptionKeyType: out.EncryptionKeyType ?? null,
    };
  },
  async listTags(c, input) {
    const tags: Record<string, string> = {};
    let nextToken: string | undefined;
    do {
      const out = await c.backup.send(new ListTagsCommand({ ResourceArn: input.arn, NextToken: nextToken }));
      Object.assign(tags, out.Tags ?? {});
      nextToken = out.NextToken;
    } while (nextToken);
    return { tags };
  },
  async getVaultAccessPolicy(c, input) {
    try {
      const out = await c.backup.send(new GetBackupVaultAccessPolicyCommand({ BackupVaultName: input.name }));
      return { policy: out.Policy ?? null };
    } catch (err) {
      // The caller described the vault first, so "not found" here means the vault has no policy.
      if (isNotFound(err)) return { policy: null };
      throw err;
    }
  },
  async getVaultNotifications(c, input) {
    try {
      const out = await c.backup.send(new GetBackupVaultNotificationsCommand({ BackupVaultName: input.name }));
      if (!out.SNSTopicArn) return { notifications: null };
      return { notifications: { topicArn: out.SNSTopicArn, events: [...(out.BackupVaultEvents ?? [])] } };
    } catch (err) {
      if (isNotFound(err)) return { notifications: null };
      throw err;
    }
  },
  async createBackupVault(c, input) {
    const out = await c.backup.send(
      new CreateBackupVaultCommand({
        BackupVaultName: input.name,
        BackupVaultTags: input.tags,
        EncryptionKeyArn: input.encryptionKeyArn,
        CreatorRequestId: input.creatorRequestId,
      }),
    );
    return { arn: out.BackupVaultArn ?? '' };
  },
  async createLogicallyAirGappedBackupVault(c, input) {
    const out = await c.backup.send(
      new CreateLogicallyAirGappedBackupVaultCommand({
        BackupVaultName: input.name,
        BackupVaultTags: input.tags,
        CreatorRequestId: input.creatorRequestId,
        MinRetentionDays: input.minRetentionDays,
        MaxRetentionDays: input.maxRetentionDays,
        ...(input.encryptionKeyArn ? { EncryptionKeyArn: input.encryptionKeyArn } : {}),
      }),
    );
    return { arn: out.BackupVaultArn ?? '' };
  },
  async putVaultLock(c, input) {
    await c.backup.send(
      new PutBackupVaultLockConfigurationCommand({
        BackupVaultName: input.name,
        MinRetentionDays: input.minRetentionDays,
        MaxRetentionDays: input.maxRetentionDays,
        ChangeableForDays: input.changeableForDays,
      }),
    );
    return {};
  },
  async putVaultAccessPolicy(c, input) {
    await c.backup.send(new PutBackupVaultAccessPolicyCommand({ BackupVaultName: input.name, Policy: input.policy }));
    return {};
  },
  async putVaultNotifications(c, input) {
    await c.backup.send(
      new PutBackupVaultNotificationsCommand({
        BackupVaultName: input.name,
        SNSTopicArn: input.topicArn,
        BackupVaultEvents: input.events as BackupVaultEvent[],
      }),
    );
    return {};
  },
  async tagResource(c, input) {
    await c.backup.send(new TagResourceCommand({ ResourceArn: input.arn, Tags: input.tags }));
    return {};
  },
  async describeGlobalSettings(c) {
    const out = await c.backup.send(new DescribeGlobalSettingsCommand({}));
    return { settings: { ...(out.GlobalSettings ?? {}) } };
  },
  async describeOrganization(c) {
    const out = await c.organizations.send(new DescribeOrganizationCommand({}));
    return { id: out.Organization?.Id ?? '', masterAccountId: out.Organization?.MasterAccountId ?? null };
  },
  async getRole(c, input) {
    const out = await c.iam.send(new GetRoleCommand({ RoleName: input.name }));
    const document = out.Role?.AssumeRolePolicyDocument ?? '';
    // IAM returns the trust policy URL-encoded.
    let trustPolicy = document;
    try {
      trustPolicy = decodeURIComponent(document);
    } catch {
      // Not encoded after all: keep it as is.
    }
    return { arn: out.Role?.Arn ?? '', path: out.Role?.Path ?? '/', trustPolicy };
  },
  async simulatePrincipalPolicy(c, input) {
    const results: { action: string; decision: string }[] = [];
    let marker: string | undefined;
    do {
      const out = await c.iam.send(
        new SimulatePrincipalPolicyCommand({
          PolicySourceArn: input.policySourceArn,
          ActionNames: input.actions,
          ResourceArns: input.resourceArns,
          ContextEntries: input.context?.map((e) => ({
            ContextKeyName: e.key,
            ContextKeyType: e.type,
            ContextKeyValues: e.values,
          })),
          Marker: marker,
        }),
      );
      for (const r of out.EvaluationResults ?? []) {
        results.push({ action: r.EvalActionName ?? '', decision: r.EvalDecision ?? 'implicitDeny' });
      }
      marker = out.IsTruncated ? out.Marker : undefined;
    } while (marker);
    return { results };
  },
  async describeKeyDetail(c, input) {
    const out = await c.kms.send(new DescribeKeyCommand({ KeyId: input.keyArn }));
    const k = out.KeyMetadata;
    return {
      arn: k?.Arn ?? input.keyArn,
      keyManager: k?.KeyManager ?? 'UNKNOWN',
      keyState: k?.KeyState ?? 'UNKNOWN',
      enabled: k?.Enabled ?? false,
      keyUsage: k?.KeyUsage ?? null,
    };
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
