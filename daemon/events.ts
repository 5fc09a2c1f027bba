// Runs and the event log: the operator-visible history of the job.
// Each write is its own short transaction on the main thread.

import { eq } from 'drizzle-orm';
import type { Logger, LogLevel } from './log.js';
import { runs } from './store/schema.js';
import type { Store } from './store/store.js';

export function startRun(store: Store, run: { pid: number; version: string; mode: 'service' | 'once' }): number {
  return store.write(() => store.db.insert(runs).values(run).returning({ id: runs.id }).get().id);
}

export function endRun(store: Store, runId: number, endReason: string): void {
  store.write(() => store.db.update(runs).set({ endedAt: Date.now(), endReason }).where(eq(runs.id, runId)).run());
}

export interface EventJournal {
  record(level: LogLevel, kind: string, message: string, data?: Record<string, unknown>): void;
}

/** Events go both to the store (history for status/report) and to the log. */
export function createJournal(store: Store, runId: number, log: Logger): EventJournal {
  const insert = store.sqlite.prepare('INSERT INTO events (run_id, level, kind, message, data) VALUES (?, ?, ?, ?, ?)');
  return {
    record(level, kind, message, data) {
      insert.run(runId, level, kind, message, data === undefined ? null : JSON.stringify(data));
      log[level](message, { event: kind, ...data });
    },
  };
}
