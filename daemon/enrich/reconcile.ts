// Reconciliation of the loaded CSV with the inventory: the two problem kinds
// that need both, recomputed from scratch on every call.
//
// - unmatched_row: a row of the current load whose resource ARN matches no
//   live recovery point (gone_at IS NULL). One problem per row, with its line,
//   in (resource ARN, line) order.
// - point_without_row: a live recovery point, in a vault that is not
//   deselected (no source_vaults row, or selected = 1), whose resource ARN has
//   no row in the current load. One problem per point; line is NULL.
//
// Guarantees: the current load's old problems of these two kinds are deleted
// (other loads' problems go with their load), then the new
// ones inserted, each in transactions of at most RECONCILE_CHUNK rows with a
// turn of the event loop in between, so a million points never hold the write
// lock for long. The work is serialized with loads (a load cannot switch
// sources underneath). Between the deletion and the last insert a reader sees a
// partial list; if the process dies or the signal aborts, the list stays
// partial until the next call, which starts over. Nothing else is touched.
//
// Ahead of time: collectResourcesAhead, called while the inventory lists,
// gathers the resource ARNs of the points stored so far into the temp table
// the reconciliation reads, and remembers up to which point id. The
// reconciliation then only adds the points after that id, provided every
// stored point is live (the live-point counter equals the highest id: no point
// gone, none deleted); otherwise it collects them all again, as without the
// head start. The table belongs to the store's connection: a restart starts
// with nothing collected.

import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Logger } from '../log.js';
import type { Store } from '../store/store.js';
import { serialized } from './loader.js';
import {
  currentSource,
  deleteReconciledProblemsChunk,
  recordPointsWithoutRow,
  recordUnmatchedRows,
  resourceArnAfter,
} from './repo.js';

const RECONCILE_CHUNK = 5_000;

/** Per store: temp.reconcile_resources holds the resource ARNs of every point with an id up to this one. */
const collectedUpTo = new WeakMap<Store, number>();

export interface ReconcileOptions {
  signal?: AbortSignal;
  log?: Logger;
}

export interface ReconcileResult {
  outcome: 'done' | 'stopped';
  /** The load reconciled; null when no load has completed (then nothing is recorded). */
  sourceId: number | null;
  unmatchedRows: number;
  pointsWithoutRow: number;
}

/**
 * Gather the resource ARNs of the points stored since the last call into the reconciliation's temp table, until
 * every stored point is in or `signal` aborts. Serialized with loads and reconciliations.
 */
export function collectResourcesAhead(store: Store, options: { signal?: AbortSignal } = {}): Promise<void> {
  return serialized(store, async () => {
    const sql = store.sqlite;
    createResourcesTable(store);
    let from = collectedUpTo.get(store) ?? 0;
    if (from === 0) sql.exec('DELETE FROM temp.reconcile_resources');
    const lastId = sql.prepare<[], number>('SELECT coalesce(max(id), 0) FROM recovery_points').pluck().get() ?? 0;
    const collect = sql.prepare(
      `INSERT OR IGNORE INTO temp.reconcile_resources (resource_arn)
       SELECT resource_arn FROM recovery_points WHERE id > ? AND id <= ?`,
    );
    while (from < lastId) {
      if (options.signal?.aborted) return;
      const to = Math.min(from + RECONCILE_CHUNK, lastId);
      collect.run(from, to);
      from = to;
      collectedUpTo.set(store, to);
      await yieldToEventLoop();
    }
  });
}

function createResourcesTable(store: Store): void {
  store.sqlite.exec(
    'CREATE TEMP TABLE IF NOT EXISTS reconcile_resources (resource_arn TEXT PRIMARY KEY) WITHOUT ROWID',
  );
}

/** Recompute unmatched_row and point_without_row for the current load against recovery_points. */
export function reconcileMetadataWithPoints(store: Store, options: ReconcileOptions = {}): Promise<ReconcileResult> {
  return serialized(store, () => reconcile(store, options));
}

async function reconcile(store: Store, options: ReconcileOptions): Promise<ReconcileResult> {
  const { signal, log } = options;
  const outcome: ReconcileResult = { outcome: 'stopped', sourceId: null, unmatchedRows: 0, pointsWithoutRow: 0 };
  const sql = store.sqlite;

  // Serialized with loads: the current load cannot change while this runs.
  const source = currentSource(store);
  if (!source) {
    outcome.outcome = 'done';
    return outcome;
  }
  outcome.sourceId = source.id;

  while (deleteReconciledProblemsChunk(store, source.id, RECONCILE_CHUNK) > 0) {
    if (signal?.aborted) return outcome;
    await yieldToEventLoop();
  }

  // The live points' resource ARNs, as a keyed temp table built in id chunks: recovery_points has no index on
  // resource_arn (it would halve the inventory's write speed), so lookups by resource go through this table.
  createResourcesTable(store);
  const collectResources = sql.prepare(
    `INSERT OR IGNORE INTO temp.reconcile_resources (resource_arn)
     SELECT resource_arn FROM recovery_points WHERE id > ? AND id <= ? AND gone_at IS NULL`,
  );
  const lastId = sql.prepare<[], number>('SELECT coalesce(max(id), 0) FROM recovery_points').pluck().get() ?? 0;
  // What was collected ahead counts only if every stored point is live: then "any point" is "any live point".
  const live = sql.prepare(`SELECT coalesce(max(n), 0) FROM status_counters WHERE name = 'points'`).pluck().get();
  const ahead = collectedUpTo.get(store) ?? 0;
  let start = live === lastId && ahead <= lastId ? ahead : 0;
  collectedUpTo.delete(store);
  if (start === 0) sql.exec('DELETE FROM temp.reconcile_resources');
  for (; start < lastId; start += RECONCILE_CHUNK) {
    collectResources.run(start, start + RECONCILE_CHUNK);
    if (signal?.aborted) return outcome;
    await yieldToEventLoop();
  }

  // The load's rows in (resource ARN, line) order, a chunk of whole resources at a time: the chunk ends at the
  // resource ARN ~RECONCILE_CHUNK index entries further on (a covering walk of the (source_id, resource_arn) index).
  let afterArn = '';
  for (;;) {
    const upTo = resourceArnAfter(store, source.id, afterArn, RECONCILE_CHUNK);
    outcome.unmatchedRows += recordUnmatchedRows(store, source.id, afterArn, upTo);
    if (upTo === undefined) break;
    afterArn = upTo;
    if (signal?.aborted) return outcome;
    await yieldToEventLoop();
  }

  const chunkEnd = sql
    .prepare<[number], number | null>(
      `SELECT max(id) FROM (SELECT id FROM recovery_points WHERE id > ? ORDER BY id LIMIT ${RECONCILE_CHUNK})`,
    )
    .pluck();
  let after = 0;
  for (;;) {
    const end = chunkEnd.get(after);
    if (end === null || end === undefined) break;
    outcome.pointsWithoutRow += recordPointsWithoutRow(store, source.id, after, end);
    after = end;
    if (signal?.aborted) return outcome;
    await yieldToEventLoop();
  }

  outcome.outcome = 'done';
  log?.info('metadata reconciled with the inventory', {
    sourceId: source.id,
    unmatchedRows: outcome.unmatchedRows,
    pointsWithoutRow: outcome.pointsWithoutRow,
  });
  return outcome;
}
