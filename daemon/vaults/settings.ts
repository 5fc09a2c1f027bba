// Tags, notifications and the creation id of destination vaults. Pure.

import { createHash } from 'node:crypto';
import type { VaultNotifications } from '../aws/operations.js';

/** Keys starting with "aws:" are reserved for AWS: they cannot be set, so they are not replicated. */
function isReservedTag(key: string): boolean {
  return key.toLowerCase().startsWith('aws:');
}

export interface TagPlan {
  /** Tags to add to the destination. */
  add: Record<string, string>;
  /** Keys whose destination value differs from the source's: kept (rpcopy does not overwrite), reported. */
  differing: string[];
  /** Source keys that cannot be replicated. */
  reserved: string[];
}

export function planTags(source: Record<string, string>, dest: Record<string, string>): TagPlan {
  const plan: TagPlan = { add: {}, differing: [], reserved: [] };
  for (const [key, value] of Object.entries(source).sort(([a], [b]) => a.localeCompare(b))) {
    if (isReservedTag(key)) plan.reserved.push(key);
    else if (!(key in dest)) plan.add[key] = value;
    else if (dest[key] !== value) plan.differing.push(key);
  }
  return plan;
}

export function replicableTags(tags: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(tags).filter(([k]) => !isReservedTag(k)));
}

/**
 * The destination's topic for a source topic: the same name in the destination account (the operator creates it
 * and lets backup.amazonaws.com publish to it; aws-backup.md §6.2).
 */
export function destinationTopic(topicArn: string, destinationAccount: string): string {
  const parts = topicArn.split(':');
  if (parts.length < 6 || parts[2] !== 'sns') return topicArn;
  parts[4] = destinationAccount;
  return parts.join(':');
}

export interface NotificationPlan {
  put?: VaultNotifications;
  drift: string[];
}

/** Events are only ever added; a destination that notifies another topic is reported, not changed. */
export function planNotifications(
  source: VaultNotifications | null,
  dest: VaultNotifications | null,
  destinationAccount: string,
): NotificationPlan {
  if (!source) return { drift: [] };
  const topicArn = destinationTopic(source.topicArn, destinationAccount);
  if (!dest) return { put: { topicArn, events: [...source.events].sort() }, drift: [] };
  if (dest.topicArn !== topicArn) {
    const missing = source.events.filter((e) => !dest.events.includes(e));
    return {
      drift:
        missing.length > 0
          ? [`notifications go to ${dest.topicArn}, not ${topicArn}, and miss ${missing.join(', ')}`]
          : [],
    };
  }
  const missing = source.events.filter((e) => !dest.events.includes(e));
  if (missing.length === 0) return { drift: [] };
  return { put: { topicArn, events: [...new Set([...dest.events, ...source.events])].sort() }, drift: [] };
}

/**
 * CreatorRequestId for a destination vault: deterministic, so a retried or repeated create returns the same
 * vault and an AlreadyExistsException can be told apart from a vault someone else made (1-50 of [A-Za-z0-9-_.]).
 */
export function creatorRequestId(destinationAccount: string, region: string, vaultName: string): string {
  const digest = createHash('sha256').update(`rpcopy:${destinationAccount}:${region}:${vaultName}`).digest('hex');
  return `rpcopy-${digest.slice(0, 40)}`;
}
