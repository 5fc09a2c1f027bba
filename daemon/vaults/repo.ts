// The vaults module's SQL: which source vaults need a destination vault, and
// destination_vaults, the record of what rpcopy found, created and applied.
// Each write is one short synchronous transaction (docs/invariants.md).

import type { Config } from '../../shared/config.js';
import type { VaultNotifications } from '../aws/operations.js';
import { inventoryRepo } from '../inventory/repo.js';
import { destinationVaultName } from '../plan/vault-names.js';
import type { Store } from '../store/store.js';
import type { LockPlan, LockSettings } from './lock.js';

export interface VaultTarget {
  source: string;
  destination: string;
}

/**
 * Selected source vaults with at least one point the plan copies (or would copy once the operator consents to
 * its destination vault, see consent.ts), and the destination vault for each.
 */
export function vaultTargets(store: Store, config: Config): VaultTarget[] {
  const rows = store.sqlite
    .prepare<[], { name: string }>(
      `SELECT v.name FROM source_vaults v
       WHERE v.selected = 1 AND EXISTS (
         SELECT 1 FROM recovery_points p JOIN copy_items i ON i.point_id = p.id
         WHERE p.vault_name = v.name
           AND (i.state NOT IN ('skipped', 'discovered') OR i.skip_reason = 'vault_needs_consent'))
       ORDER BY v.name`,
    )
    .all();
  const targets: VaultTarget[] = [];
  for (const { name } of rows) {
    const destination = destinationVaultName(name, config.destination.vaultNames);
    if (destination !== undefined) targets.push({ source: name, destination });
  }
  return targets;
}

export type DestinationVaultState = 'proposed' | 'created' | 'existing' | 'failed';

export interface VaultOutcome {
  source: string;
  destination: string;
  state: DestinationVaultState;
  createdByRpcopy: boolean;
  arn: string | null;
  vaultType: string;
  /** The destination's lock as read back after the changes. */
  lock: LockSettings | null;
  /** What rpcopy changed in this run. */
  actions: string[];
  /** Where the destination is still weaker than the source. */
  drift: string[];
  /** Differences kept on purpose, and things that cannot be replicated. */
  notes: string[];
  pendingCompliance?: LockPlan['pendingCompliance'];
  error?: string;
}

export interface StoredVaultDetail {
  actions: string[];
  drift: string[];
  notes: string[];
  pendingCompliance?: LockPlan['pendingCompliance'];
  error?: string;
}

export function recordOutcome(store: Store, outcome: VaultOutcome, now: number): void {
  const detail: StoredVaultDetail = {
    actions: outcome.actions,
    drift: outcome.drift,
    notes: outcome.notes,
    ...(outcome.pendingCompliance ? { pendingCompliance: outcome.pendingCompliance } : {}),
    ...(outcome.error ? { error: outcome.error } : {}),
  };
  store.write(() =>
    store.sqlite
      .prepare(
        `INSERT INTO destination_vaults (source_vault_name, name, arn, vault_type, state, created_by_rpcopy,
           min_retention_days, max_retention_days, lock_date, last_checked_at, detail)
         VALUES (@source, @destination, @arn, @vaultType, @state, @createdByRpcopy, @min, @max, @lockDate, @now, @detail)
         ON CONFLICT (source_vault_name) DO UPDATE SET name = excluded.name,
           arn = coalesce(excluded.arn, destination_vaults.arn), vault_type = excluded.vault_type,
           state = CASE WHEN excluded.state = 'failed' AND destination_vaults.state IN ('created', 'existing')
                        THEN destination_vaults.state ELSE excluded.state END,
           created_by_rpcopy = max(destination_vaults.created_by_rpcopy, excluded.created_by_rpcopy),
           min_retention_days = CASE WHEN excluded.state = 'failed' THEN destination_vaults.min_retention_days
                                     ELSE excluded.min_retention_days END,
           max_retention_days = CASE WHEN excluded.state = 'failed' THEN destination_vaults.max_retention_days
                                     ELSE excluded.max_retention_days END,
           lock_date = CASE WHEN excluded.state = 'failed' THEN destination_vaults.lock_date
                            ELSE excluded.lock_date END,
           last_checked_at = excluded.last_checked_at, detail = excluded.detail`,
      )
      .run({
        source: outcome.source,
        destination: outcome.destination,
        arn: outcome.arn,
        vaultType: outcome.vaultType,
        state: outcome.state,
        createdByRpcopy: outcome.createdByRpcopy ? 1 : 0,
        min: outcome.lock?.minRetentionDays ?? null,
        max: outcome.lock?.maxRetentionDays ?? null,
        lockDate: outcome.lock?.lockDate ?? null,
        now,
        detail: JSON.stringify(detail),
      }),
  );
}

/** What the source vault carries besides its description: kept for reports and compliance. */
export function recordSourceSettings(
  store: Store,
  name: string,
  settings: { tags: Record<string, string>; policy: string | null; notifications: VaultNotifications | null },
): void {
  // source_vaults belongs to the inventory.
  inventoryRepo(store).recordSourceVaultSettings(name, settings);
}

export interface DestinationVaultRow {
  source: string;
  destination: string;
  state: DestinationVaultState;
  createdByRpcopy: boolean;
  detail: StoredVaultDetail | null;
}

export function destinationVaultRows(store: Store): DestinationVaultRow[] {
  return store.sqlite
    .prepare<
      [],
      { source: string; destination: string; state: string; createdByRpcopy: number; detail: string | null }
    >(
      `SELECT source_vault_name AS source, name AS destination, state, created_by_rpcopy AS createdByRpcopy, detail
       FROM destination_vaults ORDER BY source_vault_name`,
    )
    .all()
    .map((r) => ({
      source: r.source,
      destination: r.destination,
      state: r.state as DestinationVaultState,
      createdByRpcopy: r.createdByRpcopy === 1,
      detail: r.detail ? (JSON.parse(r.detail) as StoredVaultDetail) : null,
    }));
}
