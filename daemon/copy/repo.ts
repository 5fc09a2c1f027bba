// The copy queue: the copy engine's SQL, and the only module that writes copy_items, copy_attempts,
// copy_combos and copy_checkpoints (the plan's decisions and reset's requeues are the functions at the end).
// Every state change of an item is one
// short synchronous transaction on the main thread (the store's only writer),
// so a crash between two of them leaves a state the next start can read:
//
//   queued ──intent──▶ submitting ──job id──▶ submitted ──job COMPLETED──▶ completed ──verified──▶ verified
//     ▲                   │  (outcome unknown: reconciliation settles it)        │
//     └── quota/throttle ─┘                                                      └─ job FAILED: queued again with
//         (same attempt, same token)                                                 a new attempt (transient) or
//                                                                                    failed (permanent)
//
// The resource chain: AWS runs one copy job per resource at a time and a
// resource's first copy into a vault is full, later ones incremental, so a
// point is claimable only when no other point of its resource is in flight
// and no older point of its resource is still waiting (oldest first).

import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Statement } from 'better-sqlite3';
import type { CopyJobSummary } from '../aws/operations.js';
import type { Store } from '../store/store.js';
import { FAILURE_REASONS, type FailureReason, type FailureVerdict } from './failures.js';

/** A point ready to be submitted, with everything StartCopyJob needs. */
export interface CopyCandidate {
  pointId: number;
  pointArn: string;
  sourceVaultName: string;
  resourceArn: string;
  resourceType: string;
  destinationVaultName: string;
  destinationVaultArn: string;
  attempt: number;
  lifecycleDeleteAfterDays: number | null;
  lifecycleColdAfterDays: number | null;
  comboId: number;
  sizeBytes: number | null;
  /** The source point as the inventory last saw it, checked again when the point is claimed. */
  creationDate: number;
  pointStatus: string;
  deleteAt: number | null;
  moveToColdAt: number | null;
  goneAt: number | null;
}

export interface SubmittedItem {
  pointId: number;
  pointArn: string;
  copyJobId: string;
  jobState: string | null;
  submittedAt: number | null;
  attempt: number;
  comboId: number | null;
}

export interface UnknownItem {
  pointId: number;
  pointArn: string;
  destinationVaultArn: string | null;
  attempt: number;
  intentAt: number | null;
}

/** A point's copy item as start-up reconciliation matches it to the jobs AWS lists. */
export interface ItemByPointArn {
  pointId: number;
  state: string;
  attempt: number;
  copyJobId: string | null;
  submittedAt: number | null;
  destinationVaultArn: string | null;
}

export interface CompletedItem {
  pointId: number;
  destinationVaultName: string;
  destinationPointArn: string;
  lifecycleDeleteAfterDays: number | null;
  lifecycleColdAfterDays: number | null;
}

export interface ComboRow {
  id: number;
  sourceVaultName: string;
  resourceType: string;
  encryptionKeyArn: string;
  state: 'pending' | 'probing' | 'open' | 'failed';
  canaryPointId: number | null;
  detail: string | null;
}

/** Attempts of one point before a transient failure counts as permanent. */
const MAX_ATTEMPTS = 4;
// Points whose combination and chain weight are computed per transaction at the start of the copy phase.
const PREPARE_CHUNK = 5_000;
// A rough prior of one job's duration (aws-backup.md §1.5: minutes to hours, no SLA): ten minutes plus size at
// 100 MB/s. Only the order of chains depends on it.
const JOB_SECONDS_SQL = '(600 + coalesce(p.size_bytes, 0) / 100000000)';

const CANDIDATE_COLUMNS = `i.point_id AS pointId, p.arn AS pointArn, p.vault_name AS sourceVaultName,
  i.resource_arn AS resourceArn, p.resource_type AS resourceType, i.destination_vault_name AS destinationVaultName,
  d.arn AS destinationVaultArn, i.attempt, i.lifecycle_delete_after_days AS lifecycleDeleteAfterDays,
  i.lifecycle_cold_after_days AS lifecycleColdAfterDays, i.combo_id AS comboId, p.size_bytes AS sizeBytes,
  p.creation_date AS creationDate, p.status AS pointStatus, p.delete_at AS deleteAt, p.move_to_cold_at AS moveToColdAt,
  p.gone_at AS goneAt`;

// Nothing else of its resource is in flight, and no older point of its resource waits before it. The
// `o.state IN (...)` term is implied by the rest; it is spelled out as the chain index's own WHERE, or SQLite
// would not use that partial index.
const CHAIN_HEAD = `NOT EXISTS (
  SELECT 1 FROM copy_items o WHERE o.resource_arn = i.resource_arn AND o.point_id <> i.point_id
    AND o.state IN ('queued', 'submitting', 'submitted')
    AND (o.state IN ('submitting', 'submitted')
      OR (o.state = 'queued' AND (o.creation_date < i.creation_date
        OR (o.creation_date = i.creation_date AND o.point_id < i.point_id)))))`;

const USABLE_VAULT = `d.arn IS NOT NULL AND d.state IN ('created', 'existing')`;

/** Queued chain heads, ready at @now and passing `filter`, in `order`, walking the given index. */
function chainHeads(index: string, filter: string, limit: string, order = 'i.chain_weight DESC, i.point_id'): string {
  return `SELECT ${CANDIDATE_COLUMNS}
    FROM copy_items i INDEXED BY ${index} JOIN recovery_points p ON p.id = i.point_id
    JOIN destination_vaults d ON d.source_vault_name = p.vault_name
    WHERE i.state = 'queued' AND (i.next_attempt_at IS NULL OR i.next_attempt_at <= @now)
      AND ${filter} AND ${USABLE_VAULT} AND ${CHAIN_HEAD}
    ORDER BY ${order}
    LIMIT ${limit}`;
}

/** The claim: the heaviest open chain heads ready at @now, at most @limit (the copy phase's hot query). */
export const CLAIMABLE_SQL = chainHeads(
  'copy_items_claim_idx',
  `i.combo_id IN (SELECT id FROM copy_combos WHERE state = 'open')`,
  '@limit',
);

// A completed item as verification needs it; completedItems and completedInVault add their own order or vault.
const COMPLETED_ITEM = `SELECT point_id AS pointId, destination_vault_name AS destinationVaultName,
    destination_point_arn AS destinationPointArn, lifecycle_delete_after_days AS lifecycleDeleteAfterDays,
    lifecycle_cold_after_days AS lifecycleColdAfterDays
  FROM copy_items WHERE state = 'completed'`;

/** The queue's statements by SQL text, prepared once per store connection (the texts are constants). */
const statementsByStore = new WeakMap<Store['sqlite'], Map<string, Statement>>();

export class CopyQueue {
  private readonly sqlite: Store['sqlite'];
  private readonly statements: Map<string, Statement>;

  constructor(
    store: Store,
    private readonly runId: number,
  ) {
    this.sqlite = store.sqlite;
    let statements = statementsByStore.get(store.sqlite);
    if (!statements) {
      statements = new Map();
      statementsByStore.set(store.sqlite, statements);
    }
    this.statements = statements;
  }

  /** The cached statement for `sql`, typed by the row its SELECT returns (Row names the SELECT's aliases). */
  private statement<Row = unknown>(sql: string): Statement<unknown[], Row> {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.sqlite.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement as Statement<unknown[], Row>;
  }

  private tx<T>(fn: () => T): T {
    return this.sqlite.transaction(fn).immediate();
  }

  /**
   * Before the copy phase: items whose destination vault is unusable fail (and come back by themselves once it
   * is), items get their canary combination and chain weight. Chunked so `rpctl status` answers meanwhile.
   */
  async prepare(now: number): Promise<{ vaultUnavailable: number; vaultRecovered: number }> {
    const vaultRecovered = this.tx(
      () =>
        this.statement(
          `UPDATE copy_items SET state = 'queued', failure_kind = NULL, failure_reason = NULL, error_code = NULL,
               error_message = NULL, next_attempt_at = NULL, updated_at = @now
             WHERE state = 'failed' AND failure_reason = 'destination_vault_unavailable' AND point_id IN (
               SELECT i.point_id FROM copy_items i JOIN recovery_points p ON p.id = i.point_id
               JOIN destination_vaults d ON d.source_vault_name = p.vault_name
               WHERE i.state = 'failed' AND i.failure_reason = 'destination_vault_unavailable' AND ${USABLE_VAULT})`,
        ).run({ now }).changes,
    );
    const vaultUnavailable = this.tx(
      () =>
        this.statement(
          `UPDATE copy_items SET state = 'failed', failure_kind = 'permanent',
               failure_reason = 'destination_vault_unavailable', error_code = 'DestinationVaultUnavailable',
               error_message = (SELECT 'destination vault ' || coalesce(d.name, p.vault_name) || ' is '
                 || coalesce(d.state, 'missing') || ' (rpctl compliance says why)' FROM recovery_points p
                 LEFT JOIN destination_vaults d ON d.source_vault_name = p.vault_name WHERE p.id = copy_items.point_id),
               updated_at = @now
             WHERE state = 'queued' AND point_id IN (
               SELECT i.point_id FROM copy_items i JOIN recovery_points p ON p.id = i.point_id
               LEFT JOIN destination_vaults d ON d.source_vault_name = p.vault_name
               WHERE i.state = 'queued' AND NOT coalesce(${USABLE_VAULT}, 0))`,
        ).run({ now }).changes,
    );

    const { lo, hi } = this.statement<{ lo: number | null; hi: number | null }>(
      `SELECT min(point_id) AS lo, max(point_id) AS hi FROM copy_items WHERE state = 'queued'`,
    ).get()!;
    if (lo !== null && hi !== null) {
      const addCombos = this.statement(
        `INSERT INTO copy_combos (source_vault_name, resource_type, encryption_key_arn)
         SELECT DISTINCT p.vault_name, p.resource_type, coalesce(p.encryption_key_arn, '')
         FROM copy_items i JOIN recovery_points p ON p.id = i.point_id
         WHERE i.state = 'queued' AND i.combo_id IS NULL AND i.point_id BETWEEN @from AND @to
         ON CONFLICT DO NOTHING`,
      );
      const setCombos = this.statement(
        `UPDATE copy_items SET combo_id = (
           SELECT c.id FROM recovery_points p JOIN copy_combos c ON c.source_vault_name = p.vault_name
             AND c.resource_type = p.resource_type AND c.encryption_key_arn = coalesce(p.encryption_key_arn, '')
           WHERE p.id = copy_items.point_id)
         WHERE state = 'queued' AND combo_id IS NULL AND point_id BETWEEN @from AND @to`,
      );
      // Work left in the chain from this point on (itself included): the head carries its whole chain.
      const setWeights = this.statement(
        `UPDATE copy_items SET chain_weight = (
           SELECT coalesce(sum(${JOB_SECONDS_SQL}), 0) FROM copy_items o JOIN recovery_points p ON p.id = o.point_id
           WHERE o.resource_arn = copy_items.resource_arn AND o.state IN ('queued', 'submitting', 'submitted')
             AND (o.creation_date > copy_items.creation_date
               OR (o.creation_date = copy_items.creation_date AND o.point_id >= copy_items.point_id)))
         WHERE state = 'queued' AND point_id BETWEEN @from AND @to`,
      );
      for (let from = lo; from <= hi; from += PREPARE_CHUNK) {
        const range = { from, to: from + PREPARE_CHUNK - 1 };
        this.tx(() => {
          addCombos.run(range);
          setCombos.run(range);
          setWeights.run(range);
        });
        await yieldToEventLoop();
      }
    }
    // A combination whose canary failed holds its points until the operator retries it.
    this.tx(() =>
      this.statement(
        `UPDATE copy_items SET state = 'failed', failure_kind = 'permanent', failure_reason = 'canary_failed',
             error_code = 'CanaryFailed', error_message = (SELECT c.detail FROM copy_combos c WHERE c.id = copy_items.combo_id),
             updated_at = @now
           WHERE state = 'queued' AND combo_id IN (SELECT id FROM copy_combos WHERE state = 'failed')`,
      ).run({ now }),
    );
    return { vaultUnavailable, vaultRecovered };
  }

  /**
   * Chain heads of open combinations, ready now, heaviest chain first. The index is forced: without statistics
   * SQLite would pick the (state, next_attempt_at) index and sort every queued item on each claim, seconds at a
   * million points; walking the claim index in weight order stops after `limit` heads.
   */
  claimable(limit: number, now: number): CopyCandidate[] {
    if (limit <= 0) return [];
    return this.statement<CopyCandidate>(CLAIMABLE_SQL).all({ now, limit });
  }

  /**
   * The canary of one combination (or the given point if it is still claimable): a chain head unlikely to fail
   * for its own reasons, so its verdict speaks for the combination. Points expiring before `safeUntil`, gone or
   * not COMPLETED come last; then the smallest, whose verdict comes soonest (a 2 TB canary would hold the whole
   * combination for hours).
   */
  canaryCandidate(comboId: number, now: number, safeUntil: number, pointId?: number): CopyCandidate | undefined {
    return this.statement<CopyCandidate>(
      chainHeads(
        'copy_items_combo_idx',
        'i.combo_id = @comboId AND (@pointId IS NULL OR i.point_id = @pointId)',
        '1',
        `(p.gone_at IS NOT NULL OR p.status NOT IN ('COMPLETED', 'AVAILABLE')
             OR coalesce(p.delete_at < @safeUntil, 0)), coalesce(p.size_bytes, 0), i.point_id`,
      ),
    ).get({ now, comboId, safeUntil, pointId: pointId ?? null });
  }

  /**
   * Commit the intent before calling StartCopyJob: state submitting, the attempt and its token, a ledger row.
   * Returns false if the item is no longer queued (re-planned, or claimed meanwhile).
   */
  markIntent(c: CopyCandidate, token: string, now: number, leaseMs: number): boolean {
    return this.tx(() => {
      const attempt = Math.max(1, c.attempt);
      const changed = this.statement(
        `UPDATE copy_items SET state = 'submitting', attempt = @attempt, idempotency_token = @token,
             lease_owner = @owner, lease_expires_at = @expires, updated_at = @now
           WHERE point_id = @pointId AND state = 'queued'`,
      ).run({ pointId: c.pointId, attempt, token, owner: `run-${this.runId}`, expires: now + leaseMs, now }).changes;
      if (changed === 0) return false;
      this.statement(
        `INSERT INTO copy_attempts (point_id, attempt, run_id, idempotency_token, destination_vault_arn, intent_at)
           VALUES (@pointId, @attempt, @runId, @token, @vaultArn, @now)
           ON CONFLICT (point_id, attempt) DO UPDATE SET run_id = excluded.run_id, intent_at = excluded.intent_at,
             outcome = 'pending', error_code = NULL, error_message = NULL`,
      ).run({ pointId: c.pointId, attempt, runId: this.runId, token, vaultArn: c.destinationVaultArn, now });
      c.attempt = attempt;
      return true;
    });
  }

  /** StartCopyJob answered: the job exists. */
  recordStarted(pointId: number, attempt: number, copyJobId: string, createdAt: number, now: number): void {
    this.tx(() => {
      this.statement(
        `UPDATE copy_items SET state = 'submitted', copy_job_id = @copyJobId, job_state = 'CREATED',
             submitted_at = @createdAt, lease_owner = NULL, lease_expires_at = NULL, updated_at = @now
           WHERE point_id = @pointId AND state = 'submitting'`,
      ).run({ pointId, copyJobId, createdAt, now });
      this.statement(
        `UPDATE copy_attempts SET outcome = 'started', copy_job_id = @copyJobId
           WHERE point_id = @pointId AND attempt = @attempt`,
      ).run({ pointId, attempt, copyJobId });
    });
  }

  /** StartCopyJob refused for now (quota, throttling): nothing was created; the same attempt goes again later. */
  recordDeferred(pointId: number, attempt: number, code: string, message: string, retryAt: number, now: number): void {
    this.tx(() => {
      this.statement(
        `UPDATE copy_items SET state = 'queued', next_attempt_at = @retryAt, lease_owner = NULL,
             lease_expires_at = NULL, updated_at = @now
           WHERE point_id = @pointId AND state = 'submitting'`,
      ).run({ pointId, retryAt, now });
      this.markAttempt(pointId, attempt, 'rejected', code, message);
    });
  }

  /** StartCopyJob's outcome is unknown (timeout, reset after sending): the item stays submitting. */
  recordUnknown(pointId: number, attempt: number, code: string, message: string): void {
    this.tx(() => this.markAttempt(pointId, attempt, 'unknown', code, message));
  }

  /** StartCopyJob refused the request definitively. */
  recordRejected(
    pointId: number,
    attempt: number,
    verdict: FailureVerdict,
    code: string,
    message: string,
    now: number,
  ): void {
    this.tx(() => {
      this.markAttempt(pointId, attempt, 'rejected', code, message);
      this.fail(pointId, attempt, verdict, code, message, now, 'submitting');
    });
  }

  /** The ledger's record of how one StartCopyJob attempt ended without a job. */
  private markAttempt(
    pointId: number,
    attempt: number,
    outcome: 'rejected' | 'unknown',
    code: string,
    message: string,
  ): void {
    this.statement(
      `UPDATE copy_attempts SET outcome = @outcome, error_code = @code, error_message = @message
         WHERE point_id = @pointId AND attempt = @attempt`,
    ).run({ pointId, attempt, outcome, code, message });
  }

  /** A finished job (or a failed attempt): retry later with a new attempt, or fail for good. */
  private fail(
    pointId: number,
    attempt: number,
    verdict: FailureVerdict,
    code: string,
    message: string,
    now: number,
    from: string,
  ): 'requeued' | 'failed' {
    const base =
      this.statement<{ base: number }>('SELECT attempt_base AS base FROM copy_items WHERE point_id = ?').get(pointId)
        ?.base ?? 0;
    const permanent = verdict.kind === 'permanent' || attempt - base >= MAX_ATTEMPTS;
    const text =
      permanent && verdict.kind === 'transient' ? `gave up after ${attempt - base} attempts: ${message}` : message;
    // Exponential backoff between attempts: 1, 2, 4 ... minutes.
    const retryAt = now + 60_000 * 2 ** Math.max(0, attempt - 1);
    this.statement(
      `UPDATE copy_items SET state = @state, failure_kind = @kind, failure_reason = @reason, error_code = @code,
           error_message = @message, attempt = @nextAttempt, next_attempt_at = @retryAt, lease_owner = NULL,
           lease_expires_at = NULL, updated_at = @now
         WHERE point_id = @pointId AND state = @from`,
    ).run({
      pointId,
      state: permanent ? 'failed' : 'queued',
      kind: permanent ? 'permanent' : 'transient',
      reason: verdict.reason,
      code,
      message: text,
      nextAttempt: permanent ? attempt : attempt + 1,
      retryAt: permanent ? null : retryAt,
      now,
      from,
    });
    return permanent ? 'failed' : 'requeued';
  }

  /** The job's state as AWS reports it while it runs. */
  recordJobState(pointId: number, jobState: string, now: number): void {
    this.tx(() =>
      this.statement(
        `UPDATE copy_items SET job_state = @jobState, updated_at = @now
           WHERE point_id = @pointId AND state = 'submitted' AND job_state IS NOT @jobState`,
      ).run({ pointId, jobState, now }),
    );
  }

  /** The job reached a terminal state. Returns what became of the item. */
  recordFinished(
    pointId: number,
    job: CopyJobSummary,
    verdict: FailureVerdict | undefined,
    now: number,
  ): 'completed' | 'requeued' | 'failed' | 'unchanged' {
    return this.tx(() => {
      const item = this.statement(`SELECT attempt, state FROM copy_items WHERE point_id = ? AND copy_job_id = ?`).get(
        pointId,
        job.copyJobId,
      ) as { attempt: number; state: string } | undefined;
      if (item?.state !== 'submitted') return 'unchanged';
      if (job.state === 'COMPLETED') {
        this.statement(
          `UPDATE copy_items SET state = 'completed', job_state = 'COMPLETED', destination_point_arn = @arn,
               completed_at = @completedAt, failure_kind = NULL, failure_reason = NULL, error_code = NULL,
               error_message = NULL, next_attempt_at = NULL, updated_at = @now
             WHERE point_id = @pointId AND state = 'submitted'`,
        ).run({ pointId, arn: job.destinationRecoveryPointArn, completedAt: job.completionDate ?? now, now });
        return 'completed';
      }
      const v = verdict ?? { reason: 'unknown', kind: 'transient' };
      this.statement(`UPDATE copy_items SET job_state = @state WHERE point_id = @pointId`).run({
        pointId,
        state: job.state,
      });
      return this.fail(
        pointId,
        item.attempt,
        v,
        `CopyJob${job.state}`,
        job.statusMessage ?? `copy job ${job.copyJobId} ended ${job.state}`,
        now,
        'submitted',
      );
    });
  }

  recordVerified(pointId: number, now: number): void {
    this.tx(() =>
      this.statement(
        `UPDATE copy_items SET state = 'verified', verified_at = @now, updated_at = @now
           WHERE point_id = @pointId AND state = 'completed'`,
      ).run({ pointId, now }),
    );
  }

  recordVerificationFailed(pointId: number, message: string, now: number): void {
    this.tx(() =>
      this.statement(
        `UPDATE copy_items SET state = 'failed', failure_kind = 'permanent', failure_reason = 'verification_failed',
             error_code = 'VerificationFailed', error_message = @message, updated_at = @now
           WHERE point_id = @pointId AND state = 'completed'`,
      ).run({ pointId, message, now }),
    );
  }

  /**
   * Reconciliation found the job AWS has for this item's point (its own submission whose answer was lost, or a
   * job the store forgot): take it over instead of submitting again. Returns false if the item was not open.
   */
  adopt(pointId: number, job: CopyJobSummary, now: number): boolean {
    return this.tx(() => {
      const item = this.statement<{ attempt: number; state: string; copyJobId: string | null }>(
        `SELECT attempt, state, copy_job_id AS copyJobId FROM copy_items WHERE point_id = ?`,
      ).get(pointId);
      if (!item || !['queued', 'submitting', 'submitted', 'failed'].includes(item.state)) return false;
      if (item.state === 'submitted' && item.copyJobId === job.copyJobId) return false;
      const attempt = Math.max(1, item.attempt);
      this.statement(
        `UPDATE copy_items SET state = 'submitted', copy_job_id = @jobId, job_state = @jobState, attempt = @attempt,
             submitted_at = @createdAt, lease_owner = NULL, lease_expires_at = NULL, next_attempt_at = NULL,
             failure_kind = NULL, failure_reason = NULL, error_code = NULL, error_message = NULL, updated_at = @now
           WHERE point_id = @pointId`,
      ).run({ pointId, jobId: job.copyJobId, jobState: job.state, attempt, createdAt: job.creationDate ?? now, now });
      this.statement(
        `INSERT INTO copy_attempts (point_id, attempt, run_id, idempotency_token, destination_vault_arn, intent_at,
             copy_job_id, outcome)
           VALUES (@pointId, @attempt, @runId, '(adopted)', @vaultArn, @now, @jobId, 'reconciled')
           ON CONFLICT (point_id, attempt) DO UPDATE SET copy_job_id = excluded.copy_job_id, outcome = 'reconciled'`,
      ).run({
        pointId,
        attempt,
        runId: this.runId,
        vaultArn: job.destinationVaultArn ?? '',
        now,
        jobId: job.copyJobId,
      });
      return true;
    });
  }

  /**
   * Before a new attempt, the copy was found in the destination vault (an earlier attempt made it, or a copy
   * older than this store): take it over as this item's copy, to be verified; nothing is submitted.
   */
  adoptCopy(pointId: number, destinationPointArn: string, now: number): boolean {
    return this.tx(
      () =>
        this.statement(
          `UPDATE copy_items SET state = 'completed', destination_point_arn = @arn, completed_at = @now,
               lease_owner = NULL, lease_expires_at = NULL, next_attempt_at = NULL, failure_kind = NULL,
               failure_reason = NULL, error_code = NULL, error_message = NULL, updated_at = @now
             WHERE point_id = @pointId AND state = 'queued'`,
        ).run({ pointId, arn: destinationPointArn, now }).changes > 0,
    );
  }

  /** What findExistingCopy needs to look for this item's copy in its destination vault. */
  copyTarget(
    pointId: number,
  ): { destinationVaultName: string; resourceArn: string; resourceType: string; creationDate: number } | undefined {
    return this.statement<{
      destinationVaultName: string;
      resourceArn: string;
      resourceType: string;
      creationDate: number;
    }>(
      `SELECT i.destination_vault_name AS destinationVaultName, i.resource_arn AS resourceArn,
           p.resource_type AS resourceType, p.creation_date AS creationDate
         FROM copy_items i JOIN recovery_points p ON p.id = i.point_id
         WHERE i.point_id = ? AND i.destination_vault_name IS NOT NULL`,
    ).get(pointId);
  }

  /**
   * AWS no longer knows the submitted job: its copy, if found, completes the item; otherwise the attempt failed
   * (transient: the point is tried again with a new attempt).
   */
  recordJobLost(
    pointId: number,
    copyJobId: string,
    destinationPointArn: string | null,
    now: number,
  ): 'completed' | 'requeued' | 'failed' | 'unchanged' {
    return this.tx(() => {
      const item = this.statement<{ attempt: number }>(
        `SELECT attempt FROM copy_items WHERE point_id = ? AND copy_job_id = ? AND state = 'submitted'`,
      ).get(pointId, copyJobId);
      if (!item) return 'unchanged';
      if (destinationPointArn !== null) {
        this.statement(
          `UPDATE copy_items SET state = 'completed', destination_point_arn = @arn, completed_at = @now,
               updated_at = @now WHERE point_id = @pointId AND state = 'submitted'`,
        ).run({ pointId, arn: destinationPointArn, now });
        return 'completed';
      }
      return this.fail(
        pointId,
        item.attempt,
        { reason: 'internal_error', kind: 'transient' },
        'CopyJobNotFound',
        `AWS no longer knows copy job ${copyJobId} and its copy is not in the destination vault`,
        now,
        'submitted',
      );
    });
  }

  /** A queued item waits until `retryAt` (something it needs before its attempt could not be looked up). */
  deferQueued(pointId: number, retryAt: number, now: number): void {
    this.tx(() =>
      this.statement(
        `UPDATE copy_items SET next_attempt_at = @retryAt, updated_at = @now WHERE point_id = @pointId AND state = 'queued'`,
      ).run({ pointId, retryAt, now }),
    );
  }

  /** At claim time the source point is no longer worth copying (it expires soon, went cold, or is gone). */
  skipAtClaim(
    pointId: number,
    reason: 'expiring_before_copy' | 'cold_storage' | 'point_gone' | 'status_not_completed',
    now: number,
  ): boolean {
    return this.tx(
      () =>
        this.statement(
          `UPDATE copy_items SET state = 'skipped', skip_reason = @reason, next_attempt_at = NULL, updated_at = @now
             WHERE point_id = @pointId AND state = 'queued'`,
        ).run({ pointId, reason, now }).changes > 0,
    );
  }

  /**
   * Copies already in the destination vault that no attempt of this store made (made before the store existed,
   * or by another tool): points never attempted whose resource, creation date and type match one are skipped as
   * already_copied (a copy keeps its source's creation date). Returns how many were skipped.
   */
  skipAlreadyCopied(
    vaultName: string,
    copies: readonly { arn: string; resourceArn: string; resourceType: string; creationDate: number }[],
    now: number,
  ): number {
    const skip = this.statement(
      `UPDATE copy_items SET state = 'skipped', skip_reason = 'already_copied', destination_point_arn = @arn,
         updated_at = @now
       WHERE resource_arn = @resourceArn AND state IN ('queued', 'submitting', 'submitted') AND state = 'queued'
         AND attempt = 0 AND creation_date = @creationDate AND destination_vault_name = @vaultName
         AND (SELECT resource_type FROM recovery_points WHERE id = copy_items.point_id) = @resourceType`,
    );
    return this.tx(() => {
      let skipped = 0;
      for (const c of copies) skipped += skip.run({ ...c, vaultName, now }).changes;
      return skipped;
    });
  }

  /** Reconciliation found no job for an unknown outcome: submit again with the same attempt (the same token). */
  requeueUnknown(pointId: number, now: number): void {
    this.tx(() =>
      this.statement(
        `UPDATE copy_items SET state = 'queued', lease_owner = NULL, lease_expires_at = NULL, updated_at = @now
           WHERE point_id = @pointId AND state = 'submitting'`,
      ).run({ pointId, now }),
    );
  }

  submittedItems(): SubmittedItem[] {
    return this.statement<SubmittedItem>(
      `SELECT i.point_id AS pointId, p.arn AS pointArn, i.copy_job_id AS copyJobId, i.job_state AS jobState,
           i.submitted_at AS submittedAt, i.attempt, i.combo_id AS comboId
         FROM copy_items i JOIN recovery_points p ON p.id = i.point_id WHERE i.state = 'submitted'`,
    ).all();
  }

  unknownItems(): UnknownItem[] {
    return this.statement<UnknownItem>(
      `SELECT i.point_id AS pointId, p.arn AS pointArn, a.destination_vault_arn AS destinationVaultArn, i.attempt,
           a.intent_at AS intentAt
         FROM copy_items i JOIN recovery_points p ON p.id = i.point_id
         LEFT JOIN copy_attempts a ON a.point_id = i.point_id AND a.attempt = i.attempt
         WHERE i.state = 'submitting'`,
    ).all();
  }

  completedItems(limit: number): CompletedItem[] {
    return this.statement<CompletedItem>(`${COMPLETED_ITEM} ORDER BY completed_at LIMIT ?`).all(limit);
  }

  /** Copies waiting for verification, per destination vault. */
  completedBacklog(): { vault: string; n: number }[] {
    return this.statement<{ vault: string; n: number }>(
      `SELECT destination_vault_name AS vault, count(*) AS n FROM copy_items WHERE state = 'completed'
         GROUP BY destination_vault_name`,
    ).all();
  }

  completedInVault(vault: string): CompletedItem[] {
    return this.statement<CompletedItem>(`${COMPLETED_ITEM} AND destination_vault_name = ?`).all(vault);
  }

  /** Verified copies per destination vault (once per run: the size of a vault's listing). */
  verifiedPerVault(): Map<string, number> {
    const rows = this.statement<{ vault: string; n: number }>(
      `SELECT destination_vault_name AS vault, count(*) AS n FROM copy_items WHERE state = 'verified'
         GROUP BY destination_vault_name`,
    ).all();
    return new Map(rows.map((r) => [r.vault, r.n]));
  }

  itemByJob(copyJobId: string): { pointId: number; state: string } | undefined {
    return this.statement<{ pointId: number; state: string }>(
      `SELECT point_id AS pointId, state FROM copy_items WHERE copy_job_id = ?`,
    ).get(copyJobId);
  }

  itemByPointArn(arn: string): ItemByPointArn | undefined {
    return this.statement<ItemByPointArn>(
      `SELECT i.point_id AS pointId, i.state, i.attempt, i.copy_job_id AS copyJobId, i.submitted_at AS submittedAt,
           d.arn AS destinationVaultArn
         FROM recovery_points p JOIN copy_items i ON i.point_id = p.id
         LEFT JOIN destination_vaults d ON d.source_vault_name = p.vault_name
         WHERE p.arn = ?`,
    ).get(arn);
  }

  /**
   * The copy jobs recorded for this point's earlier attempts. Their outcome was judged already: a failed job is why
   * the point was requeued (by a transient failure or rpctl retry), and a completed one failed verification; none of
   * them is the answer to the current attempt, so reconciliation must never take one over for it.
   */
  earlierAttemptJobIds(pointId: number, attempt: number): Set<string> {
    const rows = this.statement<{ copyJobId: string }>(
      `SELECT copy_job_id AS copyJobId FROM copy_attempts
         WHERE point_id = ? AND attempt < ? AND copy_job_id IS NOT NULL`,
    ).all(pointId, attempt);
    return new Set(rows.map((r) => r.copyJobId));
  }

  /** Every copy job this store has recorded for the point, in any attempt. */
  knownJobIds(pointId: number): Set<string> {
    const rows = this.statement<{ copyJobId: string }>(
      `SELECT copy_job_id AS copyJobId FROM copy_attempts WHERE point_id = @pointId AND copy_job_id IS NOT NULL
         UNION SELECT copy_job_id FROM copy_items WHERE point_id = @pointId AND copy_job_id IS NOT NULL`,
    ).all({ pointId });
    return new Set(rows.map((r) => r.copyJobId));
  }

  /**
   * Queued items the claim can never reach: no combination, or a destination vault that is not usable. The copy
   * phase re-prepares when it is told of requeued items, so outside that moment this is empty (checked in tests).
   */
  unclaimableQueued(): number {
    return this.statement<{ n: number }>(
      `SELECT count(*) AS n FROM copy_items i JOIN recovery_points p ON p.id = i.point_id
           LEFT JOIN destination_vaults d ON d.source_vault_name = p.vault_name
           LEFT JOIN copy_combos c ON c.id = i.combo_id
           WHERE i.state = 'queued' AND (c.id IS NULL OR NOT coalesce(${USABLE_VAULT}, 0))`,
    ).get()!.n;
  }

  /** Items not yet in a final state (skipped, verified and failed are final). */
  openCounts(now: number): { queued: number; ready: number; inFlight: number; completed: number } {
    return this.statement<{ queued: number; ready: number; inFlight: number; completed: number }>(
      `SELECT coalesce(sum(state = 'queued'), 0) AS queued,
           coalesce(sum(state = 'queued' AND (next_attempt_at IS NULL OR next_attempt_at <= @now)), 0) AS ready,
           coalesce(sum(state IN ('submitting', 'submitted')), 0) AS inFlight,
           coalesce(sum(state = 'completed'), 0) AS completed
         FROM copy_items WHERE state IN ('queued', 'submitting', 'submitted', 'completed')`,
    ).get({ now })!;
  }

  /** The earliest moment a waiting item becomes ready again. */
  nextRetryAt(): number | null {
    const row = this.statement<{ at: number | null }>(
      `SELECT min(next_attempt_at) AS at FROM copy_items WHERE state = 'queued' AND next_attempt_at IS NOT NULL`,
    ).get()!;
    return row.at;
  }

  /** Combinations whose canary has not succeeded or failed yet. */
  undecidedCombos(): ComboRow[] {
    return this.statement<ComboRow>(
      `SELECT id, source_vault_name AS sourceVaultName, resource_type AS resourceType,
           encryption_key_arn AS encryptionKeyArn, state, canary_point_id AS canaryPointId, detail
         FROM copy_combos WHERE state IN ('pending', 'probing')`,
    ).all();
  }

  itemState(pointId: number): { state: string; failureReason: string | null; errorMessage: string | null } | undefined {
    return this.statement<{ state: string; failureReason: string | null; errorMessage: string | null }>(
      `SELECT state, failure_reason AS failureReason, error_message AS errorMessage FROM copy_items WHERE point_id = ?`,
    ).get(pointId);
  }

  setComboState(
    comboId: number,
    state: ComboRow['state'],
    canaryPointId: number | null,
    detail: string | null,
    now: number,
  ): void {
    this.tx(() => {
      this.statement(
        `UPDATE copy_combos SET state = @state, canary_point_id = @canaryPointId, detail = @detail, updated_at = @now
           WHERE id = @comboId`,
      ).run({ comboId, state, canaryPointId, detail, now });
      if (state === 'failed') {
        this.statement(
          `UPDATE copy_items SET state = 'failed', failure_kind = 'permanent', failure_reason = 'canary_failed',
               error_code = 'CanaryFailed', error_message = @detail, updated_at = @now
             WHERE state = 'queued' AND combo_id = @comboId`,
        ).run({ comboId, detail, now });
      }
    });
  }

  /**
   * `rpctl retry --reason X`: failed items of that class go back to the queue with a fresh attempt count. A
   * combination whose canary failed for that reason (or any, for canary_failed) probes again first.
   */
  retry(reason: string, now: number): { requeued: number; combos: number } {
    return this.tx(() => {
      const combos = this.statement(
        `UPDATE copy_combos SET state = 'pending', canary_point_id = NULL, detail = NULL, updated_at = @now
           WHERE state = 'failed' AND (@reason = 'canary_failed' OR canary_point_id IN (
             SELECT point_id FROM copy_items WHERE state = 'failed' AND failure_reason = @reason))`,
      ).run({ reason, now }).changes;
      const requeued = this.statement(
        // A new attempt number, so a new IdempotencyToken: the old one would hand back the failed job.
        `UPDATE copy_items SET state = 'queued', attempt_base = attempt, attempt = attempt + 1, failure_kind = NULL,
             failure_reason = NULL,
             error_code = NULL, error_message = NULL, next_attempt_at = NULL, updated_at = @now
           WHERE state = 'failed' AND (failure_reason = @reason
             OR (failure_reason = 'canary_failed' AND combo_id IN (SELECT id FROM copy_combos WHERE state = 'pending')))`,
      ).run({ reason, now }).changes;
      return { requeued, combos };
    });
  }

  /** Failed items by reason, most frequent first, with one example message each. */
  failureSummary(limit = 5): { reason: string; kind: string; count: number; example: string; description: string }[] {
    const rows = this.statement<{ reason: string; kind: string; count: number; example: string | null }>(
      `SELECT coalesce(failure_reason, 'unknown') AS reason, coalesce(failure_kind, 'permanent') AS kind,
           count(*) AS count, max(error_message) AS example
         FROM copy_items INDEXED BY copy_items_failure_idx
         WHERE failure_reason IS NOT NULL AND state = 'failed' GROUP BY 1, 2 ORDER BY count DESC LIMIT ?`,
    ).all(limit);
    return rows.map((r) => ({
      ...r,
      example: r.example ?? '',
      description: FAILURE_REASONS[r.reason as FailureReason] ?? r.reason,
    }));
  }

  /** Transient failures waiting for their next attempt, by reason (shown with the permanent ones). */
  retryingSummary(): { reason: string; count: number }[] {
    return this.statement<{ reason: string; count: number }>(
      `SELECT failure_reason AS reason, count(*) AS count FROM copy_items INDEXED BY copy_items_failure_idx
         WHERE failure_reason IS NOT NULL AND state = 'queued' GROUP BY 1 ORDER BY count DESC`,
    ).all();
  }

  checkpoint(key: string): number | undefined {
    const row = this.statement<{ value: number }>('SELECT value FROM copy_checkpoints WHERE key = ?').get(key);
    return row?.value;
  }

  setCheckpoint(key: string, value: number): void {
    this.tx(() =>
      this.statement(
        'INSERT INTO copy_checkpoints (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      ).run(key, value),
    );
  }

  /** Destination vaults the copy phase writes into. */
  destinationVaults(): { name: string; arn: string }[] {
    return this.statement<{ name: string; arn: string }>(
      `SELECT d.name, d.arn FROM destination_vaults d WHERE ${USABLE_VAULT} ORDER BY d.name`,
    ).all();
  }
}

/** One id range of the plan: @from..@to, judged at @now, expiring before @expiryHorizon. */
export interface PlanRange {
  now: number;
  expiryHorizon: number;
  from: number;
  to: number;
}

/**
 * The plan's decisions, one id range per transaction. `decided` is the plan's SELECT of (id, resource_arn,
 * creation_date, lifecycle_delete_after_days, lifecycle_cold_after_days, apmid, destination_name, reason) for
 * the points of @from..@to, NULL reason meaning copy. Only items in discovered, queued or skipped (not
 * already_copied) take a new decision: an item whose copy started keeps its state. An item whose decision
 * stands is not written again. Prepared once by the caller after the temp tables `decided` reads exist.
 */
export function planDecisionRecorder(store: Store, decided: string): (range: PlanRange) => void {
  const statement = store.sqlite.prepare<PlanRange>(`
      INSERT INTO copy_items (point_id, state, skip_reason, apmid, destination_vault_name,
        lifecycle_delete_after_days, lifecycle_cold_after_days, resource_arn, creation_date, planned_at, updated_at)
      SELECT id, CASE WHEN reason IS NULL THEN 'queued' ELSE 'skipped' END, reason, apmid, destination_name,
        lifecycle_delete_after_days, lifecycle_cold_after_days, resource_arn, creation_date, @now, @now
      FROM (${decided}) AS decided
      WHERE true
      ON CONFLICT (point_id) DO UPDATE SET
        state = excluded.state, skip_reason = excluded.skip_reason, apmid = excluded.apmid,
        destination_vault_name = excluded.destination_vault_name,
        lifecycle_delete_after_days = excluded.lifecycle_delete_after_days,
        lifecycle_cold_after_days = excluded.lifecycle_cold_after_days,
        planned_at = excluded.planned_at, updated_at = excluded.updated_at
      WHERE (copy_items.state IN ('discovered', 'queued')
          OR (copy_items.state = 'skipped' AND copy_items.skip_reason IS NOT 'already_copied'))
        -- An item whose decision stands is not written again: after the drafts most of them are.
        AND (copy_items.state IS NOT excluded.state OR copy_items.skip_reason IS NOT excluded.skip_reason
          OR copy_items.apmid IS NOT excluded.apmid
          OR copy_items.destination_vault_name IS NOT excluded.destination_vault_name
          OR copy_items.lifecycle_delete_after_days IS NOT excluded.lifecycle_delete_after_days
          OR copy_items.lifecycle_cold_after_days IS NOT excluded.lifecycle_cold_after_days)`);
  return (range) => {
    store.write(() => statement.run(range));
  };
}

/** One transaction: points skipped for want of consent whose destination vault now exists are queued. */
export function queueConsentedPoints(store: Store, now: number): number {
  const usable = `SELECT p.id FROM recovery_points p JOIN destination_vaults d ON d.source_vault_name = p.vault_name
    WHERE d.arn IS NOT NULL AND d.state IN ('created', 'existing')`;
  return store.write(
    () =>
      store.sqlite
        .prepare(
          `UPDATE copy_items SET state = 'queued', skip_reason = NULL, updated_at = @now
           WHERE state = 'skipped' AND skip_reason = 'vault_needs_consent' AND point_id IN (${usable})`,
        )
        .run({ now }).changes,
  );
}

/** A transaction per vault: queued points of vaults still waiting for consent are skipped with that reason. */
export function skipPointsAwaitingConsent(store: Store, vaults: readonly string[], now: number): number {
  const skip = store.sqlite.prepare<{ now: number; vault: string }>(
    `UPDATE copy_items SET state = 'skipped', skip_reason = 'vault_needs_consent', updated_at = @now
     WHERE state = 'queued' AND point_id IN (SELECT id FROM recovery_points WHERE vault_name = @vault)`,
  );
  let skipped = 0;
  for (const vault of vaults) skipped += store.write(() => skip.run({ now, vault }).changes);
  return skipped;
}

/** Points of `vault` (all when null), as a condition on copy_items.point_id. */
const ofVault = (vault: string | null) =>
  vault === null ? '1' : 'point_id IN (SELECT id FROM recovery_points WHERE vault_name = @vault)';

/**
 * In reset's transaction: the plan decides again every point of `vault` (all when null) not yet started, and
 * with a new census of the destination (already_copied is decided from its listing). Returns the items reset.
 */
export function resetPlanDecisions(store: Store, vault: string | null, now: number): number {
  const { sqlite } = store;
  sqlite.prepare(`DELETE FROM copy_checkpoints WHERE key = 'destination_census_at'`).run();
  return sqlite
    .prepare(
      `UPDATE copy_items SET state = 'discovered', skip_reason = NULL, updated_at = @now
       WHERE state IN ('skipped', 'queued') AND attempt = 0
         AND ${ofVault(vault)}`,
    )
    .run({ vault, now }).changes;
}

/**
 * In reset's transaction: failed combinations of `vault` (all when null) probe again, and its failed points
 * go back to the queue with a new attempt (a new IdempotencyToken). Returns the items requeued.
 */
export function requeueFailed(store: Store, vault: string | null, now: number): number {
  const { sqlite } = store;
  sqlite
    .prepare(
      `UPDATE copy_combos SET state = 'pending', canary_point_id = NULL, detail = NULL, updated_at = @now
       WHERE state = 'failed' AND ${vault === null ? '1' : 'source_vault_name = @vault'}`,
    )
    .run({ vault, now });
  return sqlite
    .prepare(
      `UPDATE copy_items SET state = 'queued', attempt_base = attempt, attempt = attempt + 1,
         failure_kind = NULL, failure_reason = NULL, error_code = NULL, error_message = NULL,
         next_attempt_at = NULL, updated_at = @now
       WHERE state = 'failed' AND ${ofVault(vault)}`,
    )
    .run({ vault, now }).changes;
}
