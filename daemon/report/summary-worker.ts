// Worker-thread entry of the report summary (summary.ts says why it runs here): a read-only connection of its
// own, one read transaction, the result posted back. It never writes, so terminating it at any moment is safe.

import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { summarize } from './summary.js';

const { file, now } = workerData as { file: string; now: number };
let db: Database.Database | undefined;
try {
  db = new Database(file, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  const read = db;
  parentPort?.postMessage({ summary: read.transaction(() => summarize(read, now))() });
} catch (err) {
  parentPort?.postMessage({ error: (err as Error).message });
} finally {
  db?.close();
}
