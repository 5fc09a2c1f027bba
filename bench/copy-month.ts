/**
 * Benchmark: a month of copying in fast-forward, through the real copy queue (daemon/copy/repo.ts) and the real
 * store (SQLite file, WAL, migrations, the WAL checkpointer thread), with job outcomes replayed instead of AWS.
 *
 *   npx tsx bench/copy-month.ts [--points 100000] [--days 30] [--in-flight 100] [--fail-rate 0.02]
 *     [--out bench/results/copy-month.md] [--keep]
 *
 * A fresh store gets N planned points (12 vaults, chains of 10 points per resource, all queued, every
 * destination vault created, every canary combination open). A simulated clock spreads the month over the N
 * points; each tick finishes the jobs whose simulated end has come (COMPLETED then verified, or FAILED with a
 * transient verdict, which requeues the point for a second attempt) and claims chain heads up to the in-flight
 * limit, with the same queue calls, in the same order, as the copy phase (claimable, markIntent, recordStarted,
 * recordJobState, recordFinished, recordVerified). What it does not run: the AWS calls and their worker threads
 * (ListCopyJobs sweeps, DescribeRecoveryPoint checks), so its CPU per point is the store's and queue's share.
 *
 * Sampled every 1 % of the points: process CPU (user + system, all threads), RSS, store and WAL size, row counts
 * of the tables that could grow with events. Results go to --out (appended) and stdout.
 */
import { appendFileSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { CopyJobSummary } from '../daemon/aws/operations.js';
import { CopyQueue } from '../daemon/copy/repo.js';
import { createLogger } from '../daemon/log.js';
import { startCheckpointer } from '../daemon/store/checkpointer.js';
import { openStore } from '../daemon/store/store.js';

const { values } = parseArgs({
  options: {
    points: { type: 'string' },
    days: { type: 'string' },
    'in-flight': { type: 'string' },
    'fail-rate': { type: 'string' },
    out: { type: 'string' },
    keep: { type: 'boolean' },
  },
});
const POINTS = Number(values.points ?? 100_000);
const DAYS = Number(values.days ?? 30);
const IN_FLIGHT = Number(values['in-flight'] ?? 100);
const FAIL_RATE = Number(values['fail-rate'] ?? 0.02);
const RESULTS = values.out ?? 'bench/results/copy-month.md';
const VAULTS = 12;
const CHAIN = 10;
const DAY_MS = 86_400_000;

const dir = mkdtempSync(join(tmpdir(), 'rpc-month-'));
const file = join(dir, 'rpcopy.db');
const log = createLogger({ level: 'warn' });
const store = openStore(
  file,
  { sourceAccountId: '111111111111', destinationAccountId: '222222222222', region: 'eu-west-2' },
  { version: 'bench', migrationsFolder: 'drizzle' },
);
const checkpointer = startCheckpointer(file, log);
const { sqlite } = store;
const T0 = Date.UTC(2027, 0, 1);
const runId = Number(
  sqlite
    .prepare(`INSERT INTO runs (started_at, pid, version, mode) VALUES (?, ?, 'bench', 'service')`)
    .run(T0, process.pid).lastInsertRowid,
);

// The plan a dry run would leave: every point queued into its vault's created destination vault.
const seedStarted = performance.now();
const vault = (v: number) => `vault-${String(v).padStart(2, '0')}`;
const insertVault = sqlite.prepare(
  `INSERT INTO destination_vaults (source_vault_name, name, arn, state) VALUES (?, ?, ?, 'created')`,
);
for (let v = 0; v < VAULTS; v++) {
  insertVault.run(vault(v), vault(v), `arn:aws:backup:eu-west-2:222222222222:backup-vault:${vault(v)}`);
}
const insertPoint = sqlite.prepare(
  `INSERT INTO recovery_points (id, arn, vault_name, resource_arn, resource_type, status, creation_date, size_bytes,
     lifecycle_delete_after_days, first_seen_at, last_seen_at)
   VALUES (?, ?, ?, ?, 'EBS', 'COMPLETED', ?, ?, 365, ?, ?)`,
);
const insertItem = sqlite.prepare(
  `INSERT INTO copy_items (point_id, state, apmid, destination_vault_name, lifecycle_delete_after_days, resource_arn,
     creation_date, planned_at, updated_at) VALUES (?, 'queued', 'APM0000001', ?, 365, ?, ?, ?, ?)`,
);
for (let from = 1; from <= POINTS; from += 10_000) {
  sqlite
    .transaction(() => {
      for (let id = from; id < Math.min(from + 10_000, POINTS + 1); id++) {
        const resource = Math.floor((id - 1) / CHAIN);
        const v = vault(resource % VAULTS);
        const resourceArn = `arn:aws:ec2:eu-west-2:111111111111:volume/vol-${resource.toString(16).padStart(12, '0')}`;
        const created = T0 - 400 * DAY_MS + ((id - 1) % CHAIN) * DAY_MS;
        insertPoint.run(
          id,
          `arn:aws:ec2:eu-west-2::snapshot/snap-${id.toString(16).padStart(17, '0')}`,
          v,
          resourceArn,
          created,
          1_000_000_000 + (id % 7) * 100_000_000,
          T0,
          T0,
        );
        insertItem.run(id, v, resourceArn, created, T0, T0);
      }
    })
    .immediate();
}
const queue = new CopyQueue(store, runId);
await queue.prepare(T0);
// The canaries passed: every combination is open.
sqlite.prepare(`UPDATE copy_combos SET state = 'open'`).run();
const seedS = (performance.now() - seedStarted) / 1000;

interface Job {
  pointId: number;
  attempt: number;
  jobId: string;
  pointArn: string;
  endsAt: number;
  fails: boolean;
}

// A job takes about as long as the quota allows for the month to fit: in-flight × month ÷ points, ±50 %.
const meanJobMs = (IN_FLIGHT * DAYS * DAY_MS) / POINTS;
let now = T0;
let jobSeq = 0;
let copied = 0;
let failedJobs = 0;
let random = 1;
const next = () => {
  random = (random * 48271) % 2147483647;
  return random / 2147483647;
};
const inFlight: Job[] = [];

interface Sample {
  copied: number;
  simDay: number;
  cpuMs: number;
  rssMb: number;
  dbMb: number;
  walMb: number;
}
const sizeMb = (f: string) => (existsSync(f) ? statSync(f).size / 1048576 : 0);
const samples: Sample[] = [];
const cpu0 = process.cpuUsage();
const sample = () => {
  const c = process.cpuUsage(cpu0);
  samples.push({
    copied,
    simDay: (now - T0) / DAY_MS,
    cpuMs: (c.user + c.system) / 1000,
    rssMb: process.memoryUsage().rss / 1048576,
    dbMb: sizeMb(file),
    walMb: sizeMb(`${file}-wal`),
  });
};
sample();
const step = Math.max(1, Math.floor(POINTS / 100));
let nextSample = step;
const started = performance.now();
let idleTicks = 0;

while (copied < POINTS) {
  // Finish every job whose simulated end has come, oldest first.
  inFlight.sort((a, b) => a.endsAt - b.endsAt);
  while (inFlight.length > 0 && (inFlight[0] as Job).endsAt <= now) {
    const job = inFlight.shift() as Job;
    queue.recordJobState(job.pointId, 'RUNNING', job.endsAt - 1);
    const summary: CopyJobSummary = {
      copyJobId: job.jobId,
      state: job.fails ? 'FAILED' : 'COMPLETED',
      sourceRecoveryPointArn: job.pointArn,
      sourceVaultArn: null,
      destinationVaultArn: null,
      destinationRecoveryPointArn: job.fails ? null : `${job.pointArn}-copy`,
      resourceArn: null,
      resourceType: 'EBS',
      creationDate: null,
      completionDate: job.endsAt,
      statusMessage: job.fails ? 'replayed transient failure' : null,
      messageCategory: null,
      sizeBytes: null,
      isParent: false,
    };
    const outcome = queue.recordFinished(
      job.pointId,
      summary,
      job.fails ? { reason: 'internal_error', kind: 'transient' } : undefined,
      now,
    );
    if (outcome === 'completed') {
      queue.recordVerified(job.pointId, now);
      copied++;
    } else failedJobs++;
  }
  // Fill the in-flight window with chain heads, as the copy phase does.
  const heads = queue.claimable(IN_FLIGHT - inFlight.length, now);
  for (const c of heads) {
    if (!queue.markIntent(c, `token-${c.pointId}-${c.attempt}`, now, 15 * 60_000)) continue;
    const jobId = `job-${++jobSeq}`;
    queue.recordStarted(c.pointId, c.attempt, jobId, now, now);
    inFlight.push({
      pointId: c.pointId,
      attempt: c.attempt,
      jobId,
      pointArn: c.pointArn,
      endsAt: now + meanJobMs * (0.5 + next()),
      fails: c.attempt === 1 && next() < FAIL_RATE,
    });
  }
  if (copied >= POINTS) break;
  if (heads.length === 0 && inFlight.length === 0) {
    // Only points waiting for a retry time: jump to it.
    const retryAt = queue.nextRetryAt();
    if (retryAt === null || ++idleTicks > 1000) throw new Error(`stuck with ${copied} of ${POINTS} copied`);
    now = Math.max(now + 1, retryAt);
  } else {
    idleTicks = 0;
    // The clock moves to the next job's end.
    now = Math.max(now + 1, Math.min(...inFlight.map((j) => j.endsAt)));
  }
  while (copied >= nextSample) {
    sample();
    nextSample += step;
  }
  await yieldToEventLoop();
}
sample();
const wallS = (performance.now() - started) / 1000;
await checkpointer.stop();

const count = (table: string) => (sqlite.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
const tables = ['events', 'copy_attempts', 'copy_items', 'recovery_points', 'runs', 'copy_combos'];
const rows = Object.fromEntries(tables.map((t) => [t, count(t)]));
const missingAudit = (
  sqlite
    .prepare(
      `SELECT count(*) AS n FROM copy_items WHERE state = 'verified' AND (copy_job_id IS NULL OR destination_point_arn IS NULL
         OR submitted_at IS NULL OR completed_at IS NULL OR verified_at IS NULL OR idempotency_token IS NULL)`,
    )
    .get() as { n: number }
).n;
store.sqlite.pragma('wal_checkpoint(TRUNCATE)');
const finalDbMb = sizeMb(file);
store.close();

const tenth = Math.max(1, Math.floor(samples.length / 10));
const first = samples.slice(0, tenth + 1);
const last = samples.slice(-tenth - 1);
const cpuPerPoint = (span: Sample[]) => {
  const a = span[0] as Sample;
  const b = span[span.length - 1] as Sample;
  return (b.cpuMs - a.cpuMs) / Math.max(1, b.copied - a.copied);
};
const peak = (span: Sample[]) => Math.max(...span.map((s) => s.rssMb));
const end = samples[samples.length - 1] as Sample;
const result = {
  points: POINTS,
  copied,
  failedJobs,
  simulatedDays: end.simDay,
  wallS,
  seedS,
  cpuMsPerPoint: end.cpuMs / copied,
  cpuMsPerPointFirstTenth: cpuPerPoint(first),
  cpuMsPerPointLastTenth: cpuPerPoint(last),
  rssPeakFirstTenthMb: peak(first),
  rssPeakLastTenthMb: peak(last),
  walMaxMb: Math.max(...samples.map((s) => s.walMb)),
  storeMbBeforeTruncate: end.dbMb,
  storeMbFinal: finalDbMb,
  storeBytesPerPoint: (finalDbMb * 1048576) / POINTS,
  rows,
  verifiedWithoutFullAudit: missingAudit,
};
console.log(JSON.stringify(result, null, 2));

const f1 = (n: number) => n.toFixed(1);
const f2 = (n: number) => n.toFixed(2);
const text = `
## ${POINTS.toLocaleString('en-US')} points over ${DAYS} simulated days — ${new Date().toISOString()}

Command: \`npx tsx bench/copy-month.ts --points ${POINTS} --days ${DAYS} --in-flight ${IN_FLIGHT} --fail-rate ${FAIL_RATE}\`
Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}; 1-minute load average at the end ${loadavg()[0]?.toFixed(1)}.

| metric | value |
| --- | --- |
| points copied and verified | ${copied} (${failedJobs} replayed transient failures, each copied on its second attempt) |
| simulated days / wall time (s) | ${f1(end.simDay)} / ${f1(wallS)} |
| CPU per copied point, whole run (ms) | ${f2(result.cpuMsPerPoint)} |
| CPU per copied point, first / last tenth (ms) | ${f2(result.cpuMsPerPointFirstTenth)} / ${f2(result.cpuMsPerPointLastTenth)} |
| RSS peak, first / last tenth (MB) | ${f1(result.rssPeakFirstTenthMb)} / ${f1(result.rssPeakLastTenthMb)} |
| WAL, largest sampled (MB) | ${f1(result.walMaxMb)} |
| store at the end, after a truncating checkpoint (MB) | ${f1(finalDbMb)} (${Math.round(result.storeBytesPerPoint)} bytes per point) |
| rows at the end | ${Object.entries(rows)
  .map(([t, n]) => `${t} ${n}`)
  .join(', ')} |
| verified items missing an audit field (job id, destination ARN, token, submitted/completed/verified times) | ${missingAudit} |
`;
console.log(text);
if (!existsSync(RESULTS)) {
  writeFileSync(
    RESULTS,
    '# A month of copying in fast-forward: the copy queue and the store over many points\n\nHow it runs: the header of bench/copy-month.ts.\n',
  );
}
appendFileSync(RESULTS, text);
if (values.keep) console.log(`kept ${dir}`);
else rmSync(dir, { recursive: true, force: true });
