// The inventory's tables, and the only module that writes them: source_vaults (each source vault, its
// settings and how far its listing got), recovery_points (every point listed) and kms_keys (who manages each
// point's key). Statements are prepared once per store. Methods that open their own transaction say so; the
// others run inside the caller's (the phase commits a page's rows with its checkpoint in one).

import type { RecoveryPointRow, VaultNotifications, VaultSummary } from '../aws/operations.js';
import type { Store } from '../store/store.js';

/** A selected vault's listing position, as the phase resumes it. */
export interface VaultProgress {
  name: string;
  inventoryState: 'pending' | 'listing' | 'done';
  inventoryNextToken: string | null;
  inventoryCreatedAfter: number | null;
  inventoryStartedAt: number | null;
  inventoryCount: number;
  pointCountReported: number | null;
}

/** What a vault's description records, with lock details as stored (0/1). */
type StoredVault = Omit<VaultSummary, 'locked'> & { locked: 0 | 1 };

type StoredPoint = Omit<RecoveryPointRow, 'isEncrypted' | 'isParent' | 'isContinuous'> & {
  isEncrypted: 0 | 1 | null;
  isParent: 0 | 1;
  isContinuous: 0 | 1;
  seenAt: number;
};

function prepare(sqlite: Store['sqlite']) {
  return {
    // The hot path of a million-point inventory: one row per call, raw SQL.
    upsertPoint: sqlite.prepare<StoredPoint>(`
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
        last_seen_at = excluded.last_seen_at, gone_at = NULL`),
    pageCheckpoint: sqlite.prepare<{ name: string; nextToken: string | null; count: number }>(`
      UPDATE source_vaults SET inventory_next_token = @nextToken, inventory_pages = inventory_pages + 1,
        inventory_count = inventory_count + @count WHERE name = @name`),
    // A new vault starts with what the listing says; a known one keeps its described details until
    // describeVaults replaces them.
    listedVault: sqlite.prepare<StoredVault & { selected: 0 | 1 }>(`
      INSERT INTO source_vaults (name, arn, vault_type, selected, encryption_key_arn, locked, min_retention_days,
        max_retention_days, lock_date, point_count_reported)
      VALUES (@name, @arn, @vaultType, @selected, @encryptionKeyArn, @locked, @minRetentionDays, @maxRetentionDays,
        @lockDate, @numberOfRecoveryPoints)
      ON CONFLICT (name) DO UPDATE SET arn = excluded.arn, vault_type = excluded.vault_type,
        selected = excluded.selected`),
    describedVault: sqlite.prepare<StoredVault & { describedAt: number }>(`
      UPDATE source_vaults SET arn = @arn, vault_type = @vaultType, encryption_key_arn = @encryptionKeyArn,
        locked = @locked, min_retention_days = @minRetentionDays, max_retention_days = @maxRetentionDays,
        lock_date = @lockDate, point_count_reported = @numberOfRecoveryPoints, described_at = @describedAt
      WHERE name = @name`),
    // Each run of the phase lists a completed vault once: one completed by this very run (before a restart of
    // the phase inside it) is not listed again. A full pass is due after `interval`; else the listing is
    // incremental from the last horizon less `overlap`.
    relistDone: sqlite.prepare<{ interval: number; now: number; overlap: number }>(
      `UPDATE source_vaults SET inventory_state = 'pending', inventory_next_token = NULL,
         inventory_created_after = CASE
           WHEN inventory_full_pass_at IS NULL OR inventory_full_pass_at + @interval <= @now THEN NULL
           ELSE inventory_horizon - @overlap END
       WHERE selected = 1 AND inventory_state = 'done' AND inventory_horizon IS NOT NULL
         AND (inventory_completed_at IS NULL OR inventory_completed_at < @now)`,
    ),
    unfinished: sqlite.prepare<[], VaultProgress>(
      `SELECT name, inventory_state AS inventoryState, inventory_next_token AS inventoryNextToken,
         inventory_created_after AS inventoryCreatedAfter, inventory_started_at AS inventoryStartedAt,
         inventory_count AS inventoryCount, point_count_reported AS pointCountReported
       FROM source_vaults WHERE selected = 1 AND inventory_state != 'done'
       ORDER BY coalesce(point_count_reported, 0) DESC, name`,
    ),
    startListing: sqlite.prepare<[number, string]>(
      `UPDATE source_vaults SET inventory_state = 'listing', inventory_started_at = ?, inventory_pages = 0,
         inventory_count = 0, inventory_next_token = NULL WHERE name = ?`,
    ),
    listed: sqlite.prepare<[string], { count: number; pages: number }>(
      'SELECT inventory_count AS count, inventory_pages AS pages FROM source_vaults WHERE name = ?',
    ),
    markGone: sqlite.prepare<[number, string, number]>(
      'UPDATE recovery_points SET gone_at = ? WHERE vault_name = ? AND last_seen_at < ? AND gone_at IS NULL',
    ),
    completeListing: sqlite.prepare<{ now: number; fullPass: 0 | 1; passStartedAt: number; name: string }>(
      `UPDATE source_vaults SET inventory_state = 'done', inventory_completed_at = @now, inventory_next_token = NULL,
         inventory_horizon = CASE WHEN @fullPass THEN @passStartedAt
           ELSE max(coalesce(inventory_horizon, 0), @passStartedAt) END,
         inventory_full_pass_at = CASE WHEN @fullPass THEN @passStartedAt ELSE inventory_full_pass_at END,
         inventory_created_after = NULL
       WHERE name = @name`,
    ),
    fullPasses: sqlite.prepare<[], { vaults: number; never: number | null; oldest: number | null }>(
      `SELECT count(*) AS vaults, sum(inventory_full_pass_at IS NULL) AS never, min(inventory_full_pass_at) AS oldest
       FROM source_vaults WHERE selected = 1`,
    ),
    unclassifiedKeys: sqlite
      .prepare<[], string>(
        `SELECT DISTINCT encryption_key_arn AS arn FROM recovery_points
         WHERE encryption_key_arn IS NOT NULL AND encryption_key_arn NOT IN (SELECT arn FROM kms_keys)`,
      )
      .pluck(),
    keyManager: sqlite.prepare<[string, string, string | null, number]>(
      'INSERT INTO kms_keys (arn, manager, alias, checked_at) VALUES (?, ?, ?, ?) ON CONFLICT (arn) DO NOTHING',
    ),
    sourceSettings: sqlite.prepare<[string, string | null, string | null, string]>(
      'UPDATE source_vaults SET tags = ?, access_policy = ?, notifications = ? WHERE name = ?',
    ),
  };
}

type Statements = ReturnType<typeof prepare>;

export class InventoryRepo {
  constructor(
    private readonly store: Store,
    private readonly statements: Statements,
  ) {}

  /** In the caller's transaction: one listed point, upserted by ARN (a replayed page duplicates nothing). */
  recordPoint(point: RecoveryPointRow, seenAt: number): void {
    this.statements.upsertPoint.run({
      ...point,
      isEncrypted: point.isEncrypted === null ? null : point.isEncrypted ? 1 : 0,
      isParent: point.isParent ? 1 : 0,
      isContinuous: point.isContinuous ? 1 : 0,
      seenAt,
    });
  }

  /** In the caller's transaction, with the page's last rows: where the vault's listing resumes. */
  recordPageCheckpoint(name: string, nextToken: string | null, count: number): void {
    this.statements.pageCheckpoint.run({ name, nextToken, count });
  }

  /**
   * In the caller's transaction, with the last page: the vault's listing is done, and a full pass marks the
   * points it did not see again as gone.
   */
  recordListingComplete(name: string, passStartedAt: number, fullPass: boolean, now: number): void {
    if (fullPass) this.statements.markGone.run(now, name, passStartedAt);
    this.statements.completeListing.run({ now, fullPass: fullPass ? 1 : 0, passStartedAt, name });
  }

  /** One transaction: every source vault ListBackupVaults returned, and whether the config selects it. */
  recordListedVaults(vaults: readonly VaultSummary[], isSelected: (name: string) => boolean): void {
    this.store.write(() => {
      for (const vault of vaults) {
        this.statements.listedVault.run({
          ...vault,
          selected: isSelected(vault.name) ? 1 : 0,
          locked: vault.locked ? 1 : 0,
        });
      }
    });
  }

  /** One transaction: what DescribeBackupVault said of each vault. */
  recordDescribedVaults(vaults: readonly VaultSummary[], describedAt: number): void {
    this.store.write(() => {
      for (const vault of vaults) {
        this.statements.describedVault.run({
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
  }

  /**
   * One transaction: selected vaults listed completely before `phaseStartedAt` are to be listed again, in
   * full when their last full pass is `intervalMs` old, else from their horizon less `overlapMs`.
   */
  recordRelistingDue(phaseStartedAt: number, intervalMs: number, overlapMs: number): void {
    this.store.write(() =>
      this.statements.relistDone.run({ interval: intervalMs, now: phaseStartedAt, overlap: overlapMs }),
    );
  }

  /** Selected vaults whose listing is not complete, largest first (by the count AWS reports). */
  unfinishedVaults(): VaultProgress[] {
    return this.statements.unfinished.all();
  }

  /** One transaction: the vault's listing starts from its first page. */
  recordListingStarted(name: string, startedAt: number): void {
    this.store.write(() => this.statements.startListing.run(startedAt, name));
  }

  /** Points and pages the vault's current listing has committed. */
  listedSoFar(name: string): { count: number; pages: number } {
    return this.statements.listed.get(name) ?? { count: 0, pages: 0 };
  }

  /** Selected vaults, how many never had a full pass, and the oldest full pass. */
  fullPasses(): { vaults: number; never: number | null; oldest: number | null } {
    return this.statements.fullPasses.get() ?? { vaults: 0, never: null, oldest: null };
  }

  /** Keys of stored points whose manager is not known yet. */
  unclassifiedKeys(): string[] {
    return this.statements.unclassifiedKeys.all();
  }

  /** One transaction: who manages the key (AWS, CUSTOMER, or UNKNOWN when KMS would not say). */
  recordKeyManager(arn: string, manager: string, alias: string | null, checkedAt: number): void {
    this.store.write(() => this.statements.keyManager.run(arn, manager, alias, checkedAt));
  }

  /** One transaction: what the source vault carries besides its description, kept for reports and compliance. */
  recordSourceVaultSettings(
    name: string,
    settings: { tags: Record<string, string>; policy: string | null; notifications: VaultNotifications | null },
  ): void {
    this.store.write(() =>
      this.statements.sourceSettings.run(
        JSON.stringify(settings.tags),
        settings.policy,
        settings.notifications ? JSON.stringify(settings.notifications) : null,
        name,
      ),
    );
  }
}

const repos = new WeakMap<Store, InventoryRepo>();

/** The store's inventory repo, its statements prepared on first use. */
export function inventoryRepo(store: Store): InventoryRepo {
  const known = repos.get(store);
  if (known) return known;
  const repo = new InventoryRepo(store, prepare(store.sqlite));
  repos.set(store, repo);
  return repo;
}

/**
 * In reset's transaction: the vault's (or every vault's) listing starts over at the next inventory, as if
 * never listed. Returns the vaults reset.
 */
export function resetListings(store: Store, vault: string | null): number {
  return store.sqlite
    .prepare(
      `UPDATE source_vaults SET inventory_state = 'pending', inventory_next_token = NULL, inventory_pages = 0,
         inventory_count = 0, inventory_created_after = NULL, inventory_horizon = NULL,
         inventory_completed_at = NULL
       WHERE ${vault === null ? '1' : 'name = @vault'}`,
    )
    .run({ vault }).changes;
}
