// The report's daemon side against a real store file: the per-point pages
// (keyset pagination, the decision and reason rules, ISO times) and the
// summary (on its worker thread, and in-process) against counts computed here
// in plain TypeScript from the same rows; the CSV and JSON Lines rows parse
// back to the same values; the simple projection on its own; the routes'
// query validation through app.request.

import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import t, { type Test } from 'tap';
import { CSV_HEADER, csvRow, jsonRow, REPORT_COLUMNS } from '../../ctl/report/rows.js';
import { buildApi } from '../../daemon/api.js';
import { FAILURE_REASONS } from '../../daemon/copy/failures.js';
import { createLogger } from '../../daemon/log.js';
import { SKIP_REASONS } from '../../daemon/plan/reasons.js';
import { reportPoints } from '../../daemon/report/points.js';
import { simpleProjection } from '../../daemon/report/projection.js';
import { reportSummary, summarize } from '../../daemon/report/summary.js';
import { openStore, type Store } from '../../daemon/store/store.js';
import { type ReportPoint, ReportPointsResponse, ReportSummaryResponse, ROUTES } from '../../shared/api.js';
import { RpcopyError } from '../../shared/errors.js';
import { shortTempDir } from '../helpers/process.js';

const HOUR = 3_600_000;
const T0 = Date.UTC(2025, 2, 10, 8, 0, 0);
const NOW = T0 + 30 * HOUR;
const VAULTS = ['alpha', 'beta,comma', 'gamma'];
const TYPES = ['EBS', 'RDS', 'S3'];

interface Seeded {
  id: number;
  arn: string;
  vault: string;
  resourceArn: string;
  type: string;
  size: number | null;
  created: number;
  item: null | {
    state: string;
    skipReason?: string | null;
    failureReason?: string | null;
    failureKind?: string | null;
    apmid?: string | null;
    destination?: string | null;
    attempt?: number;
    copyJobId?: string | null;
    jobState?: string | null;
    destinationPointArn?: string | null;
    plannedAt?: number | null;
    submittedAt?: number | null;
    completedAt?: number | null;
    verifiedAt?: number | null;
    errorCode?: string | null;
    errorMessage?: string | null;
  };
}

// Every state, skip and failure shape the report distinguishes, plus text that CSV and HTML must survive.
function seed(store: Store, count: number): Seeded[] {
  const points: Seeded[] = [];
  for (let id = 1; id <= count; id++) {
    const vault = VAULTS[id % VAULTS.length]!;
    const type = TYPES[id % TYPES.length]!;
    const created = T0 - (id % 50) * 86_400_000;
    const base: Seeded = {
      id,
      arn: `arn:aws:backup:eu-west-2:111111111111:recovery-point:${id}`,
      vault,
      resourceArn: `arn:aws:ec2:eu-west-2:111111111111:volume/vol-${id % 17}`,
      type,
      size: id % 11 === 0 ? null : id * 1_000_000,
      created,
      item: null,
    };
    const kind = id % 10;
    const submitted = T0 + (id % 25) * HOUR;
    const planned = { apmid: 'APM0001234', destination: `${vault}-copy`, plannedAt: T0 - HOUR };
    if (kind === 0) base.item = null;
    else if (kind === 1) base.item = { state: 'discovered' };
    else if (kind === 2)
      base.item = {
        state: 'skipped',
        skipReason: id % 4 === 0 ? 'apmid_not_allowed' : 'continuous_backup',
        apmid: 'APM9',
        plannedAt: T0 - HOUR,
      };
    else if (kind === 3) base.item = { state: 'queued', ...planned };
    else if (kind === 4)
      base.item = {
        state: 'queued',
        ...planned,
        attempt: 2,
        failureReason: 'internal_error',
        failureKind: 'transient',
        errorMessage: 'try again',
      };
    else if (kind === 5)
      base.item = { state: 'submitted', ...planned, attempt: 1, copyJobId: `job-${id}`, submittedAt: submitted };
    else if (kind === 6)
      base.item = {
        state: 'failed',
        ...planned,
        attempt: 1,
        copyJobId: `job-${id}`,
        jobState: 'FAILED',
        failureReason: id % 3 === 0 ? 'key_not_accessible' : 'vault_lock',
        failureKind: 'permanent',
        errorCode: 'CopyJobFAILED',
        errorMessage: 'Key "alias/x", not shared\nsecond line <script>alert(1)</script>',
        submittedAt: submitted,
      };
    else if (kind === 7)
      base.item = {
        state: 'completed',
        ...planned,
        attempt: 1,
        copyJobId: `job-${id}`,
        jobState: 'COMPLETED',
        destinationPointArn: `arn:dest:${id}`,
        submittedAt: submitted,
        completedAt: submitted + 600_000,
      };
    else
      base.item = {
        state: 'verified',
        ...planned,
        attempt: 1,
        copyJobId: `job-${id}`,
        jobState: 'COMPLETED',
        destinationPointArn: `arn:dest:${id}`,
        submittedAt: submitted,
        completedAt: submitted + 600_000,
        verifiedAt: submitted + 900_000,
      };
    points.push(base);
  }
  const insertPoint = store.sqlite.prepare(
    `INSERT INTO recovery_points (id, arn, vault_name, resource_arn, resource_type, resource_name, status, creation_date, size_bytes)
     VALUES (?, ?, ?, ?, ?, ?, 'COMPLETED', ?, ?)`,
  );
  const insertItem = store.sqlite.prepare(
    `INSERT INTO copy_items (point_id, state, skip_reason, apmid, destination_vault_name, resource_arn, creation_date,
       attempt, copy_job_id, job_state, destination_point_arn, failure_kind, failure_reason, error_code, error_message,
       planned_at, submitted_at, completed_at, verified_at)
     VALUES (@id, @state, @skipReason, @apmid, @destination, @resourceArn, @created, @attempt, @copyJobId, @jobState,
       @destinationPointArn, @failureKind, @failureReason, @errorCode, @errorMessage, @plannedAt, @submittedAt,
       @completedAt, @verifiedAt)`,
  );
  store.write(() => {
    for (const p of points) {
      insertPoint.run(
        p.id,
        p.arn,
        p.vault,
        p.resourceArn,
        p.type,
        p.id % 5 === 0 ? `name, "${p.id}"` : null,
        p.created,
        p.size,
      );
      if (!p.item) continue;
      insertItem.run({
        skipReason: null,
        failureReason: null,
        failureKind: null,
        apmid: null,
        destination: null,
        attempt: 0,
        copyJobId: null,
        jobState: null,
        destinationPointArn: null,
        plannedAt: null,
        submittedAt: null,
        completedAt: null,
        verifiedAt: null,
        errorCode: null,
        errorMessage: null,
        ...p.item,
        id: p.id,
        resourceArn: p.resourceArn,
        created: p.created,
      });
    }
  });
  return points;
}

const iso = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : new Date(ms).toISOString());

/** What the report must say about a seeded point, by the rules written out independently of the SQL. */
function expected(p: Seeded): Omit<ReportPoint, 'id'> {
  const item = p.item;
  const state = item?.state ?? 'discovered';
  return {
    sourcePointArn: p.arn,
    vault: p.vault,
    resourceArn: p.resourceArn,
    resourceType: p.type,
    resourceName: p.id % 5 === 0 ? `name, "${p.id}"` : null,
    apmid: item?.apmid ?? null,
    decision: state === 'discovered' ? null : state === 'skipped' ? 'skip' : 'copy',
    state,
    reason: state === 'skipped' ? (item?.skipReason ?? null) : (item?.failureReason ?? null),
    failureKind: item?.failureKind ?? null,
    copyJobId: item?.copyJobId ?? null,
    jobState: item?.jobState ?? null,
    destinationVault: item?.destination ?? null,
    destinationPointArn: item?.destinationPointArn ?? null,
    attempt: item?.attempt ?? 0,
    sizeBytes: p.size,
    creationDate: iso(p.created),
    plannedAt: iso(item?.plannedAt),
    submittedAt: iso(item?.submittedAt),
    completedAt: iso(item?.completedAt),
    verifiedAt: iso(item?.verifiedAt),
    errorCode: item?.errorCode ?? null,
    errorMessage: item?.errorMessage ?? null,
  };
}

function freshStore(t: Test): Store {
  const store = openStore(
    join(shortTempDir(t), 'rpcopy.db'),
    { sourceAccountId: '111111111111', destinationAccountId: '222222222222', region: 'eu-west-2' },
    { version: 'test' },
  );
  t.teardown(() => store.close());
  return store;
}

t.test('pages: every point once, in id order, with the decision, reason and times of its rows', async (t) => {
  const store = freshStore(t);
  const seeded = seed(store, 97);
  const all: ReportPoint[] = [];
  let after = 0;
  let pages = 0;
  for (;;) {
    const page = ReportPointsResponse.parse(reportPoints(store, { after, limit: 10 }));
    pages += 1;
    t.ok(page.points.length <= 10, 'a page holds at most limit points');
    all.push(...page.points);
    if (page.next === null) break;
    t.equal(page.next, page.points.at(-1)?.id, 'next is the last id of the page');
    after = page.next;
  }
  t.equal(pages, 10, '97 points in pages of 10');
  t.same(
    all.map((p) => p.id),
    seeded.map((p) => p.id),
    'every point once, by id',
  );
  for (const [i, p] of all.entries()) {
    const { id, ...rest } = p;
    t.same(rest, expected(seeded[i]!), `point ${id}`);
  }
  t.same(reportPoints(store, { after: 1000, limit: 10 }), { points: [], next: null }, 'past the end: empty, no next');
  const exact = reportPoints(store, { after: 0, limit: 97 });
  t.equal(exact.next, 97, 'a full last page still points on');
  t.same(reportPoints(store, { after: 97, limit: 97 }), { points: [], next: null }, '... to an empty page');
});

t.test('CSV and JSON Lines rows parse back to the same values', async (t) => {
  const store = freshStore(t);
  seed(store, 40);
  const { points } = reportPoints(store, { after: 0, limit: 100 });
  const csv = `${CSV_HEADER}\n${points.map(csvRow).join('\n')}\n`;
  const records = parse(csv, { columns: true }) as Record<string, string>[];
  t.same(Object.keys(records[0] ?? {}), [...REPORT_COLUMNS], 'the header names the columns, in order');
  t.equal(records.length, points.length, 'one CSV record per point, however many line breaks the fields hold');
  for (const [i, p] of points.entries()) {
    const want = Object.fromEntries(REPORT_COLUMNS.map((c) => [c, p[c] === null ? '' : String(p[c])]));
    t.same(records[i], want, `CSV row of point ${p.id}`);
  }
  t.ok(
    points.some((p) => p.errorMessage?.includes('\n') && p.errorMessage.includes('"')),
    'the fixture has fields with quotes, commas and line breaks',
  );
  const lines = points.map(jsonRow);
  t.ok(
    lines.every((l) => !l.includes('\n')),
    'one JSON object per line',
  );
  for (const [i, p] of points.entries()) {
    const { id: _id, ...rest } = p;
    t.same(JSON.parse(lines[i]!), rest, `JSON line of point ${p.id}`);
    t.same(Object.keys(JSON.parse(lines[i]!)), [...REPORT_COLUMNS], 'the same fields as the CSV, in order');
  }
});

t.test('summary: counts agree with the rows, on the worker thread and in-process alike', async (t) => {
  const store = freshStore(t);
  const seeded = seed(store, 600);
  const summary = ReportSummaryResponse.parse(await reportSummary(store, { now: () => NOW }));
  t.same(summary, summarize(store.sqlite, NOW), 'the worker computes what the in-process function does');
  t.equal(summary.generatedAt, new Date(NOW).toISOString());

  const stateOf = (p: Seeded) => p.item?.state ?? 'discovered';
  const count = (f: (p: Seeded) => boolean, of = seeded) => of.filter(f).length;
  const sum = (f: (p: Seeded) => boolean, of = seeded) => of.filter(f).reduce((n, p) => n + (p.size ?? 0), 0);
  const isCopy = (p: Seeded) => !['discovered', 'skipped'].includes(stateOf(p));
  const isRemaining = (p: Seeded) => ['queued', 'submitting', 'submitted', 'completed'].includes(stateOf(p));
  const tally = (of: Seeded[]) => ({
    points: of.length,
    toCopy: count(isCopy, of),
    skipped: count((p) => stateOf(p) === 'skipped', of),
    verified: count((p) => stateOf(p) === 'verified', of),
    failed: count((p) => stateOf(p) === 'failed', of),
    remaining: count(isRemaining, of),
    bytesToCopy: sum(isCopy, of),
    bytesVerified: sum((p) => stateOf(p) === 'verified', of),
  });
  const states: Record<string, number> = {};
  for (const p of seeded) states[stateOf(p)] = (states[stateOf(p)] ?? 0) + 1;
  t.same(summary.states, states, 'points per state (no row counts as discovered)');
  t.same(
    summary.totals,
    {
      ...tally(seeded),
      undecided: states.discovered,
      inFlight: (states.submitting ?? 0) + (states.submitted ?? 0),
    },
    'totals',
  );
  for (const v of summary.byVault) {
    const of = seeded.filter((p) => p.vault === v.vault);
    t.same({ ...v }, { vault: v.vault, destination: `${v.vault}-copy`, ...tally(of) }, `vault ${v.vault}`);
  }
  t.same(
    summary.byVault.map((v) => v.vault),
    [...VAULTS].sort(),
    'every vault, by name',
  );
  for (const ty of summary.byType) {
    const of = seeded.filter((p) => p.type === ty.resourceType);
    const { activeHours, meanJobSeconds, resourceType, ...rest } = ty;
    t.same(rest, tally(of), `type ${resourceType}`);
    const verifiedHours = new Set(
      of.filter((p) => p.item?.verifiedAt).map((p) => Math.floor(p.item!.verifiedAt! / HOUR)),
    );
    t.equal(activeHours, verifiedHours.size, `${resourceType}: hours with a verification`);
    t.equal(meanJobSeconds, 600, `${resourceType}: every finished job took ten minutes`);
  }
  const skipped: Record<string, number> = {};
  for (const p of seeded) if (p.item?.skipReason) skipped[p.item.skipReason] = (skipped[p.item.skipReason] ?? 0) + 1;
  t.same(Object.fromEntries(summary.skipped.map((s) => [s.reason, s.count])), skipped, 'skipped by reason');
  t.ok(
    summary.skipped.every((s) => s.description === SKIP_REASONS[s.reason as keyof typeof SKIP_REASONS]),
    'skip reasons carry their description',
  );
  const failed: Record<string, number> = {};
  for (const p of seeded) {
    if (stateOf(p) === 'failed') failed[p.item!.failureReason!] = (failed[p.item!.failureReason!] ?? 0) + 1;
  }
  t.same(Object.fromEntries(summary.failures.map((f) => [f.reason, f.count])), failed, 'failures by reason');
  for (const f of summary.failures) {
    t.equal(f.description, FAILURE_REASONS[f.reason as keyof typeof FAILURE_REASONS], `${f.reason} is described`);
    t.equal(f.kind, 'permanent');
    t.match(f.example, /not shared/, 'with an example message');
  }
  t.same(
    summary.retrying.map((r) => [r.reason, r.count, r.description]),
    [
      [
        'internal_error',
        count((p) => stateOf(p) === 'queued' && !!p.item?.failureReason),
        FAILURE_REASONS.internal_error,
      ],
    ],
    'transient failures waiting to retry',
  );
  t.equal(
    summary.failures.reduce((n, f) => n + f.count, 0),
    summary.totals.failed,
    'the failures add up to the failed points',
  );

  const { progress } = summary;
  const firstSubmitted = Math.min(...seeded.flatMap((p) => (p.item?.submittedAt ? [p.item.submittedAt] : [])));
  const span = Math.max(...seeded.map((p) => p.item?.verifiedAt ?? 0)) - firstSubmitted;
  t.equal(progress.bucketMs, 5 * 60_000, `${span / HOUR} h of copying in 5-minute buckets, the smallest under 300`);
  t.ok(span / progress.bucketMs < 300 && span / 60_000 >= 300, 'the fixture needs more than minute buckets');
  t.equal(
    progress.buckets.reduce((n, b) => n + b.verified, 0),
    summary.totals.verified,
    'every verification is in a bucket',
  );
  t.equal(
    progress.buckets.reduce((n, b) => n + b.bytes, 0),
    summary.totals.bytesVerified,
    'and its bytes',
  );
  const starts = progress.buckets.map((b) => Date.parse(b.at));
  t.ok(
    starts.every((s, i) => i === 0 || s - starts[i - 1]! === progress.bucketMs),
    'buckets are contiguous, empty ones included',
  );
  const verifiedTimes = seeded.flatMap((p) => (p.item?.verifiedAt ? [p.item.verifiedAt] : []));
  t.equal(progress.lastVerifiedAt, iso(Math.max(...verifiedTimes)));
  t.equal(progress.firstVerifiedAt, iso(Math.min(...verifiedTimes)));
  t.ok(summary.projection, 'a projection while points remain');
  t.equal(summary.projection?.target, summary.totals.verified + summary.totals.remaining, 'it ends at the copyable');
  t.match(summary.projection?.label, /Simple projection.*not a forecast/);
});

t.test('summary: an empty store, a stop during the run, and one run for concurrent requests', async (t) => {
  const store = freshStore(t);
  const empty = await reportSummary(store, { now: () => NOW });
  t.same(empty.totals.points, 0);
  t.same(empty.progress.buckets, []);
  t.equal(empty.projection, null, 'no projection without a verified copy');

  seed(store, 50);
  const first = reportSummary(store, { now: () => NOW });
  t.equal(reportSummary(store, { now: () => NOW }), first, 'a request while one runs shares it');
  await first;
  const second = reportSummary(store, { now: () => NOW });
  t.not(second, first, 'a later request runs again');
  t.same(await second, await first);

  const stop = new AbortController();
  const stopped = reportSummary(freshStore(t), { signal: stop.signal });
  stop.abort();
  await t.rejects(stopped, { code: 'SHUTTING_DOWN' }, 'a stop abandons the run with SHUTTING_DOWN');
  const already = new AbortController();
  already.abort();
  await t.rejects(reportSummary(freshStore(t), { signal: already.signal }), RpcopyError);
});

t.test(
  'the simple projection: the recent rate carried forward, a band around it, nothing when nothing is left',
  async (t) => {
    const minute = 60_000;
    // 10 points a minute for 8 hours: the last 6 hours give 600/h.
    const samples = Array.from({ length: 480 }, (_, i) => ({ at: T0 + i * minute, count: 10 }));
    const lastAt = T0 + 480 * minute - 1;
    const p = simpleProjection({ samples, sampleMs: minute, done: 4800, remaining: 1200, lastAt, now: lastAt });
    t.ok(p);
    if (!p) return;
    t.ok(Math.abs(p.ratePerHour - 600) < 0.01, `the rate of the window (${p.ratePerHour})`);
    t.equal(p.spread, 0.15, 'a steady rate gets the minimum spread');
    t.ok(Math.abs(Date.parse(p.finish.expected) - (lastAt + 2 * HOUR)) < 60_000, 'expected: remaining / rate');
    t.ok(p.finish.earliest < p.finish.expected && p.finish.expected < p.finish.latest, 'earliest < expected < latest');
    t.equal(p.target, 6000);
    t.ok(
      p.band.every((b) => b.low <= b.expected && b.expected <= b.high && b.high <= p.target),
      'low ≤ expected ≤ high ≤ target at every step',
    );
    t.equal(p.band[0]?.expected, 4800, 'the band starts at what is done');
    t.equal(p.band.at(-1)?.low, 6000, 'and ends with every band edge at the target');
    t.ok(
      p.band.every((b, i) => i === 0 || Date.parse(b.at) > Date.parse(p.band[i - 1]!.at)),
      'in time order',
    );

    // Bursty copying (everything in one of six slices) widens the band to its maximum.
    const bursty = samples.map((s, i) => ({ ...s, count: i >= 420 ? 60 : 0 }));
    t.equal(
      simpleProjection({ samples: bursty, sampleMs: minute, done: 3600, remaining: 100, lastAt, now: lastAt })?.spread,
      0.5,
    );
    // A job idle since its last verification is projected from now, not from the past.
    const later = lastAt + 10 * HOUR;
    const idle = simpleProjection({ samples, sampleMs: minute, done: 4800, remaining: 1200, lastAt, now: later });
    t.equal(idle?.band[0]?.at, new Date(later).toISOString());
    t.equal(simpleProjection({ samples, sampleMs: minute, done: 6000, remaining: 0, lastAt, now: lastAt }), null);
    t.equal(simpleProjection({ samples: [], sampleMs: minute, done: 0, remaining: 10, lastAt, now: lastAt }), null);
  },
);

t.test('routes: the page query is validated, the summary is served', async (t) => {
  const seen: unknown[] = [];
  const app = buildApi(
    {
      reportPoints: (query: unknown) => {
        seen.push(query);
        return { points: [], next: null };
      },
      reportSummary: async () => summarize(freshStore(t).sqlite, NOW),
    } as unknown as Parameters<typeof buildApi>[0],
    createLogger({ level: 'error', write: () => undefined }),
  );
  const ok = await app.request(`${ROUTES.reportPoints}?after=5&limit=20`);
  t.equal(ok.status, 200);
  t.same(seen, [{ after: 5, limit: 20 }], 'numbers, parsed');
  await app.request(ROUTES.reportPoints);
  t.same(seen[1], { after: 0, limit: 1000 }, 'defaults');
  for (const [query, pattern] of [
    ['limit=0', /limit: expected at least 1/],
    ['limit=10001', /limit: expected at most 10000/],
    ['after=abc', /after: expected a point id/],
    ['after=-1', /after/],
    ['reason=x', /reason/],
  ] as const) {
    const bad = await app.request(`${ROUTES.reportPoints}?${query}`);
    t.equal(bad.status, 400, `${query} is refused`);
    t.match(((await bad.json()) as { error: { message: string } }).error.message, pattern);
  }
  const summary = await app.request(ROUTES.reportSummary);
  t.equal(summary.status, 200);
  t.ok(ReportSummaryResponse.safeParse(await summary.json()).success, 'the summary matches its schema');
});
