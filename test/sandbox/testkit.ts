/**
 * Helpers for tests that drive the sandbox with the real AWS SDK: client
 * configuration for an account, and finders for recovery points with given
 * properties (so tests do not hard-code ARNs that depend on the seed).
 */
import {
  type BackupClient,
  CreateBackupVaultCommand,
  PutBackupVaultAccessPolicyCommand,
  paginateListRecoveryPointsByBackupVault,
  type RecoveryPointByBackupVault,
} from '@aws-sdk/client-backup';
import type { SandboxHandle } from './server.js';

export interface ClientConfig {
  region: string;
  endpoint: string;
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken: string };
  maxAttempts?: number;
}

/** SDK client configuration for an account's current credentials. */
export function clientConfig(h: SandboxHandle, account: 'source' | 'destination', maxAttempts?: number): ClientConfig {
  const c = h.credentialsFor(account);
  return {
    region: h.region,
    endpoint: h.url,
    credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken },
    maxAttempts,
  };
}

export async function listAllPoints(
  client: BackupClient,
  vault: string,
  pageSize = 1000,
): Promise<RecoveryPointByBackupVault[]> {
  const out: RecoveryPointByBackupVault[] = [];
  for await (const page of paginateListRecoveryPointsByBackupVault({ client, pageSize }, { BackupVaultName: vault })) {
    out.push(...(page.RecoveryPoints ?? []));
  }
  return out;
}

/** Points that a cross-account copy should complete for: COMPLETED, periodic, warm, CMK shared with the destination. */
export function copyablePoints(h: SandboxHandle, points: RecoveryPointByBackupVault[]): RecoveryPointByBackupVault[] {
  const w = h.sandbox.world;
  const now = h.sandbox.clock.now();
  return points.filter((p) => {
    if (p.Status !== 'COMPLETED' || !p.RecoveryPointArn || p.RecoveryPointArn.includes(':continuous:')) return false;
    if (p.RecoveryPointArn.startsWith('arn:aws:dynamodb:')) return false;
    const cold = p.CalculatedLifecycle?.MoveToColdStorageAt;
    if (cold && cold.getTime() <= now) return false;
    if (!p.EncryptionKeyArn) return p.ResourceType !== 'Aurora';
    const key = w.findKey(w.source, p.EncryptionKeyArn);
    return (
      key !== undefined &&
      (key.manager === 'CUSTOMER'
        ? key.sharedWith.includes(w.dest.id)
        : ['S3', 'EFS', 'DynamoDB'].includes(p.ResourceType ?? ''))
    );
  });
}

/** Create a destination vault (CMK from the sandbox) whose policy admits the source account. */
export async function createDestVault(
  h: SandboxHandle,
  dest: BackupClient,
  name: string,
  policy?: string,
): Promise<string> {
  const out = await dest.send(
    new CreateBackupVaultCommand({ BackupVaultName: name, EncryptionKeyArn: h.sandbox.world.destVaultKeyArn }),
  );
  await dest.send(
    new PutBackupVaultAccessPolicyCommand({
      BackupVaultName: name,
      Policy:
        policy ??
        JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { AWS: `arn:aws:iam::${h.accounts.source}:root` },
              Action: 'backup:CopyIntoBackupVault',
              Resource: '*',
            },
          ],
        }),
    }),
  );
  return out.BackupVaultArn as string;
}

export const COPY_ROLE = (account: string) => `arn:aws:iam::${account}:role/service-role/AWSBackupDefaultServiceRole`;
