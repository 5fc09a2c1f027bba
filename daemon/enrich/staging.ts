// An external sort of the CSV rows by (resource ARN, line), in a temp table.
//
// Why: metadata_rows has an index on (source_id, resource_arn). Inserting a
// million rows in CSV order (random ARN order) dirties one index page per row,
// and every commit rewrote most of the index into the WAL. Inserting in ARN
// order makes the index (and the table, whose ids are given in the same order)
// grow at the end (figures: bench/results/design-notes.md).
//
// How: rows are appended (multi-row INSERTs, a transaction per batch) to
// temp.metadata_unsorted; every RUN_SIZE rows, one INSERT ... SELECT ... ORDER BY
// (SQLite's sorter) moves them as a sorted run to temp.metadata_staging,
// where each run occupies a contiguous id range. merged() then reads the runs
// back with a K-way merge, a small page per run at a time. Sorting everything
// at once (CREATE INDEX, or ORDER BY over the whole table) would be faster in
// total but blocks the event loop for seconds; a sort in JS was slower than
// SQLite's; a temp table keyed by ARN is as slow as the index it replaces.
// Memory: one batch plus K pages.
//
// Event-loop stalls: sorting a run blocks in proportion to its size, so runs
// are small (RUN_SIZE). In a CSV in random ARN order every run's page runs out
// at about the same point of the merge, so all K runs refill within one batch:
// merged() therefore ends a batch early once MERGE_BUDGET_MS of work has gone
// into it, so that the caller yields.
//
// Crash behaviour: the temp tables belong to the store's connection and
// vanish with it; nothing here touches the main database.

import type { Store } from '../store/store.js';

export type StagedRow = [resourceArn: string, line: number, apmid: string, extra: string | null];

const RUN_SIZE = 10_000;
/** Rows read from a run at a time. */
const PAGE = 500;
/** A merged batch ends early after this much work, whatever its size. */
const MERGE_BUDGET_MS = 15;
/** Rows per multi-row INSERT statement. */
const MULTI = 50;

function before(a: StagedRow, b: StagedRow): boolean {
  return a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
}

interface Run {
  next: number;
  end: number;
  page: StagedRow[];
  at: number;
}

export class SortedStaging {
  private batch: StagedRow[] = [];
  private unsorted = 0;
  private readonly runs: { start: number; end: number }[] = [];
  private sortedRows = 0;
  private readonly appendMany;
  private readonly appendOne;
  private readonly sortRun;
  private readonly readPage;

  constructor(
    private readonly store: Store,
    private readonly batchSize: number,
    private readonly runSize = RUN_SIZE,
  ) {
    store.sqlite.exec(
      `DROP TABLE IF EXISTS temp.metadata_unsorted;
       DROP TABLE IF EXISTS temp.metadata_staging;
       CREATE TEMP TABLE metadata_unsorted (resource_arn TEXT NOT NULL, line INTEGER NOT NULL, apmid TEXT NOT NULL, extra TEXT);
       CREATE TEMP TABLE metadata_staging (
         id INTEGER PRIMARY KEY, resource_arn TEXT NOT NULL, line INTEGER NOT NULL, apmid TEXT NOT NULL, extra TEXT);`,
    );
    const insert = 'INSERT INTO temp.metadata_unsorted (resource_arn, line, apmid, extra) VALUES ';
    this.appendMany = store.sqlite.prepare(insert + Array(MULTI).fill('(?, ?, ?, ?)').join(', '));
    this.appendOne = store.sqlite.prepare(`${insert}(?, ?, ?, ?)`);
    this.sortRun = store.sqlite.prepare(
      `INSERT INTO temp.metadata_staging (resource_arn, line, apmid, extra)
       SELECT resource_arn, line, apmid, extra FROM temp.metadata_unsorted ORDER BY resource_arn, line`,
    );
    this.readPage = store.sqlite
      .prepare<[number, number], StagedRow>(
        'SELECT resource_arn, line, apmid, extra FROM temp.metadata_staging WHERE id BETWEEN ? AND ? ORDER BY id',
      )
      .raw();
  }

  /** Rows added so far. */
  get size(): number {
    return this.sortedRows + this.unsorted + this.batch.length;
  }

  add(row: StagedRow): void {
    this.batch.push(row);
  }

  /**
   * Append the rows added since the last call (one transaction), and turn the
   * unsorted rows into a sorted run when RUN_SIZE is reached or `end` is set.
   * Synchronous and short: call it between batches.
   */
  flush(end: boolean): void {
    const batch = this.batch;
    this.batch = [];
    const sql = this.store.sqlite;
    sql.transaction(() => {
      let i = 0;
      for (; i + MULTI <= batch.length; i += MULTI) {
        const args: unknown[] = [];
        for (let j = i; j < i + MULTI; j++) args.push(...(batch[j] as StagedRow));
        this.appendMany.run(args);
      }
      for (; i < batch.length; i++) this.appendOne.run(batch[i] as StagedRow);
    })();
    this.unsorted += batch.length;
    if (this.unsorted > 0 && (end || this.unsorted >= this.runSize)) {
      sql.transaction(() => {
        const { lastInsertRowid, changes } = this.sortRun.run();
        const last = Number(lastInsertRowid);
        this.runs.push({ start: last - changes + 1, end: last });
        sql.exec('DELETE FROM temp.metadata_unsorted');
      })();
      this.sortedRows += this.unsorted;
      this.unsorted = 0;
    }
  }

  /**
   * Every staged row in (resource ARN, line) order, in batches of at most
   * batchSize rows (fewer, even none, when the batch took MERGE_BUDGET_MS).
   * Call after the last flush(true).
   */
  *merged(): Generator<StagedRow[], void, undefined> {
    const runs: Run[] = this.runs.map((r) => ({ next: r.start, end: r.end, page: [], at: 0 }));
    let refilled = false;
    const fill = (run: Run): boolean => {
      if (run.at < run.page.length) return true;
      if (run.next > run.end) return false;
      const to = Math.min(run.next + PAGE - 1, run.end);
      run.page = this.readPage.all(run.next, to);
      run.at = 0;
      run.next = to + 1;
      refilled = true;
      return run.page.length > 0;
    };
    // The first page of every run, a budget's worth per (possibly empty) batch.
    let started = performance.now();
    const heap: Run[] = [];
    for (const run of runs) {
      if (fill(run)) heap.push(run);
      if (performance.now() - started >= MERGE_BUDGET_MS) {
        yield [];
        started = performance.now();
      }
    }
    // A binary min-heap of runs by their current row.
    const head = (run: Run) => run.page[run.at] as StagedRow;
    const down = (i: number) => {
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && before(head(heap[l] as Run), head(heap[m] as Run))) m = l;
        if (r < heap.length && before(head(heap[r] as Run), head(heap[m] as Run))) m = r;
        if (m === i) return;
        [heap[i], heap[m]] = [heap[m] as Run, heap[i] as Run];
        i = m;
      }
    };
    for (let i = Math.floor(heap.length / 2) - 1; i >= 0; i--) down(i);
    let batch: StagedRow[] = [];
    refilled = false;
    while (heap.length > 0) {
      const top = heap[0] as Run;
      batch.push(head(top));
      top.at++;
      if (!fill(top)) {
        const last = heap.pop() as Run;
        if (heap.length > 0) heap[0] = last;
      }
      if (heap.length > 0) down(0);
      // The clock is read only after a page was read: the rest costs little per row.
      const overBudget = refilled && performance.now() - started >= MERGE_BUDGET_MS;
      refilled = false;
      if (batch.length >= this.batchSize || overBudget) {
        yield batch;
        batch = [];
        started = performance.now();
      }
    }
    if (batch.length > 0) yield batch;
  }

  drop(): void {
    this.batch = [];
    this.store.sqlite.exec('DROP TABLE IF EXISTS temp.metadata_unsorted; DROP TABLE IF EXISTS temp.metadata_staging;');
  }
}
