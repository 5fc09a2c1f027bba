/**
 * AWS REST-JSON protocol (Backup): routing by method + URI template, and how
 * responses and errors look on the wire.
 *
 * Routing splits the raw path on "/" BEFORE percent-decoding each segment:
 * labels such as recovery point ARNs and vault names like
 * aws/efs/automatic-backup-vault arrive with ":" and "/" encoded. Empty
 * segments are ignored, so both the model's trailing-slash URIs (botocore)
 * and the JS SDK's slash-less ones match.
 */
import type { ServerResponse } from 'node:http';
import type { AwsError } from './errors.js';

export interface Route {
  method: string;
  /** Segments; "{name}" is a label. */
  segments: string[];
  operation: string;
}

export function route(method: string, pattern: string, operation: string): Route {
  return { method, segments: pattern.split('/').filter(Boolean), operation };
}

export function matchRoute(
  routes: readonly Route[],
  method: string,
  rawPath: string,
): { route: Route; labels: Record<string, string> } | undefined {
  const raw = rawPath.split('/').filter((s) => s !== '');
  let segs: string[];
  try {
    segs = raw.map((s) => decodeURIComponent(s));
  } catch {
    return undefined;
  }
  for (const r of routes) {
    if (r.method !== method || r.segments.length !== segs.length) continue;
    const labels: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < segs.length; i++) {
      const want = r.segments[i] as string;
      const got = segs[i] as string;
      if (want.startsWith('{')) labels[want.slice(1, -1)] = got;
      else if (want !== got) {
        ok = false;
        break;
      }
    }
    if (ok) return { route: r, labels };
  }
  return undefined;
}

export function sendRestJson(res: ServerResponse, requestId: string, status: number, body: unknown): void {
  const text = body === undefined ? '{}' : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': requestId,
  });
  res.end(text);
}

/**
 * Error as AWS REST-JSON services send it: the name in x-amzn-ErrorType (the
 * SDKs read it first) and in the body's __type. Modeled Backup exceptions carry
 * Code/Message/Type/Context members; front-end errors (auth, throttling) carry
 * a lower-case `message`.
 */
export function sendRestJsonError(res: ServerResponse, requestId: string, err: AwsError): void {
  const body = err.opts.modeled
    ? {
        __type: err.code,
        Code: err.code,
        Message: err.message,
        Type: err.fault === 'server' ? 'Server' : 'User',
        Context: '',
      }
    : { __type: err.code, message: err.message };
  const text = JSON.stringify(body);
  res.writeHead(err.status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': requestId,
    'x-amzn-errortype': err.code,
  });
  res.end(text);
}

/** Epoch milliseconds → what Backup's JSON carries (epoch seconds, a number). */
export function ts(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : ms / 1000;
}
