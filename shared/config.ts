// The config file: TOML, validated once into a typed, normalised Config.
//
// It lives in shared/ because both processes read it: the daemon for
// everything, rpctl to find the control socket (daemon.state_dir) and for
// `rpctl config show`. Precedence is fixed: defaults < file < environment
// (RPCOPY_STATE_DIR) < flags (applied by the caller through `overrides`).
// Every error names the file, the line where it can be found, the key and
// what was expected; nothing falls back to a default on a bad value.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { parse as parseToml, stringify as stringifyToml, TomlError } from 'smol-toml';
import { z } from 'zod';
import { isTimeZone, parseClockTime, parseDuration } from './duration.js';
import { readPriceTable } from './prices.js';

export const DEFAULT_CONFIG_PATH = '~/.config/rpcopy/config.toml';
export const DEFAULT_STATE_DIR = '~/.local/state/rpcopy';

const ACCOUNT_ID = /^\d{12}$/;
const REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$/;
const IAM_ROLE_ARN = /^arn:aws[a-z-]*:iam::(\d{12}):role\/(?:[\w+=,.@/-]+\/)?[\w+=,.@-]{1,64}$/;
/** What rpctl init writes where only the operator can name the key; a config still holding it is refused. */
export const INIT_PLACEHOLDER = 'REPLACE-WITH-KEY-ID';
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):(\d{12}):key\/[\w-]+$/;
const VAULT_NAME = /^[a-zA-Z0-9\-_]{2,50}$/;
const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

export type Weekday = (typeof WEEKDAYS)[number];

/** A path from the file: "~" expanded, relative paths taken from the config file's folder. */
function pathField(what: string) {
  return z.string({ error: `expected a path to ${what} (a string)` }).min(1, `expected a path to ${what}`);
}

const duration = (what: string) =>
  z
    .string({ error: `expected a duration such as "30m" or "6h" for ${what}` })
    .refine((v) => parseDuration(v) !== undefined, {
      error: (issue) =>
        `expected a duration such as "30m", "6h" or "1h30m" for ${what}, got ${JSON.stringify(issue.input)}`,
    });

const clockTime = z.string({ error: 'expected a time of day "HH:MM" (24-hour)' }).refine((v) => parseClockTime(v), {
  error: (issue) => `expected a time of day "HH:MM" (24-hour, 00:00 to 23:59), got ${JSON.stringify(issue.input)}`,
});

// A missing table is parsed as {} (prefault), so each default is stated once, on its own key.
const fileSchema = z.strictObject({
  region: z
    .string({ error: 'expected an AWS region name such as "eu-west-2"' })
    .regex(REGION, 'expected an AWS region name such as "eu-west-2"'),
  source: z.strictObject(
    {
      profile: z.string({ error: 'expected the name of a profile in the shared credentials file' }).min(1),
      account_id: z
        .string({ error: 'expected the 12-digit AWS account id as a quoted string' })
        .regex(ACCOUNT_ID, 'expected a 12-digit AWS account id such as "111111111111"'),
      copy_role_arn: z
        .string({ error: 'expected the ARN of the IAM role AWS Backup uses to copy' })
        .regex(IAM_ROLE_ARN, 'expected an IAM role ARN such as "arn:aws:iam::111111111111:role/service-role/NAME"'),
      vaults: z
        .array(z.string().min(1, 'expected a non-empty vault name pattern'), {
          error: 'expected a list of vault name patterns such as ["*"]',
        })
        .min(1, 'expected at least one vault name pattern; use ["*"] for every vault')
        .default(['*']),
    },
    { error: 'expected a [source] table' },
  ),
  destination: z.strictObject(
    {
      profile: z.string({ error: 'expected the name of a profile in the shared credentials file' }).min(1),
      account_id: z
        .string({ error: 'expected the 12-digit AWS account id as a quoted string' })
        .regex(ACCOUNT_ID, 'expected a 12-digit AWS account id such as "222222222222"'),
      encryption_key_arn: z
        .string({ error: 'expected the ARN of a customer-managed KMS key in the destination account' })
        .regex(KMS_KEY_ARN, 'expected a KMS key ARN such as "arn:aws:kms:eu-west-2:222222222222:key/ID"')
        .refine((arn) => !arn.includes(INIT_PLACEHOLDER), {
          error: `still the placeholder rpctl init wrote (${INIT_PLACEHOLDER}): name the customer-managed KMS key new destination vaults use`,
        }),
      vault_names: z
        .record(z.string(), z.string().regex(VAULT_NAME, 'expected a vault name of 2-50 letters, digits, - or _'), {
          error: 'expected a table mapping source vault names to destination vault names',
        })
        .default({}),
    },
    { error: 'expected a [destination] table' },
  ),
  metadata: z.strictObject(
    {
      csv: pathField('the metadata CSV file'),
      key_column: z.string().min(1, 'expected a column name').default('resourceArn'),
      apmid_column: z.string().min(1, 'expected a column name').default('APMID'),
      // Above this share of the CSV's data lines unusable (malformed, or swallowed by a runaway quote), the daemon
      // asks the operator before it copies on the CSV as loaded (daemon/enrich/gate.ts).
      max_unusable_share: z
        .number({ error: 'expected a share of the data lines between 0 and 1, such as 0.2' })
        .min(0, 'expected a share between 0 and 1, such as 0.2')
        .max(1, 'expected a share between 0 and 1, such as 0.2')
        .default(0.2),
    },
    { error: 'expected a [metadata] table' },
  ),
  filter: z
    .strictObject({
      allowed_apmids: z.array(z.string().min(1, 'expected a non-empty APMID'), {
        error: 'expected a list of APMIDs such as ["APM0001234"]',
      }),
      allowed_apmids_file: pathField('a file of allowed APMIDs, one per line'),
    })
    .partial()
    .default({}),
  copy: z
    .strictObject({
      workers: z
        .number({ error: 'expected a whole number of worker threads' })
        .int('expected a whole number of worker threads')
        .min(1, 'expected at least 1 worker thread')
        .max(64, 'expected at most 64 worker threads')
        .default(4),
      max_in_flight: z
        .number({ error: 'expected a whole number of concurrent copy jobs' })
        .int('expected a whole number of concurrent copy jobs')
        .min(1, 'expected at least 1 concurrent copy job')
        .max(10_000, 'expected at most 10000 concurrent copy jobs')
        .default(100),
      expiry_margin: duration('expiry_margin').default('2d'),
      // StartCopyJob's request rate is not published (aws-backup.md §4.2): rpcopy starts low; raise it only
      // where AWS has confirmed a higher rate for the account.
      start_rate: z
        .number({ error: 'expected StartCopyJob calls per second' })
        .positive('expected a positive number of StartCopyJob calls per second')
        .max(100, 'expected at most 100 StartCopyJob calls per second')
        .default(4),
      // AWS documents no bound on how long its listings lag behind a write, nor how long an IdempotencyToken is
      // remembered (aws-backup.md §8.9-10): both are settings, and no copy decision relies on more than they say.
      listing_lag: duration('listing_lag').default('5m'),
      resend_window: duration('resend_window').default('10s'),
    })
    .prefault({}),
  inventory: z
    .strictObject({
      page_size: z
        .number({ error: 'expected a whole number of recovery points per page' })
        .int('expected a whole number of recovery points per page')
        .min(1, 'expected at least 1 point per page')
        .max(1000, 'expected at most 1000 points per page (the AWS maximum)')
        .default(1000),
      parallel_vaults: z
        .number({ error: 'expected a whole number of vaults' })
        .int('expected a whole number of vaults')
        .min(1, 'expected at least 1 vault at a time')
        .max(64, 'expected at most 64 vaults at a time')
        .default(8),
      // A full pass re-reads every point's status and lifecycle and finds deleted ones; the listings between two
      // full passes only look for new points.
      full_refresh_interval: duration('full_refresh_interval')
        .refine((v) => (parseDuration(v) ?? 0) > 0, {
          error: (issue) => `expected a duration longer than zero such as "24h", got ${JSON.stringify(issue.input)}`,
        })
        .default('24h'),
    })
    .prefault({}),
  window: z
    .strictObject({
      start: clockTime,
      stop: clockTime,
      days: z
        .array(z.enum(WEEKDAYS, { error: `expected day names from ${WEEKDAYS.join(', ')}` }), {
          error: `expected a list of day names from ${WEEKDAYS.join(', ')}`,
        })
        .min(1, 'expected at least one day'),
      timezone: z.string({ error: 'expected an IANA time zone name such as "Europe/London"' }).refine(isTimeZone, {
        error: (issue) => `expected an IANA time zone name such as "Europe/London", got ${JSON.stringify(issue.input)}`,
      }),
      max_runtime: duration('max_runtime'),
      drain: duration('drain'),
    })
    .partial()
    .default({}),
  vaults: z
    .strictObject({
      confirm_compliance_lock: z
        .boolean({
          error:
            'expected true or false: true lets rpcopy apply compliance-mode vault locks, which become ' +
            'irreversible once their grace period ends',
        })
        .default(false),
    })
    .prefault({}),
  compliance: z
    .strictObject({
      require_vault_lock: z.boolean({ error: 'expected true or false' }).default(false),
      min_retention_days: z
        .number({ error: 'expected a whole number of days' })
        .int('expected a whole number of days')
        .min(1, 'expected at least 1 day')
        .optional(),
    })
    .prefault({}),
  notify: z
    .strictObject({
      desktop: z.boolean({ error: 'expected true or false' }).default(true),
      command: z.string({ error: 'expected a command line' }).min(1, 'expected a command line').optional(),
    })
    .prefault({}),
  cost: z
    .strictObject({
      // A price table replacing the shipped one (shared/prices.ts says its shape).
      price_table: pathField('a price table file (TOML or JSON)').optional(),
    })
    .prefault({}),
  daemon: z
    .strictObject({
      state_dir: pathField('the state directory').default(DEFAULT_STATE_DIR),
      shutdown_timeout: duration('shutdown_timeout').default('20s'),
      progress_interval: duration('progress_interval').default('30s'),
      // Routine events older than this are folded into daily counts; the audit trail is kept whole.
      event_retention: duration('event_retention')
        .refine((v) => (parseDuration(v) ?? 0) > 0, {
          error: (issue) => `expected a duration longer than zero such as "90d", got ${JSON.stringify(issue.input)}`,
        })
        .default('90d'),
      log_level: z
        .enum(['debug', 'info', 'warn', 'error'], { error: 'expected debug, info, warn or error' })
        .default('info'),
    })
    .prefault({}),
});

type ConfigFile = z.infer<typeof fileSchema>;

type AnySchema = z.core.$ZodType & { def?: { type: string; innerType?: AnySchema; shape?: Record<string, AnySchema> } };

/** Every dotted key the file may hold, in schema order: the source of "did you mean" and the example's check. */
export const CONFIG_KEYS: readonly string[] = (() => {
  const keys: string[] = [];
  const walk = (schema: AnySchema, prefix: string) => {
    let s = schema;
    while (s.def && ['default', 'prefault', 'optional'].includes(s.def.type ?? '') && s.def.innerType)
      s = s.def.innerType;
    if (s.def?.type === 'object' && s.def.shape) {
      for (const [name, child] of Object.entries(s.def.shape)) walk(child, prefix ? `${prefix}.${name}` : name);
    } else keys.push(prefix);
  };
  walk(fileSchema as unknown as AnySchema, '');
  return keys;
})();

/** The known key nearest to an unknown one (a typo, or the right key in the wrong [section]). */
export function nearestKey(unknown: string): string | undefined {
  const leaf = unknown.split('.').at(-1)!;
  let best: { key: string; distance: number } | undefined;
  for (const key of CONFIG_KEYS) {
    const distance =
      key.split('.').at(-1) === leaf
        ? 0
        : Math.min(editDistance(unknown, key), editDistance(leaf, key.split('.').at(-1)!) + 1);
    if (!best || distance < best.distance) best = { key, distance };
  }
  return best && best.distance <= Math.max(2, Math.floor(leaf.length / 3)) ? best.key : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

export interface WindowConfig {
  start?: string;
  stop?: string;
  days?: Weekday[];
  timezone?: string;
  /**
   * window.max_runtime. With daily windows: the work of each window occurrence ends this long after it first
   * started in that occurrence (kept in the store across restarts), or at the close if sooner. Without them:
   * a daemon run ends this long after it first started.
   */
  maxRuntimeMs?: number;
  drainMs?: number;
}

/** The validated, normalised configuration that the rest of the code reads. */
export interface Config {
  file: string;
  region: string;
  source: { profile: string; accountId: string; copyRoleArn: string; vaults: string[] };
  destination: {
    profile: string;
    accountId: string;
    encryptionKeyArn: string;
    vaultNames: Record<string, string>;
  };
  /** maxUnusableShare: above this share of unusable data lines the daemon pauses for the operator (0..1). */
  metadata: { csv: string; keyColumn: string; apmidColumn: string; maxUnusableShare: number };
  filter: { allowedApmids?: string[]; allowedApmidsFile?: string };
  /** expiryMarginMs: a point expiring sooner than this after planning is not worth starting a copy for. */
  /**
   * listingLagMs: how long after a request AWS's listings are certain to show what it made; a listing proves a
   * job or copy absent only once this long has passed since the last request that could have made it.
   * resendWindowMs: how long after a StartCopyJob whose answer was lost a resend with the same IdempotencyToken
   * is certain to return the same job.
   */
  copy: {
    workers: number;
    maxInFlight: number;
    expiryMarginMs: number;
    startRate: number;
    listingLagMs: number;
    resendWindowMs: number;
  };
  /**
   * fullRefreshIntervalMs: how often the inventory lists every point again (status, lifecycle, deletions); a pass
   * that comes due while later phases run restarts the pipeline at the inventory.
   */
  inventory: { pageSize: number; parallelVaults: number; fullRefreshIntervalMs: number };
  window: WindowConfig;
  /**
   * confirmComplianceLock: the operator agreed that destination vaults get compliance-mode locks (and
   * logically air-gapped vaults, which are always compliance-locked); without it rpcopy shows what it would
   * lock, applies a governance lock with the same limits, and reports the difference as drift.
   */
  vaults: { confirmComplianceLock: boolean };
  compliance: { requireVaultLock: boolean; minRetentionDays?: number };
  notify: { desktop: boolean; command?: string };
  /** priceTable: the file replacing the shipped price table of the cost forecast. */
  cost: { priceTable?: string };
  daemon: {
    stateDir: string;
    shutdownTimeoutMs: number;
    /** How often the daemon logs a progress line. */
    progressIntervalMs: number;
    /** daemon.event_retention: routine events older than this are folded into daily counts (event_rollups). */
    eventRetentionMs: number;
    logLevel: 'debug' | 'info' | 'warn' | 'error';
  };
}

export interface ConfigOverrides {
  stateDir?: string;
}

/** One problem in the config file; `key` is the dotted path, `line` where the key sits if found. */
export interface ConfigProblem {
  key: string;
  line?: number;
  message: string;
}

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  /** The file does not exist (as opposed to existing and being wrong). */
  missing = false;
  constructor(
    readonly file: string,
    readonly problems: ConfigProblem[],
  ) {
    super(
      problems.map((p) => `${file}${p.line ? `:${p.line}` : ''}: ${p.key ? `${p.key}: ` : ''}${p.message}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

/** The config path by precedence: the --config flag, then RPCOPY_CONFIG, then the default. */
export function resolveConfigPath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return expandHome(flag ?? env.RPCOPY_CONFIG ?? DEFAULT_CONFIG_PATH);
}

export function expandHome(path: string): string {
  if (path === '~') return homedir();
  if (path.startsWith('~/')) return join(homedir(), path.slice(2));
  return path;
}

/** Read, parse and validate the config file. Throws ConfigError naming the file and keys. */
export function loadConfig(
  file: string,
  overrides: ConfigOverrides = {},
  env: NodeJS.ProcessEnv = process.env,
): Config {
  return parseConfig(readConfigText(file), file, overrides, env);
}

/** Thrown (as a ConfigError) when the config file is absent, so callers that can work without one can tell. */
export function isMissingConfig(err: unknown): boolean {
  return err instanceof ConfigError && err.missing;
}

function readConfigText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    const reason = missing ? 'no such file' : (err as Error).message;
    const error = new ConfigError(file, [
      { key: '', message: `cannot read the config file (${reason}); pass --config PATH or set RPCOPY_CONFIG` },
    ]);
    error.missing = missing;
    throw error;
  }
}

/** Validate config text; `file` is used for messages and to resolve relative paths. */
export function parseConfig(
  text: string,
  file: string,
  overrides: ConfigOverrides = {},
  env: NodeJS.ProcessEnv = process.env,
): Config {
  return parseConfigWithKeys(text, file, overrides, env).config;
}

/** A validated config and the operator's keys with defaults filled in, for printing back as TOML. */
export interface EffectiveConfig {
  config: Config;
  keys: ConfigFile;
}

/** Load like loadConfig, keeping the keys as written (durations as text) beside the normalised Config. */
export function loadEffectiveConfig(
  file: string,
  overrides: ConfigOverrides = {},
  env: NodeJS.ProcessEnv = process.env,
): EffectiveConfig {
  return parseConfigWithKeys(readConfigText(file), file, overrides, env);
}

/** The effective config as TOML: every key the operator can write, defaults included, durations as written. */
export function effectiveToml({ keys, config }: EffectiveConfig): string {
  const withState = { ...keys, daemon: { ...keys.daemon, state_dir: config.daemon.stateDir } };
  return stringifyToml(withState);
}

/** The TOML parser's message; for a table written twice (a second `[vaults]` appended), where the first one is. */
function tomlProblem(text: string, err: TomlError): string {
  const message = err.message.split('\n')[0] ?? '';
  const lines = text.split(/\r?\n/);
  const header = lines[err.line - 1]?.trim() ?? '';
  if (!/redefine/.test(message) || !/^\[[^[\]]+\]$/.test(header)) return message;
  const first = lines.findIndex((l) => l.trim() === header);
  if (first < 0 || first >= err.line - 1) return message;
  return `${header} is already on line ${first + 1}: put these keys under that one`;
}

function parseConfigWithKeys(
  text: string,
  file: string,
  overrides: ConfigOverrides,
  env: NodeJS.ProcessEnv,
): EffectiveConfig {
  let raw: unknown;
  try {
    raw = parseToml(text);
  } catch (err) {
    if (err instanceof TomlError) {
      throw new ConfigError(file, [{ key: '', line: err.line, message: `not valid TOML: ${tomlProblem(text, err)}` }]);
    }
    throw err;
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      file,
      parsed.error.issues.flatMap((issue) => describeIssue(issue, text, raw)),
    );
  }
  const config = normalise(parsed.data, file, overrides, env);
  const problems = crossCheck(config, text);
  if (problems.length > 0) throw new ConfigError(file, problems);
  return { config, keys: parsed.data };
}

function valueAt(raw: unknown, path: PropertyKey[]): unknown {
  let value = raw;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

function describeIssue(issue: z.core.$ZodIssue, text: string, raw: unknown): ConfigProblem[] {
  const base = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => {
      const key = [...base, k].join('.');
      const near = nearestKey(key);
      return {
        key,
        line: findKeyLine(text, key),
        message: near ? `unknown key: did you mean ${near}?` : 'unknown key (check its spelling and its [section])',
      };
    });
  }
  const key = base.join('.');
  const missing = issue.code === 'invalid_type' && valueAt(raw, issue.path) === undefined;
  return [{ key, line: findKeyLine(text, key), message: missing ? `missing: ${issue.message}` : issue.message }];
}

function normalise(file: ConfigFile, path: string, overrides: ConfigOverrides, env: NodeJS.ProcessEnv): Config {
  const base = resolve(path, '..');
  const toPath = (p: string) => {
    const expanded = expandHome(p);
    return isAbsolute(expanded) ? expanded : resolve(base, expanded);
  };
  const stateDir = overrides.stateDir ?? env.RPCOPY_STATE_DIR ?? file.daemon.state_dir;
  return {
    file: path,
    region: file.region,
    source: {
      profile: file.source.profile,
      accountId: file.source.account_id,
      copyRoleArn: file.source.copy_role_arn,
      vaults: file.source.vaults,
    },
    destination: {
      profile: file.destination.profile,
      accountId: file.destination.account_id,
      encryptionKeyArn: file.destination.encryption_key_arn,
      vaultNames: file.destination.vault_names,
    },
    metadata: {
      csv: toPath(file.metadata.csv),
      keyColumn: file.metadata.key_column,
      apmidColumn: file.metadata.apmid_column,
      maxUnusableShare: file.metadata.max_unusable_share,
    },
    filter: {
      allowedApmids: file.filter.allowed_apmids,
      allowedApmidsFile: file.filter.allowed_apmids_file && toPath(file.filter.allowed_apmids_file),
    },
    copy: {
      workers: file.copy.workers,
      maxInFlight: file.copy.max_in_flight,
      expiryMarginMs: parseDuration(file.copy.expiry_margin) ?? 0,
      startRate: file.copy.start_rate,
      listingLagMs: parseDuration(file.copy.listing_lag) ?? 0,
      resendWindowMs: parseDuration(file.copy.resend_window) ?? 0,
    },
    inventory: {
      pageSize: file.inventory.page_size,
      parallelVaults: file.inventory.parallel_vaults,
      fullRefreshIntervalMs: parseDuration(file.inventory.full_refresh_interval) ?? 86_400_000,
    },
    window: {
      start: file.window.start,
      stop: file.window.stop,
      days: file.window.days,
      timezone: file.window.timezone,
      maxRuntimeMs: file.window.max_runtime === undefined ? undefined : parseDuration(file.window.max_runtime),
      drainMs: file.window.drain === undefined ? undefined : parseDuration(file.window.drain),
    },
    vaults: { confirmComplianceLock: file.vaults.confirm_compliance_lock },
    compliance: {
      requireVaultLock: file.compliance.require_vault_lock,
      minRetentionDays: file.compliance.min_retention_days,
    },
    notify: { desktop: file.notify.desktop, command: file.notify.command },
    cost: file.cost.price_table === undefined ? {} : { priceTable: toPath(file.cost.price_table) },
    daemon: {
      stateDir: toPath(stateDir),
      shutdownTimeoutMs: parseDuration(file.daemon.shutdown_timeout) ?? 20_000,
      progressIntervalMs: parseDuration(file.daemon.progress_interval) ?? 30_000,
      eventRetentionMs: parseDuration(file.daemon.event_retention) ?? 90 * 86_400_000,
      logLevel: file.daemon.log_level,
    },
  };
}

/** Rules that span keys: same region, distinct accounts, ARNs in the right account. */
function crossCheck(config: Config, text: string): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const add = (key: string, message: string) => problems.push({ key, line: findKeyLine(text, key), message });

  if (config.source.accountId === config.destination.accountId) {
    add('destination.account_id', `must differ from source.account_id (${config.source.accountId})`);
  }
  const roleAccount = IAM_ROLE_ARN.exec(config.source.copyRoleArn)?.[1];
  if (roleAccount !== config.source.accountId) {
    add('source.copy_role_arn', `must be a role in the source account ${config.source.accountId}, not ${roleAccount}`);
  }
  const [, keyRegion, keyAccount] = KMS_KEY_ARN.exec(config.destination.encryptionKeyArn) ?? [];
  if (keyRegion !== config.region) {
    add(
      'destination.encryption_key_arn',
      `is in region ${keyRegion} but region is ${config.region}: rpcopy copies within one region only`,
    );
  }
  if (keyAccount !== config.destination.accountId) {
    add(
      'destination.encryption_key_arn',
      `must be a key in the destination account ${config.destination.accountId}, not ${keyAccount}`,
    );
  }
  for (const [source, target] of Object.entries(config.destination.vaultNames)) {
    if (target === 'Default') add(`destination.vault_names.${source}`, 'the Default vault cannot receive copies');
  }

  const { allowedApmids, allowedApmidsFile } = config.filter;
  if (allowedApmids === undefined && allowedApmidsFile === undefined) {
    add('filter', 'missing: set filter.allowed_apmids or filter.allowed_apmids_file (nothing would be copied)');
  } else if (allowedApmids !== undefined && allowedApmidsFile !== undefined) {
    add('filter', 'set only one of filter.allowed_apmids and filter.allowed_apmids_file');
  }
  checkFile(config.metadata.csv, 'metadata.csv', add);
  if (allowedApmidsFile) checkFile(allowedApmidsFile, 'filter.allowed_apmids_file', add);
  const priceTable = config.cost.priceTable;
  if (priceTable && checkFile(priceTable, 'cost.price_table', add)) {
    for (const p of readPriceTable(priceTable).problems) {
      add('cost.price_table', `${priceTable}${p.line ? `:${p.line}` : ''}: ${p.key ? `${p.key}: ` : ''}${p.message}`);
    }
  }

  const w = config.window;
  if ((w.start === undefined) !== (w.stop === undefined)) {
    add(w.start === undefined ? 'window.start' : 'window.stop', 'window.start and window.stop go together');
  }
  if (w.start !== undefined && w.start === w.stop) add('window.stop', 'must differ from window.start');
  if ((w.days || w.timezone) && w.start === undefined) {
    add('window.start', 'missing: window.days and window.timezone need window.start and window.stop');
  }
  if (w.drainMs !== undefined && w.maxRuntimeMs !== undefined && w.drainMs >= w.maxRuntimeMs) {
    add('window.drain', 'must be shorter than window.max_runtime');
  }
  return problems;
}

function checkFile(path: string, key: string, add: (key: string, message: string) => void): boolean {
  if (!existsSync(path)) add(key, `file not found: ${path}`);
  else if (!statSync(path).isFile()) add(key, `not a regular file: ${path}`);
  else return true;
  return false;
}

/**
 * The 1-based line of a dotted key in TOML text, best effort: tracks [table]
 * headers and `key =` lines. Used only to point the operator at the right line.
 */
export function findKeyLine(text: string, dottedKey: string): number | undefined {
  const lineOf = new Map<string, number>();
  let table = '';
  for (const [index, line] of text.split(/\r?\n/).entries()) {
    const header = /^\s*\[\s*([^\]]+?)\s*\]/.exec(line);
    if (header) {
      table = header[1]!.replace(/\s/g, '');
      if (!lineOf.has(table)) lineOf.set(table, index + 1);
      continue;
    }
    const assignment = /^\s*([A-Za-z0-9_"'.-]+)\s*=/.exec(line);
    if (!assignment) continue;
    const key = assignment[1]!.replace(/["']/g, '');
    const full = table ? `${table}.${key}` : key;
    if (!lineOf.has(full)) lineOf.set(full, index + 1);
  }
  // An array element or a nested value points at the key that holds it.
  const parts = dottedKey.split('.');
  for (let length = parts.length; length > 0; length--) {
    const line = lineOf.get(parts.slice(0, length).join('.'));
    if (line !== undefined) return line;
  }
  return undefined;
}
