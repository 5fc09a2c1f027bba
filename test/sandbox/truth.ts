/**
 * The generator's expected truth: what a correct inventory, enrichment and
 * plan of the source account must find. Computed by scanning every generated
 * point once (about a second per million points) and cached.
 *
 * The plan rule order used for `plan.skipped` (first matching reason wins):
 * statusNotCompleted, continuous, coldStorage, typeNotCopyable (DynamoDB
 * without advanced features), awsManagedKey (EBS/EC2/RDS/Aurora/FSx under
 * aws/ebs, aws/rds, aws/fsx), apmidMissing (no CSV row, empty APMID or only a
 * malformed row), apmidConflict, apmidNotAllowed. Each flag is also counted
 * independently under `flags`, so a plan with another order can be checked.
 */
import { type CsvCategory, type CsvTruth, type Dataset, type PointClass, spec } from './generator.js';
import { RESOURCE_TYPES } from './model.js';

export type SkipReason =
  | 'statusNotCompleted'
  | 'continuous'
  | 'coldStorage'
  | 'typeNotCopyable'
  | 'awsManagedKey'
  | 'apmidMissing'
  | 'apmidConflict'
  | 'apmidNotAllowed';

export interface FlagCounts {
  continuous: number;
  cold: number;
  plainDynamo: number;
  awsManagedKey: number;
  unsharedKey: number;
}

export interface VaultTruth {
  name: string;
  points: number;
  resources: number;
  byType: Record<string, number>;
  byStatus: Record<string, number>;
  flags: FlagCounts;
  toCopy: number;
  skipped: Partial<Record<SkipReason, number>>;
}

export interface Truth {
  seed: number;
  totalPoints: number;
  anchor: string;
  computedAt: string;
  allowedApmids: string[];
  vaults: VaultTruth[];
  byType: Record<string, number>;
  byStatus: Record<string, number>;
  flags: FlagCounts;
  csv: CsvTruth;
  plan: {
    toCopy: number;
    skipped: Partial<Record<SkipReason, number>>;
    /** Among toCopy: copies that will fail because the source CMK is not shared with the destination. */
    expectedCopyFailures: { keyNotShared: number };
  };
}

export function skipReason(c: PointClass): SkipReason | undefined {
  if (c.status !== 'COMPLETED') return 'statusNotCompleted';
  if (c.continuous) return 'continuous';
  if (c.cold) return 'coldStorage';
  if (c.plainDynamo) return 'typeNotCopyable';
  if (c.awsManagedKey) return 'awsManagedKey';
  const missing: CsvCategory[] = ['absent', 'empty', 'malformed'];
  if (missing.includes(c.csv)) return 'apmidMissing';
  if (c.csv === 'conflict') return 'apmidConflict';
  if (c.csv === 'notAllowed') return 'apmidNotAllowed';
  return undefined;
}

export function computeTruth(ds: Dataset, now: number, csv: CsvTruth, allowed: readonly string[]): Truth {
  const zeroFlags = (): FlagCounts => ({ continuous: 0, cold: 0, plainDynamo: 0, awsManagedKey: 0, unsharedKey: 0 });
  const truth: Truth = {
    seed: ds.seed,
    totalPoints: ds.total,
    anchor: new Date(ds.anchor).toISOString(),
    computedAt: new Date(now).toISOString(),
    allowedApmids: [...allowed],
    vaults: [],
    byType: Object.fromEntries(RESOURCE_TYPES.map((t) => [t, 0])),
    byStatus: {},
    flags: zeroFlags(),
    csv,
    plan: { toCopy: 0, skipped: {}, expectedCopyFailures: { keyNotShared: 0 } },
  };
  const inc = (o: Record<string, number>, k: string) => {
    o[k] = (o[k] ?? 0) + 1;
  };
  for (let v = 0; v < ds.vaultCount; v++) {
    const vt: VaultTruth = {
      name: spec(v).name,
      points: ds.counts[v] ?? 0,
      resources: ds.resourceCount(v),
      byType: {},
      byStatus: {},
      flags: zeroFlags(),
      toCopy: 0,
      skipped: {},
    };
    for (let r = 0; r < ds.resourceCount(v); r++) {
      const res = ds.resource(v, r);
      for (let i = res.chainStart; i < res.chainStart + res.chainLength; i++) {
        const p = ds.pointOf(res, i);
        const c = ds.classify(res, p, now);
        inc(vt.byType, p.resourceType);
        inc(truth.byType, p.resourceType);
        inc(vt.byStatus, p.status);
        inc(truth.byStatus, p.status);
        for (const [flag, on] of [
          ['continuous', c.continuous],
          ['cold', c.cold],
          ['plainDynamo', c.plainDynamo],
          ['awsManagedKey', c.awsManagedKey],
          ['unsharedKey', c.unsharedKey],
        ] as const) {
          if (on) {
            vt.flags[flag]++;
            truth.flags[flag]++;
          }
        }
        const reason = skipReason(c);
        if (reason) {
          inc(vt.skipped, reason);
          inc(truth.plan.skipped, reason);
        } else {
          vt.toCopy++;
          truth.plan.toCopy++;
          if (c.unsharedKey) truth.plan.expectedCopyFailures.keyNotShared++;
        }
      }
    }
    truth.vaults.push(vt);
  }
  return truth;
}
