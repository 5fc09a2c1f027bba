/**
 * Benchmark: the store's size once a real plan has been copied. Takes the store a dry run left (bench/inventory.ts
 * --keep), copies it aside, and drives every queued point through the real copy queue (daemon/copy/repo.ts) and
 * store, with job outcomes replayed instead of AWS: intent, started, running, completed or failed, verified, with
 * AWS-shaped job ids and destination ARNs and the copy phase's own idempotency tokens. Sizes come from the file
 * after a truncating checkpoint and from SQLite's dbstat, per table and index.
 *
 *   npx tsx bench/store-size.ts --store <dir>/state/rpcopy.db [--copy planned|all] [--fail-rate 0.02]
 *     [--out bench/results/store-size.md] [--keep]
 *
 * --copy planned copies what the plan queued (a real migration's end); --copy all requeues the skipped points
 * first, so every inventoried point ends verified (the "copy phase over 1,000,000 points").
 * What it does not run: the AWS calls and their worker threads, the sweeps and the verification lookups; the
 * events the copy phase records only for exceptions.
 */
import { randomUUID } from 'node:crypto';
import { appendFileSync, copyFileSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import type { CopyJobSummary } from '../daemon/aws/operations.js';
import { CopyQueue } from '../daemon/copy/repo.js';
import { idempotencyToken } from '../daemon/copy/token.js';
import { openStore } from '../daemon/store/store.js';

const { values } = parseArgs({
  options: {
    store: { type: 'string' },
    copy: { type: 'string' },
    'fail-rate': { type: 'string' },
    out: { type: 'string' },
    keep: { type: 'boolean' },
  },
});
if (!values.store || !existsSync(values.store)) {
  console.error('--store: the rpcopy.db a dry run left (npx tsx bench/inventory.ts ... --keep) is required');
  process.exit(2);
}
const COPY = values.copy ?? 'planned';
if (COPY !== 'planned' && COPY !== 'all') {
  console.error(`--copy: planned or all, not ${COPY}`);
  process.exit(2);
}
const FAIL_RATE = Number(values['fail-rate'] ?? 0.02);
const RESULTS = values.out ?? 'bench/results/store-size.md';
const MIB = 1_048_576;

const dir = mkdtempSync(join(tmpdir(), 'rpc-size-'));
const file = join(dir, 'rpcopy.db');
copyFileSync(values.store, file);
if (existsSync(`${values.store}-wal`)) copyFileSync(`${values.store}-wal`, `${file}-wal`);

const meta = new Database(file, { readonly: true });
const identity = Object.fromEntries(
  (meta.prepare('SELECT key, value FROM store_meta').all() as { key: string; value: string }[]).map((r) => [
    r.key,
    r.value,
  ]),
);
meta.close();
const store = openStore(
  file,
  {
    sourceAccountId: identity.source_account_id as string,
    destinationAccountId: identity.destination_account_id as string,
    region: identity.region as string,
  },
  { version: 'bench', migrationsFolder: 'drizzle' },
);
const { sqlite } = store;

interface Part {
  name: string;
  bytes: number;
}
/** Bytes per table and index (dbstat), largest first, after a truncating checkpoint. */
function breakdown(): { fileBytes: number; parts: Part[] } {
  sqlite.pragma('wal_checkpoint(TRUNCATE)');
  const parts = sqlite
    .prepare('SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name ORDER BY bytes DESC')
    .all() as Part[];
  return { fileBytes: statSync(file).size, parts };
}
const count = (sql: string) => (sqlite.prepare(sql).get() as { n: number }).n;

const points = count('SELECT count(*) AS n FROM recovery_points');
const before = breakdown();
const planned = count(`SELECT count(*) AS n FROM copy_items WHERE state = 'queued'`);

// The destination side a copying run would have made: every source vault's destination vault created.
const now0 = Date.now();
const region = identity.region as string;
const destinationAccount = identity.destination_account_id as string;
sqlite
  .prepare(
    `INSERT INTO destination_vaults (source_vault_name, name, arn, state, created_by_rpcopy)
     SELECT name, name, 'arn:aws:backup:${region}:${destinationAccount}:backup-vault:' || name, 'created', 1
     FROM source_vaults WHERE true
     ON CONFLICT (source_vault_name) DO UPDATE SET arn = excluded.arn, state = 'created'`,
  )
  .run();
if (COPY === 'all') {
  sqlite.prepare(`UPDATE copy_items SET state = 'queued', skip_reason = NULL WHERE state = 'skipped'`).run();
}
const runId = Number(
  sqlite
    .prepare(`INSERT INTO runs (started_at, pid, version, mode) VALUES (?, ?, 'bench', 'service')`)
    .run(now0, process.pid).lastInsertRowid,
);
const queue = new CopyQueue(store, runId);
await queue.prepare(now0);
// The canaries passed: every combination is open.
sqlite.prepare(`UPDATE copy_combos SET state = 'open'`).run();
const toCopy = count(`SELECT count(*) AS n FROM copy_items WHERE state = 'queued'`);

let random = 1;
const next = () => {
  random = (random * 48271) % 2147483647;
  return random / 2147483647;
};
const jobId = () => randomUUID().toUpperCase();
const destinationArn = () => `arn:aws:backup:${region}:${destinationAccount}:recovery-point:${randomUUID()}`;

let now = now0;
let copied = 0;
let failedJobs = 0;
const cpu0 = process.cpuUsage();
const started = performance.now();
let lastReport = started;
while (copied < toCopy) {
  const heads = queue.claimable(2_000, now);
  if (heads.length === 0) {
    const retryAt = queue.nextRetryAt();
    if (retryAt === null) throw new Error(`stuck with ${copied} of ${toCopy} copied`);
    now = Math.max(now + 1, retryAt);
    continue;
  }
  for (const c of heads) {
    now += 1;
    const attempt = Math.max(1, c.attempt);
    if (!queue.markIntent(c, idempotencyToken(c.pointArn, c.destinationVaultArn, attempt), now, 15 * 60_000)) continue;
    const id = jobId();
    queue.recordStarted(c.pointId, c.attempt, id, now, now);
    queue.recordJobState(c.pointId, 'RUNNING', now + 1);
    const fails = c.attempt === 1 && next() < FAIL_RATE;
    const summary: CopyJobSummary = {
      copyJobId: id,
      state: fails ? 'FAILED' : 'COMPLETED',
      sourceRecoveryPointArn: c.pointArn,
      sourceVaultArn: null,
      destinationVaultArn: c.destinationVaultArn,
      destinationRecoveryPointArn: fails ? null : destinationArn(),
      resourceArn: null,
      resourceType: null,
      creationDate: now,
      completionDate: now + 2,
      statusMessage: fails ? 'An internal error occurred. Retry the copy job.' : null,
      messageCategory: null,
      sizeBytes: null,
      isParent: false,
    };
    const outcome = queue.recordFinished(
      c.pointId,
      summary,
      fails ? { reason: 'internal_error', kind: 'transient' } : undefined,
      now + 2,
    );
    if (outcome === 'completed') {
      queue.recordVerified(c.pointId, now + 3);
      copied++;
    } else failedJobs++;
  }
  if (performance.now() - lastReport > 30_000) {
    lastReport = performance.now();
    console.log(`${copied} of ${toCopy} copied, ${((lastReport - started) / 1000).toFixed(0)} s`);
  }
}
const cpu = process.cpuUsage(cpu0);
const wallS = (performance.now() - started) / 1000;
const after = breakdown();
const missingAudit = count(
  `SELECT count(*) AS n FROM copy_items WHERE state = 'verified' AND (copy_job_id IS NULL
     OR destination_point_arn IS NULL OR submitted_at IS NULL OR completed_at IS NULL OR verified_at IS NULL
     OR idempotency_token IS NULL)`,
);
const attempts = count('SELECT count(*) AS n FROM copy_attempts');
store.close();
if (values.keep) console.log(`kept ${file}`);
else rmSync(dir, { recursive: true, force: true });

const mib = (b: number) => (b / MIB).toFixed(1);
const perPoint = (b: number) => (b / points).toFixed(0);
const top = (parts: Part[]) => new Map(parts.map((p) => [p.name, p.bytes]));
const beforeParts = top(before.parts);
const rows = after.parts
  .slice(0, 14)
  .map(
    (p) =>
      `| ${p.name} | ${mib(beforeParts.get(p.name) ?? 0)} | ${mib(p.bytes)} | ${perPoint(beforeParts.get(p.name) ?? 0)} | ${perPoint(p.bytes)} |`,
  )
  .join('\n');
const text = `
## ${points.toLocaleString('en-US')} points, copy ${COPY} — ${new Date().toISOString()}

Command: \`npx tsx bench/store-size.ts --store <dry run's rpcopy.db> --copy ${COPY} --fail-rate ${FAIL_RATE}\`
Machine: ${cpus().length} × ${cpus()[0]?.model.split(' ').slice(0, 2).join(' ')}, Node ${process.version}; 1-minute load average at the end ${loadavg()[0]?.toFixed(1)}.

| metric | value |
| --- | --- |
| points in the store / queued by the plan / copied here | ${points} / ${planned} / ${copied} (${failedJobs} replayed transient failures, copied on their second attempt) |
| store after the dry run (MiB, bytes per point) | ${mib(before.fileBytes)} (${perPoint(before.fileBytes)}) |
| store after copying, truncating checkpoint (MiB, bytes per point) | ${mib(after.fileBytes)} (${perPoint(after.fileBytes)}) |
| copy_attempts rows | ${attempts} |
| verified items missing an audit field | ${missingAudit} |
| queue and store CPU per copied point (ms), wall time (s) | ${((cpu.user + cpu.system) / 1000 / Math.max(1, copied)).toFixed(2)}, ${wallS.toFixed(0)} |

| table or index | after dry run (MiB) | after copying (MiB) | bytes per point before | after |
| --- | --- | --- | --- | --- |
${rows}
`;
console.log(text);
appendFileSync(RESULTS, text);
