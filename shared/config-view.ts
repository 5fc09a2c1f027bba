// The config as the operator writes it, one dotted key at a time, read back from a validated Config: what
// `rpctl config show` prints and what a reload compares. Both processes use it, so a key has one name and one
// printed form on each side. Durations print in the file's units ("30m"); paths print resolved.

import type { Config } from './config.js';
import { durationParts } from './duration.js';

/** A key's value in a form JSON carries and a person reads; null when the key is not set. */
export type KeyValue = string | number | boolean | string[] | Record<string, string> | null;

/** A duration as the config file writes it, without losing a part ("1d2h3m", "1500ms"). */
export function durationText(ms: number): string {
  if (ms === 0) return '0s';
  const whole = Math.floor(ms / 1_000) * 1_000;
  const parts = durationParts(whole)
    .filter((p) => p.amount > 0)
    .map((p) => `${p.amount}${p.unit}`);
  const rest = ms - whole;
  return parts.join('') + (rest > 0 ? `${rest}ms` : '');
}

const opt = <T>(value: T | undefined): T | null => (value === undefined ? null : value);
const optDuration = (ms: number | undefined) => (ms === undefined ? null : durationText(ms));

/** Every key of the config file (shared/config.ts CONFIG_KEYS), in the file's order, read from a Config. */
const KEY_READERS: Record<string, (c: Config) => KeyValue> = {
  region: (c) => c.region,
  'source.profile': (c) => c.source.profile,
  'source.account_id': (c) => c.source.accountId,
  'source.copy_role_arn': (c) => c.source.copyRoleArn,
  'source.vaults': (c) => c.source.vaults,
  'destination.profile': (c) => c.destination.profile,
  'destination.account_id': (c) => c.destination.accountId,
  'destination.encryption_key_arn': (c) => c.destination.encryptionKeyArn,
  'destination.vault_names': (c) => c.destination.vaultNames,
  'metadata.csv': (c) => c.metadata.csv,
  'metadata.key_column': (c) => c.metadata.keyColumn,
  'metadata.apmid_column': (c) => c.metadata.apmidColumn,
  'metadata.max_unusable_share': (c) => c.metadata.maxUnusableShare,
  'filter.allowed_apmids': (c) => opt(c.filter.allowedApmids),
  'filter.allowed_apmids_file': (c) => opt(c.filter.allowedApmidsFile),
  'copy.workers': (c) => c.copy.workers,
  'copy.max_in_flight': (c) => c.copy.maxInFlight,
  'copy.expiry_margin': (c) => durationText(c.copy.expiryMarginMs),
  'copy.start_rate': (c) => c.copy.startRate,
  'copy.listing_lag': (c) => durationText(c.copy.listingLagMs),
  'copy.resend_window': (c) => durationText(c.copy.resendWindowMs),
  'inventory.page_size': (c) => c.inventory.pageSize,
  'inventory.parallel_vaults': (c) => c.inventory.parallelVaults,
  'inventory.full_refresh_interval': (c) => durationText(c.inventory.fullRefreshIntervalMs),
  'window.start': (c) => opt(c.window.start),
  'window.stop': (c) => opt(c.window.stop),
  'window.days': (c) => opt(c.window.days),
  'window.timezone': (c) => opt(c.window.timezone),
  'window.max_runtime': (c) => optDuration(c.window.maxRuntimeMs),
  'window.drain': (c) => optDuration(c.window.drainMs),
  'vaults.confirm_compliance_lock': (c) => c.vaults.confirmComplianceLock,
  'compliance.require_vault_lock': (c) => c.compliance.requireVaultLock,
  'compliance.min_retention_days': (c) => opt(c.compliance.minRetentionDays),
  'notify.desktop': (c) => c.notify.desktop,
  'notify.command': (c) => opt(c.notify.command),
  'cost.price_table': (c) => opt(c.cost.priceTable),
  'daemon.state_dir': (c) => c.daemon.stateDir,
  'daemon.shutdown_timeout': (c) => durationText(c.daemon.shutdownTimeoutMs),
  'daemon.progress_interval': (c) => durationText(c.daemon.progressIntervalMs),
  'daemon.event_retention': (c) => durationText(c.daemon.eventRetentionMs),
  'daemon.log_level': (c) => c.daemon.logLevel,
};

/** The keys configValues reads, in order. */
export const VIEW_KEYS: readonly string[] = Object.keys(KEY_READERS);

/** Every key's value in `config`, keyed by its dotted name as the file writes it. */
export function configValues(config: Config): Record<string, KeyValue> {
  return Object.fromEntries(VIEW_KEYS.map((key) => [key, KEY_READERS[key]!(config)]));
}

/** True when two key values are the same setting (lists in order, tables by entry). */
export function sameValue(a: KeyValue, b: KeyValue): boolean {
  return canonical(a) === canonical(b);
}

function canonical(value: KeyValue): string {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    return JSON.stringify(Object.entries(value).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
  }
  return JSON.stringify(value);
}

/** A value as one line of text: TOML-like, "(not set)" for an absent key. */
export function valueText(value: KeyValue): string {
  if (value === null) return '(not set)';
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => JSON.stringify(v)).join(', ')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value).map(([k, v]) => `${JSON.stringify(k)} = ${JSON.stringify(v)}`);
    return entries.length === 0 ? '{}' : `{ ${entries.join(', ')} }`;
  }
  return String(value);
}

/** Keys whose value may carry a secret (a webhook token on a command line): printed redacted unless asked. */
const SECRET_KEYS: ReadonlySet<string> = new Set(['notify.command']);

/**
 * A secret key's value with everything after its program hidden ("curl …"); other keys' values unchanged. A
 * first word that is an assignment or a URL (TOKEN=… cmd, https://…) may be the secret itself: hidden too.
 */
export function redactValue(key: string, value: KeyValue): KeyValue {
  if (!SECRET_KEYS.has(key) || typeof value !== 'string') return value;
  const words = value.trim().split(/\s+/);
  const program = /^[\w./+-]+$/.test(words[0] ?? '') ? (words[0] as string) : '';
  if (words.length === 1 && program !== '') return value;
  return program === '' ? '…' : `${program} …`;
}

/** True when printing `value` for `key` would hide part of it. */
export function isRedacted(key: string, value: KeyValue | undefined): boolean {
  return value !== undefined && redactValue(key, value) !== value;
}
