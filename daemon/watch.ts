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
// Per-vault progress (read-model.ts vaultProgressOn): a GROUP BY over the covering index copy_items_combo_idx (combo → source vault, a hundred
// rows), the cheapest of the forms tried (bench/results/design-notes.md), on a worker thread with its own
// read-only connection (WAL: beside the writer, without blocking it), at most every VAULTS_EVERY_MS while
// someone watches, single-flight. Points the copy phase has not grouped into combinations (before it starts,
// or failed before grouping) are attributed through their recovery point's own vault, as the HTML report does;
// that join costs in proportion to those points, so a computation that took long is repeated less often.

import type { StatusResponse, WatchJournalEvent, WatchVaults } from '../shared/api.js';
import type { JournalRecord, SubscribableJournal } from './events.js';
import type { Logger } from './log.js';
import { vaultProgressOn } from './read-model.js';
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
      return vaultProgressOn(reader, now());
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
