// WAL checkpoints off the main thread.
//
// better-sqlite3 is synchronous: an automatic checkpoint runs inside the
// commit that crosses the threshold, copying tens of megabytes and syncing the
// database file while the control API waits (the p99 of `rpctl status` during
// a million-point inventory). So the main connection's automatic checkpoint is
// raised to a safety net, and a worker thread with its own connection runs
// PASSIVE checkpoints every quarter of a second. PASSIVE never blocks the
// writer and never waits for readers; if the worker dies, the safety net still
// bounds the WAL, so the only cost is a slower status answer, never lost data.
//
// Why so often: the writer syncs the WAL on the main thread whenever it starts
// the WAL over, flushing whatever the checkpoints left unsynced; frequent
// checkpoints keep that small (figures: bench/results/design-notes.md).

import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../log.js';

const CHECKPOINTER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('busy_timeout = 1000');
const timer = setInterval(() => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch (err) { parentPort.postMessage({ error: String(err && err.message || err) }); }
}, workerData.intervalMs);
parentPort.on('message', (message) => {
  if (message === 'stop') { clearInterval(timer); db.close(); parentPort.close(); }
});
`;

export interface Checkpointer {
  stop(): Promise<void>;
}

export function startCheckpointer(file: string, log: Logger, intervalMs = 250): Checkpointer {
  const worker = new Worker(CHECKPOINTER, {
    eval: true,
    workerData: { file, intervalMs, driver: createRequire(import.meta.url).resolve('better-sqlite3') },
  });
  worker.on('message', (message: { error?: string }) => {
    if (message.error) log.warn('background WAL checkpoint failed', { error: message.error });
  });
  worker.on('error', (err) =>
    log.warn('the WAL checkpointer stopped; checkpoints fall back to the writer', { error: err }),
  );
  worker.unref();
  return {
    stop: () =>
      new Promise<void>((resolve) => {
        if (worker.threadId === -1) return resolve();
        // Unref'd so it never keeps a finished daemon alive; ref'd again while stopping, or the process
        // could exit in the middle of the shutdown sequence with nothing left on the event loop.
        worker.ref();
        const timer = setTimeout(() => void worker.terminate(), 2_000);
        worker.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        worker.postMessage('stop');
      }),
  };
}
