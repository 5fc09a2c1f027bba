// The copy phase: start copy jobs within the account's quota, track each to a
// terminal state through AWS's own listings, verify the copy in the destination
// account, retry what is transient and report what is permanent.
//
// One loop on the main thread decides everything (architecture.md: pacing is
// the main thread's): each turn it sweeps AWS's job listings when due, settles
// unknown outcomes, runs canaries, fills the in-flight window with chain heads
// and starts verifications. AWS calls run on the worker threads through the
// port; their answers come back here and each becomes one transaction.
//
// Order of a copy (each step its own transaction; crash.ts names them):
//   intent (submitting, attempt, token) → StartCopyJob → job id (submitted)
//   → sweep sees it finish (completed | queued again | failed) → DescribeRecoveryPoint (verified)

import { setTimeout as sleep } from 'node:timers/promises';
import type { CopyStatus } from '../../shared/api.js';
import type { Config } from '../../shared/config.js';
import type { CopyJobSummary, Operations } from '../aws/operations.js';
import { AwsCallError, type AwsPort, CallNotSent, type CallOptions } from '../aws/port.js';
import type { EventJournal } from '../events.js';
import { JobSamples } from '../forecast.js';
import type { Logger } from '../log.js';
import type { PauseGate } from '../pause.js';
import type { PhaseContext, PipelinePhase } from '../pipeline.js';
import { SKIP_REASONS } from '../plan/reasons.js';
import { type Counters, readCounters } from '../read-model.js';
import type { Store } from '../store/store.js';
import { InFlightLimit } from './concurrency.js';
import { CrashPoints } from './crash.js';
import { classifyStartRejection, FAILURE_REASONS, type FailureReason } from './failures.js';
import { ACTIVE_JOB_STATES, listCopyJobs } from './jobs.js';
import {
  absentCertainAt,
  markReconciled,
  type ReconcileContext,
  reconcileStartup,
  settleUnknown,
  verdictOf,
} from './reconcile.js';
import { type CompletedItem, type CopyCandidate, CopyQueue, type SubmittedItem } from './repo.js';
import { idempotencyToken } from './token.js';

export interface CopyPhaseOptions {
  store: Store;
  port: AwsPort;
  config: Config;
  journal: EventJournal;
  log: Logger;
  runId: number;
  gate?: PauseGate;
  now?: () => number;
  crash?: CrashPoints;
  /** False when no new copy job may start (window.drain before the run's end); tracking goes on. */
  startAllowed?: () => boolean;
}

/** What `rpctl status` shows of the copy engine. */

// A StartCopyJob call outstanding at most this many at once: the rate limiter queues the rest anyway, and fewer
// items sit in `submitting` (unknown outcome) if the process dies.
const MAX_CONCURRENT_SUBMITS = 8;
const MAX_CONCURRENT_VERIFIES = 4;
// An item in submitting after a failed call waits this long before its jobs are first looked up; a listing that
// finds nothing then proves nothing until the listing lag has passed, so it is looked up again with backoff.
const UNKNOWN_SETTLE_DELAY_MS = 3_000;
const UNKNOWN_LOOK_MAX_MS = 60_000;
// Resends of a StartCopyJob whose answer was lost, inside the resend window: first after this, then doubling.
const RESEND_FIRST_MS = 250;
const RESEND_MAX_MS = 2_000;
const LEASE_MS = 15 * 60_000;
// Sweep interval bounds: a slot freed by a finished job is seen at the next sweep, so the interval is a small
// share of a job's duration (utilisation), but never so short that listings eat the request budget.
const MIN_SWEEP_MS = 500;
const MAX_SWEEP_MS = 30_000;
const INITIAL_SWEEP_MS = 2_000;
const SWEEP_SHARE_OF_JOB = 0.05;
// Listing delay tolerated when asking for jobs completed since the last sweep.
const COMPLETE_OVERLAP_MS = 15_000;
// Sweeps a submitted job may be missing from the listings before it is described on its own.
const MISSING_SWEEPS_BEFORE_DESCRIBE = 3;
// A copy is failed as missing only after VERIFY_ATTEMPTS looks spread over at least the listing lag, and a look AWS
// refuses to answer (denied, invalid) fails it after VERIFY_ERROR_ATTEMPTS; looks back off up to the listing lag.
const VERIFY_ATTEMPTS = 4;
const VERIFY_ERROR_ATTEMPTS = 8;
const VERIFY_MAX_BACKOFF_MS = 5 * 60_000;
// Backoff of a failed sweep or destination listing: from the first interval, doubling, up to this.
const LISTING_MAX_BACKOFF_MS = 60_000;
// Consecutive failed sweeps after which the event log (and rpctl status's recent events) says so.
const SWEEP_FAILURES_REPORTED = 5;
// A job AWS says does not exist this many times, over at least the listing lag, is lost: its copy is looked for.
const JOB_NOT_FOUND_TIMES = 3;
// Failure reasons that belong to the canary's own point, not to its combination: another canary is chosen.
const POINT_LEVEL_REASONS: ReadonlySet<string> = new Set([
  'source_point_missing',
  'source_point_not_copyable',
  'partial',
]);
// The destination census (copies that exist before this store made any) runs once per store.
const CENSUS_DONE = 'destination_census_at';
// A destination vault is listed (1,000 points a call) instead of described point by point (one call each) once
// its backlog of copies to verify is this many times the pages the listing would take.
const LISTING_ADVANTAGE = 3;
const MIN_LISTING_BACKLOG = 20;
// Every read of the copy phase follows work already started: it goes on during a pause that leaves AWS
// reachable (daemon/pause.ts), so jobs in flight are seen to finish and are verified while nothing new starts.
const TRACKING: CallOptions = { whilePaused: 'track' };
// StartCopyJob never goes out during a pause, nor late after one: its intent dates the resend window.
const SUBMIT: CallOptions = { noRetry: true, notSentWhilePaused: true };

export class CopyPhase implements PipelinePhase {
  readonly name = 'copy' as const;
  private readonly now: () => number;
  private readonly crash: CrashPoints;
  private readonly inFlightLimit: InFlightLimit;
  private queue: CopyQueue | undefined;
  private readonly submitting = new Set<number>();
  private readonly verifying = new Set<number>();
  /** Copies looked at and not verified yet: looks so far, failed calls so far, when to look again, since when. */
  private readonly verifyRetries = new Map<
    number,
    { tries: number; errors: number; at: number; firstAt: number; vault: string }
  >();
  /** Destination vaults whose listing failed: not listed again before this moment (their copies are described). */
  private readonly listingRetryAt = new Map<string, { at: number; failures: number }>();
  /** Destination vaults being listed for verification, and how many copies each is known to hold. */
  private readonly listing = new Set<string>();
  private verifiedPerVault: Map<string, number> | undefined;
  /** Unknown outcomes: when each is next looked up in AWS's listings. */
  private readonly unknownNextLook = new Map<number, number>();
  private readonly missingSweeps = new Map<string, number>();
  private awsInFlight: number | undefined;
  private awsInFlightNotFollowed: number | undefined;
  private startedSinceSweep = 0;
  private lastSweepAt: number | undefined;
  private nextSweepAt = 0;
  private completeWatermark: number | undefined;
  private meanJobMs: number | undefined;
  private submitPausedUntil = 0;
  private throttleStreak = 0;
  private wake: (() => void) | undefined;
  private requeuedSinceTurn = false;
  private sweepFailures = 0;
  /** Submitted jobs DescribeCopyJob says do not exist: how many times, since when. */
  private readonly jobNotFound = new Map<string, { times: number; since: number }>();
  private readonly stats = { started: 0, finished: 0, verified: 0, quotaRejections: 0, throttled: 0 };
  /** Measured copies for the forecast: duration against size, per resource type. */
  readonly samples = new JobSamples();

  constructor(private readonly options: CopyPhaseOptions) {
    this.now = options.now ?? Date.now;
    this.crash = options.crash ?? new CrashPoints();
    this.inFlightLimit = new InFlightLimit(options.config.copy.maxInFlight);
  }

  /** Jobs the forecast may assume in flight: the window, or the quota AWS showed if that is lower. */
  get concurrency(): number {
    return Math.min(this.inFlightLimit.limit, this.inFlightLimit.learnedQuota ?? Number.POSITIVE_INFINITY);
  }

  /** Items were put back in the queue from outside the phase (rpctl retry, rpctl reset failed). */
  requeued(): void {
    this.requeuedSinceTurn = true;
    this.poke();
  }

  /** `rpctl set max-in-flight N`. */
  setMaxInFlight(n: number): void {
    this.inFlightLimit.setMax(n);
    this.poke();
  }

  status(): CopyStatus {
    const queue = this.queue;
    const canaries = { pending: 0, probing: 0, open: 0, failed: 0 };
    if (queue) {
      const rows = this.options.store.sqlite
        .prepare<[], { state: keyof typeof canaries; n: number }>(
          'SELECT state, count(*) AS n FROM copy_combos GROUP BY state',
        )
        .all();
      for (const r of rows) canaries[r.state] = r.n;
    }
    const q = queue ?? new CopyQueue(this.options.store, this.options.runId);
    return {
      inFlightLimit: this.inFlightLimit.limit,
      window: this.inFlightLimit.limit,
      maxInFlight: this.inFlightLimit.max,
      learnedQuota: this.inFlightLimit.learnedQuota ?? null,
      awsInFlight: this.awsInFlight ?? null,
      awsInFlightNotFollowed: this.awsInFlightNotFollowed ?? null,
      lastSweepAt: this.lastSweepAt ? new Date(this.lastSweepAt).toISOString() : null,
      startedThisRun: this.stats.started,
      finishedThisRun: this.stats.finished,
      verifiedThisRun: this.stats.verified,
      quotaRejections: this.stats.quotaRejections,
      throttled: this.stats.throttled,
      canaries,
      meanJobSeconds: this.meanJobMs === undefined ? null : Math.round(this.meanJobMs / 100) / 10,
      topFailures: q.failureSummary(5),
      retrying: q.retryingSummary(),
    };
  }

  private poke(): void {
    this.wake?.();
  }

  private counters(): Counters['items'] {
    return readCounters(this.options.store).items;
  }

  /** Jobs in flight, the larger of our own count and AWS's (from the last sweep plus what we started since). */
  private inFlight(): number {
    const c = this.counters();
    const local = c.submitting + c.submitted;
    const aws = this.awsInFlight === undefined ? 0 : this.awsInFlight + this.startedSinceSweep + this.submitting.size;
    return Math.max(local, aws);
  }

  private reconcileContext(signal: AbortSignal): ReconcileContext {
    return {
      queue: this.queue as CopyQueue,
      port: this.options.port,
      crash: this.crash,
      now: this.now,
      signal,
      callOptions: TRACKING,
      absentAfterMs: this.options.config.copy.resendWindowMs + this.options.config.copy.listingLagMs,
      finished: (pointId, job) => this.finish(pointId, job),
    };
  }

  async run(context: PhaseContext): Promise<'done' | 'stopped'> {
    const { signal } = context;
    const { store, journal, log, runId } = this.options;
    const queue = new CopyQueue(store, runId);
    this.queue = queue;
    const prepared = await queue.prepare(this.now());
    if (prepared.vaultUnavailable > 0) {
      journal.record('warn', 'copy.vault_unavailable', 'points whose destination vault is unusable were not queued', {
        points: prepared.vaultUnavailable,
      });
    }
    try {
      const startup = await context.track(reconcileStartup(this.reconcileContext(signal)));
      if (startup.adopted > 0) {
        journal.record('warn', 'copy.reconciled', 'took over copy jobs AWS has that the store did not record', {
          ...startup,
        });
      } else {
        log.info('start-up reconciliation found nothing to take over', { ...startup });
      }
      for (const item of queue.unknownItems()) {
        await context.track(settleUnknown(this.reconcileContext(signal), item));
      }
      if (queue.checkpoint(CENSUS_DONE) === undefined) {
        try {
          const census = await context.track(this.destinationCensus(signal));
          queue.setCheckpoint(CENSUS_DONE, this.now());
          if (census.skipped > 0) {
            journal.record('info', 'copy.already_copied', 'points whose copy exists already were skipped', {
              ...census,
            });
          }
        } catch (err) {
          if (signal.aborted) throw err;
          // Only points never attempted are matched, so copying on without the census is safe for this run:
          // a copy it would have found makes the later check of that point (attempt > 1) adopt it instead.
          journal.record('warn', 'copy.census_failed', 'could not list the destination vaults for existing copies', {
            error: err,
          });
        }
      }
      markReconciled(queue, this.now());
      journal.record('info', 'copy.started', 'copy phase started', {
        maxInFlight: this.inFlightLimit.max,
        ...this.openSummary(),
      });

      while (!signal.aborted) {
        // Any pause stops new submissions (fill, driveCanaries); only one that keeps AWS from answering stops
        // the loop, so jobs in flight are still tracked and verified during an operator's pause.
        await this.options.gate?.wait(signal, 'track');
        if (this.requeuedSinceTurn) {
          // rpctl retry or reset requeued items: give them their combination and chain weight, or fail them
          // again at once if their vault is still unusable, so every queued item stays claimable.
          this.requeuedSinceTurn = false;
          await queue.prepare(this.now());
        }
        if (this.now() >= this.nextSweepAt) {
          // A failed look at AWS's listings loses nothing: the next sweep asks again.
          await context.track(this.sweep(signal)).then(
            () => {
              this.sweepFailures = 0;
            },
            (err: unknown) => {
              if (signal.aborted) throw err;
              this.sweepFailures += 1;
              const backoff = Math.min(LISTING_MAX_BACKOFF_MS, INITIAL_SWEEP_MS * 2 ** (this.sweepFailures - 1));
              log.warn('could not read the copy jobs from AWS; trying again with backoff', {
                error: err,
                failures: this.sweepFailures,
                retryInMs: backoff,
              });
              if (this.sweepFailures === SWEEP_FAILURES_REPORTED) {
                journal.record('error', 'copy.tracking_failing', 'copy jobs cannot be read from AWS; retrying', {
                  failures: this.sweepFailures,
                  error: err,
                });
              }
              this.nextSweepAt = this.now() + backoff;
            },
          );
        }
        await this.settleDueUnknowns(context);
        this.driveCanaries(context);
        this.fill(context);
        this.verifySome(context);
        const c = this.counters();
        const open = c.queued + c.submitting + c.submitted + c.completed;
        if (open === 0 && this.submitting.size === 0 && this.verifying.size === 0) {
          markReconciled(queue, this.now());
          journal.record('info', 'copy.done', 'every planned point has reached a final state', {
            ...this.stats,
            failed: c.failed,
            verified: c.verified,
          });
          return 'done';
        }
        await this.idle(signal);
      }
    } catch (err) {
      if (!signal.aborted) throw err;
    } finally {
      // Calls in flight finish (bounded by the shutdown drain); their answers are recorded.
      while (this.submitting.size > 0 || this.verifying.size > 0) await sleep(20);
      if (this.queue) markReconciled(this.queue, this.now());
    }
    return 'stopped';
  }

  private openSummary(): Record<string, number> {
    const c = this.counters();
    return {
      queued: c.queued,
      inFlight: c.submitting + c.submitted,
      completed: c.completed,
    };
  }

  private async idle(signal: AbortSignal): Promise<void> {
    const wait = Math.max(10, Math.min(this.nextSweepAt - this.now(), 1_000));
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, wait);
      signal.addEventListener('abort', done, { once: true });
      this.wake = done;
    });
  }

  /**
   * Once per store: list each destination vault and skip, as already_copied, the points never attempted whose copy
   * is there already (made before this store existed, or older than the job history AWS keeps).
   */
  private async destinationCensus(signal: AbortSignal): Promise<{ vaults: number; listed: number; skipped: number }> {
    const queue = this.queue as CopyQueue;
    const result = { vaults: 0, listed: 0, skipped: 0 };
    for (const vault of queue.destinationVaults()) {
      result.vaults += 1;
      let nextToken: string | undefined;
      do {
        const page = await this.options.port.call(
          'destination',
          'listRecoveryPoints',
          { vaultName: vault.name, pageSize: 1000, ...(nextToken ? { nextToken } : {}) },
          signal,
          TRACKING,
        );
        result.listed += page.points.length;
        const copies = page.points.filter((p) => p.status === 'COMPLETED' || p.status === 'AVAILABLE');
        result.skipped += queue.skipAlreadyCopied(vault.name, copies, this.now());
        nextToken = page.nextToken;
      } while (nextToken);
    }
    return result;
  }

  // --- submitting -------------------------------------------------------------------------------------------------

  private fill(context: PhaseContext): void {
    const queue = this.queue as CopyQueue;
    if (context.signal.aborted || this.options.gate?.paused || this.now() < this.submitPausedUntil) return;
    if (this.options.startAllowed && !this.options.startAllowed()) return;
    const slots = Math.min(this.inFlightLimit.limit - this.inFlight(), MAX_CONCURRENT_SUBMITS - this.submitting.size);
    if (slots <= 0) return;
    for (const candidate of queue.claimable(slots, this.now())) this.submit(candidate, context);
  }

  private driveCanaries(context: PhaseContext): void {
    const queue = this.queue as CopyQueue;
    if (context.signal.aborted || this.options.gate?.paused || this.now() < this.submitPausedUntil) return;
    if (this.options.startAllowed && !this.options.startAllowed()) return;
    const now = this.now();
    // A canary should outlive its own copy comfortably: twice the margin the plan uses for expiring points.
    const safeUntil = now + 2 * this.options.config.copy.expiryMarginMs;
    for (const combo of queue.undecidedCombos()) {
      const label = `${combo.sourceVaultName} / ${combo.resourceType} / ${combo.encryptionKeyArn || 'unencrypted'}`;
      if (combo.state === 'probing' && combo.canaryPointId !== null) {
        const item = queue.itemState(combo.canaryPointId);
        if (item?.state === 'verified') {
          queue.setComboState(combo.id, 'open', combo.canaryPointId, null, now);
          this.options.journal.record('info', 'copy.canary_passed', `canary copy passed: ${label}`, {
            comboId: combo.id,
            pointId: combo.canaryPointId,
          });
          continue;
        }
        if (item?.state === 'failed' && POINT_LEVEL_REASONS.has(item.failureReason ?? '')) {
          // The canary's own point failed (it expired, was deleted, cannot be copied): that says nothing about
          // its combination, so another canary is chosen; the point keeps its own failure.
          queue.setComboState(combo.id, 'pending', null, null, now);
          this.options.journal.record('warn', 'copy.canary_replaced', `canary of ${label} failed for its own point`, {
            comboId: combo.id,
            pointId: combo.canaryPointId,
            reason: item.failureReason,
          });
          continue;
        }
        if (item?.state === 'failed') {
          const reason = (item.failureReason ?? 'unknown') as FailureReason;
          const detail = `canary copy for ${label} failed (${reason}: ${item.errorMessage ?? ''}); its points are held: ${
            FAILURE_REASONS[reason] ?? reason
          }. Fix the cause, then rpctl retry --reason ${reason}`;
          queue.setComboState(combo.id, 'failed', combo.canaryPointId, detail, now);
          this.options.journal.record('error', 'copy.canary_failed', detail, { comboId: combo.id, reason });
          continue;
        }
        if (item?.state === 'queued') {
          if (this.inFlight() >= this.inFlightLimit.limit || this.submitting.size >= MAX_CONCURRENT_SUBMITS) return;
          const candidate = queue.canaryCandidate(combo.id, now, safeUntil, combo.canaryPointId);
          if (candidate) this.submit(candidate, context);
          continue;
        }
        if (item && ['submitting', 'submitted', 'completed'].includes(item.state)) continue;
        // The canary was re-planned away: choose another.
        queue.setComboState(combo.id, 'pending', null, null, now);
      }
      if (this.inFlight() >= this.inFlightLimit.limit || this.submitting.size >= MAX_CONCURRENT_SUBMITS) return;
      const candidate = queue.canaryCandidate(combo.id, now, safeUntil);
      if (!candidate) continue;
      queue.setComboState(combo.id, 'probing', candidate.pointId, null, now);
      this.options.log.info('canary copy', { combo: label, point: candidate.pointArn });
      this.submit(candidate, context);
    }
  }

  private submit(c: CopyCandidate, context: PhaseContext): void {
    const queue = this.queue as CopyQueue;
    if (this.submitting.has(c.pointId)) return;
    const now = this.now();
    // The plan decided on the point as the inventory saw it, maybe weeks ago: a point that expires within the
    // margin, went to cold storage or is gone is skipped now, so it neither fails nor holds its resource's chain.
    const stale = staleAtClaim(c, now, this.options.config.copy.expiryMarginMs);
    if (stale) {
      if (queue.skipAtClaim(c.pointId, stale, now)) {
        this.options.journal.record('info', 'copy.skipped_at_claim', `skipped ${c.pointArn}: ${SKIP_REASONS[stale]}`, {
          pointId: c.pointId,
          reason: stale,
        });
      }
      return;
    }
    this.submitting.add(c.pointId);
    const work = this.submitChecked(c, context.signal).finally(() => {
      this.submitting.delete(c.pointId);
      this.poke();
    });
    void context.track(work).catch((err: unknown) => {
      if (!context.signal.aborted) {
        this.options.log.error('submitting a copy job failed unexpectedly', { pointId: c.pointId, error: err });
      }
    });
  }

  /** Before an attempt after the first: the copy may exist already (an earlier attempt made it). Then submit. */
  private async submitChecked(c: CopyCandidate, signal: AbortSignal): Promise<void> {
    const queue = this.queue as CopyQueue;
    // attempt > 1: an earlier attempt sent a request (a first attempt deferred by the quota keeps number 1).
    if (c.attempt > 1) {
      let existing: string | undefined;
      try {
        existing = await this.findExistingCopy(c, signal);
      } catch (err) {
        if (signal.aborted) return;
        // Not knowing whether the copy exists, nothing is submitted: the point waits and is looked at again.
        queue.deferQueued(c.pointId, this.now() + this.verifyBackoffCapMs(), this.now());
        this.options.log.warn('could not look for an existing copy before a new attempt; trying later', {
          point: c.pointArn,
          error: err,
        });
        return;
      }
      if (existing) {
        if (queue.adoptCopy(c.pointId, existing, this.now())) {
          this.options.journal.record('info', 'copy.adopted_existing', `the copy of ${c.pointArn} exists already`, {
            pointId: c.pointId,
            destinationPointArn: existing,
          });
        }
        return;
      }
    }
    // Paused while the copy was looked for: nothing new starts; the point stays queued.
    if (this.options.gate?.paused) return;
    const attempt = Math.max(1, c.attempt);
    const token = idempotencyToken(c.pointArn, c.destinationVaultArn, attempt);
    const intentAt = this.now();
    if (!queue.markIntent(c, token, intentAt, LEASE_MS)) return;
    this.crash.reached('after-intent');
    await this.startJob(c, token, intentAt, signal);
  }

  /**
   * The destination vault's copy of this source point, if one exists: same resource, type and creation date (a
   * copy keeps its source's creation date), COMPLETED or AVAILABLE.
   */
  private async findExistingCopy(
    c: Pick<CopyCandidate, 'destinationVaultName' | 'resourceArn' | 'resourceType' | 'creationDate'>,
    signal: AbortSignal,
  ): Promise<string | undefined> {
    let nextToken: string | undefined;
    do {
      const page = await this.options.port.call(
        'destination',
        'listRecoveryPoints',
        {
          vaultName: c.destinationVaultName,
          pageSize: 1000,
          byResourceArn: c.resourceArn,
          ...(nextToken ? { nextToken } : {}),
        },
        signal,
        TRACKING,
      );
      const copy = page.points.find(
        (p) =>
          p.creationDate === c.creationDate &&
          p.resourceType === c.resourceType &&
          (p.status === 'COMPLETED' || p.status === 'AVAILABLE'),
      );
      if (copy) return copy.arn;
      nextToken = page.nextToken;
    } while (nextToken);
    return undefined;
  }

  private async startJob(c: CopyCandidate, token: string, intentAt: number, signal: AbortSignal): Promise<void> {
    const queue = this.queue as CopyQueue;
    const { config, port, log } = this.options;
    const lifecycle = {
      ...(c.lifecycleDeleteAfterDays !== null ? { deleteAfterDays: c.lifecycleDeleteAfterDays } : {}),
      ...(c.lifecycleColdAfterDays !== null ? { moveToColdStorageAfterDays: c.lifecycleColdAfterDays } : {}),
    };
    const request = {
      recoveryPointArn: c.pointArn,
      sourceVaultName: c.sourceVaultName,
      destinationVaultArn: c.destinationVaultArn,
      iamRoleArn: config.source.copyRoleArn,
      idempotencyToken: token,
      ...(Object.keys(lifecycle).length > 0 ? { lifecycle } : {}),
    };
    try {
      const out = await port.call('source', 'startCopyJob', request, signal, SUBMIT);
      this.crash.reached('after-start-call');
      queue.recordStarted(c.pointId, c.attempt, out.copyJobId, out.creationDate ?? this.now(), this.now());
      this.crash.reached('after-record-start');
      this.inFlightLimit.onStarted();
      this.throttleStreak = 0;
      this.startedSinceSweep += 1;
      this.stats.started += 1;
    } catch (err) {
      const now = this.now();
      if (err instanceof CallNotSent) {
        // Paused between the intent and the call: known not sent, so the point waits in the queue for the resume.
        queue.recordDeferred(c.pointId, c.attempt, 'Paused', 'paused before the request was sent', now, now);
        return;
      }
      if (!(err instanceof AwsCallError)) {
        if (signal.aborted) {
          // Stopped while waiting for the pause gate or the rate limiter: the request was never sent.
          queue.recordDeferred(c.pointId, c.attempt, 'Stopped', 'stopped before the request was sent', now, now);
          return;
        }
        queue.recordUnknown(c.pointId, c.attempt, 'Error', String((err as Error)?.message ?? err));
        this.unknownNextLook.set(c.pointId, now + UNKNOWN_SETTLE_DELAY_MS);
        return;
      }
      const { failure } = err;
      if (failure.kind === 'quota') {
        this.stats.quotaRejections += 1;
        this.inFlightLimit.onQuotaExceeded(this.inFlight() - 1);
        queue.recordDeferred(c.pointId, c.attempt, failure.name, failure.message, now + 2_000, now);
        log.info('the copy-job quota is full; lowering the in-flight limit', {
          inFlightLimit: this.inFlightLimit.limit,
        });
        return;
      }
      if (failure.kind === 'throttle') {
        this.stats.throttled += 1;
        this.inFlightLimit.onThrottled();
        this.throttleStreak += 1;
        const backoff = Math.min(30_000, 500 * 2 ** Math.min(this.throttleStreak, 6)) * (0.5 + Math.random() / 2);
        this.submitPausedUntil = Math.max(this.submitPausedUntil, now + backoff);
        queue.recordDeferred(c.pointId, c.attempt, failure.name, failure.message, now + backoff, now);
        return;
      }
      if (failure.kind === 'transient' && failure.outcomeUnknown) {
        // The request may have been applied. Inside the resend window the same token is certain to return the
        // job it made; after it, only AWS's listings decide (settleDueUnknowns), never a blind resend.
        queue.recordUnknown(c.pointId, c.attempt, failure.name, failure.message);
        log.warn('StartCopyJob outcome unknown; reconciling before any resend', {
          point: c.pointArn,
          error: failure.name,
        });
        if (await this.resendWhileSafe(c, request, intentAt, signal)) return;
        this.unknownNextLook.set(c.pointId, this.now() + UNKNOWN_SETTLE_DELAY_MS);
        return;
      }
      const verdict = classifyStartRejection(failure);
      queue.recordRejected(c.pointId, c.attempt, verdict, failure.name, failure.message, now);
      this.crash.reached('after-record-finish');
    }
  }

  /**
   * Resend a StartCopyJob whose answer was lost, with the same token, while that is certain to return the job the
   * first call made (copy.resend_window after the intent). True once AWS answered with the job.
   */
  private async resendWhileSafe(
    c: CopyCandidate,
    request: Operations['startCopyJob']['input'],
    intentAt: number,
    signal: AbortSignal,
  ): Promise<boolean> {
    const queue = this.queue as CopyQueue;
    const until = intentAt + this.options.config.copy.resendWindowMs;
    for (let wait = RESEND_FIRST_MS; this.now() + wait < until; wait = Math.min(wait * 2, RESEND_MAX_MS)) {
      try {
        await sleep(wait, undefined, { signal });
      } catch {
        return false;
      }
      if (this.now() >= until) return false;
      try {
        const out = await this.options.port.call('source', 'startCopyJob', request, signal, SUBMIT);
        this.crash.reached('after-start-call');
        queue.recordStarted(c.pointId, c.attempt, out.copyJobId, out.creationDate ?? this.now(), this.now());
        this.crash.reached('after-record-start');
        this.inFlightLimit.onStarted();
        this.startedSinceSweep += 1;
        this.stats.started += 1;
        this.options.log.info('StartCopyJob resent with the same token: AWS answered with the job', {
          point: c.pointArn,
          copyJobId: out.copyJobId,
        });
        return true;
      } catch (err) {
        // Paused: no resend; the listings settle the first call's outcome (they go on during the pause).
        if (signal.aborted || err instanceof CallNotSent) return false;
        // Any refusal, even a definite one, says nothing about the first call: it may still have made a job.
        const name = err instanceof AwsCallError ? err.failure.name : String((err as Error)?.name ?? err);
        this.options.log.info('resending StartCopyJob did not answer yet', { point: c.pointArn, error: name });
      }
    }
    return false;
  }

  /**
   * Items whose StartCopyJob outcome is unknown (this run's, or left in submitting by an earlier process): looked
   * up in AWS's listings a few seconds after the call, then with backoff, and at the latest once a listing is
   * certain to show the job (absentCertainAt); only that listing may put the item back in the queue.
   */
  private async settleDueUnknowns(context: PhaseContext): Promise<void> {
    const queue = this.queue as CopyQueue;
    const now = this.now();
    const items = queue.unknownItems();
    for (const pointId of this.unknownNextLook.keys()) {
      if (!items.some((i) => i.pointId === pointId)) this.unknownNextLook.delete(pointId);
    }
    for (const item of items) {
      if (this.submitting.has(item.pointId)) continue;
      const certainAt = absentCertainAt(this.reconcileContext(context.signal), item);
      const nextLook =
        this.unknownNextLook.get(item.pointId) ?? Math.min((item.intentAt ?? 0) + UNKNOWN_SETTLE_DELAY_MS, certainAt);
      if (now < nextLook) continue;
      try {
        const outcome = await context.track(settleUnknown(this.reconcileContext(context.signal), item));
        if (outcome === 'pending') {
          const since = now - (item.intentAt ?? now);
          const backoff = Math.min(UNKNOWN_LOOK_MAX_MS, Math.max(UNKNOWN_SETTLE_DELAY_MS, since));
          this.unknownNextLook.set(item.pointId, Math.max(Math.min(now + backoff, certainAt), now + 1));
        } else {
          this.unknownNextLook.delete(item.pointId);
        }
      } catch (err) {
        if (context.signal.aborted) throw err;
        // Still unknown: look again later; never resend without knowing.
        this.unknownNextLook.set(item.pointId, now + UNKNOWN_SETTLE_DELAY_MS * 4);
        this.options.log.warn('could not reconcile an unknown copy outcome yet', { pointId: item.pointId, error: err });
      }
    }
  }

  // --- tracking ---------------------------------------------------------------------------------------------------

  /** One look at AWS's job listings: jobs in flight (all of the account's) and jobs finished since the last look. */
  private async sweep(signal: AbortSignal): Promise<void> {
    const queue = this.queue as CopyQueue;
    const { port } = this.options;
    const submitted = queue.submittedItems();
    const byJob = new Map<string, SubmittedItem>(submitted.map((s) => [s.copyJobId, s]));
    const startedBefore = this.startedSinceSweep;
    const active = [
      ...(await listCopyJobs(port, { state: 'CREATED' }, signal, TRACKING)),
      ...(await listCopyJobs(port, { state: 'RUNNING' }, signal, TRACKING)),
    ];
    this.startedSinceSweep -= startedBefore;
    // Jobs the same sweep then sees finished (they ended between the two listings, or the listings lag) are not
    // in flight: counted, they would leave "AWS reports 1 running" beside a copy phase that is done.
    const ended = new Set<string>();
    const seen = new Set<string>();
    for (const job of active) {
      const item = byJob.get(job.copyJobId);
      if (!item) continue;
      seen.add(job.copyJobId);
      if (item.jobState !== job.state) queue.recordJobState(item.pointId, job.state, this.now());
    }
    if (this.completeWatermark === undefined) {
      const oldest = submitted.reduce<number | undefined>(
        (min, s) => (s.submittedAt !== null && (min === undefined || s.submittedAt < min) ? s.submittedAt : min),
        undefined,
      );
      this.completeWatermark = oldest ?? this.now();
    }
    if (byJob.size > 0) {
      const finished = await listCopyJobs(
        port,
        { completeAfter: this.completeWatermark - COMPLETE_OVERLAP_MS },
        signal,
        TRACKING,
      );
      let newest = this.completeWatermark;
      for (const job of finished) {
        if (job.completionDate !== null && job.completionDate > newest) newest = job.completionDate;
        if (!ACTIVE_JOB_STATES.has(job.state)) ended.add(job.copyJobId);
        const item = byJob.get(job.copyJobId);
        if (!item || ACTIVE_JOB_STATES.has(job.state)) continue;
        seen.add(job.copyJobId);
        this.finish(item.pointId, job);
      }
      this.completeWatermark = newest;
      // A job neither in flight nor finished since the watermark (listing delay, or finished before it): ask.
      for (const item of submitted) {
        if (seen.has(item.copyJobId)) {
          this.missingSweeps.delete(item.copyJobId);
          continue;
        }
        const missed = (this.missingSweeps.get(item.copyJobId) ?? 0) + 1;
        this.missingSweeps.set(item.copyJobId, missed);
        if (missed < MISSING_SWEEPS_BEFORE_DESCRIBE) continue;
        this.missingSweeps.delete(item.copyJobId);
        try {
          const { job } = await port.call('source', 'describeCopyJob', { copyJobId: item.copyJobId }, signal, TRACKING);
          this.jobNotFound.delete(item.copyJobId);
          if (ACTIVE_JOB_STATES.has(job.state)) queue.recordJobState(item.pointId, job.state, this.now());
          else {
            ended.add(job.copyJobId);
            this.finish(item.pointId, job);
          }
        } catch (err) {
          if (signal.aborted) throw err;
          if (err instanceof AwsCallError && err.failure.kind === 'not_found') {
            await this.jobMissing(item, signal);
            continue;
          }
          this.options.log.warn('could not describe a copy job; asking again later', {
            copyJobId: item.copyJobId,
            error: err,
          });
        }
      }
    } else {
      this.completeWatermark = Math.max(this.completeWatermark, this.now() - COMPLETE_OVERLAP_MS);
    }
    const running = active.filter((job) => !ended.has(job.copyJobId));
    this.awsInFlight = running.length;
    this.awsInFlightNotFollowed = running.filter((job) => !byJob.has(job.copyJobId)).length;
    this.lastSweepAt = this.now();
    const interval =
      this.meanJobMs === undefined
        ? INITIAL_SWEEP_MS
        : Math.min(MAX_SWEEP_MS, Math.max(MIN_SWEEP_MS, this.meanJobMs * SWEEP_SHARE_OF_JOB));
    this.nextSweepAt = this.now() + interval;
    markReconciled(queue, this.now());
  }

  /**
   * A submitted job DescribeCopyJob does not know (AWS keeps job history for a limited time): once it has said so
   * repeatedly over the listing lag, the copy is looked for in the destination vault and taken if it is there;
   * otherwise the attempt counts as failed and the point is tried again, so its resource's chain moves on.
   */
  private async jobMissing(item: SubmittedItem, signal: AbortSignal): Promise<void> {
    const queue = this.queue as CopyQueue;
    const now = this.now();
    const seen = this.jobNotFound.get(item.copyJobId) ?? { times: 0, since: now };
    seen.times += 1;
    this.jobNotFound.set(item.copyJobId, seen);
    if (seen.times < JOB_NOT_FOUND_TIMES || now - seen.since < this.options.config.copy.listingLagMs) return;
    this.jobNotFound.delete(item.copyJobId);
    const candidate = queue.copyTarget(item.pointId);
    const existing = candidate ? await this.findExistingCopy(candidate, signal) : undefined;
    const outcome = queue.recordJobLost(item.pointId, item.copyJobId, existing ?? null, this.now());
    this.options.journal.record('warn', 'copy.job_lost', `AWS no longer knows copy job ${item.copyJobId}`, {
      pointId: item.pointId,
      copyJobId: item.copyJobId,
      outcome,
      ...(existing ? { destinationPointArn: existing } : {}),
    });
  }

  /** A job reached a terminal state: record it (one transaction) and learn its duration. */
  private finish(pointId: number, job: CopyJobSummary): void {
    const queue = this.queue as CopyQueue;
    const outcome = queue.recordFinished(pointId, job, verdictOf(job), this.now());
    if (outcome === 'unchanged') return;
    this.stats.finished += 1;
    this.crash.reached('after-record-finish');
    if (job.state === 'COMPLETED' && job.creationDate !== null && job.completionDate !== null) {
      const ms = Math.max(0, job.completionDate - job.creationDate);
      this.meanJobMs = this.meanJobMs === undefined ? ms : this.meanJobMs * 0.9 + ms * 0.1;
      if (job.resourceType) {
        this.samples.add({
          resourceType: job.resourceType,
          sizeBytes: job.sizeBytes ?? 0,
          durationMs: ms,
          finishedAt: job.completionDate,
        });
      }
    }
    if (outcome === 'failed') {
      this.options.log.warn('copy failed permanently', {
        pointId,
        copyJobId: job.copyJobId,
        state: job.state,
        message: job.statusMessage,
      });
    }
  }

  // --- verification -----------------------------------------------------------------------------------------------

  private verifySome(context: PhaseContext): void {
    if (context.signal.aborted) return;
    const queue = this.queue as CopyQueue;
    this.verifiedPerVault ??= queue.verifiedPerVault();
    // Many copies waiting in one vault: one listing verifies them all, for a fraction of the calls. A copy looked
    // at once already is not listed again: it waits for its backoff and is then described on its own.
    const now = this.now();
    const retrying = new Map<string, number>();
    for (const r of this.verifyRetries.values()) retrying.set(r.vault, (retrying.get(r.vault) ?? 0) + 1);
    for (const { vault, n: backlog } of queue.completedBacklog()) {
      if (this.listing.has(vault) || (this.listingRetryAt.get(vault)?.at ?? 0) > now) continue;
      const n = backlog - (retrying.get(vault) ?? 0);
      const pages = Math.ceil(((this.verifiedPerVault.get(vault) ?? 0) + n) / 1000);
      if (n < Math.max(MIN_LISTING_BACKLOG, LISTING_ADVANTAGE * pages)) continue;
      this.listing.add(vault);
      const work = this.verifyByListing(vault, context.signal).finally(() => {
        this.listing.delete(vault);
        this.poke();
      });
      void context.track(work).then(
        () => this.listingRetryAt.delete(vault),
        (err: unknown) => {
          if (context.signal.aborted) return;
          const failures = (this.listingRetryAt.get(vault)?.failures ?? 0) + 1;
          const backoff = Math.min(LISTING_MAX_BACKOFF_MS, INITIAL_SWEEP_MS * 2 ** failures);
          this.listingRetryAt.set(vault, { at: this.now() + backoff, failures });
          this.options.log.warn('could not list a destination vault to verify copies; its copies are described', {
            vault,
            error: err,
            retryInMs: backoff,
          });
        },
      );
    }
    const free = MAX_CONCURRENT_VERIFIES - this.verifying.size;
    if (free <= 0) return;
    const items = queue
      .completedItems(free + this.verifying.size + this.verifyRetries.size + 200)
      .filter(
        (i) =>
          !this.listing.has(i.destinationVaultName) &&
          !this.verifying.has(i.pointId) &&
          (this.verifyRetries.get(i.pointId)?.at ?? 0) <= now,
      )
      .slice(0, free);
    for (const item of items) {
      this.verifying.add(item.pointId);
      const work = this.verify(item, context.signal).finally(() => {
        this.verifying.delete(item.pointId);
        this.poke();
      });
      void context.track(work).catch((err: unknown) => {
        this.options.log.error('verifying a copy failed unexpectedly', { pointId: item.pointId, error: err });
      });
    }
  }

  /** Verify every copy waiting in one destination vault against one full listing of it. */
  private async verifyByListing(vault: string, signal: AbortSignal): Promise<void> {
    const queue = this.queue as CopyQueue;
    const waiting = new Map<string, CompletedItem>();
    for (const item of queue.completedInVault(vault)) {
      if (item.destinationPointArn && !this.verifying.has(item.pointId) && !this.verifyRetries.has(item.pointId)) {
        waiting.set(item.destinationPointArn, item);
      }
    }
    let listed = 0;
    let nextToken: string | undefined;
    do {
      const page = await this.options.port.call(
        'destination',
        'listRecoveryPoints',
        { vaultName: vault, pageSize: 1000, ...(nextToken ? { nextToken } : {}) },
        signal,
        TRACKING,
      );
      listed += page.points.length;
      for (const point of page.points) {
        const item = waiting.get(point.arn);
        if (!item) continue;
        waiting.delete(point.arn);
        this.judge(item, point.status, point.lifecycleDeleteAfterDays, () =>
          this.retryVerify(item, 'not yet COMPLETED'),
        );
      }
      nextToken = page.nextToken;
    } while (nextToken);
    this.verifiedPerVault?.set(vault, listed);
    // Not in the listing (yet): listing delay, or the copy is missing; asked again, one by one, a little later.
    for (const item of waiting.values()) {
      this.retryVerify(item, `the copy ${item.destinationPointArn} is not in destination vault ${vault}`);
    }
  }

  /** The verdict on one copy as AWS describes it. */
  private judge(item: CompletedItem, status: string, deleteAfterDays: number | null, notReady: () => void): void {
    const queue = this.queue as CopyQueue;
    if (status !== 'COMPLETED' && status !== 'AVAILABLE') {
      notReady();
      return;
    }
    if (item.lifecycleDeleteAfterDays !== null && deleteAfterDays !== item.lifecycleDeleteAfterDays) {
      queue.recordVerificationFailed(
        item.pointId,
        `the copy ${item.destinationPointArn} keeps ${deleteAfterDays ?? 'no'} days, planned ${item.lifecycleDeleteAfterDays}`,
        this.now(),
      );
      return;
    }
    queue.recordVerified(item.pointId, this.now());
    this.verifyRetries.delete(item.pointId);
    this.stats.verified += 1;
    this.crash.reached('after-verify');
  }

  /**
   * The copy is not (yet) there: look again with backoff. It is declared missing only after VERIFY_ATTEMPTS looks
   * and once the listing lag has passed since the first, so a copy that exists but is not visible yet is never
   * failed (and then copied again by rpctl retry).
   */
  private retryVerify(item: CompletedItem, why: string): void {
    const now = this.now();
    const previous = this.verifyRetries.get(item.pointId);
    const tries = (previous?.tries ?? 0) + 1;
    const firstAt = previous?.firstAt ?? now;
    if (tries >= VERIFY_ATTEMPTS && now - firstAt >= this.options.config.copy.listingLagMs) {
      this.verifyRetries.delete(item.pointId);
      (this.queue as CopyQueue).recordVerificationFailed(item.pointId, why, now);
      return;
    }
    const at = now + Math.min(this.verifyBackoffCapMs(), 5_000 * 2 ** tries);
    this.verifyRetries.set(item.pointId, {
      tries,
      errors: previous?.errors ?? 0,
      at,
      firstAt,
      vault: item.destinationVaultName,
    });
  }

  /** Looks at a copy are spaced up to the listing lag (a copy not visible yet is visible by then), at most 5 min. */
  private verifyBackoffCapMs(): number {
    return Math.min(VERIFY_MAX_BACKOFF_MS, Math.max(5_000, this.options.config.copy.listingLagMs));
  }

  /** AWS did not answer the look (denied, invalid, unavailable): again with backoff, and a named failure at last. */
  private verifyCallFailed(item: CompletedItem, err: unknown): void {
    const now = this.now();
    const previous = this.verifyRetries.get(item.pointId);
    const errors = (previous?.errors ?? 0) + 1;
    const what = err instanceof AwsCallError ? `${err.failure.name}: ${err.failure.message}` : String(err);
    if (errors >= VERIFY_ERROR_ATTEMPTS) {
      this.verifyRetries.delete(item.pointId);
      (this.queue as CopyQueue).recordVerificationFailed(
        item.pointId,
        `could not look at the copy ${item.destinationPointArn} after ${errors} tries: ${what}`,
        now,
      );
      return;
    }
    this.verifyRetries.set(item.pointId, {
      tries: previous?.tries ?? 0,
      errors,
      at: now + Math.min(this.verifyBackoffCapMs(), 10_000 * 2 ** (errors - 1)),
      firstAt: previous?.firstAt ?? now,
      vault: item.destinationVaultName,
    });
    this.options.log.warn('could not verify a copy yet', { pointId: item.pointId, error: what, tries: errors });
  }

  private async verify(item: CompletedItem, signal: AbortSignal): Promise<void> {
    const queue = this.queue as CopyQueue;
    if (!item.destinationPointArn) {
      queue.recordVerificationFailed(
        item.pointId,
        'the copy job completed without a destination recovery point',
        this.now(),
      );
      return;
    }
    try {
      const point = await this.options.port.call(
        'destination',
        'describeRecoveryPoint',
        { vaultName: item.destinationVaultName, recoveryPointArn: item.destinationPointArn },
        signal,
        TRACKING,
      );
      this.judge(item, point.status, point.deleteAfterDays, () =>
        this.retryVerify(item, `the copy ${item.destinationPointArn} is ${point.status}, not COMPLETED`),
      );
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof AwsCallError && err.failure.kind === 'not_found') {
        this.retryVerify(
          item,
          `the copy ${item.destinationPointArn} is not in destination vault ${item.destinationVaultName}`,
        );
        return;
      }
      this.verifyCallFailed(item, err);
    }
  }
}

type StaleReason = Parameters<CopyQueue['skipAtClaim']>[1];

/** Why a claimed point is no longer worth a copy job, if it is not: the inventory's view, checked at claim time. */
export function staleAtClaim(
  c: Pick<CopyCandidate, 'goneAt' | 'pointStatus' | 'deleteAt' | 'moveToColdAt'>,
  now: number,
  expiryMarginMs: number,
): StaleReason | undefined {
  if (c.goneAt !== null) return 'point_gone';
  if (c.pointStatus !== 'COMPLETED' && c.pointStatus !== 'AVAILABLE') return 'status_not_completed';
  if (c.moveToColdAt !== null && c.moveToColdAt <= now) return 'cold_storage';
  if (c.deleteAt !== null && c.deleteAt <= now + expiryMarginMs) return 'expiring_before_copy';
  return undefined;
}
