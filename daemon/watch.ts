// The stream behind `rpctl watch`: GET /v1/watch as text/event-stream (shared/api.ts lists the events).
//
// Guarantees:
// - Cost does not grow with watchers: one status() per second and one per-vault computation every few seconds,
//   serialised once and written to every connected stream; a new watcher costs one status() for its snapshot.
//   Nothing runs while nobody watches (the timers and the worker exist only while a stream is open).
// - Journal records reach every watcher as they are recorded (the journal's subscriber hook), never by polling
//   the events table.
// - A slow or dead watcher never blocks the daemon or grows its memory: each stream has its own bounded queue
//   (@hono/node-server pulls from it only as fast as the socket drains); a stream whose queue passes the limit
//   is dropped. A disconnect cancels the stream and removes the watcher.
// - close() ends every stream (the daemon's stop path calls it before the server closes, so no open stream
//   delays `rpctl stop`) and stops the timers and the worker. Nothing here writes; a crash loses nothing.
//
// Per-vault progress: a GROUP BY over the covering index copy_items_combo_idx (combo → source vault, a hundred
// rows), the cheapest of the forms tried (bench/results/design-notes.md), on a worker thread with its own
// read-only connection (WAL: beside the writer, without blocking it), at most every VAULTS_EVERY_MS while
// someone watches, single-flight. Points the copy phase has not grouped into combinations (before it starts,
// or failed before grouping) are attributed through their recovery point's own vault, as the HTML report does;
// that join costs in proportion to those points, so a computation that took long is repeated less often.

import type Database from 'better-sqlite3';
import type { StatusResponse, WatchJournalEvent, WatchVaultProgress, WatchVaults } from '../shared/api.js';
import type { JournalRecord, SubscribableJournal } from './events.js';
import type { Logger } from './log.js';
import { ReadWorker } from './store/read-worker.js';

const STATUS_EVERY_MS = 1_000;
const HEARTBEAT_EVERY_MS = 15_000;
const VAULTS_EVERY_MS = 5_000;
/** The per-vault computation may take at most this share of the worker's time. */
const VAULTS_MAX_SHARE = 0.1;
/** Bytes queued for one watcher before it is dropped (a status event is a few kilobytes). */
const MAX_QUEUED_BYTES = 1024 * 1024;
const RECENT_EVENTS = 20;

export interface WatchHubOptions {
  journal: SubscribableJournal;
  status: () => StatusResponse;
  /** The store file, for the per-vault worker's read-only connection. */
  storeFile: string;
  log: Logger;
  /** Replace the per-vault computation (tests). */
  computeVaults?: () => Promise<Omit<WatchVaults, 'at'>>;
  statusEveryMs?: number;
  heartbeatEveryMs?: number;
  vaultsEveryMs?: number;
  maxQueuedBytes?: number;
  now?: () => number;
}

export interface WatchHub {
  /** A new watcher: the text/event-stream response (snapshot first), or 503 while the daemon stops. */
  connect(): Response;
  readonly watchers: number;
  /** End every stream and stop the timers and the worker; resolves once the streams had a moment to flush. */
  close(): Promise<void>;
}

interface Watcher {
  controller: ReadableStreamDefaultController<Uint8Array>;
  closed: boolean;
}

const encoder = new TextEncoder();

/** Error objects in event data become their name and message (JSON.stringify would give {}). */
function jsonReplacer(_key: string, value: unknown): unknown {
  return value instanceof Error ? { name: value.name, message: value.message } : value;
}

function sseMessage(event: string, data: unknown, id?: number): string {
  // JSON.stringify escapes newlines, so the payload is one data line.
  return `event: ${event}\n${id === undefined ? '' : `id: ${id}\n`}data: ${JSON.stringify(data, jsonReplacer)}\n\n`;
}

function wireEvent(record: JournalRecord): WatchJournalEvent {
  return {
    id: record.id,
    at: new Date(record.at).toISOString(),
    level: record.level,
    kind: record.kind,
    message: record.message,
    ...(record.data === undefined ? {} : { data: JSON.parse(JSON.stringify(record.data, jsonReplacer)) }),
  };
}

export function createWatchHub(options: WatchHubOptions): WatchHub {
  const { log, status } = options;
  const now = options.now ?? Date.now;
  const maxQueuedBytes = options.maxQueuedBytes ?? MAX_QUEUED_BYTES;
  const vaultsEveryMs = options.vaultsEveryMs ?? VAULTS_EVERY_MS;
  const watchers = new Set<Watcher>();
  const recent: WatchJournalEvent[] = [];
  let vaults: WatchVaults | null = null;
  let vaultsStartedAt = Number.NEGATIVE_INFINITY;
  let vaultsTookMs = 0;
  let vaultsRunning = false;
  let closed = false;
  let statusTimer: NodeJS.Timeout | undefined;
  let heartbeatTimer: NodeJS.Timeout | undefined;
  // Kept while someone watches.
  let worker: ReadWorker | undefined;

  const computeVaults =
    options.computeVaults ??
    (() => {
      worker ??= new ReadWorker(options.storeFile, 'the per-vault progress worker');
      const reader = worker;
      return Promise.all([reader.all<VaultRow>(VAULTS_SQL), reader.all<WaitingRow>(WAITING_SQL, { now: now() })]).then(
        ([rows, waiting]) => vaultProgress(rows, waiting),
      );
    });

  const drop = (watcher: Watcher, why?: Error) => {
    if (watcher.closed) return;
    watcher.closed = true;
    watchers.delete(watcher);
    try {
      if (why) watcher.controller.error(why);
      else watcher.controller.close();
    } catch {
      // Already closed or errored by the reader's side.
    }
    if (watchers.size === 0) idle();
  };

  const send = (watcher: Watcher, chunk: Uint8Array) => {
    if (watcher.closed) return;
    watcher.controller.enqueue(chunk);
    // desiredSize = limit − bytes queued: negative once this watcher's socket has not kept up.
    if ((watcher.controller.desiredSize ?? 0) < 0) {
      log.warn('dropped a watcher that does not keep up with the stream', { queuedLimitBytes: maxQueuedBytes });
      drop(watcher, new Error('the watcher does not keep up with the stream'));
    }
  };

  const broadcast = (text: string) => {
    if (watchers.size === 0) return;
    const chunk = encoder.encode(text);
    for (const watcher of [...watchers]) send(watcher, chunk);
  };

  const refreshVaults = () => {
    const every = Math.max(vaultsEveryMs, vaultsTookMs / VAULTS_MAX_SHARE);
    if (vaultsRunning || closed || now() - vaultsStartedAt < every) return;
    vaultsRunning = true;
    vaultsStartedAt = now();
    computeVaults().then(
      (result) => {
        vaultsRunning = false;
        vaultsTookMs = now() - vaultsStartedAt;
        vaults = { at: new Date(now()).toISOString(), ...result };
      },
      (err: unknown) => {
        vaultsRunning = false;
        if (!closed && watchers.size > 0)
          log.warn('computing per-vault progress for rpctl watch failed', { error: err });
      },
    );
  };

  const tick = () => {
    refreshVaults();
    let current: StatusResponse;
    try {
      current = status();
    } catch (err) {
      log.warn('reading the status for rpctl watch failed', { error: err });
      return;
    }
    broadcast(sseMessage('status', { status: current, vaults }));
  };

  const unsubscribe = options.journal.subscribe((record) => {
    const event = wireEvent(record);
    recent.push(event);
    if (recent.length > RECENT_EVENTS) recent.shift();
    broadcast(sseMessage('event', event, event.id));
  });

  const busy = () => {
    if (statusTimer) return;
    statusTimer = setInterval(tick, options.statusEveryMs ?? STATUS_EVERY_MS);
    heartbeatTimer = setInterval(() => broadcast(': heartbeat\n\n'), options.heartbeatEveryMs ?? HEARTBEAT_EVERY_MS);
    statusTimer.unref();
    heartbeatTimer.unref();
  };

  const idle = () => {
    clearInterval(statusTimer);
    clearInterval(heartbeatTimer);
    statusTimer = undefined;
    heartbeatTimer = undefined;
    void worker?.close();
    worker = undefined;
  };

  return {
    get watchers() {
      return watchers.size;
    },
    connect() {
      if (closed) {
        return Response.json(
          { error: { code: 'SHUTTING_DOWN', message: 'rpcopyd is stopping' } },
          { status: 503, headers: { 'cache-control': 'no-cache' } },
        );
      }
      refreshVaults();
      const snapshot = sseMessage('snapshot', { status: status(), vaults, recent: [...recent] });
      let watcher: Watcher | undefined;
      const body = new ReadableStream<Uint8Array>(
        {
          start(controller) {
            watcher = { controller, closed: false };
            watchers.add(watcher);
            busy();
            // A client that reconnects after a pause should not wait for its first byte.
            send(watcher, encoder.encode(`retry: 2000\n\n${snapshot}`));
          },
          cancel() {
            // The client went away (the server cancels the body when the socket closes).
            if (watcher) drop(watcher);
          },
        },
        new ByteLengthQueuingStrategy({ highWaterMark: maxQueuedBytes }),
      );
      return new Response(body, {
        headers: {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-cache',
          'transfer-encoding': 'chunked',
          'x-accel-buffering': 'no',
        },
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      unsubscribe();
      const had = watchers.size;
      for (const watcher of [...watchers]) drop(watcher);
      idle();
      // Ending a stream only queues its end: let the server write it before it closes the connections.
      if (had > 0) await new Promise((resolve) => setTimeout(resolve, 100));
    },
  };
}

// The second half reads only ungrouped points that are planned to copy (the IN list keeps the plan's skipped half
// out, through the index's second column).
const VAULTS_SQL = `
  SELECT v.vault, d.name AS destination, v.state, sum(v.n) AS n, sum(v.held) AS held
  FROM (
    SELECT c.source_vault_name AS vault, g.state, sum(g.n) AS n,
      sum(CASE WHEN c.state IS NOT 'open' THEN g.n ELSE 0 END) AS held
    FROM (SELECT combo_id, state, count(*) AS n FROM copy_items WHERE combo_id IS NOT NULL GROUP BY 1, 2) g
    LEFT JOIN copy_combos c ON c.id = g.combo_id
    GROUP BY 1, 2
    UNION ALL
    SELECT p.vault_name AS vault, i.state, count(*) AS n, 0 AS held
    FROM copy_items i JOIN recovery_points p ON p.id = i.point_id
    WHERE i.combo_id IS NULL AND i.state IN ('queued', 'submitting', 'submitted', 'completed', 'verified', 'failed')
    GROUP BY 1, 2
  ) v LEFT JOIN destination_vaults d ON d.source_vault_name = v.vault
  GROUP BY v.vault, v.state
  ORDER BY v.vault`;

// Queued points waiting for their next attempt (the state index's range) and queued points of the resources that
// have a copy in flight (a handful of resources, each looked up through the chain index, whose WHERE term this
// query carries verbatim): both read only the rows they count. Points of a combination whose canary has not
// passed are counted as held by it (VAULTS_SQL), not here, so no point is given two reasons.
const WAITING_SQL = `
  SELECT c.source_vault_name AS vault, x.kind, sum(x.n) AS n
  FROM (
    SELECT combo_id, 'retry' AS kind, count(*) AS n FROM copy_items
    WHERE state = 'queued' AND next_attempt_at > @now GROUP BY 1
    UNION ALL
    SELECT q.combo_id, 'resource' AS kind, count(*) AS n
    FROM (SELECT DISTINCT resource_arn FROM copy_items WHERE state IN ('submitting', 'submitted')) r
    JOIN copy_items q ON q.resource_arn = r.resource_arn AND q.state IN ('queued', 'submitting', 'submitted')
    WHERE q.state = 'queued'
    GROUP BY 1
  ) x JOIN copy_combos c ON c.id = x.combo_id
  WHERE c.state = 'open'
  GROUP BY 1, 2`;

interface VaultRow {
  vault: string | null;
  destination: string | null;
  state: string;
  n: number;
  /** Of n, points of a combination whose canary has not passed. */
  held?: number | null;
}

interface WaitingRow {
  vault: string;
  kind: 'retry' | 'resource';
  n: number;
}

/** The same computation on a connection of the caller's (tests read a store file directly). */
export function readVaultProgress(db: Database.Database, now: number): Omit<WatchVaults, 'at'> {
  return vaultProgress(
    db.prepare<[], VaultRow>(VAULTS_SQL).all(),
    db.prepare<{ now: number }, WaitingRow>(WAITING_SQL).all({ now }),
  );
}

export function vaultProgress(rows: VaultRow[], waiting: WaitingRow[] = []): Omit<WatchVaults, 'at'> {
  const byVault = new Map<string, WatchVaultProgress>();
  let unassigned = 0;
  for (const row of rows) {
    if (row.state === 'skipped' || row.state === 'discovered') continue;
    if (row.vault === null) {
      unassigned += row.n;
      continue;
    }
    let v = byVault.get(row.vault);
    if (!v) {
      v = {
        vault: row.vault,
        destination: row.destination,
        toCopy: 0,
        queued: 0,
        inFlight: 0,
        completed: 0,
        verified: 0,
        failed: 0,
      };
      byVault.set(row.vault, v);
    }
    v.toCopy += row.n;
    if (row.state === 'queued' && row.held) {
      v.waiting ??= { canary: 0, resource: 0, retry: 0 };
      v.waiting.canary += row.held;
    }
    if (row.state === 'submitting' || row.state === 'submitted') v.inFlight += row.n;
    else if (row.state === 'queued' || row.state === 'completed' || row.state === 'verified' || row.state === 'failed')
      v[row.state] += row.n;
  }
  for (const w of waiting) {
    const v = byVault.get(w.vault);
    if (!v || w.n <= 0) continue;
    v.waiting ??= { canary: 0, resource: 0, retry: 0 };
    v.waiting[w.kind] += w.n;
  }
  return { vaults: [...byVault.values()], unassigned };
}
