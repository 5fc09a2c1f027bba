// A simple projection of when the copy ends, drawn as a band on the report's
// progress chart. Deliberately naive: the recent verification rate, carried
// forward in a straight line from now, ± a spread taken from how much that
// rate varied. It knows nothing of change windows, quotas or job sizes; the
// label says so. A real forecast can replace it by producing the same
// ReportProjection shape (a band of cumulative counts over time).

import type { ReportProjection } from '../../shared/api.js';

const HOUR = 3_600_000;
/** How far back the rate is measured, ending at the last verification. */
const PROJECTION_WINDOW_MS = 6 * HOUR;
const MIN_SPREAD = 0.15;
const MAX_SPREAD = 0.5;
const SLICES = 6;
const BAND_STEPS = 24;

/** Verifications in [at, at + sampleMs). */
export interface ProgressSample {
  at: number;
  count: number;
}

export interface ProjectionInput {
  /** Oldest first. */
  samples: readonly ProgressSample[];
  sampleMs: number;
  /** Points verified so far. */
  done: number;
  /** Points still to be verified. */
  remaining: number;
  /** The time of the last verification. */
  lastAt: number;
  /** The band starts here (at `done`): now, or the last verification if that is later. */
  now: number;
  windowMs?: number;
}

/** The band, or null when there is nothing left to project or no rate to project from. */
export function simpleProjection(input: ProjectionInput): ReportProjection | null {
  const { samples, sampleMs, done, remaining, lastAt } = input;
  const first = samples[0];
  if (remaining <= 0 || first === undefined) return null;
  const windowMs = input.windowMs ?? PROJECTION_WINDOW_MS;
  const end = Math.max(lastAt, first.at + 1);
  const from = Math.max(first.at, end - windowMs);
  const duration = Math.max(end - from, sampleMs);
  const recent = samples.filter((s) => s.at >= from && s.at <= end);
  const counted = recent.reduce((n, s) => n + s.count, 0);
  const rate = counted / duration;
  if (!(rate > 0)) return null;

  // The spread: how uneven the window was, as the coefficient of variation of a few equal slices.
  const slices = new Array<number>(SLICES).fill(0);
  for (const s of recent) {
    const i = Math.min(SLICES - 1, Math.max(0, Math.floor(((s.at - from) / duration) * SLICES)));
    slices[i] = (slices[i] ?? 0) + s.count;
  }
  const mean = counted / SLICES;
  const variance = slices.reduce((v, n) => v + (n - mean) ** 2, 0) / SLICES;
  const spread = Math.min(MAX_SPREAD, Math.max(MIN_SPREAD, Math.sqrt(variance) / mean));

  const start = Math.max(input.now, lastAt);
  const target = done + remaining;
  const earliest = start + remaining / (rate * (1 + spread));
  const expected = start + remaining / rate;
  const latest = start + remaining / (rate * (1 - spread));
  const at = new Set<number>([start, earliest, expected, latest]);
  for (let i = 1; i < BAND_STEPS; i++) at.add(start + ((latest - start) * i) / BAND_STEPS);
  // Whole points: also absorbs the float error that would leave an edge a hair short of the target.
  const progress = (r: number, t: number) => Math.min(target, Math.round(done + r * (t - start)));
  const band = [...at]
    .sort((a, b) => a - b)
    .map((t) => ({
      at: new Date(t).toISOString(),
      low: progress(rate * (1 - spread), t),
      expected: progress(rate, t),
      high: progress(rate * (1 + spread), t),
    }));
  const hours = duration / HOUR;
  const span = hours >= 1 ? `${round(hours)} h` : `${Math.max(1, Math.round(hours * 60))} min`;
  const ratePerHour = rate * HOUR;
  return {
    method: 'simple',
    label:
      `Simple projection: the rate of the last ${span} ` +
      `of copying (${round(ratePerHour)} points/h) ±${Math.round(spread * 100)} %, carried forward; ` +
      'it ignores change windows and is not a forecast',
    ratePerHour,
    spread,
    target,
    finish: {
      earliest: new Date(earliest).toISOString(),
      expected: new Date(expected).toISOString(),
      latest: new Date(latest).toISOString(),
    },
    band,
  };
}

function round(n: number): string {
  return n >= 100
    ? String(Math.round(n))
    : n >= 10
      ? n.toFixed(1).replace(/\.0$/, '')
      : n.toFixed(2).replace(/\.?0+$/, '');
}
