/**
 * The sandbox's notion of "now". Everything time-dependent in the emulated
 * accounts (copy-job progress, credential expiry, cold-storage transitions,
 * idempotency windows) reads this clock, never Date.now(), so tests can step
 * time forward instead of sleeping. The clock is real time plus an offset that
 * only ever grows. SigV4 clock-skew checks deliberately use real time instead,
 * because clients sign with their own real clock.
 */
export interface Clock {
  now(): number;
}

export class SandboxClock implements Clock {
  private offsetMs = 0;
  constructor(private readonly base: () => number = Date.now) {}
  now(): number {
    return this.base() + this.offsetMs;
  }
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError('clock can only move forward');
    this.offsetMs += ms;
  }
  get offset(): number {
    return this.offsetMs;
  }
}
