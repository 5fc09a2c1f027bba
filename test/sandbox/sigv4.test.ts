// SigV4 verification against signatures made by the SDK's own signer
// (@smithy/signature-v4), including ARN path labels and query strings.
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { HttpRequest } from '@smithy/core/protocols';
import { SignatureV4 } from '@smithy/signature-v4';
import type { SourceData } from '@smithy/types';
import t from 'tap';
import { canonicalPath, canonicalQuery, parseAuthorization, verifySignature } from './sigv4.js';

/** The SDK's hash interface over node:crypto (what @aws-crypto/sha256-js provides in the SDK). */
class Sha256 {
  private readonly h: Hash | Hmac;
  constructor(secret?: SourceData) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: SourceData): void {
    this.h.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
}

function bytes(d: SourceData): string | Buffer {
  if (typeof d === 'string') return d;
  return ArrayBuffer.isView(d) ? Buffer.from(d.buffer, d.byteOffset, d.byteLength) : Buffer.from(d);
}

const credentials = {
  accessKeyId: 'ASIAEXAMPLEEXAMPLE00',
  secretAccessKey: 'secret/example+key',
  sessionToken: 'token',
};

async function signed(path: string, query: Record<string, string>, body = '') {
  const signer = new SignatureV4({ service: 'backup', region: 'eu-west-2', credentials, sha256: Sha256 });
  const req = new HttpRequest({
    method: 'GET',
    hostname: '127.0.0.1',
    port: 4566,
    path,
    query,
    headers: { host: '127.0.0.1:4566' },
    body,
  });
  const out = await signer.sign(req);
  const rawQuery = Object.entries(query)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
  const headers = Object.fromEntries(Object.entries(out.headers).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    req: { method: 'GET', path, query: rawQuery, headers, body: Buffer.from(body) },
    auth: headers.authorization as string,
  };
}

t.test('double-encodes path segments as the SDK does', async (t) => {
  t.equal(
    canonicalPath('/backup-vaults/v/recovery-points/arn%3Aaws%3Aec2%3A%3Asnapshot%2Fsnap-1'),
    '/backup-vaults/v/recovery-points/arn%253Aaws%253Aec2%253A%253Asnapshot%252Fsnap-1',
  );
  t.equal(canonicalPath('/backup-vaults/'), '/backup-vaults/');
  t.equal(canonicalQuery('b=2&a=x%20y&a=1'), 'a=1&a=x%20y&b=2');
});

t.test('accepts SDK signatures and refuses a wrong secret', async (t) => {
  const arnPath = `/backup-vaults/aws%2Fefs%2Fautomatic-backup-vault/recovery-points/${encodeURIComponent('arn:aws:backup:eu-west-2:111111111111:recovery-point:abc')}`;
  const { req, auth } = await signed(arnPath, { maxResults: '10', createdAfter: '2024-01-01T00:00:00Z' });
  const parsed = parseAuthorization(auth);
  if (typeof parsed !== 'object') throw new Error('unparsed');
  t.equal(parsed.service, 'backup');
  t.equal(verifySignature(req, parsed, credentials.secretAccessKey, Date.now()), undefined);
  t.equal(verifySignature(req, parsed, 'another-secret', Date.now()), 'signature');
  t.equal(verifySignature(req, parsed, credentials.secretAccessKey, Date.now() + 20 * 60_000), 'skew');
  t.equal(
    verifySignature({ ...req, path: `${arnPath}x` }, parsed, credentials.secretAccessKey, Date.now()),
    'signature',
  );
  t.equal(createHash('sha256').update('').digest('hex').length, 64);
});

t.test('parses malformed and missing headers', async (t) => {
  t.equal(parseAuthorization(undefined), 'missing');
  t.equal(parseAuthorization('Bearer x'), 'malformed');
  t.equal(parseAuthorization('AWS4-HMAC-SHA256 Credential=a/b/c, SignedHeaders=host, Signature=x'), 'malformed');
});
