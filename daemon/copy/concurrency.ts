// How many copy jobs may be in flight: additive increase, multiplicative
// decrease (architecture.md, Throughput). The account's concurrent-copy quota
// is not readable through an API and differs by resource type (aws-backup.md
// §4.1), so the limit learns it from AWS's answers:
// - a job started: +1 while below the level where the quota last bit (the
//   level was fine a moment ago: recover quickly), +1/limit above it (probe
//   gently);
// - LimitExceededException: the quota is where the jobs in flight are now;
//   drop to 90 % of that level, so a few completions reopen room;
// - ThrottlingException: a request-rate problem, not a quota one: halve.
// Never above the configured (or `rpctl set`) maximum, never below 1.

/** The copy engine's in-flight limit (not the change window, which decides when work runs at all). */
export class InFlightLimit {
  private size: number;
  /** Jobs in flight when the quota last refused a job. */
  private ceiling = Number.POSITIVE_INFINITY;

  constructor(private maximum: number) {
    this.size = maximum;
  }

  /** Jobs that may be in flight now. */
  get limit(): number {
    return Math.max(1, Math.floor(this.size));
  }

  get max(): number {
    return this.maximum;
  }

  /** The learned quota, if the account ever refused a job. */
  get learnedQuota(): number | undefined {
    return Number.isFinite(this.ceiling) ? this.ceiling : undefined;
  }

  setMax(maximum: number): void {
    this.maximum = maximum;
    this.size = Math.min(this.size, maximum);
    if (!Number.isFinite(this.ceiling)) this.size = maximum;
  }

  onStarted(): void {
    const step = this.size + 1 < this.ceiling ? 1 : 1 / this.size;
    this.size = Math.min(this.maximum, this.size + step);
  }

  onQuotaExceeded(inFlight: number): void {
    this.ceiling = Math.max(1, inFlight);
    this.size = Math.max(1, Math.min(this.size, inFlight) * 0.9);
  }

  onThrottled(): void {
    this.size = Math.max(1, this.size / 2);
  }
}
