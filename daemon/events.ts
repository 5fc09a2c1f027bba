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

/** One journal record as subscribers see it, right after it was stored. */
export interface JournalRecord {
  id: number;
  at: number;
  level: LogLevel;
  kind: string;
  message: string;
  data?: Record<string, unknown>;
}

/** The journal plus a subscriber hook (rpctl watch's stream, daemon/watch.ts). */
export interface SubscribableJournal extends EventJournal {
  /** Called synchronously after each record is stored; a listener that throws is logged, never the recorder's problem. Returns the unsubscribe. */
  subscribe(listener: (record: JournalRecord) => void): () => void;
}

/** Events go both to the store (history for status/report) and to the log, then to any subscriber. */
export function createJournal(store: Store, runId: number, log: Logger): SubscribableJournal {
  const insert = store.sqlite.prepare('INSERT INTO events (run_id, level, kind, message, data) VALUES (?, ?, ?, ?, ?)');
  const listeners = new Set<(record: JournalRecord) => void>();
  return {
    record(level, kind, message, data) {
      const { lastInsertRowid } = insert.run(
        runId,
        level,
        kind,
        message,
        data === undefined ? null : JSON.stringify(data),
      );
      log[level](message, { event: kind, ...data });
      if (listeners.size === 0) return;
      const record: JournalRecord = { id: Number(lastInsertRowid), at: Date.now(), level, kind, message, data };
      for (const listener of listeners) {
        try {
          listener(record);
        } catch (err) {
          log.warn('a journal subscriber failed', { event: kind, error: err });
        }
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
