// The main thread's door to AWS: every call goes through here, for pacing,
// backoff and credential handling in one place (architecture.md: pacing is
// decided on the main thread, never inside a worker).
//
// - Each (account, operation) has a request-rate budget (OPERATION_RATES).
// - Throttling, quota and transient errors back off with full jitter and retry
//   (idempotent operations only, for transient faults whose outcome is unknown).
// - An auth error reloads the account's credentials (single-flight, counted
//   once per generation) and retries after about a second, doubling; after the
//   session is exhausted the port waits on the pause gate until the operator
//   (or a changed credentials file) resumes it. Nothing in flight is lost: the
//   call simply waits.
// - A worker-pool failure is not an AWS answer and never a credentials failure:
//   a call a dead worker was running is transient with its outcome unknown
//   (retried only if idempotent); one that never reached a worker was not
//   sent (at shutdown it ends with the abort reason, as if stopped before it).

import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../log.js';
import type { PauseGate, PauseScope } from '../pause.js';
import { type AwsFailure, classifyAwsError, WorkerPoolError, workerPoolFailure } from './errors.js';
import { type Account, OPERATION_RATES, type OperationName, type Operations } from './operations.js';
import { RateLimiter } from './rate-limiter.js';
import type { AwsTask, AwsTaskResult, CredentialSource, CurrentCredentials, WorkerPool } from './task.js';

export class AwsCallError extends Error {
  constructor(
    readonly operation: OperationName,
    readonly account: Account,
    readonly failure: AwsFailure,
  ) {
    super(`${operation} (${account}): ${failure.name}: ${failure.message}`);
    this.name = 'AwsCallError';
  }
}

/** The request was never sent: the daemon was paused before it could go out (CallOptions.notSentWhilePaused). */
export class CallNotSent extends Error {
  constructor(
    readonly operation: OperationName,
    readonly account: Account,
  ) {
    super(`${operation} (${account}): not sent, the daemon is paused`);
    this.name = 'CallNotSent';
  }
}

export interface PauseHandler {
  /** Called when an account's credentials failed too often; resolves when work may go on. */
  credentialsExhausted(account: Account, failure: AwsFailure): Promise<void>;
}

export interface AwsPortOptions {
  pool: WorkerPool;
  sessions: Record<Account, CredentialSource>;
  region: string;
  log: Logger;
  pause: PauseHandler;
  /** Work waits here while the daemon is paused for the operator. */
  gate?: PauseGate;
  /** Retries for throttling, quota and transient errors before giving up. */
  maxRetries?: number;
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  random?: () => number;
  rates?: Partial<Record<OperationName, number>>;
}

/** Operations whose repetition is harmless, so a transient fault with unknown outcome may be retried. */
const IDEMPOTENT: ReadonlySet<OperationName> = new Set([
  'getCallerIdentity',
  'listBackupVaults',
  'listRecoveryPoints',
  'describeKey',
  'describeVault',
  'listTags',
  'getVaultAccessPolicy',
  'getVaultNotifications',
  'describeGlobalSettings',
  'describeOrganization',
  'getRole',
  'simulatePrincipalPolicy',
  'describeKeyDetail',
  'listCopyJobs',
  'describeCopyJob',
  'describeRecoveryPoint',
  // Writes that are idempotent as rpcopy sends them: a vault is created with a deterministic CreatorRequestId
  // (AWS returns the same vault; an AlreadyExistsException is checked against our id), and a policy, tag set or
  // notification configuration put twice with the same content is the same state. putVaultLock is left out:
  // with ChangeableForDays a repeat moves the lock date.
  'createBackupVault',
  'createLogicallyAirGappedBackupVault',
  'putVaultAccessPolicy',
  'putVaultNotifications',
  'tagResource',
]);

export interface CallOptions {
  /**
   * Do not wait on the pause gate: for on-demand checks (rpctl preflight, rpctl compliance) that must answer
   * while the pipeline is paused for the operator. Credential handling is unchanged.
   */
  ignorePause?: boolean;
  /**
   * 'track': a read that follows work already started (copy jobs, copies to verify) waits only for a pause that
   * keeps AWS from answering (credentials); any other pause stops new work, not its tracking.
   */
  whilePaused?: PauseScope;
  /**
   * Never sent while paused, nor after waiting a pause out: the call fails with CallNotSent instead. For
   * StartCopyJob, whose intent (and the resend window reconciliation counts from it) is dated before the call.
   */
  notSentWhilePaused?: true;
  /**
   * false: an auth failure goes straight back to the caller as an AwsCallError, neither counted nor reloaded nor
   * waited out on the pause gate. For verifying a refreshed token before a resume: a rejection is the answer.
   */
  authRetry?: false;
  /**
   * Throttling, quota and transient failures go straight back to the caller, which paces itself: the copy
   * engine's StartCopyJob, whose in-flight window shrinks on them (AIMD) and whose ambiguous outcomes are
   * settled by reconciliation, never by a blind resend. Auth failures are still reloaded and retried here
   * (AWS refused the request, so nothing was applied).
   */
  noRetry?: boolean;
  /**
   * Waiting for this operation's rate slot, a higher priority goes first (default 0). The inventory passes the
   * pages its vault has left, so the longest listing is never starved by the short ones.
   */
  priority?: number;
}

export class AwsPort {
  private readonly limiters = new Map<string, RateLimiter>();
  private readonly maxRetries: number;
  private readonly baseBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly random: () => number;
  readonly counters = { calls: 0, throttled: 0, transient: 0, authFailures: 0 };

  constructor(private readonly options: AwsPortOptions) {
    this.maxRetries = options.maxRetries ?? 8;
    this.baseBackoffMs = options.baseBackoffMs ?? 200;
    this.maxBackoffMs = options.maxBackoffMs ?? 20_000;
    this.random = options.random ?? Math.random;
  }

  private limiter(account: Account, operation: OperationName): RateLimiter {
    const key = `${account}:${operation}`;
    let limiter = this.limiters.get(key);
    if (!limiter) {
      const rate = this.options.rates?.[operation] ?? OPERATION_RATES[operation];
      limiter = new RateLimiter(rate);
      this.limiters.set(key, limiter);
    }
    return limiter;
  }

  /** Full-jitter exponential backoff (AWS architecture blog's recommendation for contending clients). */
  private backoff(attempt: number): number {
    const ceiling = Math.min(this.maxBackoffMs, this.baseBackoffMs * 2 ** attempt);
    return Math.round(this.random() * ceiling);
  }

  /** One try of a call: its output, or its failure and the credential generation it was made with. */
  private async attempt<K extends OperationName>(
    account: Account,
    operation: K,
    input: Operations[K]['input'],
    signal: AbortSignal | undefined,
  ): Promise<{ ok: true; output: Operations[K]['output'] } | { ok: false; failure: AwsFailure; generation: number }> {
    const session = this.options.sessions[account];
    const before = session.generation;
    let current: CurrentCredentials;
    try {
      current = await session.credentials();
    } catch (err) {
      // The credentials file could not be read or lacks the profile: an auth failure of this generation.
      const failure = classifyAwsError({ name: 'CredentialsProviderError', message: (err as Error).message });
      return { ok: false, failure, generation: before };
    }
    const { generation } = current;
    const task: AwsTask<K> = {
      operation,
      input,
      account,
      generation,
      credentials: current.credentials,
      region: this.options.region,
    };
    this.counters.calls += 1;
    let result: AwsTaskResult<K>;
    try {
      result = await this.options.pool.runAws(task);
    } catch (err) {
      // The pool, not AWS, failed: it says nothing about the credentials. A call that never reached a worker was
      // not sent (at shutdown the caller records it so); one that a dead worker was running has an unknown outcome.
      const poolError =
        err instanceof WorkerPoolError
          ? err
          : new WorkerPoolError(true, `the worker pool failed: ${(err as Error)?.message ?? err}`, { cause: err });
      if (!poolError.sent && signal?.aborted) throw signal.reason;
      return { ok: false, failure: workerPoolFailure(poolError), generation };
    }
    if (!result.ok) return { ok: false, failure: classifyAwsError(result.error), generation };
    session.reportSuccess(result.generation);
    return { ok: true, output: result.output };
  }

  async call<K extends OperationName>(
    account: Account,
    operation: K,
    input: Operations[K]['input'],
    signal?: AbortSignal,
    options: CallOptions = {},
  ): Promise<Operations[K]['output']> {
    const session = this.options.sessions[account];
    let retries = 0;
    let authRetries = 0;
    const gate = options.ignorePause ? undefined : this.options.gate;
    const scope = options.whilePaused ?? 'submit';
    const held = () => options.notSentWhilePaused && gate !== undefined && !gate.allows(scope);
    for (;;) {
      signal?.throwIfAborted();
      if (held()) throw new CallNotSent(operation, account);
      await gate?.wait(signal, scope);
      const limiter = this.limiter(account, operation);
      await limiter.take(signal, options.priority);
      // A pause that began while the call waited for its rate slot.
      if (held()) throw new CallNotSent(operation, account);
      const attempt = await this.attempt(account, operation, input, signal);
      if (attempt.ok) {
        limiter.succeeded();
        return attempt.output;
      }
      const { failure, generation } = attempt;

      if (failure.kind === 'auth') {
        this.counters.authFailures += 1;
        if (options.authRetry === false) throw new AwsCallError(operation, account, failure);
        const verdict = session.reportAuthFailure(generation);
        this.options.log.warn('AWS rejected the credentials; reloading them', {
          account,
          operation,
          error: failure.name,
          generation,
          consecutiveFailures: session.consecutiveFailures,
        });
        if (verdict === 'exhausted') {
          await this.options.pause.credentialsExhausted(account, failure);
          if (options.notSentWhilePaused) throw new CallNotSent(operation, account);
          authRetries = 0;
        } else {
          // A tool that rewrites the file shortly after expiry is picked up without a pause.
          await sleep(1000 * 2 ** Math.min(authRetries, 5), undefined, { signal });
          authRetries += 1;
        }
        continue;
      }
      // Slower from now on, whether or not this call is retried (StartCopyJob is not: its caller paces itself).
      if (failure.kind === 'throttle') limiter.throttled();
      const retryable =
        failure.kind === 'throttle' ||
        failure.kind === 'quota' ||
        (failure.kind === 'transient' && (!failure.outcomeUnknown || IDEMPOTENT.has(operation)));
      if (!retryable || options.noRetry || retries >= this.maxRetries) {
        throw new AwsCallError(operation, account, failure);
      }
      if (failure.kind === 'throttle' || failure.kind === 'quota') this.counters.throttled += 1;
      else this.counters.transient += 1;
      const delay = this.backoff(retries);
      this.options.log.debug('retrying AWS call', { account, operation, error: failure.name, retry: retries, delay });
      retries += 1;
      await sleep(delay, undefined, { signal });
    }
  }
}
