// rpctl watch's side of GET /v1/watch: node:http over the daemon's socket, read as server-sent events.

import { request } from 'node:http';
import { createParser, type EventSourceParser } from 'eventsource-parser';
import { ROUTES } from '../../shared/api.js';
import { connectionError, errorFromResponse } from '../client.js';

export interface SseMessage {
  event: string;
  data: string;
  id?: string;
}

/**
 * text/event-stream through eventsource-parser: feed it chunks, it returns the complete messages. It adds what
 * an EventSource would: the event type defaults to "message", and the last id seen stays on later messages
 * (the spec's last event ID); comment lines (the daemon's heartbeats) are counted, not returned.
 */
export class SseParser {
  private readonly parser: EventSourceParser;
  private pending: SseMessage[] = [];
  private lastId: string | undefined;
  /** Comment lines seen (heartbeats). */
  comments = 0;

  constructor() {
    this.parser = createParser({
      onEvent: ({ event, data, id }) => {
        if (id !== undefined) this.lastId = id;
        this.pending.push({ event: event ?? 'message', data, ...(this.lastId ? { id: this.lastId } : {}) });
      },
      onComment: () => {
        this.comments += 1;
      },
    });
  }

  push(chunk: string): SseMessage[] {
    this.parser.feed(chunk);
    const out = this.pending;
    this.pending = [];
    return out;
  }
}

export interface WatchStreamHandlers {
  onMessage(message: SseMessage): void;
  /** Any bytes arrived (heartbeats included). */
  onActivity?(): void;
}

export interface WatchStream {
  /** Resolves 'ended' when the daemon ends the stream, 'lost' when the connection breaks, 'closed' after close(). */
  done: Promise<'ended' | 'lost' | 'closed'>;
  close(): void;
}

/** Connect to the stream; rejects with DAEMON_NOT_RUNNING (or the API's error) when it cannot start. */
export function openWatchStream(socketPath: string, handlers: WatchStreamHandlers): Promise<WatchStream> {
  return new Promise((resolve, reject) => {
    let closedByUs = false;
    const req = request(
      {
        socketPath,
        path: ROUTES.watch,
        method: 'GET',
        headers: { host: 'localhost', accept: 'text/event-stream' },
      },
      (res) => {
        if (res.statusCode !== 200) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => reject(errorFromResponse(res.statusCode ?? 500, Buffer.concat(chunks).toString('utf8'))));
          return;
        }
        const parser = new SseParser();
        res.setEncoding('utf8');
        const done = new Promise<'ended' | 'lost' | 'closed'>((settle) => {
          let settled = false;
          const finish = (how: 'ended' | 'lost') => {
            if (settled) return;
            settled = true;
            settle(closedByUs ? 'closed' : how);
          };
          res.on('data', (chunk: string) => {
            handlers.onActivity?.();
            for (const message of parser.push(chunk)) handlers.onMessage(message);
          });
          res.on('end', () => finish('ended'));
          res.on('aborted', () => finish('lost'));
          res.on('error', () => finish('lost'));
          res.on('close', () => finish(res.complete ? 'ended' : 'lost'));
        });
        resolve({
          done,
          close: () => {
            closedByUs = true;
            req.destroy();
          },
        });
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (!closedByUs) reject(connectionError(err, socketPath));
    });
    req.end();
  });
}
