// One destination vault against its source vault and the [compliance]
// expectations of the config. Pure: the inputs are what AWS said.
//
// Drift is where the destination is weaker than the source or the config
// asks for (one line each); notes are differences kept on purpose (the
// destination is stricter) or that cannot be replicated (reserved tags).

import type { Config } from '../../shared/config.js';
import { compareLocks, describeLock } from '../vaults/lock.js';
import type { VaultState } from '../vaults/phase.js';
import { admission, canonical, mirroredDenies, PolicyParseError, parsePolicy } from '../vaults/policy.js';
import { planNotifications, planTags, replicableTags } from '../vaults/settings.js';

const DRIFT_KINDS = [
  'missing',
  'vault_type',
  'lock',
  'encryption_key',
  'tags',
  'access_policy',
  'notifications',
  'required_lock',
  'min_retention',
  /** AWS refused to show the source or destination vault: compliance cannot be verified. */
  'unreadable',
] as const;
export type DriftKind = (typeof DRIFT_KINDS)[number];

export interface DriftItem {
  kind: DriftKind;
  detail: string;
}

export interface VaultComparison {
  drift: DriftItem[];
  notes: string[];
}

const LAG = 'LOGICALLY_AIR_GAPPED_BACKUP_VAULT';

export function compareVault(
  source: VaultState,
  dest: VaultState | undefined,
  context: { config: Config; destinationName: string; organizationId: string | null },
): VaultComparison {
  const { config } = context;
  const result: VaultComparison = { drift: [], notes: [] };
  const drift = (kind: DriftKind, detail: string) => result.drift.push({ kind, detail });
  if (!dest) {
    drift(
      'missing',
      `destination vault ${context.destinationName} does not exist (source: ${describeLock(source.lock)})`,
    );
    return result;
  }
  if ((source.detail.vaultType === LAG) !== (dest.detail.vaultType === LAG)) {
    drift('vault_type', `the destination is a ${dest.detail.vaultType}, the source a ${source.detail.vaultType}`);
  }

  const locks = compareLocks(source.lock, dest.lock);
  for (const w of locks.weaker) drift('lock', `${w} (destination: ${describeLock(dest.lock)})`);
  result.notes.push(...locks.stricter);

  if (dest.detail.encryptionKeyArn !== config.destination.encryptionKeyArn) {
    drift(
      'encryption_key',
      `encrypted with ${dest.detail.encryptionKeyArn ?? 'an AWS-owned key'}, not destination.encryption_key_arn ${config.destination.encryptionKeyArn}`,
    );
  }

  const tags = planTags(replicableTags(source.tags), dest.tags);
  for (const key of Object.keys(tags.add))
    drift('tags', `tag ${key} is missing (source: ${JSON.stringify(source.tags[key])})`);
  for (const key of tags.differing) {
    drift('tags', `tag ${key} is ${JSON.stringify(dest.tags[key])}, the source's ${JSON.stringify(source.tags[key])}`);
  }
  const reserved = Object.keys(source.tags).filter((k) => k.toLowerCase().startsWith('aws:'));
  if (reserved.length > 0) result.notes.push(`tags reserved by AWS are not replicated: ${reserved.join(', ')}`);

  try {
    const destPolicy = parsePolicy(dest.policy);
    const verdict = admission(destPolicy, config.source.accountId, context.organizationId);
    if (!verdict.admitted) {
      drift(
        'access_policy',
        `the access policy does not admit the source account ${config.source.accountId} to backup:CopyIntoBackupVault` +
          (verdict.deniedBy.length > 0 ? ` (denied by ${verdict.deniedBy.join(', ')})` : ''),
      );
    }
    const present = new Set((destPolicy?.Statement ?? []).map((s) => canonical(s)));
    let sourcePolicy: ReturnType<typeof parsePolicy> = null;
    try {
      sourcePolicy = parsePolicy(source.policy);
    } catch {
      result.notes.push('the source access policy cannot be parsed: its Deny statements are not compared');
    }
    for (const deny of mirroredDenies(sourcePolicy, config.source.accountId, config.destination.accountId)) {
      if (!present.has(canonical(deny))) {
        drift('access_policy', `the source's Deny statement ${deny.Sid ?? JSON.stringify(deny.Action)} is missing`);
      }
    }
  } catch (err) {
    if (!(err instanceof PolicyParseError)) throw err;
    drift('access_policy', err.message);
  }

  const notifications = planNotifications(source.notifications, dest.notifications, config.destination.accountId);
  if (notifications.put) {
    const missing = (source.notifications?.events ?? []).filter((e) => !dest.notifications?.events.includes(e));
    drift(
      'notifications',
      dest.notifications
        ? `notification events missing: ${missing.join(', ')}`
        : `no notifications (source: ${source.notifications?.events.join(', ')} to ${source.notifications?.topicArn})`,
    );
  }
  for (const d of notifications.drift) drift('notifications', d);

  if (config.compliance.requireVaultLock && dest.lock.mode === 'none') {
    drift('required_lock', 'not locked, but compliance.require_vault_lock = true');
  }
  const minimum = config.compliance.minRetentionDays;
  if (minimum !== undefined && (dest.lock.minRetentionDays === null || dest.lock.minRetentionDays < minimum)) {
    drift(
      'min_retention',
      `minimum retention is ${dest.lock.minRetentionDays ?? 'unset'}, compliance.min_retention_days is ${minimum}`,
    );
  }
  return result;
}
