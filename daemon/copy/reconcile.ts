// Reconciliation: AWS's own records are the truth about which copy jobs exist
// (architecture.md, layer 3). Three uses:
// - at start-up, every copy job into rpcopy's destination vaults created since
//   the store last knew them all is matched to its item, so a store that lost
//   commits (power loss, a restored backup) never submits a point again;
// - for an item whose StartCopyJob outcome is unknown, the jobs of its source
//   point decide: take the job over, or submit again with the same token;
// - `rpctl reconcile`: source points, their copy jobs and the destination
//   vaults' listings side by side: duplicates, orphans, points missing.

import type { CopyJobSummary } from '../aws/operations.js';
import type { AwsPort, CallOptions } from '../aws/port.js';
import type { Store } from '../store/store.js';
import type { CrashPoints } from './crash.js';
import { classifyJobFailure } from './failures.js';
import { FINISHED_JOB_STATES, listCopyJobs, liveOrDoneJob } from './jobs.js';
import type { CopyQueue, UnknownItem } from './repo.js';

/** Every job created before this (local ms) is recorded in the store, or its item is in submitting. */
const RECONCILED_THROUGH = 'reconciled_through';
// Clock skew and listing delay between this machine and AWS that reconciliation tolerates.
const MARGIN_MS = 60 * 60_000;

export interface ReconcileContext {
  queue: CopyQueue;
  port: AwsPort;
  crash: CrashPoints;
  now: () => number;
  signal?: AbortSignal;
  /** Options of every call: the copy phase's reads go on during a pause that leaves AWS reachable. */
  callOptions?: CallOptions;
  /**
   * How long after an unknown call's intent a listing is complete for it: the resend window (resends with the
   * same token go out only inside it) and the listing lag (a request's job is listed within it).
   */
  absentAfterMs: number;
  /** Settle a job that reconciliation took over and that has already finished. */
  finished(pointId: number, job: CopyJobSummary): void;
}

export interface StartupReconciliation {
  jobsListed: number;
  adopted: number;
}

/** Match the copy jobs AWS has into our destination vaults, created since the store last knew them all. */
export async function reconcileStartup(ctx: ReconcileContext): Promise<StartupReconciliation> {
  const { queue, port, signal } = ctx;
  const through = queue.checkpoint(RECONCILED_THROUGH);
  const createdAfter = through === undefined ? undefined : through - Math.max(MARGIN_MS, ctx.absentAfterMs);
  const byPoint = new Map<string, CopyJobSummary[]>();
  let jobsListed = 0;
  for (const vault of queue.destinationVaults()) {
    const jobs = await listCopyJobs(
      port,
      { destinationVaultArn: vault.arn, ...(createdAfter !== undefined ? { createdAfter } : {}) },
      signal,
      ctx.callOptions,
    );
    jobsListed += jobs.length;
    for (const job of jobs) {
      const list = byPoint.get(job.sourceRecoveryPointArn) ?? [];
      list.push(job);
      byPoint.set(job.sourceRecoveryPointArn, list);
    }
  }
  let adopted = 0;
  for (const [pointArn, jobs] of byPoint) {
    const item = queue.itemByPointArn(pointArn);
    // Submitting items are settled one by one (their own attempt may be among the jobs); completed and verified
    // ones have their copy. Any other state may be older than AWS's records (a store restored from a copy): a job
    // the store never recorded that did not fail is this point's copy, whatever the store says happened since.
    if (!item || !['queued', 'failed', 'submitted'].includes(item.state)) continue;
    const known = queue.knownJobIds(item.pointId);
    const job = liveOrDoneJob(
      jobs.filter((j) => j.destinationVaultArn === item.destinationVaultArn && !known.has(j.copyJobId)),
    );
    if (!job) continue;
    // A submitted item tracks its own job; only a newer one the store never heard of replaces it.
    if (item.state === 'submitted' && (job.creationDate ?? 0) <= (item.submittedAt ?? 0)) continue;
    if (!queue.adopt(item.pointId, job, ctx.now())) continue;
    adopted += 1;
    ctx.crash.reached('after-adopt');
    if (FINISHED_JOB_STATES.has(job.state)) ctx.finished(item.pointId, job);
  }
  return { jobsListed, adopted };
}

/** The moment through which the store knows every job: now, or the oldest intent whose outcome is unknown. */
export function markReconciled(queue: CopyQueue, now: number): void {
  const oldestUnknown = queue.unknownItems().reduce<number>((min, item) => Math.min(min, item.intentAt ?? 0), now);
  queue.setCheckpoint(RECONCILED_THROUGH, oldestUnknown);
}

/**
 * An item whose StartCopyJob outcome is unknown: take over the job AWS lists for its point, or, once a listing
 * is certain to include anything the lost call could have created (`ReconcileContext.absentAfterMs` after its
 * intent), put it back in the queue. Until then it stays unknown: a listing soon after the call proves nothing
 * (aws-backup.md §8.9), and a resend after the idempotency window would create a second job.
 */
export async function settleUnknown(
  ctx: ReconcileContext,
  item: UnknownItem,
): Promise<'adopted' | 'requeued' | 'pending'> {
  const { queue, port, signal } = ctx;
  const listedAt = ctx.now();
  const judged = queue.earlierAttemptJobIds(item.pointId, item.attempt);
  const jobs = (await listCopyJobs(port, { sourceRecoveryPointArn: item.pointArn }, signal, ctx.callOptions)).filter(
    (j) =>
      (item.destinationVaultArn === null || j.destinationVaultArn === item.destinationVaultArn) &&
      // A retried point's earlier failed job lies inside the margin below: it is not this attempt's answer.
      !judged.has(j.copyJobId),
  );
  let job = liveOrDoneJob(jobs);
  if (!job && item.intentAt !== null) {
    // Our own attempt may have been created and failed already.
    const since = item.intentAt - MARGIN_MS;
    job = jobs
      .filter((j) => (j.creationDate ?? 0) >= since)
      .sort((a, b) => (b.creationDate ?? 0) - (a.creationDate ?? 0))[0];
  }
  if (job && queue.adopt(item.pointId, job, ctx.now())) {
    ctx.crash.reached('after-adopt');
    if (FINISHED_JOB_STATES.has(job.state)) ctx.finished(item.pointId, job);
    return 'adopted';
  }
  if (listedAt < absentCertainAt(ctx, item)) return 'pending';
  queue.requeueUnknown(item.pointId, ctx.now());
  return 'requeued';
}

/** From this moment a listing that shows no job for an unknown item proves none exists. */
export function absentCertainAt(ctx: Pick<ReconcileContext, 'absentAfterMs'>, item: UnknownItem): number {
  return (item.intentAt ?? 0) + ctx.absentAfterMs;
}

export interface ReconcileReport {
  checkedAt: string;
  vaults: {
    destination: string;
    copyJobs: number;
    /** Source points those jobs copied: fewer than the jobs when a point was tried again after a failed job. */
    sourcePoints: number;
    /** Jobs that ended FAILED or PARTIAL (each retried, or the point reported failed). */
    failedJobs: number;
    destinationPoints: number;
  }[];
  /** Source points with more than one copy job that did not fail, into the same vault. */
  duplicates: { sourcePointArn: string; jobs: string[] }[];
  /** Destination points no copy job of a source point we know produced. */
  orphans: { destinationPointArn: string; vault: string }[];
  /** Items rpcopy counts as copied whose destination point is not in the destination vault. */
  missing: { sourcePointArn: string; destinationPointArn: string | null; state: string }[];
  /** Items whose store record disagrees with AWS (a job AWS has that the store does not name, or the reverse). */
  mismatched: { sourcePointArn: string; storeJob: string | null; awsJobs: string[] }[];
  counts: { duplicates: number; orphans: number; missing: number; mismatched: number };
}

const EXAMPLES = 50;

/** `rpctl reconcile`: read-only, through AWS's records in both accounts. */
export async function reconcileReport(
  store: Store,
  queue: CopyQueue,
  port: AwsPort,
  signal?: AbortSignal,
  options: CallOptions = {},
): Promise<ReconcileReport> {
  const report: ReconcileReport = {
    checkedAt: new Date().toISOString(),
    vaults: [],
    duplicates: [],
    orphans: [],
    missing: [],
    mismatched: [],
    counts: { duplicates: 0, orphans: 0, missing: 0, mismatched: 0 },
  };
  const knownDestinationPoints = new Set<string>();
  const destinationListing = new Map<string, string>();
  const storeItem = store.sqlite.prepare<[string], { state: string; copyJobId: string | null }>(
    `SELECT i.state, i.copy_job_id AS copyJobId FROM recovery_points p JOIN copy_items i ON i.point_id = p.id
     WHERE p.arn = ?`,
  );
  for (const vault of queue.destinationVaults()) {
    const jobs = await listCopyJobs(port, { destinationVaultArn: vault.arn }, signal, options);
    const byPoint = new Map<string, CopyJobSummary[]>();
    for (const job of jobs) {
      const list = byPoint.get(job.sourceRecoveryPointArn) ?? [];
      list.push(job);
      byPoint.set(job.sourceRecoveryPointArn, list);
    }
    for (const [pointArn, pointJobs] of byPoint) {
      const live = pointJobs.filter((j) => j.state !== 'FAILED' && j.state !== 'PARTIAL');
      for (const j of live)
        if (j.destinationRecoveryPointArn) knownDestinationPoints.add(j.destinationRecoveryPointArn);
      if (live.length > 1) {
        report.counts.duplicates += 1;
        if (report.duplicates.length < EXAMPLES) {
          report.duplicates.push({ sourcePointArn: pointArn, jobs: live.map((j) => j.copyJobId) });
        }
      }
      const item = storeItem.get(pointArn);
      const awsJobs = pointJobs.map((j) => j.copyJobId);
      if (!item || (live.length > 0 && !live.some((j) => j.copyJobId === item.copyJobId))) {
        report.counts.mismatched += 1;
        if (report.mismatched.length < EXAMPLES) {
          report.mismatched.push({ sourcePointArn: pointArn, storeJob: item?.copyJobId ?? null, awsJobs });
        }
      }
    }
    let points = 0;
    let nextToken: string | undefined;
    do {
      const page = await port.call(
        'destination',
        'listRecoveryPoints',
        { vaultName: vault.name, pageSize: 1000, ...(nextToken ? { nextToken } : {}) },
        signal,
        options,
      );
      points += page.points.length;
      for (const p of page.points) destinationListing.set(p.arn, vault.name);
      nextToken = page.nextToken;
    } while (nextToken);
    report.vaults.push({
      destination: vault.name,
      copyJobs: jobs.length,
      sourcePoints: byPoint.size,
      failedJobs: jobs.filter((j) => j.state === 'FAILED' || j.state === 'PARTIAL').length,
      destinationPoints: points,
    });
  }
  for (const [arn, vault] of destinationListing) {
    if (knownDestinationPoints.has(arn)) continue;
    report.counts.orphans += 1;
    if (report.orphans.length < EXAMPLES) report.orphans.push({ destinationPointArn: arn, vault });
  }
  const copied = store.sqlite
    .prepare(
      `SELECT p.arn AS sourcePointArn, i.destination_point_arn AS destinationPointArn, i.state
       FROM copy_items i JOIN recovery_points p ON p.id = i.point_id WHERE i.state IN ('completed', 'verified')`,
    )
    .iterate() as Iterable<{ sourcePointArn: string; destinationPointArn: string | null; state: string }>;
  for (const row of copied) {
    if (row.destinationPointArn && destinationListing.has(row.destinationPointArn)) continue;
    report.counts.missing += 1;
    if (report.missing.length < EXAMPLES) report.missing.push(row);
  }
  return report;
}

/** A finished job's verdict for the queue. */
export function verdictOf(job: CopyJobSummary) {
  return job.state === 'COMPLETED' ? undefined : classifyJobFailure(job.state, job.statusMessage, job.messageCategory);
}
