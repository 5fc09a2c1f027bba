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
// The SQL is in repo.ts; this module paces the listing and says when each write happens.

import type { RecoveryPointRow, VaultSummary } from '../aws/operations.js';
import { AwsCallError, type AwsPort } from '../aws/port.js';
import type { EventJournal } from '../events.js';
import type { Logger } from '../log.js';
import type { PhaseContext, PipelinePhase } from '../pipeline.js';
import type { Store } from '../store/store.js';
import { WriteQueue } from '../store/write-queue.js';
import { matchesAny } from './glob.js';
import { type InventoryRepo, inventoryRepo, type VaultProgress } from './repo.js';

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
  const row = inventoryRepo(store).fullPasses();
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

export class InventoryPhase implements PipelinePhase {
  readonly name = 'inventory' as const;
  private readonly now: () => number;
  /** Pages from parallel vault lanes are committed one per event-loop turn (see write-queue.ts). */
  private readonly writes = new WriteQueue();
  private readonly repo: InventoryRepo;

  constructor(private readonly options: InventoryOptions) {
    this.now = options.now ?? Date.now;
    this.repo = inventoryRepo(options.store);
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
    const { port } = this.options;
    const listed: VaultSummary[] = [];
    let nextToken: string | undefined;
    do {
      const page = await port.call('source', 'listBackupVaults', nextToken ? { nextToken } : {}, signal);
      listed.push(...page.vaults);
      nextToken = page.nextToken;
    } while (nextToken);
    this.repo.recordListedVaults(listed, (name) => matchesAny(name, this.options.vaultPatterns));
    return listed;
  }

  /** DescribeBackupVault each vault: ListBackupVaults can omit lock details. */
  private async describeVaults(listed: VaultSummary[], signal: AbortSignal): Promise<void> {
    const { port } = this.options;
    // One operation (and so one rate budget) per AWS API: the vaults phase describes vaults the same way.
    const described = await Promise.all(
      listed.map((v) => port.call('source', 'describeVault', { name: v.name }, signal)),
    );
    this.repo.recordDescribedVaults(described, this.now());
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
    const interval = this.options.fullRefreshIntervalMs ?? DEFAULT_FULL_REFRESH_INTERVAL_MS;
    this.repo.recordRelistingDue(phaseStartedAt, interval, REFRESH_OVERLAP_MS);
    return this.repo.unfinishedVaults();
  }

  private async listVault(vault: VaultProgress, signal: AbortSignal): Promise<void> {
    const { store, port, log } = this.options;
    const pageSize = this.options.pageSize ?? 1000;
    let startedAt = vault.inventoryStartedAt;
    if (vault.inventoryState === 'pending') {
      startedAt = this.now();
      this.repo.recordListingStarted(vault.name, startedAt);
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
              this.repo.recordPoint(point, seenAt);
              // The clock is read every 16 rows.
              if (next % 16 === 0 && performance.now() - started >= WRITE_BUDGET_MS) break;
            }
            if (next < rows.length) return false;
            this.repo.recordPageCheckpoint(vault.name, page.nextToken ?? null, rows.length);
            if (!page.nextToken) {
              this.repo.recordListingComplete(vault.name, seenAt, createdAfter === undefined, this.now());
            }
            return true;
          }),
        );
        if (pageDone) break;
      }
    }
    const done = this.repo.listedSoFar(vault.name);
    this.options.journal.record('info', 'inventory.vault_done', 'vault listed', {
      vault: vault.name,
      points: done.count,
      pages: done.pages,
      incremental: createdAfter !== undefined,
    });
  }

  /** Ask KMS once per distinct key whether AWS manages it (AWS-managed keys cannot be shared cross-account). */
  private async classifyKeys(signal: AbortSignal): Promise<void> {
    const { port, log } = this.options;
    const unknown = this.repo.unclassifiedKeys();
    for (const arn of unknown) {
      if (signal.aborted) return;
      try {
        const key = await port.call('source', 'describeKey', { keyArn: arn }, signal);
        this.repo.recordKeyManager(arn, key.keyManager, key.alias, this.now());
      } catch (err) {
        if (!(err instanceof AwsCallError) || !['denied', 'not_found', 'permanent'].includes(err.failure.kind))
          throw err;
        // Not knowing is recorded as such; the plan treats UNKNOWN keys as copyable and the copy reports the truth.
        log.warn('cannot describe a KMS key; whether AWS manages it is unknown', { key: arn, error: err.failure.name });
        this.repo.recordKeyManager(arn, 'UNKNOWN', null, this.now());
      }
    }
  }
}
