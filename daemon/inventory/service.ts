// Inventory: every selected source vault and every recovery point in it.
//
// Guarantees:
// - Complete pagination: a vault is `done` only after a page came back with no NextToken.
// - Checkpoint per vault: a page's rows are committed in short transactions
//   and the vault's next position with the last of them, so a crash between
//   pages loses nothing and a restart continues from the last committed page
//   (re-listing a page whose rows were only partly committed). Rows are
//   upserted by ARN, so replaying a page (or restarting a vault whose token AWS
//   no longer accepts) never creates duplicates.
// - Every run of the phase lists each selected vault: in full when the vault's
//   last full pass is older than inventory.full_refresh_interval (or it never
//   had one), else incrementally. A full pass updates every point's status and
//   lifecycle and marks points that were not seen again as gone (gone_at); an
//   incremental refresh lists only points created after the last listing's
//   horizon (with an overlap) and marks nothing gone. refreshDueAt says when
//   the next full pass is due, for the pipeline to come back here then.
// - Restart-safe: whether a listing is full or incremental is stored with its
//   checkpoint (inventory_created_after), so a restart continues the same pass.
// - Vaults are listed in parallel (pages fetched and parsed on worker threads);
//   the main thread writes, in transactions of about WRITE_BUDGET_MS each.
// Source of truth: recovery_points rows, and source_vaults' inventory_* columns for progress.

import type { RecoveryPointRow, VaultSummary } from '../aws/operations.js';
import { AwsCallError, type AwsPort } from '../aws/port.js';
import type { EventJournal } from '../events.js';
import type { Logger } from '../log.js';
import type { PhaseContext, PipelinePhase } from '../pipeline.js';
import type { Store } from '../store/store.js';
import { WriteQueue } from '../store/write-queue.js';
import { matchesAny } from './glob.js';

/** How far back an incremental refresh looks before the last horizon, for clock skew and late-completing points. */
const REFRESH_OVERLAP_MS = 6 * 3_600_000;
/**
 * How long one write transaction may hold the main thread. A page is written in as many transactions as this
 * takes: the cost of a row grows with the store (its ARN lands at a random place of a growing index), so a
 * fixed row count would hold `rpctl status` for ever longer as the inventory grows.
 */
const WRITE_BUDGET_MS = 12;
/** inventory.full_refresh_interval's default. */
const DEFAULT_FULL_REFRESH_INTERVAL_MS = 86_400_000;

/**
 * When the next full pass of a selected vault is due: the oldest full pass plus the interval, now if a vault
 * never had one; undefined when no vault is selected.
 */
export function refreshDueAt(store: Store, intervalMs: number, now: number = Date.now()): number | undefined {
  const row = store.sqlite
    .prepare(
      `SELECT count(*) AS vaults, sum(inventory_full_pass_at IS NULL) AS never, min(inventory_full_pass_at) AS oldest
       FROM source_vaults WHERE selected = 1`,
    )
    .get() as { vaults: number; never: number | null; oldest: number | null };
  if (row.vaults === 0) return undefined;
  if (row.never || row.oldest === null) return now;
  return row.oldest + intervalMs;
}

export interface InventoryOptions {
  store: Store;
  port: AwsPort;
  journal: EventJournal;
  log: Logger;
  vaultPatterns: string[];
  pageSize?: number;
  /** Vaults listed at the same time. */
  parallelVaults?: number;
  /** How old a vault's last full pass may be before the next listing is full again. */
  fullRefreshIntervalMs?: number;
  now?: () => number;
}

interface VaultProgress {
  name: string;
  inventoryState: 'pending' | 'listing' | 'done';
  inventoryNextToken: string | null;
  inventoryCreatedAfter: number | null;
  inventoryStartedAt: number | null;
  inventoryCount: number;
  pointCountReported: number | null;
}

export class InventoryPhase implements PipelinePhase {
  readonly name = 'inventory' as const;
  private readonly now: () => number;
  private readonly upsertPoint;
  /** Pages from parallel vault lanes are committed one per event-loop turn (see write-queue.ts). */
  private readonly writes = new WriteQueue();
  private readonly checkpoint;

  constructor(private readonly options: InventoryOptions) {
    this.now = options.now ?? Date.now;
    const { sqlite } = options.store;
    this.upsertPoint = sqlite.prepare(`
      INSERT INTO recovery_points (
        arn, vault_name, resource_arn, resource_type, resource_name, status, status_message, creation_date,
        completion_date, size_bytes, encryption_key_arn, encryption_key_type, is_encrypted, parent_arn, is_parent,
        composite_member_identifier, lifecycle_cold_after_days, lifecycle_delete_after_days, move_to_cold_at,
        delete_at, vault_type, is_continuous, first_seen_at, last_seen_at, gone_at)
      VALUES (
        @arn, @vaultName, @resourceArn, @resourceType, @resourceName, @status, @statusMessage, @creationDate,
        @completionDate, @sizeBytes, @encryptionKeyArn, @encryptionKeyType, @isEncrypted, @parentArn, @isParent,
        @compositeMemberIdentifier, @lifecycleColdAfterDays, @lifecycleDeleteAfterDays, @moveToColdAt,
        @deleteAt, @vaultType, @isContinuous, @seenAt, @seenAt, NULL)
      ON CONFLICT (arn) DO UPDATE SET
        status = excluded.status, status_message = excluded.status_message,
        completion_date = excluded.completion_date, size_bytes = excluded.size_bytes,
        lifecycle_cold_after_days = excluded.lifecycle_cold_after_days,
        lifecycle_delete_after_days = excluded.lifecycle_delete_after_days,
        move_to_cold_at = excluded.move_to_cold_at, delete_at = excluded.delete_at,
        last_seen_at = excluded.last_seen_at, gone_at = NULL`);
    this.checkpoint = sqlite.prepare(`
      UPDATE source_vaults SET inventory_next_token = @nextToken, inventory_pages = inventory_pages + 1,
        inventory_count = inventory_count + @count WHERE name = @name`);
  }

  async run(context: PhaseContext): Promise<'done' | 'stopped'> {
    const startedAt = this.now();
    const listed = await this.listVaults(context.signal);
    // Listing points needs only the vaults' names; their lock details (DescribeBackupVault, 5/s) arrive
    // while the first pages are listed instead of before them.
    const described = context.track(this.describeVaults(listed, context.signal));
    const pending = this.vaultsToList(startedAt);
    if (pending.length > 0) {
      this.options.journal.record('info', 'inventory.started', 'listing recovery points', {
        vaults: pending.map((v) => v.name),
      });
    }
    const parallel = Math.max(1, Math.min(this.options.parallelVaults ?? 4, pending.length));
    const queue = [...pending];
    const lanes = Array.from({ length: parallel }, async () => {
      for (let vault = queue.shift(); vault; vault = queue.shift()) {
        if (context.signal.aborted) return;
        await context.track(this.listVault(vault, context.signal));
      }
    });
    const results = await Promise.allSettled([described, ...lanes]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (context.signal.aborted) return 'stopped';
    if (failed) throw failed.reason;
    await this.classifyKeys(context.signal);
    return context.signal.aborted ? 'stopped' : 'done';
  }

  /** Every source vault by name, and which ones the config selects; details follow in describeVaults. */
  private async listVaults(signal: AbortSignal): Promise<VaultSummary[]> {
    const { port, store } = this.options;
    const listed: VaultSummary[] = [];
    let nextToken: string | undefined;
    do {
      const page = await port.call('source', 'listBackupVaults', nextToken ? { nextToken } : {}, signal);
      listed.push(...page.vaults);
      nextToken = page.nextToken;
    } while (nextToken);
    // A new vault starts with what the listing says; a known one keeps its described details until
    // describeVaults replaces them.
    const upsert = store.sqlite.prepare(`
      INSERT INTO source_vaults (name, arn, vault_type, selected, encryption_key_arn, locked, min_retention_days,
        max_retention_days, lock_date, point_count_reported)
      VALUES (@name, @arn, @vaultType, @selected, @encryptionKeyArn, @locked, @minRetentionDays, @maxRetentionDays,
        @lockDate, @numberOfRecoveryPoints)
      ON CONFLICT (name) DO UPDATE SET arn = excluded.arn, vault_type = excluded.vault_type,
        selected = excluded.selected`);
    store.write(() => {
      for (const vault of listed) {
        upsert.run({
          ...vault,
          selected: matchesAny(vault.name, this.options.vaultPatterns) ? 1 : 0,
          locked: vault.locked ? 1 : 0,
        });
      }
    });
    return listed;
  }

  /** DescribeBackupVault each vault: ListBackupVaults can omit lock details. */
  private async describeVaults(listed: VaultSummary[], signal: AbortSignal): Promise<void> {
    const { port, store } = this.options;
    // One operation (and so one rate budget) per AWS API: the vaults phase describes vaults the same way.
    const described = await Promise.all(
      listed.map((v) => port.call('source', 'describeVault', { name: v.name }, signal)),
    );
    const update = store.sqlite.prepare(`
      UPDATE source_vaults SET arn = @arn, vault_type = @vaultType, encryption_key_arn = @encryptionKeyArn,
        locked = @locked, min_retention_days = @minRetentionDays, max_retention_days = @maxRetentionDays,
        lock_date = @lockDate, point_count_reported = @numberOfRecoveryPoints, described_at = @describedAt
      WHERE name = @name`);
    const describedAt = this.now();
    store.write(() => {
      for (const vault of described) {
        update.run({
          name: vault.name,
          arn: vault.arn,
          vaultType: vault.vaultType,
          encryptionKeyArn: vault.encryptionKeyArn,
          minRetentionDays: vault.minRetentionDays,
          maxRetentionDays: vault.maxRetentionDays,
          lockDate: vault.lockDate,
          numberOfRecoveryPoints: vault.numberOfRecoveryPoints,
          locked: vault.locked ? 1 : 0,
          describedAt,
        });
      }
    });
    this.options.log.info('source vaults described', {
      vaults: described.length,
      selected: described.filter((v) => matchesAny(v.name, this.options.vaultPatterns)).length,
    });
  }

  /**
   * Selected vaults whose listing is not complete; the others are listed again, in full when their last full
   * pass is older than the refresh interval, else incrementally. Largest first (by the count ListBackupVaults
   * reports): a vault's pages come one after another, so a big vault started last would be listed alone, at one
   * lane's speed, after the others are done.
   */
  private vaultsToList(phaseStartedAt: number): VaultProgress[] {
    const { sqlite } = this.options.store;
    const interval = this.options.fullRefreshIntervalMs ?? DEFAULT_FULL_REFRESH_INTERVAL_MS;
    // Each run of the phase lists a completed vault once: one completed by this very run (before a restart of
    // the phase inside it) is not listed again.
    this.options.store.write(() =>
      sqlite
        .prepare(
          `UPDATE source_vaults SET inventory_state = 'pending', inventory_next_token = NULL,
             inventory_created_after = CASE
               WHEN inventory_full_pass_at IS NULL OR inventory_full_pass_at + @interval <= @now THEN NULL
               ELSE inventory_horizon - ${REFRESH_OVERLAP_MS} END
           WHERE selected = 1 AND inventory_state = 'done' AND inventory_horizon IS NOT NULL
             AND (inventory_completed_at IS NULL OR inventory_completed_at < @phaseStartedAt)`,
        )
        .run({ interval, now: phaseStartedAt, phaseStartedAt }),
    );
    return sqlite
      .prepare(
        `SELECT name, inventory_state AS inventoryState, inventory_next_token AS inventoryNextToken,
           inventory_created_after AS inventoryCreatedAfter, inventory_started_at AS inventoryStartedAt,
           inventory_count AS inventoryCount, point_count_reported AS pointCountReported
         FROM source_vaults WHERE selected = 1 AND inventory_state != 'done'
         ORDER BY coalesce(point_count_reported, 0) DESC, name`,
      )
      .all() as VaultProgress[];
  }

  private async listVault(vault: VaultProgress, signal: AbortSignal): Promise<void> {
    const { store, port, log } = this.options;
    const { sqlite } = store;
    const pageSize = this.options.pageSize ?? 1000;
    let startedAt = vault.inventoryStartedAt;
    if (vault.inventoryState === 'pending') {
      startedAt = this.now();
      store.write(() =>
        sqlite
          .prepare(
            `UPDATE source_vaults SET inventory_state = 'listing', inventory_started_at = ?, inventory_pages = 0,
               inventory_count = 0, inventory_next_token = NULL WHERE name = ?`,
          )
          .run(startedAt, vault.name),
      );
    }
    const createdAfter = vault.inventoryCreatedAfter ?? undefined;
    // Rows this pass is still expected to list, by the count AWS reports for the vault: the rate slots go to the
    // vault with the most pages left (see RateLimiter), so the largest one is not left to finish alone.
    const expectedAfter = (listed: number) =>
      createdAfter === undefined ? Math.max(0, (vault.pointCountReported ?? 0) - listed) : 0;
    let expectedLeft = expectedAfter(vault.inventoryState === 'pending' ? 0 : vault.inventoryCount);
    const fetchPage = (nextToken: string | undefined) => {
      const request = port.call(
        'source',
        'listRecoveryPoints',
        {
          vaultName: vault.name,
          pageSize,
          ...(nextToken ? { nextToken } : {}),
          ...(createdAfter ? { createdAfter } : {}),
        },
        signal,
        { priority: Math.ceil(expectedLeft / pageSize) },
      );
      // Awaited below, or abandoned when the lane stops on an error or abort; never an unhandled rejection.
      request.catch(() => undefined);
      return { nextToken, request };
    };
    let fetching: ReturnType<typeof fetchPage> | undefined = fetchPage(vault.inventoryNextToken ?? undefined);
    while (fetching) {
      if (signal.aborted) return;
      let page: { points: RecoveryPointRow[]; nextToken?: string };
      try {
        page = await fetching.request;
      } catch (err) {
        if (err instanceof AwsCallError && err.failure.kind === 'stale_token' && fetching.nextToken) {
          // Upserts make the replay harmless: the vault restarts from its first page without duplicates.
          log.warn('AWS no longer accepts the saved position; listing the vault again from the start', {
            vault: vault.name,
          });
          expectedLeft = expectedAfter(0);
          fetching = fetchPage(undefined);
          continue;
        }
        throw err;
      }
      expectedLeft = Math.max(0, expectedLeft - page.points.length);
      // Read ahead: the next page is on its way while this one is written, so a lane goes at the pace of the
      // slower of the two instead of their sum. Checkpoints stay in page order: this page's is written first.
      fetching = page.nextToken ? fetchPage(page.nextToken) : undefined;
      const seenAt = startedAt ?? this.now();
      // A page is committed in slices, each its own short transaction and event-loop turn, so that a
      // million-point store's index updates never hold the control API for long. Only the last slice
      // advances the checkpoint: after a crash between slices the page is listed again, and the upsert
      // makes the replayed rows harmless.
      const rows = page.points;
      let next = 0;
      for (;;) {
        const pageDone = await this.writes.run(() =>
          store.write(() => {
            const started = performance.now();
            while (next < rows.length) {
              const point = rows[next++] as RecoveryPointRow;
              this.upsertPoint.run({
                ...point,
                isEncrypted: point.isEncrypted === null ? null : point.isEncrypted ? 1 : 0,
                isParent: point.isParent ? 1 : 0,
                isContinuous: point.isContinuous ? 1 : 0,
                seenAt,
              });
              // The clock is read every 16 rows.
              if (next % 16 === 0 && performance.now() - started >= WRITE_BUDGET_MS) break;
            }
            if (next < rows.length) return false;
            this.checkpoint.run({ name: vault.name, nextToken: page.nextToken ?? null, count: rows.length });
            if (!page.nextToken) this.completeVault(vault.name, seenAt, createdAfter === undefined);
            return true;
          }),
        );
        if (pageDone) break;
      }
    }
    const done = sqlite
      .prepare('SELECT inventory_count AS count, inventory_pages AS pages FROM source_vaults WHERE name = ?')
      .get(vault.name) as { count: number; pages: number };
    this.options.journal.record('info', 'inventory.vault_done', 'vault listed', {
      vault: vault.name,
      points: done.count,
      pages: done.pages,
      incremental: createdAfter !== undefined,
    });
  }

  /** Inside the last page's transaction: the vault is done, and a full pass marks unseen points gone. */
  private completeVault(name: string, passStartedAt: number, fullPass: boolean): void {
    const { sqlite } = this.options.store;
    const now = this.now();
    if (fullPass) {
      sqlite
        .prepare('UPDATE recovery_points SET gone_at = ? WHERE vault_name = ? AND last_seen_at < ? AND gone_at IS NULL')
        .run(now, name, passStartedAt);
    }
    sqlite
      .prepare(
        `UPDATE source_vaults SET inventory_state = 'done', inventory_completed_at = @now, inventory_next_token = NULL,
           inventory_horizon = CASE WHEN @fullPass THEN @passStartedAt
             ELSE max(coalesce(inventory_horizon, 0), @passStartedAt) END,
           inventory_full_pass_at = CASE WHEN @fullPass THEN @passStartedAt ELSE inventory_full_pass_at END,
           inventory_created_after = NULL
         WHERE name = @name`,
      )
      .run({ now, fullPass: fullPass ? 1 : 0, passStartedAt, name });
  }

  /** Ask KMS once per distinct key whether AWS manages it (AWS-managed keys cannot be shared cross-account). */
  private async classifyKeys(signal: AbortSignal): Promise<void> {
    const { store, port, log } = this.options;
    const unknown = (
      store.sqlite
        .prepare(
          `SELECT DISTINCT encryption_key_arn AS arn FROM recovery_points
           WHERE encryption_key_arn IS NOT NULL AND encryption_key_arn NOT IN (SELECT arn FROM kms_keys)`,
        )
        .all() as { arn: string }[]
    ).map((r) => r.arn);
    const insert = store.sqlite.prepare(
      'INSERT INTO kms_keys (arn, manager, alias, checked_at) VALUES (?, ?, ?, ?) ON CONFLICT (arn) DO NOTHING',
    );
    for (const arn of unknown) {
      if (signal.aborted) return;
      try {
        const key = await port.call('source', 'describeKey', { keyArn: arn }, signal);
        store.write(() => insert.run(arn, key.keyManager, key.alias, this.now()));
      } catch (err) {
        if (!(err instanceof AwsCallError) || !['denied', 'not_found', 'permanent'].includes(err.failure.kind))
          throw err;
        // Not knowing is recorded as such; the plan treats UNKNOWN keys as copyable and the copy reports the truth.
        log.warn('cannot describe a KMS key; whether AWS manages it is unknown', { key: arn, error: err.failure.name });
        store.write(() => insert.run(arn, 'UNKNOWN', null, this.now()));
      }
    }
  }
}
