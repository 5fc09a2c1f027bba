// A seed's fault schedule: plain data drawn from a seeded generator, so `--seed S` replays the same steps
// (their real timing varies with the machine; the list does not). The runner (runner.ts) executes it.

import { hash32, Prng } from '../sandbox/rng.js';

export type Account = 'source' | 'destination';

/** One timed step; `at` is milliseconds after the chaos phase began. */
export type Step =
  | { at: number; kind: 'kill'; signal: 'SIGKILL' | 'SIGTERM'; restartAfterMs: number }
  | { at: number; kind: 'dropStartCopyJob'; count: number; probability: number }
  /** StartCopyJob applied, then answered with a 5xx (the SDK resends the same token). */
  | { at: number; kind: 'errorAfterStartCopyJob'; count: number; probability: number }
  /** A knob change (throttling storm, quota, transient errors, copy failures, idempotency window, listing lag). */
  | { at: number; kind: 'knobs'; label: string; patch: Record<string, unknown> }
  /** Expire an account's credentials; with a refresher, an SSO-like helper rewrites the file afterwards. */
  | { at: number; kind: 'expireCredentials'; account: Account; refresher: boolean }
  /** The operator refreshes the token in the credentials file and runs `rpctl resume`. */
  | { at: number; kind: 'refreshCredentials'; account: Account }
  | { at: number; kind: 'ctl'; args: string[] }
  /** Rewrite [window] and restart: closed (opens in hours), open (no window), closing (stop at a near minute). */
  | { at: number; kind: 'window'; mode: 'closed' | 'open' | 'closing'; drainSeconds: number }
  | { at: number; kind: 'maxRuntime'; seconds: number }
  /** Stop the daemon, copy rpcopy.db aside, start again. */
  | { at: number; kind: 'snapshot' }
  /** Stop the daemon, put the older copy of rpcopy.db back, start again. */
  | { at: number; kind: 'restore' }
  /** Change the source: a point expires, starts deleting, moves to cold storage or is deleted; or a new point. */
  | { at: number; kind: 'source'; change: SourceChangeKind; pick: number };

export type SourceChangeKind = 'expire' | 'deleting' | 'add' | 'cold' | 'delete';

export interface Schedule {
  seed: number;
  /** Points the sandbox generates, and the seed of its data set. */
  points: number;
  sandboxSeed: number;
  timeFactor: number;
  /** Length of the chaos phase (ms); the fault-free final phase follows. */
  durationMs: number;
  maxInFlight: number;
  startRate: number;
  /** Knobs set when the sandbox starts. */
  knobs: Record<string, unknown>;
  /** Copies of a share of one source vault's points already in the destination before rpcopy first runs. */
  preexisting?: { vault: string; share: number; withJob: boolean };
  steps: Step[];
}

/** Fault kinds the generator draws from, with their weights. */
const KINDS = [
  ['kill', 6],
  ['dropStartCopyJob', 3],
  ['errorAfterCommit', 2],
  ['throttlingStorm', 2],
  ['transientStorm', 2],
  ['quota', 2],
  ['copyFailures', 1],
  ['credentials', 2],
  ['ctl', 5],
  ['window', 2],
  ['maxRuntime', 1],
  ['snapshot', 2],
  ['source', 3],
] as const;

type Kind = (typeof KINDS)[number][0];

/** Operator commands drawn at random moments (retry reasons are the ones the daemon documents). */
const CTL_COMMANDS: string[][] = [
  ['pause'],
  ['resume'],
  ['retry', '--reason', 'internal_error'],
  ['retry', '--reason', 'verification_failed'],
  ['retry', '--reason', 'partial'],
  ['retry', '--reason', 'canary_failed'],
  ['retry', '--reason', 'invalid_request'],
  ['reset', 'failed', '--yes'],
  ['set', 'max-in-flight', '2'],
  ['set', 'max-in-flight', '10'],
  ['set', 'max-in-flight', '50'],
];

export function generateSchedule(seed: number): Schedule {
  const rng = new Prng(hash32(seed, 0xc4a05));
  const r = () => rng.next();
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const durationMs = int(12, 22) * 1000;
  const at = () => int(500, durationMs - 500);

  const knobs: Record<string, unknown> = {};
  // A short idempotency window in most seeds: no path may rely on AWS remembering a token for long.
  if (r() < 0.7) knobs.idempotencyTtlSeconds = pick([2, 10, 60, 600]);
  if (r() < 0.3) knobs.copyFailureRate = pick([0.02, 0.05]);

  const steps: Step[] = [];
  const totalSteps = int(6, 14);
  const totalWeight = KINDS.reduce((s, [, w]) => s + w, 0);
  const drawKind = (): Kind => {
    let x = r() * totalWeight;
    for (const [k, w] of KINDS) {
      x -= w;
      if (x < 0) return k;
    }
    return 'kill';
  };
  let snapshots = 0;
  for (let n = 0; n < totalSteps; n++) {
    const kind = drawKind();
    const t = at();
    switch (kind) {
      case 'kill':
        steps.push({
          at: t,
          kind: 'kill',
          signal: r() < 0.6 ? 'SIGKILL' : 'SIGTERM',
          restartAfterMs: pick([0, 200, 1000, 3000, 8000]),
        });
        break;
      case 'dropStartCopyJob':
        steps.push({ at: t, kind: 'dropStartCopyJob', count: int(1, 5), probability: pick([0, 0.05, 0.2]) });
        break;
      case 'errorAfterCommit':
        steps.push({ at: t, kind: 'errorAfterStartCopyJob', count: int(1, 3), probability: 0 });
        break;
      case 'throttlingStorm': {
        const length = int(2, 6) * 1000;
        steps.push({
          at: t,
          kind: 'knobs',
          label: 'throttling storm',
          patch: {
            throttling: {
              enabled: true,
              accountRatePerSecond: pick([3, 10]),
              rates: { StartCopyJob: pick([0.5, 2]), ListCopyJobs: pick([1, 5]), DescribeCopyJob: 2 },
            },
          },
        });
        steps.push({
          at: t + length,
          kind: 'knobs',
          label: 'throttling storm over',
          patch: { throttling: { enabled: false } },
        });
        break;
      }
      case 'transientStorm': {
        const length = int(1, 5) * 1000;
        steps.push({
          at: t,
          kind: 'knobs',
          label: 'transient errors',
          patch: { transientErrorRate: pick([0.05, 0.2, 0.5]) },
        });
        steps.push({ at: t + length, kind: 'knobs', label: 'transient errors over', patch: { transientErrorRate: 0 } });
        break;
      }
      case 'quota': {
        const length = int(3, 10) * 1000;
        steps.push({ at: t, kind: 'knobs', label: 'low copy-job quota', patch: { copyJobQuota: int(1, 8) } });
        steps.push({ at: t + length, kind: 'knobs', label: 'quota back', patch: { copyJobQuota: 100 } });
        break;
      }
      case 'copyFailures': {
        const length = int(2, 8) * 1000;
        steps.push({ at: t, kind: 'knobs', label: 'transient job failures', patch: { copyFailureRate: 0.3 } });
        steps.push({ at: t + length, kind: 'knobs', label: 'job failures over', patch: { copyFailureRate: 0 } });
        break;
      }
      case 'credentials': {
        const account: Account = r() < 0.5 ? 'source' : 'destination';
        const refresher = r() < 0.5;
        steps.push({ at: t, kind: 'expireCredentials', account, refresher });
        if (!refresher) steps.push({ at: t + int(1, 6) * 1000, kind: 'refreshCredentials', account });
        break;
      }
      case 'ctl': {
        const args = pick(CTL_COMMANDS);
        steps.push({ at: t, kind: 'ctl', args });
        // A pause is mostly followed by a resume; sometimes only the final phase's restart ends it.
        if (args[0] === 'pause' && r() < 0.8) steps.push({ at: t + int(1, 5) * 1000, kind: 'ctl', args: ['resume'] });
        break;
      }
      case 'window': {
        const mode = pick(['closed', 'closing'] as const);
        steps.push({ at: t, kind: 'window', mode, drainSeconds: pick([0, 5, 30]) });
        if (r() < 0.7) steps.push({ at: t + int(2, 8) * 1000, kind: 'window', mode: 'open', drainSeconds: 0 });
        break;
      }
      case 'maxRuntime':
        steps.push({ at: t, kind: 'maxRuntime', seconds: int(3, 12) });
        break;
      case 'snapshot':
        if (snapshots === 0) {
          const restoreAt = t + int(3, 12) * 1000;
          steps.push({ at: t, kind: 'snapshot' });
          steps.push({ at: Math.min(restoreAt, durationMs), kind: 'restore' });
          snapshots += 1;
        }
        break;
      case 'source':
        steps.push({
          at: t,
          kind: 'source',
          change: pick(['expire', 'deleting', 'add', 'cold', 'delete'] as const),
          pick: r(),
        });
        break;
    }
  }
  // Later additions draw from a stream of their own, so the draws above (and older seeds' steps) stay put.
  const extra = new Prng(hash32(seed, 0xc4a06));
  const x = () => extra.next();
  const xpick = <T>(xs: readonly T[]): T => xs[Math.floor(x() * xs.length)] as T;
  // Eventually consistent listings: a new job or copy shows up this many sandbox seconds late.
  knobs.listingLagSeconds = xpick([0, 2, 2, 10, 30]);
  if (x() < 0.2) knobs.copyPartialRate = xpick([0.02, 0.1]);
  const preexisting =
    x() < 0.4
      ? {
          vault: xpick(['prod-ebs-daily', 'prod-mixed-weekly', 'analytics-s3']),
          share: xpick([0.1, 0.3]),
          withJob: x() < 0.5,
        }
      : undefined;
  for (const step of steps) {
    if (step.kind === 'errorAfterStartCopyJob') step.probability = xpick([0, 0.05, 0.2]);
  }
  steps.sort((a, b) => a.at - b.at);
  return {
    seed,
    points: int(200, 400),
    sandboxSeed: int(1, 1_000_000),
    timeFactor: pick([20_000, 50_000, 100_000]),
    durationMs,
    maxInFlight: pick([10, 50, 100]),
    startRate: pick([10, 50]),
    knobs,
    ...(preexisting ? { preexisting } : {}),
    steps,
  };
}

/** The schedule as readable lines, for a failing seed's report. */
export function formatSchedule(s: Schedule): string {
  const head = `seed ${s.seed}: ${s.points} points (data seed ${s.sandboxSeed}), time factor ${s.timeFactor}, chaos ${
    s.durationMs / 1000
  } s, max_in_flight ${s.maxInFlight}, start_rate ${s.startRate}, knobs ${JSON.stringify(s.knobs)}${
    s.preexisting ? `, copies already in the destination ${JSON.stringify(s.preexisting)}` : ''
  }`;
  const lines = s.steps.map((step) => {
    const { at, kind, ...rest } = step;
    return `  +${(at / 1000).toFixed(1).padStart(5)} s  ${kind} ${JSON.stringify(rest)}`;
  });
  return [head, ...lines].join('\n');
}
