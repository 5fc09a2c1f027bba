/**
 * Request-level behaviour that is not an operation: per-operation and
 * per-account rate limits (token buckets in real time, because they model how
 * fast a client calls), transient 5xx errors, added latency, and the
 * "apply StartCopyJob then drop the connection" hook.
 */
import type { Knobs } from './knobs.js';
import type { Prng } from './rng.js';

/** Burst capacity: one second's worth of calls, but at least one call (a rate below 1/s still admits calls). */
const capacity = (rate: number) => Math.max(1, rate);

class Bucket {
  private tokens: number;
  private last: number;
  constructor(
    private rate: number,
    now: number,
  ) {
    this.tokens = capacity(rate);
    this.last = now;
  }
  take(rate: number, now: number): boolean {
    if (rate !== this.rate) {
      this.rate = rate;
      this.tokens = Math.min(this.tokens, capacity(rate));
    }
    // Refill continuously up to the burst capacity.
    this.tokens = Math.min(capacity(this.rate), this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    return false;
  }
}

export class Faults {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly knobs: Knobs,
    private readonly random: Prng,
    private readonly realNow: () => number = () => performance.now(),
  ) {}

  /** False when the call exceeds a rate limit. `accountWide` applies the account-level budget too (Backup). */
  admit(account: string, operation: string, accountWide: boolean): boolean {
    const t = this.knobs.throttling;
    if (!t.enabled) return true;
    const now = this.realNow();
    const opRate = t.rates[operation] ?? t.defaultRatePerSecond;
    if (accountWide && !this.bucket(`acct|${account}`, t.accountRatePerSecond, now).take(t.accountRatePerSecond, now))
      return false;
    return this.bucket(`op|${account}|${operation}`, opRate, now).take(opRate, now);
  }

  private bucket(key: string, rate: number, now: number): Bucket {
    let b = this.buckets.get(key);
    if (!b) {
      b = new Bucket(rate, now);
      this.buckets.set(key, b);
    }
    return b;
  }

  transient(operation: string): boolean {
    const k = this.knobs;
    if (k.transientErrorRate <= 0) return false;
    if (k.transientErrorOperations.length > 0 && !k.transientErrorOperations.includes(operation)) return false;
    return this.random.next() < k.transientErrorRate;
  }

  latencyMs(operation: string): number {
    return this.knobs.latencyMs + (this.knobs.latencyByOperation[operation] ?? 0);
  }

  /** Whether to drop the connection after applying this StartCopyJob. */
  dropAfterStartCopyJob(): boolean {
    const d = this.knobs.dropAfterStartCopyJob;
    if (d.count > 0) {
      d.count -= 1;
      return true;
    }
    return d.probability > 0 && this.random.next() < d.probability;
  }

  /** The status to answer this (already applied) StartCopyJob with, or undefined to answer it normally. */
  errorAfterStartCopyJob(): 500 | 503 | undefined {
    const e = this.knobs.errorAfterStartCopyJob;
    if (e.count > 0) {
      e.count -= 1;
      return e.status;
    }
    return e.probability > 0 && this.random.next() < e.probability ? e.status : undefined;
  }
}
