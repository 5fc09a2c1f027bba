// Test-only crash points of the copy protocol. RPCOPY_CRASH_AT="step" or
// "step:n" kills the process with SIGKILL the n-th time (default 1st) the
// protocol passes that step, after its transaction committed: a test can
// enumerate every step deterministically and check, with the sandbox's
// ledger as judge, that a restart neither duplicates nor misses a copy.
// Unset in production; a value naming no step is refused at start-up.

export const CRASH_STEPS = [
  /** The intent (state submitting, attempt, token) is committed; StartCopyJob not yet sent. */
  'after-intent',
  /** StartCopyJob answered with a job id; nothing recorded yet. */
  'after-start-call',
  /** The job id is recorded (state submitted). */
  'after-record-start',
  /** A finished job's outcome is recorded (completed, requeued or failed). */
  'after-record-finish',
  /** The copy was verified in the destination vault. */
  'after-verify',
  /** Reconciliation adopted an existing job for an item. */
  'after-adopt',
] as const;
export type CrashStep = (typeof CRASH_STEPS)[number];

export function parseCrashSpec(spec: string | undefined): { step: CrashStep; nth: number } | undefined {
  if (!spec) return undefined;
  const [step, nth = '1'] = spec.split(':');
  if (!CRASH_STEPS.includes(step as CrashStep) || !/^[1-9]\d*$/.test(nth)) {
    throw new Error(`RPCOPY_CRASH_AT=${spec}: expected one of ${CRASH_STEPS.join(', ')}, optionally :N (N ≥ 1)`);
  }
  return { step: step as CrashStep, nth: Number(nth) };
}

export class CrashPoints {
  private readonly seen = new Map<CrashStep, number>();
  constructor(private readonly spec = parseCrashSpec(process.env.RPCOPY_CRASH_AT)) {}

  reached(step: CrashStep): void {
    if (!this.spec || this.spec.step !== step) return;
    const n = (this.seen.get(step) ?? 0) + 1;
    this.seen.set(step, n);
    if (n === this.spec.nth) process.kill(process.pid, 'SIGKILL');
  }
}
