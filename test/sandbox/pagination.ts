/**
 * Opaque pagination tokens. A token is a small JSON payload (which listing,
 * whose, where to resume, a fingerprint of the filters) signed with a secret
 * chosen at server start, so a token that was edited, comes from another
 * listing or another sandbox instance is rejected, as AWS rejects tokens it
 * did not issue.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { backupErr } from './errors.js';

export interface TokenPayload {
  /** Which listing issued it, e.g. "rp:111111111111:prod-ebs-daily". */
  scope: string;
  /** Fingerprint of the filters; a token is only valid with the same filters. */
  filter: string;
  /** Where to resume (listing-specific). */
  pos: number;
}

export class TokenCodec {
  private readonly secret: Buffer;
  constructor(secret?: Buffer) {
    this.secret = secret ?? randomBytes(16);
  }

  encode(p: TokenPayload): string {
    const body = Buffer.from(JSON.stringify([p.scope, p.filter, p.pos])).toString('base64url');
    return `${body}.${this.mac(body)}`;
  }

  /**
   * Decode a token or throw the error AWS Backup gives for a bad nextToken.
   * The exact message is UNCONFIRMED; the exception is the modeled
   * InvalidParameterValueException.
   */
  decode(token: string, scope: string, filter: string): number {
    const bad = () => backupErr.invalidParam(`The provided pagination token is invalid: ${token.slice(0, 40)}`);
    const dot = token.lastIndexOf('.');
    if (dot <= 0) throw bad();
    const body = token.slice(0, dot);
    if (this.mac(body) !== token.slice(dot + 1)) throw bad();
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    } catch {
      throw bad();
    }
    if (!Array.isArray(parsed) || parsed[0] !== scope || parsed[1] !== filter || typeof parsed[2] !== 'number') {
      throw bad();
    }
    return parsed[2];
  }

  private mac(body: string): string {
    return createHmac('sha256', this.secret).update(body).digest('base64url').slice(0, 22);
  }
}

export function filterFingerprint(filters: Record<string, string | number | undefined>): string {
  return Object.entries(filters)
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `${k}=${v}`)
    .sort()
    .join('&');
}
