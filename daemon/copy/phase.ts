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
import type { Config } from '../../shared/config.js';
import type { CopyJobSummary } from '../aws/operations.js';
import { AwsCallError, type AwsPort } from '../aws/port.js';
import type { EventJournal } from '../events.js';
import { JobSamples } from '../forecast.js';
import type { Logger } from '../log.js';
import type { PauseGate } from '../pause.js';
import type { PhaseContext, PipelinePhase } from '../pipeline.js';
import type { Store } from '../store/store.js';
import { CopyWindow } from './concurrency.js';
import { CrashPoints } from './crash.js';
import { classifyStartRejection, FAILURE_REASONS, type FailureReason } from './failures.js';
import { ACTIVE_JOB_STATES, listCopyJobs } from './jobs.js';
import { type CompletedItem, type CopyCandidate, CopyQueue, type SubmittedItem } from './queue.js';
import { markReconciled, type ReconcileContext, reconcileStartup, settleUnknown, verdictOf } from './reconcile.js';
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
export interface CopyEngineStatus {
  window: number;
  maxInFlight: number;
  learnedQuota: number | null;
  /** CREATED + RUNNING copy jobs in the source account at the last sweep (all of them, not only ours). */
  awsInFlight: number | null;
  lastSweepAt: string | null;
  startedThisRun: number;
  finishedThisRun: number;
  verifiedThisRun: number;
  quotaRejections: number;
  throttled: number;
  canaries: { pending: number; probing: number; open: number; failed: number };
  meanJobSeconds: number | null;
  topFailures: { reason: string; kind: string; count: number; example: string; description: string }[];
  retrying: { reason: string; count: number }[];
}

// A StartCopyJob call outstanding at most this many at once: the rate limiter queues the rest anyway, and fewer
// items sit in `submitting` (unknown outcome) if the process dies.
const MAX_CONCURRENT_SUBMITS = 8;
const MAX_CONCURRENT_VERIFIES = 4;
// An item in submitting after a failed call waits this long before its jobs are looked up (listing delay).
const UNKNOWN_SETTLE_DELAY_MS = 3_000;
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
const VERIFY_ATTEMPTS = 4;
// A destination vault is listed (1,000 points a call) instead of described point by point (one call each) once
// its backlog of copies to verify is this many times the pages the listing would take.
const LISTING_ADVANTAGE = 3;
const MIN_LISTING_BACKLOG = 20;

export class CopyPhase implements PipelinePhase {
  readonly name = 'copy' as const;
  private readonly now: () => number;
  private readonly crash: CrashPoints;
  private readonly window: CopyWindow;
  private queue: CopyQueue | undefined;
  private readonly submitting = new Set<number>();
  private readonly verifying = new Set<number>();
  private readonly verifyRetries = new Map<number, { tries: number; at: number }>();
  /** Destination vaults being listed for verification, and how many copies each is known to hold. */
  private readonly listing = new Set<string>();
  private verifiedPerVault: Map<string, number> | undefined;
  private readonly unknownSince = new Map<number, number>();
  private readonly missingSweeps = new Map<string, number>();
  private awsInFlight: number | undefined;
  private startedSinceSweep = 0;
  private lastSweepAt: number | undefined;
  private nextSweepAt = 0;
  private completeWatermark: number | undefined;
  private meanJobMs: number | undefined;
  private submitPausedUntil = 0;
  private throttleStreak = 0;
  private wake: (() => void) | undefined;
  private readonly stats = { started: 0, finished: 0, verified: 0, quotaRejections: 0, throttled: 0 };
  /** Measured copies for the forecast: duration against size, per resource type. */
  readonly samples = new JobSamples();

  constructor(private readonly options: CopyPhaseOptions) {
    this.now = options.now ?? Date.now;
    this.crash = options.crash ?? new CrashPoints();
    this.window = new CopyWindow(options.config.copy.maxInFlight);
  }

  /** Jobs the forecast may assume in flight: the window, or the quota AWS showed if that is lower. */
  get concurrency(): number {
    return Math.min(this.window.limit, this.window.learnedQuota ?? Number.POSITIVE_INFINITY);
  }

  /** `rpctl set max-in-flight N`. */
  setMaxInFlight(n: number): void {
    this.window.setMax(n);
    this.poke();
  }

  status(): CopyEngineStatus {
    const queue = this.queue;
    const canaries = { pending: 0, probing: 0, open: 0, failed: 0 };
    if (queue) {
      const rows = this.options.store.sqlite
        .prepare('SELECT state, count(*) AS n FROM copy_combos GROUP BY state')
        .all() as { state: keyof typeof canaries; n: number }[];
      for (const r of rows) canaries[r.state] = r.n;
    }
    const q = queue ?? new CopyQueue(this.options.store, this.options.runId);
    return {
      window: this.window.limit,
      maxInFlight: this.window.max,
      learnedQuota: this.window.learnedQuota ?? null,
      awsInFlight: this.awsInFlight ?? null,
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

  private counters(): Record<string, number> {
    const rows = this.options.store.sqlite.prepare('SELECT name, n FROM status_counters').all() as {
      name: string;
      n: number;
    }[];
    return Object.fromEntries(rows.map((r) => [r.name, r.n]));
  }

  /** Jobs in flight, the larger of our own count and AWS's (from the last sweep plus what we started since). */
  private inFlight(): number {
    const c = this.counters();
    const local = (c['item:submitting'] ?? 0) + (c['item:submitted'] ?? 0);
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
      markReconciled(queue, this.now());
      journal.record('info', 'copy.started', 'copy phase started', {
        maxInFlight: this.window.max,
        ...this.openSummary(),
      });

      while (!signal.aborted) {
        await this.options.gate?.wait(signal);
        if (this.now() >= this.nextSweepAt) {
          // A failed look at AWS's listings loses nothing: the next sweep asks again.
          await context.track(this.sweep(signal)).catch((err: unknown) => {
            if (signal.aborted) throw err;
            log.warn('could not read the copy jobs from AWS; trying again shortly', { error: err });
            this.nextSweepAt = this.now() + INITIAL_SWEEP_MS;
          });
        }
        await this.settleDueUnknowns(context);
        this.driveCanaries(context);
        this.fill(context);
        this.verifySome(context);
        const c = this.counters();
        const open =
          (c['item:queued'] ?? 0) +
          (c['item:submitting'] ?? 0) +
          (c['item:submitted'] ?? 0) +
          (c['item:completed'] ?? 0);
        if (open === 0 && this.submitting.size === 0 && this.verifying.size === 0) {
          markReconciled(queue, this.now());
          journal.record('info', 'copy.done', 'every planned point has reached a final state', {
            ...this.stats,
            failed: c['item:failed'] ?? 0,
            verified: c['item:verified'] ?? 0,
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
      queued: c['item:queued'] ?? 0,
      inFlight: (c['item:submitting'] ?? 0) + (c['item:submitted'] ?? 0),
      completed: c['item:completed'] ?? 0,
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

  // --- submitting -------------------------------------------------------------------------------------------------

  private fill(context: PhaseContext): void {
    const queue = this.queue as CopyQueue;
    if (context.signal.aborted || this.options.gate?.paused || this.now() < this.submitPausedUntil) return;
    if (this.options.startAllowed && !this.options.startAllowed()) return;
    const slots = Math.min(this.window.limit - this.inFlight(), MAX_CONCURRENT_SUBMITS - this.submitting.size);
    if (slots <= 0) return;
    for (const candidate of queue.claimable(slots, this.now())) this.submit(candidate, context);
  }

  private driveCanaries(context: PhaseContext): void {
    const queue = this.queue as CopyQueue;
    if (context.signal.aborted || this.options.gate?.paused || this.now() < this.submitPausedUntil) return;
    if (this.options.startAllowed && !this.options.startAllowed()) return;
    const now = this.now();
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
          if (this.inFlight() >= this.window.limit || this.submitting.size >= MAX_CONCURRENT_SUBMITS) return;
          const candidate = queue.canaryCandidate(combo.id, now, combo.canaryPointId);
          if (candidate) this.submit(candidate, context);
          continue;
        }
        if (item && ['submitting', 'submitted', 'completed'].includes(item.state)) continue;
        // The canary was re-planned away: choose another.
        queue.setComboState(combo.id, 'pending', null, null, now);
      }
      if (this.inFlight() >= this.window.limit || this.submitting.size >= MAX_CONCURRENT_SUBMITS) return;
      const candidate = queue.canaryCandidate(combo.id, now);
      if (!candidate) continue;
      queue.setComboState(combo.id, 'probing', candidate.pointId, null, now);
      this.options.log.info('canary copy', { combo: label, point: candidate.pointArn });
      this.submit(candidate, context);
    }
  }

  private submit(c: CopyCandidate, context: PhaseContext): void {
    const queue = this.queue as CopyQueue;
    const attempt = Math.max(1, c.attempt);
    const token = idempotencyToken(c.pointArn, c.destinationVaultArn, attempt);
    if (!queue.markIntent(c, token, this.now(), LEASE_MS)) return;
    this.submitting.add(c.pointId);
    this.crash.reached('after-intent');
    const work = this.startJob(c, token, context.signal).finally(() => {
      this.submitting.delete(c.pointId);
      this.poke();
    });
    void context.track(work).catch((err: unknown) => {
      this.options.log.error('submitting a copy job failed unexpectedly', { pointId: c.pointId, error: err });
    });
  }

  private async startJob(c: CopyCandidate, token: string, signal: AbortSignal): Promise<void> {
    const queue = this.queue as CopyQueue;
    const { config, port, log } = this.options;
    const lifecycle = {
      ...(c.lifecycleDeleteAfterDays !== null ? { deleteAfterDays: c.lifecycleDeleteAfterDays } : {}),
      ...(c.lifecycleColdAfterDays !== null ? { moveToColdStorageAfterDays: c.lifecycleColdAfterDays } : {}),
    };
    try {
      const out = await port.call(
        'source',
        'startCopyJob',
        {
          recoveryPointArn: c.pointArn,
          sourceVaultName: c.sourceVaultName,
          destinationVaultArn: c.destinationVaultArn,
          iamRoleArn: config.source.copyRoleArn,
          idempotencyToken: token,
          ...(Object.keys(lifecycle).length > 0 ? { lifecycle } : {}),
        },
        signal,
        { noRetry: true },
      );
      this.crash.reached('after-start-call');
      queue.recordStarted(c.pointId, c.attempt, out.copyJobId, out.creationDate ?? this.now(), this.now());
      this.crash.reached('after-record-start');
      this.window.onStarted();
      this.throttleStreak = 0;
      this.startedSinceSweep += 1;
      this.stats.started += 1;
    } catch (err) {
      const now = this.now();
      if (!(err instanceof AwsCallError)) {
        if (signal.aborted) {
          // Stopped while waiting for the pause gate or the rate limiter: the request was never sent.
          queue.recordDeferred(c.pointId, c.attempt, 'Stopped', 'stopped before the request was sent', now, now);
          return;
        }
        queue.recordUnknown(c.pointId, c.attempt, 'Error', String((err as Error)?.message ?? err));
        this.unknownSince.set(c.pointId, now);
        return;
      }
      const { failure } = err;
      if (failure.kind === 'quota') {
        this.stats.quotaRejections += 1;
        this.window.onQuotaExceeded(this.inFlight() - 1);
        queue.recordDeferred(c.pointId, c.attempt, failure.name, failure.message, now + 2_000, now);
        log.info('the copy-job quota is full; narrowing the window', { window: this.window.limit });
        return;
      }
      if (failure.kind === 'throttle') {
        this.stats.throttled += 1;
        this.window.onThrottled();
        this.throttleStreak += 1;
        const backoff = Math.min(30_000, 500 * 2 ** Math.min(this.throttleStreak, 6)) * (0.5 + Math.random() / 2);
        this.submitPausedUntil = Math.max(this.submitPausedUntil, now + backoff);
        queue.recordDeferred(c.pointId, c.attempt, failure.name, failure.message, now + backoff, now);
        return;
      }
      if (failure.kind === 'transient' && failure.outcomeUnknown) {
        // The request may have been applied: reconciliation decides, never a blind resend.
        queue.recordUnknown(c.pointId, c.attempt, failure.name, failure.message);
        this.unknownSince.set(c.pointId, now);
        log.warn('StartCopyJob outcome unknown; reconciling before any resend', {
          point: c.pointArn,
          error: failure.name,
        });
        return;
      }
      const verdict = classifyStartRejection(failure);
      queue.recordRejected(c.pointId, c.attempt, verdict, failure.name, failure.message, now);
      this.crash.reached('after-record-finish');
    }
  }

  private async settleDueUnknowns(context: PhaseContext): Promise<void> {
    if (this.unknownSince.size === 0) return;
    const queue = this.queue as CopyQueue;
    const now = this.now();
    for (const item of queue.unknownItems()) {
      if (this.submitting.has(item.pointId)) continue;
      const since = this.unknownSince.get(item.pointId);
      if (since !== undefined && now - since < UNKNOWN_SETTLE_DELAY_MS) continue;
      try {
        await context.track(settleUnknown(this.reconcileContext(context.signal), item));
        this.unknownSince.delete(item.pointId);
      } catch (err) {
        if (context.signal.aborted) throw err;
        // Still unknown: look again later; never resend without knowing.
        this.unknownSince.set(item.pointId, now);
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
      ...(await listCopyJobs(port, { state: 'CREATED' }, signal)),
      ...(await listCopyJobs(port, { state: 'RUNNING' }, signal)),
    ];
    this.awsInFlight = active.length;
    this.startedSinceSweep -= startedBefore;
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
      );
      let newest = this.completeWatermark;
      for (const job of finished) {
        if (job.completionDate !== null && job.completionDate > newest) newest = job.completionDate;
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
          const { job } = await port.call('source', 'describeCopyJob', { copyJobId: item.copyJobId }, signal);
          if (ACTIVE_JOB_STATES.has(job.state)) queue.recordJobState(item.pointId, job.state, this.now());
          else this.finish(item.pointId, job);
        } catch (err) {
          if (signal.aborted) throw err;
          this.options.log.warn('could not describe a copy job; asking again later', {
            copyJobId: item.copyJobId,
            error: err,
          });
        }
      }
    } else {
      this.completeWatermark = Math.max(this.completeWatermark, this.now() - COMPLETE_OVERLAP_MS);
    }
    this.lastSweepAt = this.now();
    const interval =
      this.meanJobMs === undefined
        ? INITIAL_SWEEP_MS
        : Math.min(MAX_SWEEP_MS, Math.max(MIN_SWEEP_MS, this.meanJobMs * SWEEP_SHARE_OF_JOB));
    this.nextSweepAt = this.now() + interval;
    markReconciled(queue, this.now());
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
    // Many copies waiting in one vault: one listing verifies them all, for a fraction of the calls.
    for (const { vault, n } of queue.completedBacklog()) {
      if (this.listing.has(vault)) continue;
      const pages = Math.ceil(((this.verifiedPerVault.get(vault) ?? 0) + n) / 1000);
      if (n < Math.max(MIN_LISTING_BACKLOG, LISTING_ADVANTAGE * pages)) continue;
      this.listing.add(vault);
      const work = this.verifyByListing(vault, context.signal).finally(() => {
        this.listing.delete(vault);
        this.poke();
      });
      void context.track(work).catch((err: unknown) => {
        if (!context.signal.aborted) {
          this.options.log.warn('could not list a destination vault to verify copies; trying again', {
            vault,
            error: err,
          });
        }
      });
    }
    const free = MAX_CONCURRENT_VERIFIES - this.verifying.size;
    if (free <= 0) return;
    const now = this.now();
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
      if (item.destinationPointArn && !this.verifying.has(item.pointId)) waiting.set(item.destinationPointArn, item);
    }
    let listed = 0;
    let nextToken: string | undefined;
    do {
      const page = await this.options.port.call(
        'destination',
        'listRecoveryPoints',
        { vaultName: vault, pageSize: 1000, ...(nextToken ? { nextToken } : {}) },
        signal,
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

  private retryVerify(item: CompletedItem, why: string): void {
    const tries = (this.verifyRetries.get(item.pointId)?.tries ?? 0) + 1;
    if (tries >= VERIFY_ATTEMPTS) {
      this.verifyRetries.delete(item.pointId);
      (this.queue as CopyQueue).recordVerificationFailed(item.pointId, why, this.now());
      return;
    }
    this.verifyRetries.set(item.pointId, { tries, at: this.now() + 5_000 * 2 ** tries });
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
      this.verifyRetries.set(item.pointId, {
        tries: this.verifyRetries.get(item.pointId)?.tries ?? 0,
        at: this.now() + 10_000,
      });
      this.options.log.warn('could not verify a copy yet', { pointId: item.pointId, error: err });
    }
  }
}
