/**
 * Credentials the sandbox issues, and the shared-credentials file it writes.
 *
 * Like the short-lived tokens an SSO/STS tool writes for the operator, every
 * credential is a temporary one: an ASIA… access key id, a secret and a
 * session token, optionally with an expiry. A credential is never forgotten,
 * so a client holding an old key gets the error AWS gives for it (expired, or
 * a signature mismatch if only its secret is stale) rather than "unknown key".
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Clock } from './clock.js';

export interface IssuedCredential {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  account: string;
  issuedAt: number;
  expiresAt?: number;
  /** 1 for the first credential of an account, then 2, 3, … */
  generation: number;
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function randomId(prefix: string, length: number): string {
  const bytes = randomBytes(length);
  let s = prefix;
  for (let i = 0; i < length; i++) s += ALNUM[(bytes[i] as number) % 32];
  return s;
}

export class CredentialStore {
  private readonly byKey = new Map<string, IssuedCredential>();
  private readonly generations = new Map<string, number>();

  constructor(private readonly clock: Clock) {}

  issue(account: string, ttlSeconds?: number | null): IssuedCredential {
    const now = this.clock.now();
    const generation = (this.generations.get(account) ?? 0) + 1;
    this.generations.set(account, generation);
    const cred: IssuedCredential = {
      accessKeyId: randomId('ASIA', 16),
      secretAccessKey: randomBytes(30).toString('base64').replace(/[+/=]/g, 'x').slice(0, 40),
      sessionToken: `IQoJb3JpZ2luX2VjE${randomBytes(96).toString('base64')}`,
      account,
      issuedAt: now,
      expiresAt: ttlSeconds ? now + ttlSeconds * 1000 : undefined,
      generation,
    };
    this.byKey.set(cred.accessKeyId, cred);
    return cred;
  }

  lookup(accessKeyId: string): IssuedCredential | undefined {
    return this.byKey.get(accessKeyId);
  }

  isExpired(cred: IssuedCredential): boolean {
    return cred.expiresAt !== undefined && cred.expiresAt <= this.clock.now();
  }

  /** Expire every credential of the account now. */
  expireNow(account: string): number {
    const now = this.clock.now();
    let n = 0;
    for (const c of this.byKey.values()) {
      if (c.account === account && !this.isExpired(c)) {
        c.expiresAt = now;
        n++;
      }
    }
    return n;
  }

  /** Give every still-valid credential of the account a lifetime of `seconds` from now. */
  expireIn(account: string, seconds: number): void {
    const at = this.clock.now() + seconds * 1000;
    for (const c of this.byKey.values()) {
      if (c.account === account && !this.isExpired(c) && (c.expiresAt === undefined || c.expiresAt > at))
        c.expiresAt = at;
    }
  }

  /** Metadata only (no secrets), for the admin API. */
  list(): Array<Omit<IssuedCredential, 'secretAccessKey' | 'sessionToken'> & { expired: boolean }> {
    return [...this.byKey.values()].map(({ secretAccessKey: _s, sessionToken: _t, ...rest }) => ({
      ...rest,
      expired: this.isExpired(rest as IssuedCredential),
    }));
  }
}

/**
 * Replace (or add) one profile of an INI credentials file, keeping every other
 * profile and line as it was. Written to a temporary file in the same
 * directory and renamed over the original, so a reader never sees a torn file.
 */
export function writeCredentialsProfile(file: string, profile: string, cred: IssuedCredential): void {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const body = [
    `aws_access_key_id = ${cred.accessKeyId}`,
    `aws_secret_access_key = ${cred.secretAccessKey}`,
    `aws_session_token = ${cred.sessionToken}`,
  ];
  if (cred.expiresAt !== undefined) body.push(`# expires ${new Date(cred.expiresAt).toISOString()}`);
  const lines = text.length ? text.replace(/\r\n/g, '\n').replace(/\n$/, '').split('\n') : [];
  const out: string[] = [];
  let inTarget = false;
  let replaced = false;
  for (const line of lines) {
    const header = /^\s*\[([^\]]+)\]\s*$/.exec(line);
    if (header) {
      inTarget = header[1]?.trim() === profile;
      out.push(line);
      if (inTarget) {
        out.push(...body);
        replaced = true;
      }
      continue;
    }
    if (!inTarget) out.push(line);
    // Lines of the target profile are dropped: its body was written under the header.
  }
  if (!replaced) {
    if (out.length && out[out.length - 1] !== '') out.push('');
    out.push(`[${profile}]`, ...body);
  }
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, `${out.join('\n')}\n`, { mode: 0o600 });
  renameSync(tmp, file);
}
