// The watchers of `rpctl watch`: one text/event-stream response per client, each with its own bounded queue.
// A slow or dead watcher never blocks the daemon or grows its memory: @hono/node-server pulls from a stream only
// as fast as its socket drains, and a stream whose queue passes the limit is dropped. A disconnect cancels the
// stream and removes the watcher. Events are serialised once and the same bytes are written to every stream.

import type { WatchJournalEvent } from '../shared/api.js';
import type { JournalRecord } from './events.js';
import type { Logger } from './log.js';

interface Watcher {
  controller: ReadableStreamDefaultController<Uint8Array>;
  closed: boolean;
}

const encoder = new TextEncoder();

/** Error objects in event data become their name and message (JSON.stringify would give {}). */
function jsonReplacer(_key: string, value: unknown): unknown {
  return value instanceof Error ? { name: value.name, message: value.message } : value;
}

export function sseMessage(event: string, data: unknown, id?: number): string {
  // JSON.stringify escapes newlines, so the payload is one data line.
  return `event: ${event}\n${id === undefined ? '' : `id: ${id}\n`}data: ${JSON.stringify(data, jsonReplacer)}\n\n`;
}

export function wireEvent(record: JournalRecord): WatchJournalEvent {
  return {
    id: record.id,
    at: new Date(record.at).toISOString(),
    level: record.level,
    kind: record.kind,
    message: record.message,
    ...(record.data === undefined ? {} : { data: JSON.parse(JSON.stringify(record.data, jsonReplacer)) }),
  };
}

export interface WatcherStreamsOptions {
  log: Logger;
  /** Bytes queued for one watcher before it is dropped. */
  maxQueuedBytes: number;
  /** A watcher joined (the first one starts the hub's timers). */
  onOpen: () => void;
  /** The last watcher left (the hub stops its timers). */
  onEmpty: () => void;
}

export class WatcherStreams {
  private readonly watchers = new Set<Watcher>();

  constructor(private readonly options: WatcherStreamsOptions) {}

  get size(): number {
    return this.watchers.size;
  }

  /** A new watcher's response; `first` is written before anything else. */
  open(first: string): Response {
    let watcher: Watcher | undefined;
    const body = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          watcher = { controller, closed: false };
          this.watchers.add(watcher);
          this.options.onOpen();
          this.send(watcher, encoder.encode(first));
        },
        cancel: () => {
          // The client went away (the server cancels the body when the socket closes).
          if (watcher) this.drop(watcher);
        },
      },
      new ByteLengthQueuingStrategy({ highWaterMark: this.options.maxQueuedBytes }),
    );
    return new Response(body, {
      headers: {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        'transfer-encoding': 'chunked',
        'x-accel-buffering': 'no',
      },
    });
  }

  broadcast(text: string): void {
    if (this.watchers.size === 0) return;
    const chunk = encoder.encode(text);
    for (const watcher of [...this.watchers]) this.send(watcher, chunk);
  }

  /** End every stream. */
  closeAll(): void {
    for (const watcher of [...this.watchers]) this.drop(watcher);
  }

  private send(watcher: Watcher, chunk: Uint8Array): void {
    if (watcher.closed) return;
    watcher.controller.enqueue(chunk);
    // desiredSize = limit − bytes queued: negative once this watcher's socket has not kept up.
    if ((watcher.controller.desiredSize ?? 0) < 0) {
      this.options.log.warn('dropped a watcher that does not keep up with the stream', {
        queuedLimitBytes: this.options.maxQueuedBytes,
      });
      this.drop(watcher, new Error('the watcher does not keep up with the stream'));
    }
  }

  private drop(watcher: Watcher, why?: Error): void {
    if (watcher.closed) return;
    watcher.closed = true;
    this.watchers.delete(watcher);
    try {
      if (why) watcher.controller.error(why);
      else watcher.controller.close();
    } catch {
      // Already closed or errored by the reader's side.
    }
    if (this.watchers.size === 0) this.options.onEmpty();
  }
}
