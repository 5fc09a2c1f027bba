/**
 * AWS Signature Version 4 verification (header form), as the real services do
 * it: rebuild the canonical request from what arrived on the wire, derive the
 * signing key from the secret the sandbox issued, and compare.
 *
 * Canonical URI: both the JS SDK (@smithy/signature-v4, uriEscapePath) and
 * botocore take the path exactly as sent (labels already percent-encoded),
 * drop empty and "." segments, and URI-encode it again, so "%3A" becomes
 * "%253A" ("double encoding", every service except S3). We therefore encode
 * the raw path segments, never decoded ones.
 * Canonical query: names and values URI-encoded (RFC 3986 unreserved set),
 * sorted by name then value. We decode what arrived and re-encode, so either
 * client's encoding choice gives the same result.
 * Payload hash: the x-amz-content-sha256 header when it says UNSIGNED-PAYLOAD,
 * otherwise the SHA-256 of the body we actually received.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export interface ParsedAuthorization {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

export function parseAuthorization(header: string | undefined): ParsedAuthorization | 'missing' | 'malformed' {
  if (!header) return 'missing';
  const m = /^AWS4-HMAC-SHA256\s+(.*)$/.exec(header.trim());
  if (!m?.[1]) return 'malformed';
  const parts = new Map<string, string>();
  for (const kv of m[1].split(',')) {
    const eq = kv.indexOf('=');
    if (eq > 0) parts.set(kv.slice(0, eq).trim(), kv.slice(eq + 1).trim());
  }
  const cred = parts.get('Credential')?.split('/');
  const signedHeaders = parts.get('SignedHeaders');
  const signature = parts.get('Signature');
  if (cred?.length !== 5 || cred[4] !== 'aws4_request' || !signedHeaders || !signature) return 'malformed';
  return {
    accessKeyId: cred[0] as string,
    date: cred[1] as string,
    region: cred[2] as string,
    service: cred[3] as string,
    signedHeaders: signedHeaders.split(';'),
    signature,
  };
}

/** RFC 3986 encoding as SigV4 wants it (only A-Z a-z 0-9 - _ . ~ left alone). */
export function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export function canonicalPath(rawPath: string): string {
  const segments: string[] = [];
  for (const seg of rawPath.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') segments.pop();
    else segments.push(seg);
  }
  const joined = `${rawPath.startsWith('/') ? '/' : ''}${segments.join('/')}${segments.length && rawPath.endsWith('/') ? '/' : ''}`;
  return uriEncode(joined).replace(/%2F/g, '/');
}

export function canonicalQuery(rawQuery: string): string {
  if (!rawQuery) return '';
  const pairs: [string, string][] = [];
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const k = eq < 0 ? part : part.slice(0, eq);
    const v = eq < 0 ? '' : part.slice(eq + 1);
    pairs.push([uriEncode(safeDecode(k.replace(/\+/g, '%20'))), uriEncode(safeDecode(v.replace(/\+/g, '%20')))]);
  }
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

export interface SignedRequest {
  method: string;
  /** Raw request target path (before any decoding). */
  path: string;
  /** Raw query string without "?". */
  query: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export function canonicalRequest(req: SignedRequest, signedHeaders: string[]): string {
  const headerLines = signedHeaders.map((name) => {
    const raw = req.headers[name];
    const value = Array.isArray(raw) ? raw.join(',') : (raw ?? '');
    return `${name}:${value.trim().replace(/\s+/g, ' ')}`;
  });
  const declared = req.headers['x-amz-content-sha256'];
  const payloadHash = declared === 'UNSIGNED-PAYLOAD' ? 'UNSIGNED-PAYLOAD' : sha256Hex(req.body);
  return [
    req.method,
    canonicalPath(req.path),
    canonicalQuery(req.query),
    `${headerLines.join('\n')}\n`,
    signedHeaders.join(';'),
    payloadHash,
  ].join('\n');
}

export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const kDate = createHmac('sha256', `AWS4${secret}`).update(date).digest();
  const kRegion = createHmac('sha256', kDate).update(region).digest();
  const kService = createHmac('sha256', kRegion).update(service).digest();
  return createHmac('sha256', kService).update('aws4_request').digest();
}

export function computeSignature(
  req: SignedRequest,
  auth: ParsedAuthorization,
  secret: string,
  amzDate: string,
): string {
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest(req, auth.signedHeaders))].join(
    '\n',
  );
  return createHmac('sha256', signingKey(secret, auth.date, auth.region, auth.service))
    .update(stringToSign)
    .digest('hex');
}

export type VerifyFailure = 'signature' | 'skew' | 'malformed';

/** Verify a parsed Authorization header against a secret; `realNow` is wall-clock ms. */
export function verifySignature(
  req: SignedRequest,
  auth: ParsedAuthorization,
  secret: string,
  realNow: number,
): VerifyFailure | undefined {
  const amzDate = headerValue(req.headers['x-amz-date']);
  if (!amzDate || !/^\d{8}T\d{6}Z$/.test(amzDate) || !amzDate.startsWith(auth.date)) return 'malformed';
  if (!auth.signedHeaders.includes('host')) return 'malformed';
  const signedAt = Date.UTC(
    Number(amzDate.slice(0, 4)),
    Number(amzDate.slice(4, 6)) - 1,
    Number(amzDate.slice(6, 8)),
    Number(amzDate.slice(9, 11)),
    Number(amzDate.slice(11, 13)),
    Number(amzDate.slice(13, 15)),
  );
  // AWS refuses signatures more than 15 minutes away from its clock.
  if (Math.abs(realNow - signedAt) > 15 * 60_000) return 'skew';
  const expected = Buffer.from(computeSignature(req, auth, secret, amzDate), 'utf8');
  const given = Buffer.from(auth.signature, 'utf8');
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return 'signature';
  return undefined;
}

export function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
