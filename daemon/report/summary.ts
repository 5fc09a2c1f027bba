// The report's aggregates (`rpctl report --format html`): counts by state,
// skip and failure reason, resource type and vault, and verifications over
// time, with a simple projection of the end.
//
// The aggregation grows with the store (SQLite sorts every point into its
// vault, type and state group; the store has no index on the
// copy times, and adding one would cost every write), far too long for the
// main thread, which serves the control API and runs the copy loop. So it
// runs on a worker thread with its own read-only connection, in one read
// transaction: one consistent snapshot, taken beside the writer (WAL) without
// blocking it, and the main thread only waits for a message. Concurrent
// requests share one run. If the daemon stops meanwhile, the worker is
// terminated; it writes nothing, so nothing is left to undo.

import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import type { ReportSummaryResponse } from '../../shared/api.js';
import { RpcopyError } from '../../shared/errors.js';
import { FAILURE_REASONS, type FailureReason } from '../copy/failures.js';
import { SKIP_REASONS, type SkipReason } from '../plan/reasons.js';
import type { Store } from '../store/store.js';
import { type ProgressSample, simpleProjection } from './projection.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
// Bucket widths for the progress series, the smallest that keeps a run under MAX_BUCKETS.
const BUCKET_WIDTHS = [MINUTE, 5 * MINUTE, 15 * MINUTE, HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, 24 * HOUR, 7 * 24 * HOUR];
const MAX_BUCKETS = 300;

const REMAINING_STATES = new Set(['queued', 'submitting', 'submitted', 'completed']);
const IN_FLIGHT_STATES = ['submitting', 'submitted'];

// One pass over every point, in rowid order (NOT INDEXED: walking the vault index instead reads both tables in
// random order, measurably slower). Job times only for copies that finished.
const GROUPS_SQL = `
  SELECT p.vault_name AS vault, p.resource_type AS type, coalesce(i.state, 'discovered') AS state, count(*) AS n,
    coalesce(sum(p.size_bytes), 0) AS bytes, max(i.destination_vault_name) AS destination,
    sum(CASE WHEN i.state IN ('completed', 'verified') THEN i.completed_at - i.submitted_at END) AS jobMs,
    coalesce(sum(i.state IN ('completed', 'verified') AND i.completed_at IS NOT NULL AND i.submitted_at IS NOT NULL), 0)
      AS jobs,
    min(i.submitted_at) AS firstSubmitted, min(i.verified_at) AS firstVerified, max(i.verified_at) AS lastVerified
  FROM recovery_points p NOT INDEXED LEFT JOIN copy_items i ON i.point_id = p.id
  GROUP BY 1, 2, 3`;
// The reason breakdowns read only their state's rows, through copy_items' state indexes.
const SKIPPED_SQL = `SELECT coalesce(skip_reason, 'unknown') AS reason, count(*) AS n FROM copy_items
  WHERE state = 'skipped' GROUP BY 1`;
const FAILED_SQL = `SELECT coalesce(failure_reason, 'unknown') AS reason, coalesce(failure_kind, 'permanent') AS kind,
    count(*) AS n, max(error_message) AS example
  FROM copy_items WHERE state = 'failed' GROUP BY 1, 2`;
const RETRYING_SQL = `SELECT failure_reason AS reason, count(*) AS n FROM copy_items
  WHERE state = 'queued' AND failure_reason IS NOT NULL GROUP BY 1`;
const PROGRESS_SQL = `
  SELECT p.resource_type AS type, CAST(i.verified_at AS INTEGER) / ${MINUTE} AS minute, count(*) AS n,
    coalesce(sum(p.size_bytes), 0) AS bytes
  FROM copy_items i JOIN recovery_points p ON p.id = i.point_id
  WHERE i.state = 'verified' AND i.verified_at IS NOT NULL
  GROUP BY 1, 2`;

interface GroupRow {
  vault: string;
  type: string;
  state: string;
  n: number;
  bytes: number;
  destination: string | null;
  jobMs: number | null;
  jobs: number;
  firstSubmitted: number | null;
  firstVerified: number | null;
  lastVerified: number | null;
}

interface Tally {
  points: number;
  toCopy: number;
  skipped: number;
  verified: number;
  failed: number;
  remaining: number;
  bytesToCopy: number;
  bytesVerified: number;
}

const emptyTally = (): Tally => ({
  points: 0,
  toCopy: 0,
  skipped: 0,
  verified: 0,
  failed: 0,
  remaining: 0,
  bytesToCopy: 0,
  bytesVerified: 0,
});

function addTo(tally: Tally, row: GroupRow): void {
  tally.points += row.n;
  if (row.state === 'skipped') tally.skipped += row.n;
  else if (row.state !== 'discovered') {
    tally.toCopy += row.n;
    tally.bytesToCopy += row.bytes;
  }
  if (row.state === 'verified') {
    tally.verified += row.n;
    tally.bytesVerified += row.bytes;
  }
  if (row.state === 'failed') tally.failed += row.n;
  if (REMAINING_STATES.has(row.state)) tally.remaining += row.n;
}

const min = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.min(a, b));
const max = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.max(a, b));
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const describeFailure = (reason: string) => FAILURE_REASONS[reason as FailureReason] ?? reason;

/**
 * The aggregates, read through `db` (synchronous, a scan of every point: call it off the main thread, in
 * a read transaction so that every part comes from one snapshot).
 */
export function summarize(db: Database.Database, now: number): ReportSummaryResponse {
  const states = new Map<string, number>();
  const totals = emptyTally();
  const byType = new Map<string, Tally & { jobMs: number; jobs: number; hours: Set<number> }>();
  const byVault = new Map<string, Tally & { destination: string | null }>();
  let firstSubmitted: number | null = null;
  let firstVerified: number | null = null;
  let lastVerified: number | null = null;
  for (const row of db.prepare<[], GroupRow>(GROUPS_SQL).all()) {
    states.set(row.state, (states.get(row.state) ?? 0) + row.n);
    addTo(totals, row);
    const type = byType.get(row.type) ?? { ...emptyTally(), jobMs: 0, jobs: 0, hours: new Set<number>() };
    byType.set(row.type, type);
    addTo(type, row);
    type.jobMs += row.jobMs ?? 0;
    type.jobs += row.jobs;
    const vault = byVault.get(row.vault) ?? { ...emptyTally(), destination: null };
    byVault.set(row.vault, vault);
    addTo(vault, row);
    vault.destination ??= row.destination;
    firstSubmitted = min(firstSubmitted, row.firstSubmitted);
    firstVerified = min(firstVerified, row.firstVerified);
    lastVerified = max(lastVerified, row.lastVerified);
  }
  const perMinute = new Map<number, { n: number; bytes: number }>();
  for (const row of db.prepare<[], { type: string; minute: number; n: number; bytes: number }>(PROGRESS_SQL).all()) {
    const bucket = perMinute.get(row.minute) ?? { n: 0, bytes: 0 };
    bucket.n += row.n;
    bucket.bytes += row.bytes;
    perMinute.set(row.minute, bucket);
    byType.get(row.type)?.hours.add(Math.floor(row.minute / 60));
  }
  const skipped = db.prepare<[], { reason: string; n: number }>(SKIPPED_SQL).all();
  const failed = db.prepare<[], { reason: string; kind: string; n: number; example: string | null }>(FAILED_SQL).all();
  const retrying = db.prepare<[], { reason: string; n: number }>(RETRYING_SQL).all();

  // From the earlier of the first submission and the first verification: submission times are AWS's clock,
  // verification times the daemon's, and a skewed clock must not drop verifications off the chart.
  const progress = bucketize(perMinute, min(firstSubmitted, firstVerified), lastVerified);
  const minutes = [...perMinute.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([m, b]): ProgressSample => ({ at: m * MINUTE, count: b.n }));
  const byCount = <T extends { n: number; reason: string }>(a: T, b: T) =>
    b.n - a.n || a.reason.localeCompare(b.reason);
  return {
    generatedAt: new Date(now).toISOString(),
    states: Object.fromEntries(states),
    totals: {
      ...totals,
      undecided: states.get('discovered') ?? 0,
      inFlight: IN_FLIGHT_STATES.reduce((n, s) => n + (states.get(s) ?? 0), 0),
    },
    skipped: skipped.sort(byCount).map((s) => ({
      reason: s.reason,
      count: s.n,
      description: SKIP_REASONS[s.reason as SkipReason] ?? s.reason,
    })),
    failures: failed.sort(byCount).map((f) => ({
      reason: f.reason,
      kind: f.kind,
      count: f.n,
      description: describeFailure(f.reason),
      example: f.example ?? '',
    })),
    retrying: retrying
      .sort(byCount)
      .map((r) => ({ reason: r.reason, count: r.n, description: describeFailure(r.reason) })),
    byType: [...byType.entries()]
      .sort((a, b) => a[0].localeCompare(b[0]))
      .map(([resourceType, { jobMs, jobs, hours, ...tally }]) => ({
        resourceType,
        ...tally,
        activeHours: hours.size,
        meanJobSeconds: jobs > 0 ? jobMs / jobs / 1000 : null,
      })),
    byVault: [...byVault.entries()]
      .sort((a, b) => a[0].localeCompare(b[0]))
      .map(([vault, { destination, ...tally }]) => ({ vault, destination, ...tally })),
    progress: {
      ...progress,
      firstSubmittedAt: iso(firstSubmitted),
      firstVerifiedAt: iso(firstVerified),
      lastVerifiedAt: iso(lastVerified),
    },
    projection:
      lastVerified === null
        ? null
        : simpleProjection({
            samples: minutes,
            sampleMs: MINUTE,
            done: totals.verified,
            remaining: totals.remaining,
            lastAt: lastVerified,
            now,
          }),
  };
}

/** Per-minute verifications as a series of equal buckets from the first submission to the last verification. */
function bucketize(
  perMinute: Map<number, { n: number; bytes: number }>,
  start: number | null,
  end: number | null,
): { bucketMs: number; buckets: { at: string; verified: number; bytes: number }[] } {
  if (start === null || end === null) return { bucketMs: HOUR, buckets: [] };
  const span = Math.max(0, end - start);
  const bucketMs = BUCKET_WIDTHS.find((w) => span / w < MAX_BUCKETS) ?? BUCKET_WIDTHS.at(-1)!;
  const first = Math.floor(start / bucketMs);
  const last = Math.floor(end / bucketMs);
  const counts = Array.from({ length: last - first + 1 }, () => ({ verified: 0, bytes: 0 }));
  for (const [minute, b] of perMinute) {
    const slot = counts[Math.floor((minute * MINUTE) / bucketMs) - first];
    if (!slot) continue;
    slot.verified += b.n;
    slot.bytes += b.bytes;
  }
  return {
    bucketMs,
    buckets: counts.map((c, i) => ({ at: new Date((first + i) * bucketMs).toISOString(), ...c })),
  };
}

// '.ts' when running from sources (tsx, tap), '.js' from dist/: the worker file has the same extension.
const WORKER = new URL(`./summary-worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url);
const runs = new WeakMap<Store, Promise<ReportSummaryResponse>>();

export interface SummaryOptions {
  /** The daemon's shutdown signal: a stop terminates the worker. */
  signal?: AbortSignal;
  now?: () => number;
}

/** The report's aggregates, computed on a worker thread; a request while one runs shares its result. */
export function reportSummary(store: Store, options: SummaryOptions = {}): Promise<ReportSummaryResponse> {
  const running = runs.get(store);
  if (running) return running;
  const run = inWorker(store.file, (options.now ?? Date.now)(), options.signal).finally(() => runs.delete(store));
  runs.set(store, run);
  return run;
}

function inWorker(file: string, now: number, signal: AbortSignal | undefined): Promise<ReportSummaryResponse> {
  return new Promise((resolve, reject) => {
    const stopping = () => new RpcopyError('SHUTTING_DOWN', 'the daemon is stopping; the report summary was abandoned');
    if (signal?.aborted) return reject(stopping());
    const worker = new Worker(WORKER, { workerData: { file, now } });
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = () => {
      void worker.terminate();
      settle(() => reject(stopping()));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.once('message', (message: { summary?: ReportSummaryResponse; error?: string }) =>
      settle(() =>
        message.summary
          ? resolve(message.summary)
          : reject(new Error(`the report summary failed: ${message.error ?? 'no answer'}`)),
      ),
    );
    worker.once('error', (err) => settle(() => reject(err)));
    worker.once('exit', (code) => settle(() => reject(new Error(`the report summary worker exited with ${code}`))));
  });
}
