// rpctl's side of the control API: HTTP over the daemon's Unix socket with
// node:http. Connection failures and error bodies become the stable codes the
// exit codes are documented by (here only; watch/stream.ts uses the same two
// functions); responses are checked against the shared schemas.

import { request } from 'node:http';
import type { z } from 'zod';
import { ErrorResponse } from '../shared/api.js';
import { isErrorCode, RpcopyError } from '../shared/errors.js';

export interface ApiClient {
  get<T extends z.ZodType>(path: string, schema: T): Promise<z.infer<T>>;
  post<T extends z.ZodType>(path: string, schema: T, body?: unknown): Promise<z.infer<T>>;
}

export function createClient(socketPath: string, timeoutMs = 10_000): ApiClient {
  const call = <T extends z.ZodType>(method: string, path: string, schema: T, body?: unknown) =>
    new Promise<z.infer<T>>((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = request(
        {
          socketPath,
          path,
          method,
          headers: {
            host: 'localhost',
            accept: 'application/json',
            ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
          },
          timeout: timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            if ((res.statusCode ?? 500) >= 400) {
              reject(errorFromResponse(res.statusCode ?? 500, text));
              return;
            }
            let json: unknown;
            try {
              json = JSON.parse(text);
            } catch {
              reject(
                new RpcopyError(
                  'INTERNAL',
                  `the daemon answered ${res.statusCode} with non-JSON: ${text.slice(0, 200)}`,
                ),
              );
              return;
            }
            const parsed = schema.safeParse(json);
            if (!parsed.success) {
              reject(
                new RpcopyError('INTERNAL', `unexpected answer from the daemon on ${path}: ${parsed.error.message}`),
              );
              return;
            }
            resolve(parsed.data);
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', (err: NodeJS.ErrnoException) => reject(connectionError(err, socketPath)));
      req.end(payload);
    });
  return {
    get: (path, schema) => call('GET', path, schema),
    post: (path, schema, body) => call('POST', path, schema, body),
  };
}

/** An error answer as the API's `{ error: { code, message } }`; anything else is INTERNAL. */
export function errorFromResponse(statusCode: number, text: string): RpcopyError {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return new RpcopyError('INTERNAL', `the daemon answered ${statusCode} with non-JSON: ${text.slice(0, 200)}`);
  }
  const parsed = ErrorResponse.safeParse(json);
  if (!parsed.success) return new RpcopyError('INTERNAL', `HTTP ${statusCode}`);
  const { code, message } = parsed.data.error;
  return new RpcopyError(isErrorCode(code) ? code : 'INTERNAL', message);
}

/** A failed connection to the socket: not running, not ours to open, or something else. */
export function connectionError(err: NodeJS.ErrnoException, socketPath: string): RpcopyError {
  switch (err.code) {
    case 'ENOENT':
    case 'ECONNREFUSED':
      return new RpcopyError('DAEMON_NOT_RUNNING', `rpcopyd is not running (nothing listens on ${socketPath})`);
    case 'EACCES':
    case 'EPERM':
      return new RpcopyError(
        'SOCKET_ACCESS_DENIED',
        `permission denied on ${socketPath}: it belongs to the user that runs rpcopyd`,
      );
    default:
      return new RpcopyError('INTERNAL', `cannot talk to rpcopyd on ${socketPath}: ${err.message}`);
  }
}
