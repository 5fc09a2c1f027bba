// What the main thread and the worker threads exchange, and the two seams the
// port depends on (the credential source, the worker pool). Types only: the
// modules on either side import this file, never each other, so the AWS port,
// the credential session and the workers form no import cycle.

import type { Worker } from 'node:worker_threads';
import type { WireError } from './errors.js';
import type { Account, OperationName, Operations } from './operations.js';

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

export type AuthFailureVerdict = 'retry' | 'exhausted';

/** The part of a credential session (credentials.ts) the port uses. */
export interface CredentialSource {
  readonly generation: number;
  readonly consecutiveFailures: number;
  credentials(): Promise<CurrentCredentials>;
  reportAuthFailure(generation: number): AuthFailureVerdict;
  reportSuccess(generation: number): void;
}

export interface AwsTask<K extends OperationName = OperationName> {
  operation: K;
  input: Operations[K]['input'];
  account: Account;
  generation: number;
  credentials: AwsCredentials;
  region: string;
}

export type AwsTaskResult<K extends OperationName = OperationName> =
  | { ok: true; output: Operations[K]['output']; generation: number }
  | { ok: false; error: WireError; generation: number };

export interface WorkerPool {
  /** Rejects only with WorkerPoolError (an AWS failure is a result, not a rejection). */
  runAws<K extends OperationName>(task: AwsTask<K>): Promise<AwsTaskResult<K>>;
  readonly threads: number;
  /** The live worker threads (tests terminate one to crash the calls it runs). */
  workerThreads(): Worker[];
  destroy(): Promise<void>;
}
