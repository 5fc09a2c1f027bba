// The read model: the reads that span the inventory, the plan and the copy queue, for `rpctl status`, `rpctl
// plan`, `rpctl forecast`, `rpctl watch` and the progress log. Nothing here writes.
//
// - Constant-time reads (the trigger-kept status_counters, the dozen-row source_vaults, the covering skip
//   index) run on the caller's thread: `readCounters` is the one reader of the counters.
// - Plan-wide scans (they grow with the plan) run on a ReadWorker and are asked through its cache
//   (ReadWorker.cached): asked again before anything was committed, they are answered from memory; after a
//   commit, from the store. A cached answer is therefore never stale.
// - Reads on the writer's own connection that cost more than a counter (the CSV's problems, which grow with the file)
//   are kept by `cachedOnStore` until that connection changes a row or the schema, or another commits.

import type Database from 'better-sqlite3';
import type { Counts, InventoryProgress, WatchVaultProgress, WatchVaults } from '../shared/api.js';
import type { ReadWorker } from './store/read-worker.js';
import { ITEM_STATES, type ItemState } from './store/schema.js';
import type { Store } from './store/store.js';

/** The status counters: live points, and copy items per state (absent states are 0). */
export interface Counters {
  points: number;
  items: Record<ItemState, number>;
}

interface CounterRow {
  name: string;
  n: number;
}

const isItemState = (state: string): state is ItemState => (ITEM_STATES as readonly string[]).includes(state);

/** Statements prepared once per store connection. */
const statements = new WeakMap<Database.Database, ReturnType<typeof prepare>>();

function prepare(sqlite: Database.Database) {
  return {
    counters: sqlite.prepare<[], CounterRow>('SELECT name, n FROM status_counters'),
    inventory: sqlite.prepare<[], InventoryProgress>(
      `SELECT count(*) AS vaultsSelected, coalesce(sum(inventory_state = 'done'), 0) AS vaultsDone,
         coalesce(sum(inventory_pages), 0) AS pages
       FROM source_vaults WHERE selected = 1`,
    ),
    // Rows this connection changed (trigger programs included), other connections' commits, schema changes.
    version: [
      'SELECT total_changes()',
      'PRAGMA data_version',
      'PRAGMA main.schema_version',
      'PRAGMA temp.schema_version',
    ].map((sql) => sqlite.prepare<[], unknown>(sql).pluck()),
    // skip_reason is set exactly on skipped items, so the covering skip index holds every skip.
    skips: sqlite.prepare<[], { reason: string; n: number }>(
      `SELECT skip_reason AS reason, count(*) AS n FROM copy_items INDEXED BY copy_items_skip_idx
       WHERE skip_reason IS NOT NULL GROUP BY skip_reason ORDER BY n DESC`,
    ),
  };
}

function statementsOf(store: Store): ReturnType<typeof prepare> {
  const known = statements.get(store.sqlite);
  if (known) return known;
  const prepared = prepare(store.sqlite);
  statements.set(store.sqlite, prepared);
  return prepared;
}

/**
 * The counters kept by triggers in the transactions that change the rows (drizzle/0001_status_counters.sql):
 * constant time at any scale.
 */
export function readCounters(store: Store): Counters {
  const items: Record<ItemState, number> = {
    discovered: 0,
    skipped: 0,
    queued: 0,
    submitting: 0,
    submitted: 0,
    completed: 0,
    verified: 0,
    failed: 0,
  };
  let points = 0;
  for (const { name, n } of statementsOf(store).counters.all()) {
    if (name === 'points') points = n;
    else if (name.startsWith('item:')) {
      const state = name.slice('item:'.length);
      if (isItemState(state)) items[state] = n;
    }
  }
  return { points, items };
}

/** rpctl status's counts, from the counters. */
export function statusCounts({ points, items }: Counters): Counts {
  return {
    discovered: points,
    skipped: items.skipped,
    queued: items.queued,
    inFlight: items.submitting + items.submitted,
    completed: items.completed + items.verified,
    failed: items.failed,
  };
}

interface StoreCache {
  version: string;
  entries: Map<string, unknown>;
}

const caches = new WeakMap<Database.Database, StoreCache>();

/**
 * `read()`'s answer, computed again only once the store has changed since it was kept: a row changed through
 * this connection (the only writer), a commit by another, or a schema change. Only for reads whose answer
 * depends on the store and `key` alone.
 */
export function cachedOnStore<T>(store: Store, key: string, read: () => T): T {
  const version = statementsOf(store)
    .version.map((statement) => statement.get())
    .join(':');
  let cache = caches.get(store.sqlite);
  if (cache?.version !== version) {
    cache = { version, entries: new Map() };
    caches.set(store.sqlite, cache);
  }
  if (cache.entries.has(key)) return cache.entries.get(key) as T;
  const answer = read();
  cache.entries.set(key, answer);
  return answer;
}

/** Inventory progress: vaults listed of those selected, and pages stored so far (a dozen rows: cheap). */
export function readInventoryProgress(store: Store): InventoryProgress {
  return statementsOf(store).inventory.get() ?? { vaultsSelected: 0, vaultsDone: 0, pages: 0 };
}

export interface PlanSummary {
  points: number;
  toCopy: number;
  skipped: Record<string, number>;
  byVault: { vault: string; destination: string | null; toCopy: number; skipped: number; started: number }[];
  byType: { resourceType: string; toCopy: number; skipped: number; started: number }[];
}

/** Per source vault: what is to copy, skipped, started. A scan of the whole plan (see planCounts). */
export const PLAN_BY_VAULT_SQL = `
  SELECT p.vault_name AS vault, max(i.destination_vault_name) AS destination,
    sum(i.state NOT IN ('skipped', 'discovered')) AS toCopy, sum(i.state = 'skipped') AS skipped,
    sum(i.state NOT IN ('skipped', 'discovered', 'queued')) AS started
  FROM copy_items i JOIN recovery_points p ON p.id = i.point_id GROUP BY p.vault_name ORDER BY p.vault_name`;

/** Per resource type, the same counts. */
export const PLAN_BY_TYPE_SQL = `
  SELECT p.resource_type AS resourceType, sum(i.state NOT IN ('skipped', 'discovered')) AS toCopy,
    sum(i.state = 'skipped') AS skipped, sum(i.state NOT IN ('skipped', 'discovered', 'queued')) AS started
  FROM copy_items i JOIN recovery_points p ON p.id = i.point_id GROUP BY p.resource_type ORDER BY p.resource_type`;

/** The plan's totals: live points, items planned to copy (every state but skipped and discovered), skips by reason. */
export function planTotals(store: Store): Pick<PlanSummary, 'points' | 'toCopy' | 'skipped'> {
  const counters = readCounters(store);
  const { discovered: _, skipped: __, ...decided } = counters.items;
  const skipped: Record<string, number> = {};
  for (const row of statementsOf(store).skips.all()) skipped[row.reason] = row.n;
  return {
    points: counters.points,
    toCopy: Object.values(decided).reduce((sum, n) => sum + n, 0),
    skipped,
  };
}

/**
 * Counts for `rpctl plan`: the totals on the caller's thread, the per-vault and per-type breakdowns (scans of the
 * whole plan joined to the inventory) on `reader`, cached until the next commit. While the pipeline writes, the
 * two may be a moment apart.
 */
export async function planCounts(store: Store, reader: Pick<ReadWorker, 'cached'>): Promise<PlanSummary> {
  const [byVault, byType] = await Promise.all([
    reader.cached<PlanSummary['byVault'][number]>(PLAN_BY_VAULT_SQL),
    reader.cached<PlanSummary['byType'][number]>(PLAN_BY_TYPE_SQL),
  ]);
  return { ...cachedOnStore(store, 'plan totals', () => planTotals(store)), byVault, byType };
}

export interface RemainingByType {
  resourceType: string;
  items: number;
  bytes: number;
}

const REMAINING_SQL = `
  SELECT p.resource_type AS resourceType, count(*) AS items, coalesce(sum(p.size_bytes), 0) AS bytes
  FROM copy_items i JOIN recovery_points p ON p.id = i.point_id
  WHERE i.state IN ('queued', 'submitting', 'submitted')
  GROUP BY p.resource_type ORDER BY p.resource_type`;

const HEAVIEST_CHAIN_SQL = `SELECT max(chain_weight) AS w FROM copy_items INDEXED BY copy_items_claim_idx WHERE state = 'queued'`;

/**
 * What is left to copy, by resource type, and the heaviest queued chain (the forecast's store side). The first is
 * a GROUP BY over every unfinished item, too slow for the main thread at scale: on `reader`, cached until the next commit.
 */
export async function remainingWork(
  reader: Pick<ReadWorker, 'cached'>,
): Promise<{ remaining: RemainingByType[]; heaviestChainPriorSeconds: number }> {
  const [remaining, [chain]] = await Promise.all([
    reader.cached<RemainingByType>(REMAINING_SQL),
    reader.cached<{ w: number | null }>(HEAVIEST_CHAIN_SQL),
  ]);
  return { remaining, heaviestChainPriorSeconds: chain?.w ?? 0 };
}

// rpctl watch's per-vault progress (watch.ts says how often it is computed).
//
// The second half reads only ungrouped points that are planned to copy (the IN list keeps the plan's skipped half
// out, through the index's second column).
const VAULTS_SQL = `
  SELECT v.vault, d.name AS destination, v.state, sum(v.n) AS n, sum(v.held) AS held
  FROM (
    SELECT c.source_vault_name AS vault, g.state, sum(g.n) AS n,
      sum(CASE WHEN c.state IS NOT 'open' THEN g.n ELSE 0 END) AS held
    FROM (SELECT combo_id, state, count(*) AS n FROM copy_items WHERE combo_id IS NOT NULL GROUP BY 1, 2) g
    LEFT JOIN copy_combos c ON c.id = g.combo_id
    GROUP BY 1, 2
    UNION ALL
    SELECT p.vault_name AS vault, i.state, count(*) AS n, 0 AS held
    FROM copy_items i JOIN recovery_points p ON p.id = i.point_id
    WHERE i.combo_id IS NULL AND i.state IN ('queued', 'submitting', 'submitted', 'completed', 'verified', 'failed')
    GROUP BY 1, 2
  ) v LEFT JOIN destination_vaults d ON d.source_vault_name = v.vault
  GROUP BY v.vault, v.state
  ORDER BY v.vault`;

// Queued points waiting for their next attempt (the state index's range) and queued points of the resources that
// have a copy in flight (a handful of resources, each looked up through the chain index, whose WHERE term this
// query carries verbatim): both read only the rows they count. Points of a combination whose canary has not
// passed are counted as held by it (VAULTS_SQL), not here, so no point is given two reasons.
const WAITING_SQL = `
  SELECT c.source_vault_name AS vault, x.kind, sum(x.n) AS n
  FROM (
    SELECT combo_id, 'retry' AS kind, count(*) AS n FROM copy_items
    WHERE state = 'queued' AND next_attempt_at > @now GROUP BY 1
    UNION ALL
    SELECT q.combo_id, 'resource' AS kind, count(*) AS n
    FROM (SELECT DISTINCT resource_arn FROM copy_items WHERE state IN ('submitting', 'submitted')) r
    JOIN copy_items q ON q.resource_arn = r.resource_arn AND q.state IN ('queued', 'submitting', 'submitted')
    WHERE q.state = 'queued'
    GROUP BY 1
  ) x JOIN copy_combos c ON c.id = x.combo_id
  WHERE c.state = 'open'
  GROUP BY 1, 2`;

interface VaultRow {
  vault: string | null;
  destination: string | null;
  state: string;
  n: number;
  /** Of n, points of a combination whose canary has not passed. */
  held?: number | null;
}

interface WaitingRow {
  vault: string;
  kind: 'retry' | 'resource';
  n: number;
}

/** rpctl watch's per-vault progress, read on `reader` (never cached: the waiting counts depend on the time). */
export async function vaultProgressOn(reader: Pick<ReadWorker, 'all'>, now: number): Promise<Omit<WatchVaults, 'at'>> {
  const [rows, waiting] = await Promise.all([
    reader.all<VaultRow>(VAULTS_SQL),
    reader.all<WaitingRow>(WAITING_SQL, { now }),
  ]);
  return vaultProgress(rows, waiting);
}

/** The same computation on a connection of the caller's (tests read a store file directly). */
export function readVaultProgress(db: Database.Database, now: number): Omit<WatchVaults, 'at'> {
  return vaultProgress(
    db.prepare<[], VaultRow>(VAULTS_SQL).all(),
    db.prepare<{ now: number }, WaitingRow>(WAITING_SQL).all({ now }),
  );
}

export function vaultProgress(rows: VaultRow[], waiting: WaitingRow[] = []): Omit<WatchVaults, 'at'> {
  const byVault = new Map<string, WatchVaultProgress>();
  let unassigned = 0;
  for (const row of rows) {
    if (row.state === 'skipped' || row.state === 'discovered') continue;
    if (row.vault === null) {
      unassigned += row.n;
      continue;
    }
    let v = byVault.get(row.vault);
    if (!v) {
      v = {
        vault: row.vault,
        destination: row.destination,
        toCopy: 0,
        queued: 0,
        inFlight: 0,
        completed: 0,
        verified: 0,
        failed: 0,
      };
      byVault.set(row.vault, v);
    }
    v.toCopy += row.n;
    if (row.state === 'queued' && row.held) {
      v.waiting ??= { canary: 0, resource: 0, retry: 0 };
      v.waiting.canary += row.held;
    }
    if (row.state === 'submitting' || row.state === 'submitted') v.inFlight += row.n;
    else if (row.state === 'queued' || row.state === 'completed' || row.state === 'verified' || row.state === 'failed')
      v[row.state] += row.n;
  }
  for (const w of waiting) {
    const v = byVault.get(w.vault);
    if (!v || w.n <= 0) continue;
    v.waiting ??= { canary: 0, resource: 0, retry: 0 };
    v.waiting[w.kind] += w.n;
  }
  return { vaults: [...byVault.values()], unassigned };
}
