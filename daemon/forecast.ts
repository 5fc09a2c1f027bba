// The forecast: how long the rest of the copy will take, what limits it, and
// when it finishes under the configured change windows.
//
// Three lower bounds on the time left, the largest is what limits the run:
// - the copy-job quota: total predicted job time of the remaining points / jobs in flight allowed;
// - the request rate: remaining StartCopyJob calls / copy.start_rate;
// - the resource chains: one job per resource at a time, so the heaviest remaining chain alone.
// A job's duration is predicted per resource type from measured copies (duration = a + b × size, least squares
// over the most recent ones); before enough copies of a type are measured, a prior (ten minutes plus size at
// 100 MB/s, aws-backup.md §1.5) stands in and the forecast says so.

import type { RemainingByType } from './read-model.js';
import type { ChangeWindow } from './window.js';

export interface JobSample {
  resourceType: string;
  sizeBytes: number;
  durationMs: number;
  finishedAt: number;
}

/** Recent finished copies per resource type, in memory (a bounded ring per type). */
export class JobSamples {
  private readonly byType = new Map<string, JobSample[]>();
  constructor(private readonly perType = 500) {}

  add(sample: JobSample): void {
    const list = this.byType.get(sample.resourceType) ?? [];
    list.push(sample);
    if (list.length > this.perType) list.shift();
    this.byType.set(sample.resourceType, list);
  }

  of(type: string): readonly JobSample[] {
    return this.byType.get(type) ?? [];
  }

  get types(): string[] {
    return [...this.byType.keys()];
  }
}

/** Copies of a type measured before its own model replaces the prior. */
const MIN_SAMPLES = 10;
const PRIOR_BASE_MS = 600_000;
const PRIOR_MS_PER_BYTE = 1_000 / 100_000_000;

export interface DurationModel {
  baseMs: number;
  msPerByte: number;
  samples: number;
  /** measured: this type's own copies; scaled-prior: the prior scaled by how all measured copies compare to it. */
  source: 'measured' | 'prior' | 'scaled-prior';
}

function durationModel(samples: readonly JobSample[]): DurationModel {
  if (samples.length < MIN_SAMPLES) {
    return { baseMs: PRIOR_BASE_MS, msPerByte: PRIOR_MS_PER_BYTE, samples: samples.length, source: 'prior' };
  }
  const n = samples.length;
  const mx = samples.reduce((s, x) => s + x.sizeBytes, 0) / n;
  const my = samples.reduce((s, x) => s + x.durationMs, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (const x of samples) {
    sxx += (x.sizeBytes - mx) ** 2;
    sxy += (x.sizeBytes - mx) * (x.durationMs - my);
  }
  const slope = sxx > 0 ? Math.max(0, sxy / sxx) : 0;
  const base = Math.max(0, my - slope * mx);
  return { baseMs: base, msPerByte: slope, samples: n, source: 'measured' };
}

export interface ForecastInputs {
  now: number;
  remaining: RemainingByType[];
  /** The heaviest remaining chain, in the queue's prior seconds (copy_items.chain_weight). */
  heaviestChainPriorSeconds: number;
  /** Jobs allowed in flight now (the window, or the quota it learned). */
  concurrency: number;
  startRatePerSecond: number;
  samples: JobSamples;
  window?: ChangeWindow;
  maxRuntimeMs?: number;
  runStartedAt?: number;
}

export type Limiter = 'copy_job_quota' | 'request_rate' | 'resource_chains' | 'nothing_left';

export interface Forecast {
  computedAt: string;
  remainingItems: number;
  remainingBytes: number;
  limiter: Limiter;
  /** Work time left, in milliseconds, ignoring windows. */
  workMs: number;
  bounds: { quotaMs: number; requestRateMs: number; chainsMs: number };
  finishAt: string | null;
  windowsNeeded: number | null;
  byType: {
    resourceType: string;
    remainingItems: number;
    remainingBytes: number;
    model: DurationModel;
    /** Copies finished in the last hour (items and bytes), measured. */
    lastHour: { items: number; bytes: number };
  }[];
  /** What the numbers rest on, in words. */
  notes: string[];
}

export function forecast(inputs: ForecastInputs): Forecast {
  const { now, remaining, samples } = inputs;
  const notes: string[] = [];
  let totalJobMs = 0;
  let items = 0;
  let bytes = 0;
  // Measured against prior durations, over every measured copy: scales the prior of types not measured yet and
  // the queue's prior chain weights.
  let measured = 0;
  let prior = 0;
  let count = 0;
  for (const type of samples.types) {
    for (const s of samples.of(type)) {
      measured += s.durationMs;
      prior += PRIOR_BASE_MS + s.sizeBytes * PRIOR_MS_PER_BYTE;
      count += 1;
    }
  }
  const scale = count >= MIN_SAMPLES && prior > 0 ? measured / prior : undefined;
  const byType = remaining.map((r) => {
    let model = durationModel(samples.of(r.resourceType));
    if (model.source === 'prior' && scale !== undefined) {
      model = { ...model, baseMs: model.baseMs * scale, msPerByte: model.msPerByte * scale, source: 'scaled-prior' };
      notes.push(
        `${r.resourceType}: ${model.samples} copies measured so far; its durations are the prior scaled by the copies measured of other types`,
      );
    } else if (model.source === 'prior') {
      notes.push(
        `${r.resourceType}: ${model.samples} copies measured so far, job durations are a prior (10 min + size at 100 MB/s)`,
      );
    }
    totalJobMs += r.items * model.baseMs + r.bytes * model.msPerByte;
    items += r.items;
    bytes += r.bytes;
    const recent = samples.of(r.resourceType).filter((s) => s.finishedAt > now - 3_600_000);
    return {
      resourceType: r.resourceType,
      remainingItems: r.items,
      remainingBytes: r.bytes,
      model,
      lastHour: { items: recent.length, bytes: recent.reduce((s, x) => s + x.sizeBytes, 0) },
    };
  });
  const chainScale = scale ?? 1;
  // The quota bound assumes every slot busy; the measured share of slot-time that copies really used (slots wait
  // for the next sweep to see a job finish, chains leave slots idle) turns it into what the run achieves.
  const use = utilisation(samples, now, Math.max(1, inputs.concurrency));
  if (use !== undefined && use < 0.95) {
    notes.push(`copies used ${Math.round(use * 100)} % of the in-flight slots over the last minutes`);
  }
  const quotaMs = totalJobMs / Math.max(1, inputs.concurrency) / (use ?? 1);
  const requestRateMs = (items / Math.max(0.001, inputs.startRatePerSecond)) * 1_000;
  const chainsMs = inputs.heaviestChainPriorSeconds * 1_000 * chainScale;
  const workMs = Math.max(quotaMs, requestRateMs, chainsMs);
  const limiter: Limiter =
    items === 0
      ? 'nothing_left'
      : workMs === quotaMs
        ? 'copy_job_quota'
        : workMs === requestRateMs
          ? 'request_rate'
          : 'resource_chains';
  const { finishAt, windowsNeeded } = scheduleWork(now, workMs, inputs);
  return {
    computedAt: new Date(now).toISOString(),
    remainingItems: items,
    remainingBytes: bytes,
    limiter,
    workMs: Math.round(workMs),
    bounds: { quotaMs: Math.round(quotaMs), requestRateMs: Math.round(requestRateMs), chainsMs: Math.round(chainsMs) },
    finishAt: finishAt === undefined ? null : new Date(finishAt).toISOString(),
    windowsNeeded,
    byType,
    notes,
  };
}

/** Busy share of the slots over the recent copies: measured job time / (slots × elapsed), within [0.2, 1]. */
function utilisation(samples: JobSamples, now: number, slots: number): number | undefined {
  const recent = samples.types
    .flatMap((t) => samples.of(t))
    .filter((s) => s.finishedAt > now - 15 * 60_000)
    .sort((a, b) => a.finishedAt - b.finishedAt);
  if (recent.length < 20) return undefined;
  // From the first recent completion on; the jobs that ended then count only their part after it.
  const from = (recent[0] as JobSample).finishedAt;
  const elapsed = Math.max(1, now - from);
  const busy = recent.slice(1).reduce((sum, s) => sum + Math.min(s.durationMs, s.finishedAt - from), 0);
  return Math.min(1, Math.max(0.2, busy / (slots * elapsed)));
}

/** Lay `workMs` of work over the open windows from `now` on (each run capped by max runtime). */
function scheduleWork(
  now: number,
  workMs: number,
  inputs: ForecastInputs,
): { finishAt: number | undefined; windowsNeeded: number | null } {
  const window = inputs.window;
  if (!window?.scheduled) {
    if (inputs.maxRuntimeMs === undefined) return { finishAt: now + workMs, windowsNeeded: null };
    const left = (inputs.runStartedAt ?? now) + inputs.maxRuntimeMs - now;
    // A single run ends at its max runtime: it finishes only if the work fits.
    return { finishAt: workMs <= left ? now + workMs : undefined, windowsNeeded: null };
  }
  let t = now;
  let left = workMs;
  let windows = 0;
  for (let guard = 0; guard < 3_660 && left > 0; guard++) {
    const state = window.state(t);
    if (!state.open) {
      if (state.opensAt === undefined) return { finishAt: undefined, windowsNeeded: null };
      t = state.opensAt;
      continue;
    }
    windows += 1;
    const closes = state.closesAt ?? Number.POSITIVE_INFINITY;
    const runEnd = inputs.maxRuntimeMs !== undefined ? Math.min(closes, t + inputs.maxRuntimeMs) : closes;
    const usable = Math.max(0, runEnd - t - window.drainMs);
    if (usable >= left) return { finishAt: t + left, windowsNeeded: windows };
    left -= usable;
    t = closes;
  }
  return { finishAt: undefined, windowsNeeded: null };
}
