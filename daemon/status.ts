// Counts for `rpctl status`, read from the store with indexed aggregates.

import type { Counts, InventoryProgress } from '../shared/api.js';
import type { Store } from './store/store.js';

export function readCounts(store: Store): Counts {
  const discovered = (
    store.sqlite.prepare('SELECT count(*) AS n FROM recovery_points WHERE gone_at IS NULL').get() as { n: number }
  ).n;
  const byState = new Map(
    (
      store.sqlite.prepare('SELECT state, count(*) AS n FROM copy_items GROUP BY state').all() as {
        state: string;
        n: number;
      }[]
    ).map((r) => [r.state, r.n]),
  );
  const n = (...states: string[]) => states.reduce((sum, s) => sum + (byState.get(s) ?? 0), 0);
  return {
    discovered,
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
