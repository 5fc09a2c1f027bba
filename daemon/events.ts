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

/**
 * Routine events: the ones every run and every pass records whatever happens. After the retention they are
 * folded into per-day counts (event_rollups). Every other kind, and every warn or error, is the audit trail
 * (operator actions, pauses, reconciled or adopted copies, failures) and is kept for the life of the store; a
 * kind added later is kept until someone decides it is routine.
 */
const ROUTINE_EVENT_KINDS: readonly string[] = [
  'daemon.started',
  'daemon.stopping',
  'daemon.stopped',
  'inventory.started',
  'inventory.vault_done',
  'inventory.refresh_due',
  'enrich.done',
  'plan.done',
  'preflight.done',
  'vaults.started',
  'vaults.vault',
  'vaults.done',
  'copy.started',
  'copy.done',
  'copy.canary_passed',
  'pipeline.done',
  'window.open',
  'window.closed',
  'window.waiting',
  'window.rescheduled',
];

/** Rows folded per transaction: small enough that a status answer waiting behind one is not noticed. */
const COMPACTION_BATCH = 2_000;

export interface EventCompaction {
  /** Fold one batch of routine events recorded before `before` (epoch ms); returns how many were folded. */
  step(before: number): number;
}

export function eventCompaction(store: Store): EventCompaction {
  const sql = store.sqlite;
  sql.exec('CREATE TEMP TABLE IF NOT EXISTS compacting_events (id INTEGER PRIMARY KEY)');
  const kinds = ROUTINE_EVENT_KINDS.map(() => '?').join(', ');
  const clear = sql.prepare('DELETE FROM temp.compacting_events');
  const pick = sql.prepare(
    `INSERT INTO temp.compacting_events (id)
     SELECT id FROM events WHERE kind IN (${kinds}) AND level IN ('debug', 'info') AND at < ? LIMIT ${COMPACTION_BATCH}`,
  );
  const fold = sql.prepare(
    `INSERT INTO event_rollups (day, kind, level, count, first_at, last_at)
     SELECT date(at / 1000, 'unixepoch'), kind, level, count(*), min(at), max(at)
       FROM events WHERE id IN (SELECT id FROM temp.compacting_events)
      GROUP BY 1, 2, 3
     ON CONFLICT (day, kind, level) DO UPDATE SET
       count = count + excluded.count,
       first_at = min(first_at, excluded.first_at),
       last_at = max(last_at, excluded.last_at)`,
  );
  const remove = sql.prepare('DELETE FROM events WHERE id IN (SELECT id FROM temp.compacting_events)');
  return {
    step: (before) =>
      store.write(() => {
        clear.run();
        const { changes } = pick.run(...ROUTINE_EVENT_KINDS, before);
        if (changes > 0) {
          fold.run();
          remove.run();
        }
        clear.run();
        return changes;
      }),
  };
}

/**
 * Keep the event log bounded over a months-long run: at start and then every `everyMs`, fold the routine
 * events older than the retention, one small transaction at a time with the event loop free between them.
 * Returns the stop function (a closer).
 */
export function startEventCompaction(
  store: Store,
  options: { retentionMs: number; everyMs?: number; log: Logger; now?: () => number },
): () => void {
  const compaction = eventCompaction(store);
  const now = options.now ?? Date.now;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const pass = async () => {
    const before = now() - options.retentionMs;
    let folded = 0;
    try {
      for (let n = compaction.step(before); n > 0 && !stopped; n = compaction.step(before)) {
        folded += n;
        await new Promise((resolve) => setImmediate(resolve));
      }
      if (folded > 0) options.log.info('folded routine events older than the retention into daily counts', { folded });
    } catch (err) {
      // Compaction is housekeeping: a failure is logged and tried again next time, never the run's problem.
      options.log.warn('event compaction failed; it is tried again later', { error: err });
    }
    if (!stopped) timer = setTimeout(() => void pass(), options.everyMs ?? 6 * 3_600_000).unref();
  };
  void pass();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}
