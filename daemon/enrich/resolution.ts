// The APMID resolution of the current load, for the plan phase.
//
// Resolution rule (one per resource ARN, over the current complete load only):
//   exactly one distinct non-empty APMID among its rows  → that APMID
//   rows, but all with an empty APMID                    → reason 'empty'
//   two or more distinct non-empty APMIDs                → reason 'conflict' (never copied)
//   no row at all                                        → reason 'missing'
// Empty APMIDs next to a non-empty one do not block it (each empty row is
// still reported as empty_apmid).
//
// For a plan over a million points use materializeResolvedApmids(): it fills
// a connection-local temp table keyed by resource ARN (WITHOUT ROWID), one
// GROUP BY over the (source_id, resource_arn) index per chunk of ~20k rows, yielding between
// chunks. The plan then joins it per chunk of points with one primary-key
// probe per point:
//
//   SELECT p.id, r.apmid,
//          CASE WHEN r.resource_arn IS NULL THEN 'missing' ELSE r.reason END AS apmid_reason
//   FROM recovery_points p
//   LEFT JOIN temp.metadata_resolved_apmids r ON r.resource_arn = p.resource_arn
//   WHERE p.id > ? ORDER BY p.id LIMIT 5000
//
// resolvedApmidSql() is the same rule as a subquery, for one-off queries: it
// is re-evaluated by every statement that embeds it (a full GROUP BY of the
// load), so never use it once per chunk of a large plan.
//
// The temp table is a snapshot: it belongs to the store's one connection,
// disappears when the store closes, and is not updated by a later load; call
// materializeResolvedApmids again after loadMetadata returns 'loaded'
// (its sourceId tells which load it reflects).

import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Store } from '../store/store.js';
import { serialized } from './loader.js';
import { currentSource, resourceArnAfter } from './repo.js';

export const RESOLVED_APMIDS_TABLE = 'temp.metadata_resolved_apmids';
const RESOLVE_CHUNK = 20_000;

const AGGREGATE = `resource_arn,
  CASE WHEN count(DISTINCT nullif(apmid, '')) = 1 THEN max(nullif(apmid, '')) END AS apmid,
  CASE count(DISTINCT nullif(apmid, '')) WHEN 0 THEN 'empty' WHEN 1 THEN NULL ELSE 'conflict' END AS reason`;

/**
 * The resolution rule as a parenthesised subquery with columns
 * (resource_arn, apmid, reason): apmid is NULL exactly when reason is 'empty'
 * or 'conflict'. A resource absent from it has reason 'missing'. Reads the
 * current complete load only.
 */
export function resolvedApmidSql(): string {
  const current = `(SELECT id FROM metadata_sources WHERE state = 'complete' ORDER BY id DESC LIMIT 1)`;
  return `(SELECT ${AGGREGATE} FROM metadata_rows WHERE source_id = ${current} GROUP BY resource_arn)`;
}

export interface ResolvedApmids {
  /** `temp.metadata_resolved_apmids (resource_arn TEXT PRIMARY KEY, apmid TEXT, reason TEXT) WITHOUT ROWID`. */
  table: typeof RESOLVED_APMIDS_TABLE;
  /** The load it reflects; null when none is loaded (the table is then empty). */
  sourceId: number | null;
  /** Distinct resource ARNs in the load. */
  resources: number;
  outcome: 'done' | 'stopped';
}

/** (Re)fill the temp table of resolved APMIDs from the current load. Serialized with loads. */
export function materializeResolvedApmids(
  store: Store,
  options: { signal?: AbortSignal } = {},
): Promise<ResolvedApmids> {
  return serialized(store, async () => {
    const sql = store.sqlite;
    sql.exec(
      `CREATE TEMP TABLE IF NOT EXISTS metadata_resolved_apmids
         (resource_arn TEXT PRIMARY KEY, apmid TEXT, reason TEXT) WITHOUT ROWID;
       DELETE FROM temp.metadata_resolved_apmids;`,
    );
    const source = currentSource(store);
    const result: ResolvedApmids = {
      table: RESOLVED_APMIDS_TABLE,
      sourceId: source?.id ?? null,
      resources: 0,
      outcome: 'stopped',
    };
    if (!source) {
      result.outcome = 'done';
      return result;
    }
    const fillUpTo = sql.prepare(
      `INSERT INTO temp.metadata_resolved_apmids SELECT ${AGGREGATE}
       FROM metadata_rows INDEXED BY metadata_rows_source_resource_idx
       WHERE source_id = ? AND resource_arn > ? AND resource_arn <= ? GROUP BY resource_arn`,
    );
    const fillRest = sql.prepare(
      `INSERT INTO temp.metadata_resolved_apmids SELECT ${AGGREGATE}
       FROM metadata_rows INDEXED BY metadata_rows_source_resource_idx
       WHERE source_id = ? AND resource_arn > ? GROUP BY resource_arn`,
    );
    let after = '';
    for (;;) {
      // The chunk boundary: the resource ARN ~RESOLVE_CHUNK index entries further on (a covering index walk).
      const next = resourceArnAfter(store, source.id, after, RESOLVE_CHUNK);
      if (next === undefined) {
        result.resources += fillRest.run(source.id, after).changes;
        break;
      }
      result.resources += fillUpTo.run(source.id, after, next).changes;
      after = next;
      if (options.signal?.aborted) return result;
      await yieldToEventLoop();
    }
    result.outcome = 'done';
    return result;
  });
}
