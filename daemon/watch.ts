// The stream behind `rpctl watch`: GET /v1/watch as text/event-stream (shared/api.ts lists the events).
//
// Guarantees:
// - Cost does not grow with watchers: one status() per second and one per-vault computation every few seconds,
//   serialised once and written to every connected stream; a new watcher costs one status() for its snapshot.
//   Nothing runs while nobody watches (the timers and the worker exist only while a stream is open).
// - Journal records reach every watcher as they are recorded (the journal's subscriber hook), never by polling
//   the events table.
// - A slow or dead watcher never blocks the daemon or grows its memory (watch-stream.ts: a bounded queue per
//   stream, dropped past its limit). A disconnect cancels the stream and removes the watcher.
// - close() ends every stream (the daemon's stop path calls it before the server closes, so no open stream
//   delays `rpctl stop`) and stops the timers and the worker. Nothing here writes; a crash loses nothing.
//
// Per-vault progress (read-model.ts vaultProgressOn): a GROUP BY over the covering index copy_items_combo_idx (combo → source vault, a hundred
// rows), the cheapest of the forms tried (bench/results/design-notes.md), on a worker thread with its own
// read-only connection (WAL: beside the writer, without blocking it), at most every VAULTS_EVERY_MS while
// someone watches, single-flight (watch-vaults.ts). Points the copy phase has not grouped into combinations (before it starts,
// or failed before grouping) are attributed through their recovery point's own vault, as the HTML report does;
// that join costs in proportion to those points, so a computation that took long is repeated less often.

import type { StatusResponse, WatchJournalEvent, WatchVaults } from '../shared/api.js';
import type { SubscribableJournal } from './events.js';
import type { Logger } from './log.js';
import { vaultProgressOn } from './read-model.js';
import { ReadWorker } from './store/read-worker.js';
import { sseMessage, WatcherStreams, wireEvent } from './watch-stream.js';
import { VaultProgressPoller } from './watch-vaults.js';

const STATUS_EVERY_MS = 1_000;
const HEARTBEAT_EVERY_MS = 15_000;
const VAULTS_EVERY_MS = 5_000;
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

/** The status and heartbeat timers, running only while someone watches. */
class Ticker {
  private statusTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly tick: () => void,
    private readonly heartbeat: () => void,
    private readonly statusEveryMs: number,
    private readonly heartbeatEveryMs: number,
  ) {}

  start(): void {
    if (this.statusTimer) return;
    this.statusTimer = setInterval(this.tick, this.statusEveryMs);
    this.heartbeatTimer = setInterval(this.heartbeat, this.heartbeatEveryMs);
    this.statusTimer.unref();
    this.heartbeatTimer.unref();
  }

  stop(): void {
    clearInterval(this.statusTimer);
    clearInterval(this.heartbeatTimer);
    this.statusTimer = undefined;
    this.heartbeatTimer = undefined;
  }
}

export function createWatchHub(options: WatchHubOptions): WatchHub {
  const { log, status } = options;
  const now = options.now ?? Date.now;
  const recent: WatchJournalEvent[] = [];
  let closed = false;
  // Kept while someone watches.
  let worker: ReadWorker | undefined;

  const computeVaults =
    options.computeVaults ??
    (() => {
      worker ??= new ReadWorker(options.storeFile, 'the per-vault progress worker');
      return vaultProgressOn(worker, now());
    });
  const everyMs = options.vaultsEveryMs ?? VAULTS_EVERY_MS;
  const watched = () => streams.size > 0;
  const vaults = new VaultProgressPoller({ compute: computeVaults, everyMs, now, log, watched });

  const tick = () => {
    vaults.refresh();
    let current: StatusResponse;
    try {
      current = status();
    } catch (err) {
      log.warn('reading the status for rpctl watch failed', { error: err });
      return;
    }
    streams.broadcast(sseMessage('status', { status: current, vaults: vaults.latest }));
  };
  const heartbeat = () => streams.broadcast(': heartbeat\n\n');
  const statusEveryMs = options.statusEveryMs ?? STATUS_EVERY_MS;
  const ticker = new Ticker(tick, heartbeat, statusEveryMs, options.heartbeatEveryMs ?? HEARTBEAT_EVERY_MS);
  const idle = () => {
    ticker.stop();
    void worker?.close();
    worker = undefined;
  };
  const maxQueuedBytes = options.maxQueuedBytes ?? MAX_QUEUED_BYTES;
  const streams = new WatcherStreams({ log, maxQueuedBytes, onOpen: () => ticker.start(), onEmpty: idle });

  const unsubscribe = options.journal.subscribe((record) => {
    const event = wireEvent(record);
    recent.push(event);
    if (recent.length > RECENT_EVENTS) recent.shift();
    streams.broadcast(sseMessage('event', event, event.id));
  });

  return {
    get watchers() {
      return streams.size;
    },
    connect() {
      if (closed) {
        return Response.json(
          { error: { code: 'SHUTTING_DOWN', message: 'rpcopyd is stopping' } },
          { status: 503, headers: { 'cache-control': 'no-cache' } },
        );
      }
      vaults.refresh();
      const snapshot = sseMessage('snapshot', { status: status(), vaults: vaults.latest, recent: [...recent] });
      // A client that reconnects after a pause should not wait for its first byte.
      return streams.open(`retry: 2000\n\n${snapshot}`);
    },
    async close() {
      if (closed) return;
      closed = true;
      vaults.stop();
      unsubscribe();
      const had = streams.size;
      streams.closeAll();
      idle();
      // Ending a stream only queues its end: let the server write it before it closes the connections.
      if (had > 0) await new Promise((resolve) => setTimeout(resolve, 100));
    },
  };
}
