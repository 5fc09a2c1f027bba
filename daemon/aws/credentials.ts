// One credential session per account: the only place that reloads credentials.
//
// Guarantees:
// - Reloads are single-flight: however many calls fail on the same stale
//   token, the file is re-read once and the generation advances once. Workers
//   cache their clients per generation, so a new generation drops every
//   client built from the old credentials, in every thread.
// - A failure counts once per credential generation, and only for the current
//   one: many calls failing together on generation N are one failure, and a
//   late failure of a call made before a reload says nothing about the new
//   credentials.
// - A reload after a rejection reads the file at once and, while the file
//   still holds the rejected keys, keeps re-reading it for a moment (about a
//   second, doubling per consecutive failure): a tool that rewrites the file
//   shortly after expiry is picked up by that one reload, without a pause.
// - After `maxFailures` consecutive failed generations the session is
//   `exhausted`: it stops reloading, and the caller pauses work and notifies
//   the operator. A success on the current generation resets the count; only
//   a verified resume (verifyCredentials) gets an exhausted session going again.
// Credentials live only in memory here and in the task messages to workers;
// they never reach the store, the logs or the API (snapshot() carries numbers only).
// Crash behaviour: nothing is persisted; a restart reads the file afresh.

import { setTimeout as sleep } from 'node:timers/promises';
import { fromIni } from '@aws-sdk/credential-providers';
import type { CredentialStatus } from '../../shared/api.js';
import type { Account } from './operations.js';
import { AwsCallError, type AwsPort } from './port.js';
import type { AuthFailureVerdict, AwsCredentials, CredentialSource, CurrentCredentials } from './task.js';

export type CredentialLoader = (profile: string) => Promise<AwsCredentials>;

/** Re-read the shared credentials/config files every time (the SDK caches them per process otherwise). */
const loadFromSharedFiles: CredentialLoader = async (profile) => {
  const identity = await fromIni({ profile, ignoreCache: true })();
  return {
    accessKeyId: identity.accessKeyId,
    secretAccessKey: identity.secretAccessKey,
    ...(identity.sessionToken ? { sessionToken: identity.sessionToken } : {}),
    ...(identity.expiration ? { expiration: identity.expiration.getTime() } : {}),
  };
};

export interface CredentialSessionTiming {
  /** How long the first reload after a rejection waits for the file to change; doubles per consecutive failure. */
  reloadWaitMs?: number;
  /** How often an unchanged file is re-read while waiting. */
  pollMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

function sameKeys(a: AwsCredentials, b: AwsCredentials): boolean {
  return (
    a.accessKeyId === b.accessKeyId && a.secretAccessKey === b.secretAccessKey && a.sessionToken === b.sessionToken
  );
}

export class CredentialSession implements CredentialSource {
  private generationNumber = 0;
  private current: Promise<CurrentCredentials> | undefined;
  /** The last credentials read, to tell a rewritten file from one that still holds the rejected keys. */
  private lastLoaded: AwsCredentials | undefined;
  private failedGenerations = 0;
  private lastFailedGeneration = -1;
  private reloadCount = 0;
  private readonly reloadWaitMs: number;
  private readonly pollMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;

  constructor(
    readonly account: Account,
    readonly profile: string,
    private readonly load: CredentialLoader = loadFromSharedFiles,
    readonly maxFailures = 3,
    timing: CredentialSessionTiming = {},
  ) {
    this.reloadWaitMs = timing.reloadWaitMs ?? 1000;
    this.pollMs = timing.pollMs ?? 200;
    this.sleep = timing.sleep ?? ((ms) => sleep(ms, undefined, { ref: false }));
    this.now = timing.now ?? Date.now;
  }

  get generation(): number {
    return this.generationNumber;
  }

  get consecutiveFailures(): number {
    return this.failedGenerations;
  }

  get exhausted(): boolean {
    return this.failedGenerations >= this.maxFailures;
  }

  /** Re-reads of the file after the first load: one per rejection (however many calls failed), plus one per resume. */
  get reloads(): number {
    return this.reloadCount;
  }

  /** What `rpctl status` shows: numbers only, never key material. */
  snapshot(): CredentialStatus {
    return {
      profile: this.profile,
      generation: this.generationNumber,
      consecutiveFailures: this.failedGenerations,
      reloads: this.reloadCount,
      exhausted: this.exhausted,
    };
  }

  /** The current credentials, loading them on first use. */
  credentials(): Promise<CurrentCredentials> {
    this.current ??= this.reload(0);
    return this.current;
  }

  private reload(waitForChangeMs: number): Promise<CurrentCredentials> {
    const generation = ++this.generationNumber;
    if (generation > 1) this.reloadCount += 1;
    const rejected = waitForChangeMs > 0 ? this.lastLoaded : undefined;
    const loading = (async () => {
      const deadline = this.now() + waitForChangeMs;
      for (;;) {
        let credentials: AwsCredentials | undefined;
        let error: unknown;
        try {
          credentials = await this.load(this.profile);
        } catch (err) {
          // Half-written or missing right now: within the window, read again.
          error = err;
        }
        const fresh = credentials !== undefined && !(rejected && sameKeys(credentials, rejected));
        if (fresh || this.now() >= deadline) {
          if (credentials === undefined) throw error;
          // Only the newest generation's read counts as "what the file holds" (an older one may finish later).
          if (generation === this.generationNumber) this.lastLoaded = credentials;
          return { generation, credentials };
        }
        await this.sleep(Math.min(this.pollMs, deadline - this.now()));
      }
    })();
    // A failed load stays the answer for its generation (each caller reports it as an auth failure, counted once)
    // until that report starts the next reload: an unreadable file counts towards the pause like a rejected token.
    loading.catch(() => undefined);
    return loading;
  }

  /**
   * Report that a call made with `generation` failed authentication. Counts at most once per generation, only
   * for the current one, and starts at most one reload per generation (none once exhausted: the operator's
   * resume or a changed file reloads then).
   */
  reportAuthFailure(generation: number): AuthFailureVerdict {
    if (generation === this.generationNumber && generation !== this.lastFailedGeneration) {
      this.lastFailedGeneration = generation;
      this.failedGenerations += 1;
      if (!this.exhausted) this.current = this.reload(this.reloadWaitMs * 2 ** (this.failedGenerations - 1));
    }
    return this.exhausted ? 'exhausted' : 'retry';
  }

  /** A call with `generation` succeeded: the token works, the failure count starts again. */
  reportSuccess(generation: number): void {
    if (generation === this.generationNumber) this.failedGenerations = 0;
  }

  /** Re-read the file now, as a new generation; the failure count stays until a call on it succeeds. */
  reloadNow(): Promise<CurrentCredentials> {
    this.current = this.reload(0);
    return this.current;
  }

  /**
   * Whether the file now holds other keys than the last ones read: a refresh that landed just before a pause
   * began is not a change the file watcher will report again. A file that cannot be read holds nothing new.
   */
  async holdsNewKeys(): Promise<boolean> {
    const last = this.lastLoaded;
    if (!last) return false;
    try {
      return !sameKeys(await this.load(this.profile), last);
    } catch {
      return false;
    }
  }
}

export interface CredentialProblem {
  account: Account;
  /** `rejected`: AWS still refuses the token; `wrong_account`: it works but for another account; `unverified`: no answer. */
  kind: 'rejected' | 'wrong_account' | 'unverified';
  message: string;
}

export interface VerifyOptions {
  port: Pick<AwsPort, 'call'>;
  sessions: Record<Account, CredentialSession>;
  /** The configured account id of each side. */
  accountIds: Record<Account, string>;
  signal?: AbortSignal;
}

/**
 * Re-read each account's credentials and ask STS who they belong to, before work restarts after a credentials
 * pause. The call does not wait on the pause gate (the daemon is paused) and does not retry an auth failure: a
 * rejected token is the answer. A success resets the account's failure count (through the port), so work can
 * go on; any problem leaves the sessions exhausted and the daemon paused. Returns the problems, none if verified.
 */
export async function verifyCredentials(options: VerifyOptions): Promise<CredentialProblem[]> {
  const { port, sessions, accountIds, signal } = options;
  const accounts = Object.keys(sessions) as Account[];
  const results = await Promise.all(
    accounts.map(async (account): Promise<CredentialProblem | undefined> => {
      const session = sessions[account];
      const who = `${account} account (profile ${session.profile})`;
      try {
        await session.reloadNow();
      } catch (err) {
        return { account, kind: 'rejected', message: `${who}: cannot read the credentials: ${(err as Error).message}` };
      }
      try {
        const identity = await port.call(account, 'getCallerIdentity', {}, signal, {
          ignorePause: true,
          authRetry: false,
        });
        if (identity.account !== accountIds[account]) {
          return {
            account,
            kind: 'wrong_account',
            message: `${who}: the credentials are for account ${identity.account}, expected ${accountIds[account]}`,
          };
        }
        return undefined;
      } catch (err) {
        signal?.throwIfAborted();
        if (err instanceof AwsCallError && err.failure.kind === 'auth') {
          return {
            account,
            kind: 'rejected',
            message: `${who}: AWS still rejects the token (${err.failure.name}: ${err.failure.message})`,
          };
        }
        return { account, kind: 'unverified', message: `${who}: could not verify with STS: ${(err as Error).message}` };
      }
    }),
  );
  return results.filter((r): r is CredentialProblem => r !== undefined);
}
