// Request pacing for one (account, operation): the AWS port's rate budget, shared by every caller.

/**
 * Spaces the calls of one (account, operation) at its rate. The rate starts at the published quota and adapts,
 * as the SDK's own "adaptive" retry mode does: a throttling answer means that others share the budget or that
 * this account's quota is lower, so the rate drops by a third (down to a tenth of the quota); every call that
 * goes through wins back 1 % of the quota, up to it. Calls in flight together are throttled together: one cut
 * per second, or a burst of refusals would floor the rate at once.
 *
 * Waiting callers are served by priority, highest first, and in arrival order within a priority. The inventory
 * uses it so that the vault with the most pages left gets the next slot: its pages come one after another, and
 * with slots shared evenly the largest vault would be listed alone, at one lane's speed, after the others.
 */
export class RateLimiter {
  /** The earliest time the next call may go. */
  private nextSlot = 0;
  private rate: number;
  private lastCut = Number.NEGATIVE_INFINITY;
  private readonly waiting: Waiter[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly maxRate: number) {
    this.rate = maxRate;
  }

  /** Calls per second allowed now. */
  get currentRate(): number {
    return this.rate;
  }

  /** Callers waiting for a slot. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Resolves when the caller may send its call; rejects with an AbortError if `signal` aborts first. */
  take(signal?: AbortSignal, priority = 0): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortError(signal));
    const now = Date.now();
    if (this.waiting.length === 0 && now >= this.nextSlot) {
      this.book(now, now);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { priority, resolve, reject, signal };
      if (signal) {
        waiter.onAbort = () => {
          const index = this.waiting.indexOf(waiter);
          if (index >= 0) this.waiting.splice(index, 1);
          reject(abortError(signal));
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.waiting.push(waiter);
      this.schedule();
    });
  }

  throttled(now = Date.now()): void {
    if (now - this.lastCut < 1000) return;
    this.lastCut = now;
    this.rate = Math.max(this.maxRate / 10, (this.rate * 2) / 3);
  }

  succeeded(): void {
    if (this.rate < this.maxRate) this.rate = Math.min(this.maxRate, this.rate + this.maxRate / 100);
  }

  /**
   * Uses `slot` (due at or before `now`) and books the next one an interval at the current rate later. A slot
   * more than an interval overdue counts as `now`: however late a timer fires, it earns no burst.
   */
  private book(slot: number, now: number): void {
    const interval = 1000 / this.rate;
    this.nextSlot = (now - slot < interval ? slot : now) + interval;
  }

  private schedule(): void {
    if (this.timer !== undefined || this.waiting.length === 0) return;
    this.timer = setTimeout(() => this.release(), Math.max(0, this.nextSlot - Date.now()));
  }

  private release(): void {
    this.timer = undefined;
    const now = Date.now();
    if (now >= this.nextSlot && this.waiting.length > 0) {
      // The queue is in arrival order, so the first of the highest priority is the one that waited longest.
      let best = 0;
      for (let i = 1; i < this.waiting.length; i++) {
        if ((this.waiting[i] as Waiter).priority > (this.waiting[best] as Waiter).priority) best = i;
      }
      const [waiter] = this.waiting.splice(best, 1) as [Waiter];
      if (waiter.onAbort) waiter.signal?.removeEventListener('abort', waiter.onAbort);
      // A timer that fires a little late uses the slot it was set for, so lateness does not slow the schedule.
      this.book(this.nextSlot, now);
      waiter.resolve();
    }
    this.schedule();
  }
}

interface Waiter {
  priority: number;
  resolve: () => void;
  reject: (reason: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort?: () => void;
}

/** The same error node:timers/promises gives an aborted sleep, so callers see one kind of abort. */
function abortError(signal: AbortSignal): Error {
  const error = Object.assign(new Error('The operation was aborted', { cause: signal.reason }), { code: 'ABORT_ERR' });
  error.name = 'AbortError';
  return error;
}
