// rpctl watch's side of GET /v1/watch: node:http over the daemon's socket, read as server-sent events.

import { request } from 'node:http';
import { ROUTES } from '../../shared/api.js';
import { connectionError, errorFromResponse } from '../client.js';

export interface SseMessage {
  event: string;
  data: string;
  id?: string;
}

/** Incremental text/event-stream parser: feed it chunks, it returns the complete messages (comments dropped). */
export class SseParser {
  private buffer = '';
  private event = '';
  private data: string[] = [];
  private id: string | undefined;
  /** Comment lines seen (heartbeats). */
  comments = 0;

  push(chunk: string): SseMessage[] {
    this.buffer += chunk;
    const out: SseMessage[] = [];
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.buffer);
      // A lone \r at the end may be the first half of \r\n: wait for more.
      if (!match || (match[0] === '\r' && match.index === this.buffer.length - 1)) break;
      const line = this.buffer.slice(0, match.index);
      this.buffer = this.buffer.slice(match.index + match[0].length);
      if (line === '') {
        if (this.data.length > 0) {
          out.push({
            event: this.event || 'message',
            data: this.data.join('\n'),
            ...(this.id ? { id: this.id } : {}),
          });
        }
        this.event = '';
        this.data = [];
        continue;
      }
      if (line.startsWith(':')) {
        this.comments += 1;
        continue;
      }
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'event') this.event = value;
      else if (field === 'data') this.data.push(value);
      else if (field === 'id') this.id = value;
    }
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
