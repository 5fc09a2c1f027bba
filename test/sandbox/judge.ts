/**
 * The judge's view of the copies: for every source point, what AWS holds for it (copies per destination vault,
 * jobs by state, copies started while the point was not eligible) and whether it still exists. Built from the
 * sandbox's own records, independently of rpcopy's store.
 */
import { ineligibility } from './copy-engine.js';
import { pointDates, type RecoveryPoint, type Vault } from './model.js';
import type { Sandbox } from './sandbox.js';

export interface JudgePoint {
  recoveryPointArn: string;
  vault: string;
  resourceArn: string;
  resourceType: string;
  exists: boolean;
  /** The current status, or DELETED once the point is gone. */
  status: string;
  storageClass: 'WARM' | 'COLD' | 'DELETED';
  /** Not eligible for a copy now: the reasons (status, cold storage, past DeleteAt, deleted). */
  ineligibleNow?: string[];
  /** Copies that exist now, per destination vault ARN: from COMPLETED jobs and copies that predate the test. */
  completedCopies: Record<string, number>;
  /** Copies from PARTIAL jobs that exist now, per destination vault ARN. */
  partialCopies?: Record<string, number>;
  /** Copies that predate the test (admin API), included in completedCopies. */
  preexistingCopies?: number;
  /** Jobs created during the test, and their states now. */
  jobsCreated: number;
  jobsByState?: Record<string, number>;
  /** Jobs created while the point was not eligible, with the reasons at that moment. */
  ineligibleJobs?: { jobId: string; createdAt: number; state: string; reasons: string[] }[];
}

export interface JudgeView {
  at: number;
  points: JudgePoint[];
  totals: {
    points: number;
    pointsWithCompletedCopies: number;
    pointsWithMultipleCompletedCopiesInOneVault: number;
    jobsCreated: number;
    ineligibleJobs: number;
    pointsGone: number;
  };
}

/** Every source point (existing, or gone but known to the ledger), or only those with jobs or copies. */
export function judgeView(sb: Sandbox, opts: { recoveryPointArn?: string; activeOnly?: boolean } = {}): JudgeView {
  const now = sb.clock.now();
  const source = sb.world.source;
  const found = new Map<string, { vault: Vault; point: RecoveryPoint }>();
  const consider = (arn: string) => {
    if (found.has(arn)) return;
    const f = sb.store.findEvenIfGone(source.id, arn);
    if (f) found.set(arn, f);
  };
  if (opts.recoveryPointArn !== undefined) consider(opts.recoveryPointArn);
  else {
    for (const e of sb.engine.ledgerEntries()) consider(e.recoveryPointArn);
    if (!opts.activeOnly) {
      for (const vault of source.vaults.values()) {
        let pos: number | undefined = 0;
        while (pos !== undefined) {
          const page = sb.store.list(vault, {}, pos, 10_000);
          for (const point of page.items) if (!found.has(point.arn)) found.set(point.arn, { vault, point });
          pos = page.next;
        }
      }
    }
  }

  const points: JudgePoint[] = [];
  const totals = {
    points: 0,
    pointsWithCompletedCopies: 0,
    pointsWithMultipleCompletedCopiesInOneVault: 0,
    jobsCreated: 0,
    ineligibleJobs: 0,
    pointsGone: 0,
  };
  for (const { vault, point } of found.values()) {
    const gone = sb.store.isGone(point);
    const { moveToColdAt } = pointDates(point);
    const cold = moveToColdAt !== undefined && moveToColdAt <= now;
    const jp: JudgePoint = {
      recoveryPointArn: point.arn,
      vault: vault.name,
      resourceArn: point.resourceArn,
      resourceType: point.resourceType,
      exists: !gone,
      status: gone ? 'DELETED' : point.status,
      storageClass: gone || point.status === 'DELETING' ? 'DELETED' : cold ? 'COLD' : 'WARM',
      completedCopies: {},
      jobsCreated: 0,
    };
    const reasonsNow = gone ? ['deleted'] : ineligibility(point, now);
    if (reasonsNow.length > 0) jp.ineligibleNow = reasonsNow;
    const copyExists = (destVaultArn: string, destPointArn: string) => {
      const account = /:(\d{12}):backup-vault:/.exec(destVaultArn)?.[1];
      return account !== undefined && sb.store.find(account, destPointArn) !== undefined;
    };
    const bump = (m: Record<string, number>, k: string) => {
      m[k] = (m[k] ?? 0) + 1;
    };
    for (const job of sb.engine.jobsFor(point.arn)) {
      if (job.historical) continue;
      const state = sb.engine.state(job, now);
      jp.jobsCreated++;
      if (!jp.jobsByState) jp.jobsByState = {};
      bump(jp.jobsByState, state);
      if (state === 'COMPLETED' && copyExists(job.destVaultArn, job.destPointArn))
        bump(jp.completedCopies, job.destVaultArn);
      if (state === 'PARTIAL' && copyExists(job.destVaultArn, job.destPointArn)) {
        if (!jp.partialCopies) jp.partialCopies = {};
        bump(jp.partialCopies, job.destVaultArn);
      }
      if (job.ineligible.length > 0) {
        if (!jp.ineligibleJobs) jp.ineligibleJobs = [];
        jp.ineligibleJobs.push({ jobId: job.id, createdAt: job.createdAt, state, reasons: job.ineligible });
      }
    }
    for (const c of sb.engine.preexisting(point.arn)) {
      if (!copyExists(c.destVaultArn, c.destPointArn)) continue;
      bump(jp.completedCopies, c.destVaultArn);
      jp.preexistingCopies = (jp.preexistingCopies ?? 0) + 1;
    }
    totals.points++;
    if (Object.keys(jp.completedCopies).length > 0) totals.pointsWithCompletedCopies++;
    if (Object.values(jp.completedCopies).some((n) => n > 1)) totals.pointsWithMultipleCompletedCopiesInOneVault++;
    totals.jobsCreated += jp.jobsCreated;
    totals.ineligibleJobs += jp.ineligibleJobs?.length ?? 0;
    if (gone) totals.pointsGone++;
    points.push(jp);
  }
  return { at: now, points, totals };
}
