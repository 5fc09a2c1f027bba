// One credential session per account: the only place that reloads credentials.
//
// Guarantees:
// - Reloads are single-flight: however many calls fail on the same stale
//   token, the file is re-read once and the generation advances once.
// - A failure counts once per credential generation: many calls failing
//   together on generation N are one failure, not many.
// - After `maxFailures` consecutive failed generations the session is
//   `exhausted`; the caller pauses work and notifies the operator. A success
//   on the current generation resets the count.
// Credentials live only in memory here and in the task messages to workers;
// they never reach the store, the logs or the API.

import { fromIni } from '@aws-sdk/credential-providers';
import type { Account } from './operations.js';

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: number;
}

export interface CurrentCredentials {
  generation: number;
  credentials: AwsCredentials;
}

export type CredentialLoader = (profile: string) => Promise<AwsCredentials>;

/** Re-read the shared credentials/config files every time (the SDK caches them per process otherwise). */
export const loadFromSharedFiles: CredentialLoader = async (profile) => {
  const identity = await fromIni({ profile, ignoreCache: true })();
  return {
    accessKeyId: identity.accessKeyId,
    secretAccessKey: identity.secretAccessKey,
    ...(identity.sessionToken ? { sessionToken: identity.sessionToken } : {}),
    ...(identity.expiration ? { expiration: identity.expiration.getTime() } : {}),
  };
};

export type AuthFailureVerdict = 'retry' | 'exhausted';

export class CredentialSession {
  private generationNumber = 0;
  private current: Promise<CurrentCredentials> | undefined;
  private failedGenerations = 0;
  private lastFailedGeneration = -1;

  constructor(
    readonly account: Account,
    readonly profile: string,
    private readonly load: CredentialLoader = loadFromSharedFiles,
    readonly maxFailures = 3,
  ) {}

  get generation(): number {
    return this.generationNumber;
  }

  get consecutiveFailures(): number {
    return this.failedGenerations;
  }

  get exhausted(): boolean {
    return this.failedGenerations >= this.maxFailures;
  }

  /** The current credentials, loading them on first use. */
  credentials(): Promise<CurrentCredentials> {
    this.current ??= this.reload();
    return this.current;
  }

  private reload(): Promise<CurrentCredentials> {
    const generation = ++this.generationNumber;
    const loading = this.load(this.profile).then((credentials) => ({ generation, credentials }));
    // A failed load is remembered as a failed generation; the next call tries the file again.
    loading.catch(() => {
      if (this.current === loading) this.current = undefined;
    });
    return loading;
  }

  /**
   * Report that a call made with `generation` failed authentication. Counts at
   * most once per generation and starts at most one reload per generation.
   */
  reportAuthFailure(generation: number): AuthFailureVerdict {
    if (generation > this.lastFailedGeneration) {
      this.lastFailedGeneration = generation;
      this.failedGenerations += 1;
    }
    if (generation === this.generationNumber) this.current = this.reload();
    return this.exhausted ? 'exhausted' : 'retry';
  }

  /** A call with `generation` succeeded: the token works, the failure count starts again. */
  reportSuccess(generation: number): void {
    if (generation === this.generationNumber) this.failedGenerations = 0;
  }

  /** Forget the count and load fresh credentials (the operator said resume, or the file changed). */
  reset(): void {
    this.failedGenerations = 0;
    this.current = this.reload();
  }
}
