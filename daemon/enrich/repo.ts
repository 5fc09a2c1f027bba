// The enrichment tables (metadata_sources, metadata_rows, metadata_problems):
// how loads are told apart, and the small SQL helpers the services share.
//
// Source of truth: metadata_sources. Every metadata_rows and metadata_problems
// row carries the source_id of the load that wrote it. The current load is the
// source with state 'complete' and the highest id; readers filter on its id
// (the leading column of both tables' indexes). Any other source is invisible:
// - state 'loading': a load in progress, or one a stop or a crash abandoned;
// - an older 'complete' one: a load superseded by a newer one, whose rows are
//   being deleted (after the switch, or by the next load if that was cut short).
// Both are deleted, rows first and a chunk per transaction, by the next load.

import type { Store } from '../store/store.js';

/** Rows deleted per transaction when clearing an old or abandoned load. */
export const DELETE_CHUNK = 2_000;

export const PROBLEM_KINDS = [
  'malformed_row',
  'conflicting_apmid',
  'duplicate_row',
  'empty_apmid',
  'unmatched_row',
  'point_without_row',
] as const;
export type ProblemKind = (typeof PROBLEM_KINDS)[number];

/** What a complete load recorded about its file (metadata_sources' sha256, size, mtime_ms and column names). */
export interface Fingerprint {
  sha256: string;
  size: number;
  /** Whole milliseconds; -1 when the file changed while it was read (the next check hashes it). */
  mtimeMs: number;
  keyColumn: string;
  apmidColumn: string;
}

export interface SourceRow {
  id: number;
  path: string;
  state: 'loading' | 'complete';
  /** Undefined while the load is in progress (the hash is known only at its end). */
  fingerprint: Fingerprint | undefined;
  rows: number;
  loadedAt: number;
}

interface RawSource {
  id: number;
  path: string;
  state: 'loading' | 'complete';
  sha256: string | null;
  size: number | null;
  mtimeMs: number | null;
  keyColumn: string;
  apmidColumn: string;
  rows: number;
  loadedAt: number;
}

const SOURCE_COLUMNS =
  'id, path, state, sha256, size, mtime_ms AS mtimeMs, key_column AS keyColumn, apmid_column AS apmidColumn, rows, loaded_at AS loadedAt';

function toSource(row: RawSource): SourceRow {
  const { sha256, size, mtimeMs, keyColumn, apmidColumn, ...rest } = row;
  const fingerprint =
    sha256 !== null && size !== null && mtimeMs !== null
      ? { sha256, size, mtimeMs, keyColumn, apmidColumn }
      : undefined;
  return { ...rest, fingerprint };
}

/** The current, complete load, or undefined when none has completed. */
export function currentSource(store: Store): SourceRow | undefined {
  const row = store.sqlite
    .prepare(`SELECT ${SOURCE_COLUMNS} FROM metadata_sources WHERE state = 'complete' ORDER BY id DESC LIMIT 1`)
    .get() as RawSource | undefined;
  return row && toSource(row);
}

/** Whether an unfinished load (in progress, stopped, or abandoned by a crash) left a source behind. */
export function hasUnfinishedLoad(store: Store): boolean {
  return store.sqlite.prepare(`SELECT 1 FROM metadata_sources WHERE state = 'loading' LIMIT 1`).get() !== undefined;
}

/** Every source but `keep` (the current load), oldest first: what the next cleanup deletes. */
export function otherSources(store: Store, keep: number | undefined): number[] {
  return store.sqlite
    .prepare('SELECT id FROM metadata_sources WHERE id IS NOT ? ORDER BY id')
    .pluck()
    .all(keep ?? null) as number[];
}

/** Start a load: a `loading` source that nothing reads until completeSource(). Returns its id. */
export function startSource(
  store: Store,
  source: { path: string; keyColumn: string; apmidColumn: string; loadedAt: number },
): number {
  return Number(
    store.write(
      () =>
        store.sqlite
          .prepare(
            `INSERT INTO metadata_sources (path, state, key_column, apmid_column, loaded_at)
             VALUES (?, 'loading', ?, ?, ?)`,
          )
          .run(source.path, source.keyColumn, source.apmidColumn, source.loadedAt).lastInsertRowid,
    ),
  );
}

/**
 * The switch: one short transaction makes a finished load current (it becomes
 * the complete source with the highest id). Older sources stay until deleted.
 */
export function completeSource(
  store: Store,
  id: number,
  done: { fingerprint: Fingerprint; rows: number; loadedAt: number },
  /** More writes that belong to the switch (the load's statistics), in the same transaction. */
  alongside?: () => void,
): void {
  const { fingerprint: fp } = done;
  store.write(() => {
    alongside?.();
    const changed = store.sqlite
      .prepare(
        `UPDATE metadata_sources SET state = 'complete', sha256 = ?, size = ?, mtime_ms = ?, key_column = ?,
           apmid_column = ?, rows = ?, loaded_at = ?
         WHERE id = ? AND state = 'loading'`,
      )
      .run(fp.sha256, fp.size, fp.mtimeMs, fp.keyColumn, fp.apmidColumn, done.rows, done.loadedAt, id).changes;
    if (changed !== 1) throw new Error(`metadata: load ${id} is no longer in progress`);
  });
}

/** Record a new mtime for a complete load whose bytes did not change (so the next check need not hash). */
export function updateMtime(store: Store, id: number, mtimeMs: number): void {
  store.write(() =>
    store.sqlite
      .prepare(`UPDATE metadata_sources SET mtime_ms = ? WHERE id = ? AND state = 'complete'`)
      .run(mtimeMs, id),
  );
}

/** Problem counts of one source, every kind present (0 when none, or no source). Index-only reads: cheap. */
export function countProblems(store: Store, sourceId: number | undefined): Record<ProblemKind, number> {
  const counts = {} as Record<ProblemKind, number>;
  for (const kind of PROBLEM_KINDS) counts[kind] = 0;
  if (sourceId === undefined) return counts;
  const rows = store.sqlite
    .prepare('SELECT kind, count(*) AS n FROM metadata_problems WHERE source_id = ? GROUP BY kind')
    .all(sourceId) as { kind: ProblemKind; n: number }[];
  for (const { kind, n } of rows) if (kind in counts) counts[kind] = n;
  return counts;
}
