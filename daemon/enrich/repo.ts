// The enrichment tables (metadata_sources, metadata_rows, metadata_problems):
// the only module that writes them, how loads are told apart, and their reads
// (the current load, its problems, the report for `rpctl plan`). The APMID
// resolution for the plan is in resolution.ts.
//
// Source of truth: metadata_sources. Every metadata_rows and metadata_problems
// row carries the source_id of the load that wrote it. The current load is the
// source with state 'complete' and the highest id; readers filter on its id
// (the leading column of both tables' indexes). Any other source is invisible:
// - state 'loading': a load in progress, or one a stop or a crash abandoned;
// - an older 'complete' one: a load superseded by a newer one, whose rows are
//   being deleted (after the switch, or by the next load if that was cut short).
// Both are deleted, rows first and a chunk per transaction, by the next load.
//
// Statements are prepared once per store. The bulk paths (the load's row and
// problem inserts, the reconciliation's INSERT ... SELECT) are raw SQL: they
// run a million times or walk an index by hand.

import type { Statement } from 'better-sqlite3';
import { and, count, desc, eq, sql } from 'drizzle-orm';
import { metadataProblems, metadataSources } from '../store/schema.js';
import type { Db, Store } from '../store/store.js';
import type { StagedRow } from './staging.js';

/** Rows deleted per transaction when clearing an old or abandoned load. */
const DELETE_CHUNK = 2_000;

export const PROBLEM_KINDS = [
  'malformed_row',
  'conflicting_apmid',
  'duplicate_row',
  'empty_apmid',
  'unmatched_row',
  'point_without_row',
] as const;
export type ProblemKind = (typeof PROBLEM_KINDS)[number];

/** One metadata_problems row to insert, in column order. */
export type ProblemTuple = [
  sourceId: number,
  kind: ProblemKind,
  line: number | null,
  resourceArn: string | null,
  detail: string,
];

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

export interface ProblemEntry {
  id: number;
  kind: ProblemKind;
  line: number | null;
  resourceArn: string | null;
  detail: string;
}

/** Rows per multi-row INSERT into metadata_rows (a prepared statement per row costs twice as much). */
const MULTI_ROW = 50;

// Problems in line order; those without a line (points without a row) last.
const BY_LINE = sql`coalesce(${metadataProblems.line}, 9007199254740991)`;

const PROBLEM_FIELDS = {
  id: metadataProblems.id,
  kind: metadataProblems.kind,
  line: metadataProblems.line,
  resourceArn: metadataProblems.resourceArn,
  detail: metadataProblems.detail,
};

const ROW_INSERT = 'INSERT INTO metadata_rows (source_id, line, resource_arn, apmid, extra) VALUES ';

// update().set() takes SQL, not a bare placeholder.
const placeholder = (name: string) => sql`${sql.placeholder(name)}`;

/** The sources' lifecycle: a load starts, completes, is marked for reloading, is deleted. */
function sourceStatements(db: Db) {
  const s = metadataSources;
  return {
    currentSource: db.select().from(s).where(eq(s.state, 'complete')).orderBy(desc(s.id)).limit(1).prepare(),
    unfinishedLoad: db.select({ id: s.id }).from(s).where(eq(s.state, 'loading')).limit(1).prepare(),
    otherSources: db
      .select({ id: s.id })
      .from(s)
      .where(sql`${s.id} IS NOT ${sql.placeholder('keep')}`)
      .orderBy(s.id)
      .prepare(),
    startSource: db
      .insert(s)
      .values({
        path: sql.placeholder('path'),
        state: 'loading',
        keyColumn: sql.placeholder('keyColumn'),
        apmidColumn: sql.placeholder('apmidColumn'),
        loadedAt: sql.placeholder('loadedAt'),
      })
      .prepare(),
    completeSource: db
      .update(s)
      .set({
        state: 'complete',
        sha256: placeholder('sha256'),
        size: placeholder('size'),
        mtimeMs: placeholder('mtimeMs'),
        keyColumn: placeholder('keyColumn'),
        apmidColumn: placeholder('apmidColumn'),
        rows: placeholder('rows'),
        loadedAt: placeholder('loadedAt'),
      })
      .where(and(eq(s.id, sql.placeholder('id')), eq(s.state, 'loading')))
      .prepare(),
    updateMtime: db
      .update(s)
      .set({ mtimeMs: placeholder('mtimeMs') })
      .where(and(eq(s.id, sql.placeholder('id')), eq(s.state, 'complete')))
      .prepare(),
    markForReload: db.update(s).set({ sha256: 'reset', mtimeMs: -1 }).where(eq(s.state, 'complete')).prepare(),
    deleteSource: db
      .delete(s)
      .where(eq(s.id, sql.placeholder('id')))
      .prepare(),
  };
}

/** The reads of a load's problems, each a walk of the (source_id, kind) index or of the load's problems. */
function problemReads(db: Db) {
  const p = metadataProblems;
  return {
    countProblems: db
      .select({ kind: p.kind, n: count() })
      .from(p)
      .where(eq(p.sourceId, sql.placeholder('sourceId')))
      .groupBy(p.kind)
      .prepare(),
    // A walk of the (source_id, kind) index from `after`: its entries end with the id, so no sort.
    problemsOfKind: db
      .select(PROBLEM_FIELDS)
      .from(p)
      .where(
        and(
          eq(p.sourceId, sql.placeholder('sourceId')),
          eq(p.kind, sql.placeholder('kind')),
          sql`${p.id} > ${sql.placeholder('after')}`,
        ),
      )
      .orderBy(p.id)
      .limit(sql.placeholder('limit'))
      .prepare(),
    problemsByLine: db
      .select({ id: p.id, line: p.line, kind: p.kind, resourceArn: p.resourceArn, detail: p.detail })
      .from(p)
      .where(
        and(
          eq(p.sourceId, sql.placeholder('sourceId')),
          sql`(${BY_LINE} > ${sql.placeholder('afterLine')}
               OR (${BY_LINE} = ${sql.placeholder('afterLine')} AND ${p.id} > ${sql.placeholder('afterId')}))`,
        ),
      )
      .orderBy(BY_LINE, p.id)
      .limit(sql.placeholder('limit'))
      .prepare(),
    malformedByLine: db
      .select({ line: p.line, detail: p.detail })
      .from(p)
      .where(and(eq(p.sourceId, sql.placeholder('sourceId')), eq(p.kind, 'malformed_row')))
      .orderBy(BY_LINE, p.id)
      .limit(sql.placeholder('limit'))
      .prepare(),
  };
}

/** The bulk paths, in raw SQL: run once per row or problem, or an index walked by hand. */
function bulkStatements(sqlite: Store['sqlite']) {
  return {
    insertProblem: sqlite.prepare(
      'INSERT INTO metadata_problems (source_id, kind, line, resource_arn, detail) VALUES (?, ?, ?, ?, ?)',
    ),
    insertRows: sqlite.prepare(ROW_INSERT + Array(MULTI_ROW).fill('(?, ?, ?, ?, ?)').join(', ')),
    insertRow: sqlite.prepare(`${ROW_INSERT}(?, ?, ?, ?, ?)`),
    deleteRowsChunk: sqlite.prepare(
      `DELETE FROM metadata_rows WHERE id IN (SELECT id FROM metadata_rows WHERE source_id = ? LIMIT ${DELETE_CHUNK})`,
    ),
    deleteProblemsChunk: sqlite.prepare(
      `DELETE FROM metadata_problems WHERE id IN
         (SELECT id FROM metadata_problems WHERE source_id = ? LIMIT ${DELETE_CHUNK})`,
    ),
    deleteReconciledChunk: sqlite.prepare(
      `DELETE FROM metadata_problems WHERE id IN (
         SELECT id FROM metadata_problems
         WHERE source_id = ? AND kind IN ('unmatched_row', 'point_without_row') LIMIT ?)`,
    ),
    // The resource ARN `offset` index entries after `after`: the end of a chunk of whole resources.
    resourceAfter: sqlite
      .prepare<[number, string, number], string>(
        `SELECT resource_arn FROM metadata_rows INDEXED BY metadata_rows_source_resource_idx
         WHERE source_id = ? AND resource_arn > ? ORDER BY resource_arn LIMIT 1 OFFSET ?`,
      )
      .pluck(),
    pointsWithoutRow: sqlite.prepare(
      `INSERT INTO metadata_problems (source_id, kind, line, resource_arn, detail)
       SELECT @source, 'point_without_row', NULL, p.resource_arn,
              'recovery point ' || p.arn || ' in vault ' || p.vault_name || ' has no row in the metadata CSV'
       FROM recovery_points p
       WHERE p.id > @after AND p.id <= @end AND p.gone_at IS NULL
         AND NOT EXISTS (SELECT 1 FROM metadata_rows m WHERE m.source_id = @source AND m.resource_arn = p.resource_arn)
         AND NOT EXISTS (SELECT 1 FROM source_vaults v WHERE v.name = p.vault_name AND v.selected = 0)
       ORDER BY p.id`,
    ),
  };
}

function prepareStatements(store: Store) {
  return { ...sourceStatements(store.db), ...problemReads(store.db), ...bulkStatements(store.sqlite) };
}

type Statements = ReturnType<typeof prepareStatements>;

const prepared = new WeakMap<Store, Statements>();

function statements(store: Store): Statements {
  let found = prepared.get(store);
  if (!found) {
    found = prepareStatements(store);
    prepared.set(store, found);
  }
  return found;
}

/** The current, complete load, or undefined when none has completed. */
export function currentSource(store: Store): SourceRow | undefined {
  const row = statements(store).currentSource.get();
  if (!row) return undefined;
  const { sha256, size, mtimeMs, keyColumn, apmidColumn, ...rest } = row;
  const fingerprint =
    sha256 !== null && size !== null && mtimeMs !== null
      ? { sha256, size, mtimeMs, keyColumn, apmidColumn }
      : undefined;
  return { ...rest, fingerprint };
}

/** Whether an unfinished load (in progress, stopped, or abandoned by a crash) left a source behind. */
export function hasUnfinishedLoad(store: Store): boolean {
  return statements(store).unfinishedLoad.get() !== undefined;
}

/** Every source but `keep` (the current load), oldest first: what the next cleanup deletes. */
export function otherSources(store: Store, keep: number | undefined): number[] {
  return statements(store)
    .otherSources.all({ keep: keep ?? null })
    .map((row) => row.id);
}

/** Start a load: a `loading` source that nothing reads until completeSource(). Returns its id. */
export function startSource(
  store: Store,
  source: { path: string; keyColumn: string; apmidColumn: string; loadedAt: number },
): number {
  return Number(store.write(() => statements(store).startSource.run(source).lastInsertRowid));
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
  store.write(() => {
    alongside?.();
    const changed = statements(store).completeSource.run({
      ...done.fingerprint,
      rows: done.rows,
      loadedAt: done.loadedAt,
      id,
    }).changes;
    if (changed !== 1) throw new Error(`metadata: load ${id} is no longer in progress`);
  });
}

/** Record a new mtime for a complete load whose bytes did not change (so the next check need not hash). */
export function updateMtime(store: Store, id: number, mtimeMs: number): void {
  store.write(() => statements(store).updateMtime.run({ id, mtimeMs }));
}

/**
 * Give every complete load a fingerprint that matches no file, so the next
 * enrich hashes the CSV and loads it again. Runs inside the caller's
 * transaction; returns how many loads it marked.
 */
export function markLoadsForReload(store: Store): number {
  return statements(store).markForReload.run().changes;
}

/** Record row-level problems of a load in one transaction. */
export function recordProblems(store: Store, problems: readonly ProblemTuple[]): void {
  if (problems.length === 0) return;
  const { insertProblem } = statements(store);
  store.write(() => {
    for (const p of problems) insertProblem.run(p);
  });
}

/** Record a batch of a load's rows (in index order) and the problems judged with them, in one transaction. */
export function recordRows(
  store: Store,
  sourceId: number,
  rows: readonly StagedRow[],
  problems: readonly ProblemTuple[],
): void {
  const { insertRows, insertRow, insertProblem } = statements(store);
  store.write(() => {
    let i = 0;
    for (; i + MULTI_ROW <= rows.length; i += MULTI_ROW) {
      const args: unknown[] = [];
      for (let j = i; j < i + MULTI_ROW; j++) {
        const [arn, line, apmid, extra] = rows[j] as StagedRow;
        args.push(sourceId, line, arn, apmid, extra);
      }
      insertRows.run(args);
    }
    for (; i < rows.length; i++) {
      const [arn, line, apmid, extra] = rows[i] as StagedRow;
      insertRow.run(sourceId, line, arn, apmid, extra);
    }
    for (const p of problems) insertProblem.run(p);
  });
}

/** Delete up to DELETE_CHUNK rows of a load that is not current, in one transaction; returns how many. */
export function deleteRowsChunk(store: Store, sourceId: number): number {
  const { deleteRowsChunk } = statements(store);
  return store.write(() => deleteRowsChunk.run(sourceId).changes);
}

/** Delete up to DELETE_CHUNK problems of a load that is not current, in one transaction; returns how many. */
export function deleteProblemsChunk(store: Store, sourceId: number): number {
  const { deleteProblemsChunk } = statements(store);
  return store.write(() => deleteProblemsChunk.run(sourceId).changes);
}

/** Delete a source whose rows and problems are gone (the foreign keys need them deleted first). */
export function deleteSource(store: Store, id: number): void {
  store.write(() => statements(store).deleteSource.run({ id }));
}

/** Delete up to `limit` of a load's unmatched_row and point_without_row problems, in one transaction. */
export function deleteReconciledProblemsChunk(store: Store, sourceId: number, limit: number): number {
  const { deleteReconciledChunk } = statements(store);
  return store.write(() => deleteReconciledChunk.run(sourceId, limit).changes);
}

/** The resource ARN `offset` entries after `after` in a load's (source_id, resource_arn) index, if any. */
export function resourceArnAfter(store: Store, sourceId: number, after: string, offset: number): string | undefined {
  return statements(store).resourceAfter.get(sourceId, after, offset);
}

// Prepared on first use: it reads the reconciliation's temp table, which exists once the reconciliation made it.
const unmatchedStatements = new WeakMap<Store, { upTo: Statement; rest: Statement }>();

/**
 * Record an unmatched_row problem for each row of the load, with a resource ARN
 * in (after, upTo] (or after `after` when upTo is undefined), that is absent from
 * temp.reconcile_resources. One transaction; returns how many.
 */
export function recordUnmatchedRows(store: Store, sourceId: number, after: string, upTo: string | undefined): number {
  let stmts = unmatchedStatements.get(store);
  if (!stmts) {
    // Two statements, so the upper bound is a range bound of the index walk (an `OR upTo IS NULL` would not be).
    // ORDER BY (resource_arn, id) is the index order, so no sort; a resource's ids follow its lines, since
    // the load copies rows in (resource ARN, line) order.
    const unmatched = (range: string) =>
      store.sqlite.prepare(
        `INSERT INTO metadata_problems (source_id, kind, line, resource_arn, detail)
         SELECT m.source_id, 'unmatched_row', m.line, m.resource_arn,
                'no recovery point in the inventory has this resource ARN'
         FROM metadata_rows m INDEXED BY metadata_rows_source_resource_idx
         WHERE m.source_id = @source AND ${range}
           AND NOT EXISTS (SELECT 1 FROM temp.reconcile_resources r WHERE r.resource_arn = m.resource_arn)
         ORDER BY m.resource_arn, m.id`,
      );
    stmts = {
      upTo: unmatched('m.resource_arn > @after AND m.resource_arn <= @upTo'),
      rest: unmatched('m.resource_arn > @after'),
    };
    unmatchedStatements.set(store, stmts);
  }
  const { upTo: boundedInsert, rest } = stmts;
  return store.write(() =>
    upTo === undefined
      ? rest.run({ source: sourceId, after }).changes
      : boundedInsert.run({ source: sourceId, after, upTo }).changes,
  );
}

/**
 * Record a point_without_row problem for each live point with an id in
 * (after, end], in a vault not deselected, whose resource ARN has no row in the
 * load. One transaction; returns how many.
 */
export function recordPointsWithoutRow(store: Store, sourceId: number, after: number, end: number): number {
  const { pointsWithoutRow } = statements(store);
  return store.write(() => pointsWithoutRow.run({ source: sourceId, after, end }).changes);
}

/** Problem counts of one source, every kind present (0 when none, or no source). Index-only reads: cheap. */
export function countProblems(store: Store, sourceId: number | undefined): Record<ProblemKind, number> {
  const counts = {} as Record<ProblemKind, number>;
  for (const kind of PROBLEM_KINDS) counts[kind] = 0;
  if (sourceId === undefined) return counts;
  for (const { kind, n } of statements(store).countProblems.all({ sourceId })) if (kind in counts) counts[kind] = n;
  return counts;
}

/** One page of a load's problems of one kind, after the problem id `after`. */
function problemsOfKind(
  store: Store,
  sourceId: number,
  kind: ProblemKind,
  after: number,
  limit: number,
): ProblemEntry[] {
  return statements(store).problemsOfKind.all({ sourceId, kind, after, limit });
}

/**
 * One page of a load's problems in line order (those without a line last),
 * after the position (afterLine, afterId); scans the load's problems.
 */
export function problemsByLine(
  store: Store,
  sourceId: number,
  page: { afterLine: number; afterId: number; limit: number },
): ProblemEntry[] {
  return statements(store).problemsByLine.all({ sourceId, ...page });
}

/** The first `limit` malformed_row problems of a load, by line. */
export function malformedRowsByLine(
  store: Store,
  sourceId: number,
  limit: number,
): { line: number | null; detail: string }[] {
  return statements(store).malformedByLine.all({ sourceId, limit });
}

export interface MetadataReport {
  source: {
    id: number;
    path: string;
    loadedAt: number;
    rows: number;
    fingerprint: Fingerprint | null;
  } | null;
  /** An unfinished load left rows behind (running now, stopped, or crashed); the next load removes them. */
  unfinished: boolean;
  counts: Record<ProblemKind, number>;
  total: number;
  /** The first `limit` problems of each kind, in the order they were found (CSV order for row problems). */
  problems: Record<ProblemKind, ProblemEntry[]>;
}

/** Summary for `rpctl plan`: counts by kind and the first `limit` problems of each kind. Cheap (index reads). */
export function metadataReport(store: Store, options: { limit?: number } = {}): MetadataReport {
  const limit = Math.max(0, options.limit ?? 20);
  const source = currentSource(store);
  const counts = countProblems(store, source?.id);
  const problems = {} as Record<ProblemKind, ProblemEntry[]>;
  for (const kind of PROBLEM_KINDS) problems[kind] = source ? problemsOfKind(store, source.id, kind, 0, limit) : [];
  return {
    source: source
      ? {
          id: source.id,
          path: source.path,
          loadedAt: source.loadedAt,
          rows: source.rows,
          fingerprint: source.fingerprint ?? null,
        }
      : null,
    unfinished: hasUnfinishedLoad(store),
    counts,
    total: Object.values(counts).reduce((a, b) => a + b, 0),
    problems,
  };
}

/** One page of the current load's problems of one kind; pass the last entry's id as `after` for the next page. */
export function listProblems(
  store: Store,
  kind: ProblemKind,
  options: { after?: number; limit?: number } = {},
): ProblemEntry[] {
  const source = currentSource(store);
  if (!source) return [];
  return problemsOfKind(store, source.id, kind, options.after ?? 0, Math.max(0, options.limit ?? 100));
}
