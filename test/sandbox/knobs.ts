/**
 * Every behaviour the sandbox can vary, with defaults that mirror AWS where a
 * number is published (see README.md for the source of each). Knobs are set at
 * start (startSandbox options / CLI flags) and changed at run time through the
 * admin API (PATCH /__sandbox/knobs, a deep merge).
 */

export interface Knobs {
  /** Copy-job durations are divided by this (1 = realistic hours; 1000 = seconds). */
  timeFactor: number;
  /** Added latency on every AWS call, and per operation (ms). */
  latencyMs: number;
  latencyByOperation: Record<string, number>;
  throttling: {
    enabled: boolean;
    /** Calls/s for the whole account (all Backup operations together). */
    accountRatePerSecond: number;
    /** Calls/s per operation; operations not listed use defaultRatePerSecond. */
    rates: Record<string, number>;
    defaultRatePerSecond: number;
  };
  /** Concurrent (CREATED + RUNNING) copy jobs the source account may have; StartCopyJob beyond it → LimitExceededException. */
  copyJobQuota: number;
  /** Page size when a list call gives no maxResults (AWS's default is not documented). */
  defaultPageSize: number;
  /** Probability that a call fails with a transient 500/503 before doing anything. */
  transientErrorRate: number;
  /** Operations the transient errors apply to (empty = all). */
  transientErrorOperations: string[];
  transientErrorStatus: 500 | 503;
  /** Apply StartCopyJob, then drop the connection without answering: the next `count` calls, then with `probability`. */
  dropAfterStartCopyJob: { count: number; probability: number };
  /** Apply StartCopyJob, then answer with a 500/503 error instead of the result: the next `count` calls, then with `probability`. */
  errorAfterStartCopyJob: { count: number; probability: number; status: 500 | 503 };
  /** Probability that a copy job which passes every check still ends FAILED (a transient service-side failure). */
  copyFailureRate: number;
  /** Probability that a copy job which passes every check ends PARTIAL (the copy lands with status PARTIAL). */
  copyPartialRate: number;
  /**
   * Sandbox seconds a listing lags behind writes: ListCopyJobs shows every job as it was this long ago (a new job
   * is absent, a state change late), and a copy appears in ListRecoveryPointsByBackupVault this long after it
   * landed. Measured on the sandbox clock like idempotencyTtlSeconds (not divided by timeFactor). Describe* calls
   * are read-after-write consistent.
   */
  listingLagSeconds: number;
  /**
   * The lag of ListRecoveryPointsByBackupVault alone, where it differs from ListCopyJobs' (null: listingLagSeconds).
   * AWS gives no figure for either, so nothing says the two lag alike.
   */
  recoveryPointListingLagSeconds: number | null;
  /** Delete a point when the sandbox clock passes its CalculatedLifecycle.DeleteAt, if that falls after the sandbox started. */
  deletePointsAtDeleteAt: boolean;
  /** How long an IdempotencyToken is remembered (sandbox seconds). AWS does not document this. */
  idempotencyTtlSeconds: number;
  /** Lifetime of credentials issued from now on, per account id (null = no expiry). */
  credentialTtlSeconds: Record<string, number | null>;
  /** Actions (glob patterns like "backup:*") that IAM simulation reports as implicitDeny, per account id. */
  iamDeniedActions: Record<string, string[]>;
  /** Actions reported as explicitDeny, per account id. */
  iamExplicitDenies: Record<string, string[]>;
  /** Also refuse real Backup calls whose action is denied above (AccessDeniedException). */
  enforceIamDenials: boolean;
  /** Both accounts in the same organization (cross-account copy requires it). */
  sameOrganization: boolean;
  /** The management account enabled cross-account backup. */
  crossAccountBackupEnabled: boolean;
  /** Seconds a new logically air-gapped vault stays CREATING (scaled by timeFactor). */
  lagCreationSeconds: number;
}

/** Published Backup API rates [GR "AWS Backup endpoints and quotas"]; unpublished ones use the default. */
export const AWS_BACKUP_RATES: Record<string, number> = {
  DescribeBackupVault: 5,
  TagResource: 5,
  PutBackupVaultNotifications: 5,
  DescribeRecoveryPoint: 15,
  GetBackupVaultAccessPolicy: 15,
  GetBackupVaultNotifications: 15,
  ListBackupVaults: 20,
  ListRecoveryPointsByBackupVault: 20,
  ListTags: 20,
  // UNCONFIRMED (not in the published table): assumed.
  StartCopyJob: 5,
  DescribeCopyJob: 15,
  ListCopyJobs: 20,
  // IAM/STS/KMS/Organizations: low, generous values (their own quotas are far above what rpcopy needs).
  GetCallerIdentity: 50,
  SimulatePrincipalPolicy: 10,
  GetRole: 20,
  DescribeKey: 50,
  ListAliases: 20,
  DescribeOrganization: 10,
};

export function defaultKnobs(): Knobs {
  return {
    timeFactor: 1,
    latencyMs: 0,
    latencyByOperation: {},
    throttling: { enabled: true, accountRatePerSecond: 50, rates: { ...AWS_BACKUP_RATES }, defaultRatePerSecond: 10 },
    copyJobQuota: 100,
    defaultPageSize: 100,
    transientErrorRate: 0,
    transientErrorOperations: [],
    transientErrorStatus: 503,
    dropAfterStartCopyJob: { count: 0, probability: 0 },
    errorAfterStartCopyJob: { count: 0, probability: 0, status: 503 },
    copyFailureRate: 0,
    copyPartialRate: 0,
    listingLagSeconds: 2,
    recoveryPointListingLagSeconds: null,
    deletePointsAtDeleteAt: false,
    idempotencyTtlSeconds: 3600,
    credentialTtlSeconds: {},
    iamDeniedActions: {},
    iamExplicitDenies: {},
    enforceIamDenials: true,
    sameOrganization: true,
    crossAccountBackupEnabled: true,
    lagCreationSeconds: 120,
  };
}

export type DeepPartial<T> = {
  [K in keyof T]?: T[K] extends object ? (T[K] extends unknown[] ? T[K] : DeepPartial<T[K]>) : T[K];
};

/**
 * Merge a patch into knobs, validating types against the defaults' shape. An
 * unknown key or a value of the wrong type throws (a typo in a test must not be
 * silently ignored). Record-typed knobs (rates, per-account maps) merge by key.
 */
export function mergeKnobs(target: Knobs, patch: unknown): Knobs {
  const shape = defaultKnobs() as unknown as Record<string, unknown>;
  // Try the patch on a copy first: a refused patch leaves the live knobs (shared by reference) untouched.
  const trial = structuredClone(target);
  mergeInto(trial as unknown as Record<string, unknown>, patch, shape, 'knobs');
  validate(trial);
  mergeInto(target as unknown as Record<string, unknown>, patch, shape, 'knobs');
  return target;
}

const OPEN_RECORDS = new Set([
  'knobs.latencyByOperation',
  'knobs.throttling.rates',
  'knobs.credentialTtlSeconds',
  'knobs.iamDeniedActions',
  'knobs.iamExplicitDenies',
]);

function mergeInto(
  target: Record<string, unknown>,
  patch: unknown,
  shape: Record<string, unknown>,
  path: string,
): void {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch))
    throw new TypeError(`${path}: expected an object`);
  for (const [k, value] of Object.entries(patch)) {
    const p = `${path}.${k}`;
    if (OPEN_RECORDS.has(path)) {
      target[k] = value;
      continue;
    }
    if (!(k in shape)) throw new TypeError(`${p}: unknown knob`);
    const def = shape[k];
    if (typeof def === 'object' && def !== null && !Array.isArray(def)) {
      mergeInto(target[k] as Record<string, unknown>, value, def as Record<string, unknown>, p);
    } else if (Array.isArray(def)) {
      if (!Array.isArray(value)) throw new TypeError(`${p}: expected an array`);
      target[k] = value;
    } else {
      // A knob whose default is null (unset) takes a number or null; validate() checks its range.
      if (def !== null && typeof value !== typeof def)
        throw new TypeError(`${p}: expected ${typeof def}, got ${typeof value}`);
      target[k] = value;
    }
  }
}

function validate(k: Knobs): void {
  const positive = (n: number, name: string) => {
    if (!(n > 0) || !Number.isFinite(n)) throw new RangeError(`${name} must be a positive number`);
  };
  const probability = (n: number, name: string) => {
    if (!(n >= 0 && n <= 1)) throw new RangeError(`${name} must be within 0..1`);
  };
  positive(k.timeFactor, 'timeFactor');
  positive(k.throttling.accountRatePerSecond, 'throttling.accountRatePerSecond');
  positive(k.throttling.defaultRatePerSecond, 'throttling.defaultRatePerSecond');
  for (const [op, rate] of Object.entries(k.throttling.rates)) positive(rate, `throttling.rates.${op}`);
  if (!Number.isInteger(k.copyJobQuota) || k.copyJobQuota < 0)
    throw new RangeError('copyJobQuota must be an integer >= 0');
  if (!Number.isInteger(k.defaultPageSize) || k.defaultPageSize < 1 || k.defaultPageSize > 1000) {
    throw new RangeError('defaultPageSize must be within 1..1000');
  }
  probability(k.transientErrorRate, 'transientErrorRate');
  probability(k.copyFailureRate, 'copyFailureRate');
  probability(k.dropAfterStartCopyJob.probability, 'dropAfterStartCopyJob.probability');
  probability(k.errorAfterStartCopyJob.probability, 'errorAfterStartCopyJob.probability');
  probability(k.copyPartialRate, 'copyPartialRate');
  if (k.errorAfterStartCopyJob.status !== 500 && k.errorAfterStartCopyJob.status !== 503)
    throw new RangeError('errorAfterStartCopyJob.status must be 500 or 503');
  for (const [name, n] of [
    ['dropAfterStartCopyJob.count', k.dropAfterStartCopyJob.count],
    ['errorAfterStartCopyJob.count', k.errorAfterStartCopyJob.count],
  ] as const) {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`${name} must be an integer >= 0`);
  }
  if (!(k.listingLagSeconds >= 0) || !Number.isFinite(k.listingLagSeconds))
    throw new RangeError('listingLagSeconds must be a number >= 0');
  const pointLag = k.recoveryPointListingLagSeconds;
  if (pointLag !== null && (!(pointLag >= 0) || !Number.isFinite(pointLag)))
    throw new RangeError('recoveryPointListingLagSeconds must be null or a number >= 0');
  if (!(k.idempotencyTtlSeconds >= 0) || !Number.isFinite(k.idempotencyTtlSeconds))
    throw new RangeError('idempotencyTtlSeconds must be a number >= 0');
  if (k.transientErrorStatus !== 500 && k.transientErrorStatus !== 503)
    throw new RangeError('transientErrorStatus must be 500 or 503');
}
