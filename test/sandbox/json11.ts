/**
 * AWS JSON 1.1 protocol (KMS, Organizations): POST / with the operation in
 * X-Amz-Target ("TrentService.DescribeKey"), JSON in and out, errors as
 * {"__type": name, "message": ...} with status 400 (5xx for server faults).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AwsError } from './errors.js';
import { headerValue } from './sigv4.js';

export function json11Operation(req: IncomingMessage): string | undefined {
  const target = headerValue(req.headers['x-amz-target']);
  if (!target) return undefined;
  const dot = target.lastIndexOf('.');
  return dot >= 0 ? target.slice(dot + 1) : target;
}

export function sendJson11(res: ServerResponse, requestId: string, body: unknown): void {
  const text = JSON.stringify(body ?? {});
  res.writeHead(200, {
    'content-type': 'application/x-amz-json-1.1',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': requestId,
  });
  res.end(text);
}

export function sendJson11Error(res: ServerResponse, requestId: string, err: AwsError): void {
  const text = JSON.stringify({ __type: err.code, message: err.message });
  res.writeHead(err.status, {
    'content-type': 'application/x-amz-json-1.1',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': requestId,
  });
  res.end(text);
}
