/**
 * AWS Query protocol (STS, IAM): form-encoded POST bodies (Action=…&Version=…,
 * lists as Name.member.N), XML responses wrapped in <OpResponse><OpResult>, and
 * errors as <ErrorResponse><Error><Type>Sender</Type><Code>…</Code>….
 */
import type { ServerResponse } from 'node:http';
import type { AwsError } from './errors.js';

export function parseQueryParams(body: Buffer, rawQuery: string): URLSearchParams {
  const params = new URLSearchParams(rawQuery);
  for (const [k, v] of new URLSearchParams(body.toString('utf8'))) params.set(k, v);
  return params;
}

/** Collect Name.member.1, Name.member.2, … in order. */
export function memberList(params: URLSearchParams, name: string): string[] {
  const out: string[] = [];
  for (let i = 1; ; i++) {
    const v = params.get(`${name}.member.${i}`);
    if (v === null) return out;
    out.push(v);
  }
}

export function xmlEscape(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

export type XmlValue = string | number | boolean | Date | undefined | XmlValue[] | { [k: string]: XmlValue };

/** Serialise a value as Query-protocol XML: arrays become <member> lists, dates ISO-8601. */
export function toXml(value: XmlValue): string {
  if (value === undefined) return '';
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map((v) => `<member>${toXml(v)}</member>`).join('');
  if (typeof value === 'object') {
    return Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `<${k}>${toXml(v)}</${k}>`)
      .join('');
  }
  return xmlEscape(String(value));
}

export function sendQueryResult(
  res: ServerResponse,
  requestId: string,
  operation: string,
  namespace: string,
  result: Record<string, XmlValue> | undefined,
): void {
  const inner = result === undefined ? '' : `<${operation}Result>${toXml(result)}</${operation}Result>`;
  const text = `<${operation}Response xmlns="${namespace}">${inner}<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${operation}Response>`;
  res.writeHead(200, {
    'content-type': 'text/xml',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': requestId,
  });
  res.end(text);
}

export function sendQueryError(res: ServerResponse, requestId: string, namespace: string, err: AwsError): void {
  const type = err.fault === 'server' ? 'Receiver' : 'Sender';
  const text = `<ErrorResponse xmlns="${namespace}"><Error><Type>${type}</Type><Code>${xmlEscape(err.code)}</Code><Message>${xmlEscape(err.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
  res.writeHead(err.status, {
    'content-type': 'text/xml',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': requestId,
  });
  res.end(text);
}
