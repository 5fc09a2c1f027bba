// Vault Lock, as rpcopy compares and replicates it (aws-backup.md §2.8). Pure.
//
// There is no mode field in AWS: a LockDate means compliance mode, Locked
// without a LockDate means governance mode. The order of strength is
// none < governance < compliance; a higher minimum and a lower maximum are
// stricter. rpcopy only ever moves a destination lock towards stricter:
// a minimum never goes down, a maximum never goes up, a mode never goes back,
// and a compliance lock is never touched (its grace period could be restarted
// or, once past, nothing can change it).

export type LockMode = 'none' | 'governance' | 'compliance';

export interface LockSettings {
  mode: LockMode;
  minRetentionDays: number | null;
  maxRetentionDays: number | null;
  /** Compliance mode only: when the lock becomes immutable. */
  lockDate: number | null;
}

export const DAY_MS = 86_400_000;
/** AWS's bounds on ChangeableForDays (the compliance grace period). */
const MIN_CHANGEABLE_DAYS = 3;
const MAX_CHANGEABLE_DAYS = 36_500;

const RANK: Record<LockMode, number> = { none: 0, governance: 1, compliance: 2 };

export function lockOf(vault: {
  locked: boolean;
  minRetentionDays: number | null;
  maxRetentionDays: number | null;
  lockDate: number | null;
}): LockSettings {
  const mode: LockMode = vault.lockDate !== null ? 'compliance' : vault.locked ? 'governance' : 'none';
  return {
    mode,
    minRetentionDays: mode === 'none' ? null : vault.minRetentionDays,
    maxRetentionDays: mode === 'none' ? null : vault.maxRetentionDays,
    lockDate: vault.lockDate,
  };
}

export function describeLock(lock: LockSettings): string {
  if (lock.mode === 'none') return 'no lock';
  const range = `min ${lock.minRetentionDays ?? '-'} / max ${lock.maxRetentionDays ?? '-'} days`;
  return `${lock.mode} lock, ${range}`;
}

/** The grace period to give a destination compliance lock: the source's remaining grace, at least AWS's minimum. */
export function changeableForDays(source: LockSettings, now: number): number {
  const remaining = source.lockDate !== null ? Math.ceil((source.lockDate - now) / DAY_MS) : 0;
  return Math.min(MAX_CHANGEABLE_DAYS, Math.max(MIN_CHANGEABLE_DAYS, remaining));
}

export interface LockComparison {
  /** Ways the destination is weaker than the source: drift. */
  weaker: string[];
  /** Ways the destination is stricter than the source: kept, reported as notes. */
  stricter: string[];
}

/** How a destination lock compares with its source's. */
export function compareLocks(source: LockSettings, dest: LockSettings): LockComparison {
  const weaker: string[] = [];
  const stricter: string[] = [];
  if (RANK[dest.mode] < RANK[source.mode]) {
    weaker.push(`lock mode is ${dest.mode}, the source's is ${source.mode}`);
  } else if (RANK[dest.mode] > RANK[source.mode]) {
    stricter.push(`lock mode is ${dest.mode}, stricter than the source's ${source.mode}`);
  }
  if (source.mode !== 'none' || dest.mode !== 'none') {
    const sMin = source.minRetentionDays;
    const dMin = dest.minRetentionDays;
    if (sMin !== null && (dMin === null || dMin < sMin)) {
      weaker.push(`minimum retention is ${dMin ?? 'unset'}, the source's is ${sMin} days`);
    } else if (dMin !== null && (sMin === null || dMin > sMin)) {
      stricter.push(`minimum retention ${dMin} days is stricter than the source's ${sMin ?? 'unset'}`);
    }
    const sMax = source.maxRetentionDays;
    const dMax = dest.maxRetentionDays;
    if (sMax !== null && (dMax === null || dMax > sMax)) {
      weaker.push(`maximum retention is ${dMax ?? 'unset'}, the source's is ${sMax} days`);
    } else if (dMax !== null && (sMax === null || dMax < sMax)) {
      stricter.push(
        `maximum retention ${dMax} days is stricter than the source's ${sMax ?? 'unset'}: ` +
          'copies retained longer are refused by AWS (the plan skips them as lifecycle_outside_lock)',
      );
    }
  }
  return { weaker, stricter };
}

export interface LockPut {
  minRetentionDays?: number;
  maxRetentionDays?: number;
  changeableForDays?: number;
}

export interface LockPlan {
  /** The PutBackupVaultLockConfiguration to send, if any. */
  put?: LockPut;
  /** What stays weaker than the source after the put (drift that rpcopy cannot or may not fix). */
  drift: string[];
  /** Differences kept on purpose (the destination is stricter). */
  notes: string[];
  /** A compliance lock rpcopy would apply once the operator confirms it. */
  pendingCompliance?: { minRetentionDays: number | null; maxRetentionDays: number | null; changeableForDays: number };
}

const maxOf = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.max(a, b));
const minOf = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.min(a, b));

/**
 * What to do to the destination lock so that it is at least as strict as the source's, never looser than it is.
 * `confirmCompliance` is the operator's consent to compliance mode; without it a governance lock with the same
 * limits is applied (reversible, and it enforces the same minimum and maximum on every copy).
 */
export function planLock(
  source: LockSettings,
  dest: LockSettings,
  options: { confirmCompliance: boolean; now: number },
): LockPlan {
  const { stricter } = compareLocks(source, dest);
  const plan: LockPlan = { drift: [], notes: stricter };
  if (source.mode === 'none') return plan;

  const grace = changeableForDays(source, options.now);
  const wantCompliance = source.mode === 'compliance' && options.confirmCompliance;
  if (source.mode === 'compliance' && !options.confirmCompliance && dest.mode !== 'compliance') {
    plan.pendingCompliance = {
      minRetentionDays: maxOf(source.minRetentionDays, dest.minRetentionDays),
      maxRetentionDays: minOf(source.maxRetentionDays, dest.maxRetentionDays),
      changeableForDays: grace,
    };
  }

  if (dest.mode === 'compliance') {
    // Never touched: during its grace period a put would restart it; after, AWS refuses any change.
    plan.drift.push(...compareLocks(source, dest).weaker.map((w) => `${w} (a compliance lock rpcopy does not change)`));
    return plan;
  }

  const min = maxOf(source.minRetentionDays, dest.minRetentionDays);
  const max = minOf(source.maxRetentionDays, dest.maxRetentionDays);
  if (min !== null && max !== null && min > max) {
    plan.drift.push(
      `the source's lock (${describeLock(source)}) cannot be combined with the destination's ` +
        `(${describeLock(dest)}) without loosening it: left unchanged`,
    );
    return plan;
  }
  const mode: LockMode = wantCompliance ? 'compliance' : 'governance';
  const changes = RANK[mode] > RANK[dest.mode] || min !== dest.minRetentionDays || max !== dest.maxRetentionDays;
  if (changes) {
    plan.put = {
      ...(min !== null ? { minRetentionDays: min } : {}),
      ...(max !== null ? { maxRetentionDays: max } : {}),
      ...(mode === 'compliance' ? { changeableForDays: grace } : {}),
    };
  }
  if (plan.pendingCompliance) {
    plan.drift.push(
      `the source is compliance-locked; the destination has a governance lock until the operator confirms ` +
        `compliance mode (vaults.confirm_compliance_lock = true), which would lock min ${min ?? '-'} / max ` +
        `${max ?? '-'} days, irreversible after ${grace} days`,
    );
  }
  return plan;
}
