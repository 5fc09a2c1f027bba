// Aggregate reads off the main thread.
//
// A GROUP BY over a million copy_items takes one to two seconds; on the main
// thread it would hold the control API (`rpctl status`) and the pipeline's
// writes for that long. A ReadWorker runs such queries on a worker thread with
// its own read-only connection: in WAL mode it reads a consistent snapshot
// beside the writer and never blocks it. Nothing here writes.
//
// `cached` answers a repeated question from the worker's memory while no other
// connection has committed since it was computed (SQLite's `PRAGMA data_version`,
// read before the query, so a cached answer is never older than the version it
// is filed under): a plan or forecast asked again over an unchanged store costs
// nothing, and any commit makes the next question read the store again.

import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** Cached answers kept for one data version; more distinct questions than this start the cache afresh. */
const CACHE_ENTRIES = 32;

// CommonJS, evaluated in the worker: no file of its own, so it runs the same from sources and from dist/.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.sqlite);
const db = new Database(workerData.file, { readonly: true, fileMustExist: true });
db.pragma('busy_timeout = 5000');
const statements = new Map();
const dataVersion = db.prepare('PRAGMA data_version').pluck();
let cacheVersion;
const cache = new Map();
const rowsOf = (sql, params) => {
  let statement = statements.get(sql);
  if (!statement) statements.set(sql, (statement = db.prepare(sql)));
  return statement.all(params ?? {});
};
parentPort.on('message', ({ id, sql, params, cached }) => {
  try {
    if (!cached) return parentPort.postMessage({ id, rows: rowsOf(sql, params) });
    const version = dataVersion.get();
    if (version !== cacheVersion || cache.size >= ${CACHE_ENTRIES}) {
      cache.clear();
      cacheVersion = version;
    }
    const key = JSON.stringify([sql, params ?? {}]);
    let rows = cache.get(key);
    if (!rows) cache.set(key, (rows = rowsOf(sql, params)));
    parentPort.postMessage({ id, rows });
  } catch (err) {
    parentPort.postMessage({ id, error: String((err && err.message) || err) });
  }
});`;

interface Pending {
  resolve: (rows: unknown[]) => void;
  reject: (err: Error) => void;
}

/** One worker thread with a read-only connection to the store; queries are answered in the order asked. */
export class ReadWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private failed: Error | undefined;

  /** `purpose` names the worker in errors (for example "the per-vault progress worker"). */
  constructor(file: string, purpose: string) {
    const sqlite = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { sqlite, file } });
    // An idle reader never keeps the daemon alive; its owner terminates it on the way out.
    this.worker.unref();
    this.worker.on('message', (message: { id: number; rows?: unknown[]; error?: string }) => {
      const pending = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (message.rows) pending?.resolve(message.rows);
      else pending?.reject(new Error(`${purpose}: ${message.error ?? 'no answer'}`));
    });
    const fail = (err: Error) => {
      this.failed = err;
      for (const pending of this.pending.values()) pending.reject(err);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`${purpose} exited with ${code}`)));
  }

  /** Every row of `sql` with named `params`, read on the worker. */
  all<Row>(sql: string, params?: Record<string, unknown>): Promise<Row[]> {
    return this.ask<Row>(sql, params, false);
  }

  /**
   * The same, answered from the worker's cache while no other connection has committed since the answer was
   * read. Only for queries whose rows depend on the store alone (no clock, no random).
   */
  cached<Row>(sql: string, params?: Record<string, unknown>): Promise<Row[]> {
    return this.ask<Row>(sql, params, true);
  }

  private ask<Row>(sql: string, params: Record<string, unknown> | undefined, cached: boolean): Promise<Row[]> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.nextId++;
    return new Promise<Row[]>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (rows: unknown[]) => void, reject });
      this.worker.postMessage({ id, sql, params, cached });
    });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
