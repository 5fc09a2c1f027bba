// Counts and progress for `rpctl status`: cheap reads only, so status answers promptly at any load.

import type { Counts, InventoryProgress } from '../shared/api.js';
import type { Store } from './store/store.js';

export function readCounts(store: Store): Counts {
  // status_counters is kept by triggers (drizzle/0001_status_counters.sql): constant time at any scale.
  const counters = new Map(
    (store.sqlite.prepare('SELECT name, n FROM status_counters').all() as { name: string; n: number }[]).map((r) => [
      r.name,
      r.n,
    ]),
  );
  const n = (...states: string[]) => states.reduce((sum, s) => sum + (counters.get(`item:${s}`) ?? 0), 0);
  return {
    discovered: counters.get('points') ?? 0,
    skipped: n('skipped'),
    queued: n('queued'),
    inFlight: n('submitting', 'submitted'),
    completed: n('completed', 'verified'),
    failed: n('failed'),
  };
}

/** Inventory progress: vaults listed of those selected, and points stored so far (a dozen rows: cheap). */
export function readInventoryProgress(store: Store): InventoryProgress {
  return store.sqlite
    .prepare(
      `SELECT count(*) AS vaultsSelected, coalesce(sum(inventory_state = 'done'), 0) AS vaultsDone,
         coalesce(sum(inventory_pages), 0) AS pages
       FROM source_vaults WHERE selected = 1`,
    )
    .get() as InventoryProgress;
}
