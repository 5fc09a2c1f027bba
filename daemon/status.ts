// Counts for `rpctl status`, read from the store with indexed aggregates.

import type { Counts } from '../shared/api.js';
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
