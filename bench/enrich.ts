// Benchmark of the enrichment phase at full scale: `npx tsx bench/enrich.ts`
// (options: --rows N, default 1000000; --runs N, default 3; --no-write to skip
// bench/results/enrich.md).
//
// Generates a deterministic CSV of N rows (with duplicates, conflicts, empty
// APMIDs, quoted fields and a few malformed rows) in a temporary folder, then
// runs each measurement in a fresh child process (so peak RSS is per run) on a
// fresh store: loadMetadata (the headline: wall time and peak RSS), then, with
// N recovery points inserted, reconcileMetadataWithPoints, materializeResolvedApmids
// and a plan-shaped scan joining every point to its resolved APMID. Reports
// medians over the runs. Event-loop lag (how late a 10 ms timer fires: what a
// `rpctl status` request would wait) is sampled during the load, the
// reconciliation and the materialization.

import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadMetadata } from '../daemon/enrich/loader.js';
import { reconcileMetadataWithPoints } from '../daemon/enrich/reconcile.js';
import { materializeResolvedApmids } from '../daemon/enrich/resolution.js';
import { openStore } from '../daemon/store/store.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const identity = { sourceAccountId: '111111111111', destinationAccountId: '222222222222', region: 'eu-west-2' };

/** A small deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function resourceArn(r: number): string {
  const mixed = (Math.imul(r + 1, 0x9e3779b1) >>> 0).toString(16).padStart(8, '0');
  return `arn:aws:ec2:eu-west-2:111111111111:volume/vol-${mixed}${r.toString(16).padStart(8, '0')}`;
}

const apmidOf = (r: number) => `APM${String(1_000_000 + (r % 5_000)).padStart(7, '0')}`;

/** Write the CSV; returns how many rows of each special sort it holds. */
export interface GeneratedCsv {
  rows: number;
  duplicates: number;
  conflicts: number;
  empty: number;
  malformed: number;
  resources: number;
}

export async function generateCsv(file: string, rows: number): Promise<GeneratedCsv> {
  const random = rng(20261126);
  const out = createWriteStream(file);
  const counts: GeneratedCsv = { rows: 0, duplicates: 0, conflicts: 0, empty: 0, malformed: 0, resources: 0 };
  let buffer = 'resourceArn,APMID,application,owner,notes\r\n';
  let resources = 0;
  for (let i = 0; i < rows; i++) {
    const roll = random();
    let line: string;
    if (i > 1000 && roll < 0.01) {
      const r = Math.floor(random() * resources);
      line = `${resourceArn(r)},${apmidOf(r)},app-${r % 977},team-${r % 31},duplicate`;
      counts.duplicates++;
    } else if (i > 1000 && roll < 0.011) {
      const r = Math.floor(random() * resources);
      line = `${resourceArn(r)},${apmidOf(r + 1)},app-${r % 977},team-${r % 31},conflict`;
      counts.conflicts++;
    } else if (i > 1000 && roll < 0.01101) {
      line = `${resourceArn(resources)},APM0000001,only-four-fields`;
      counts.malformed++;
    } else {
      const r = resources++;
      const empty = roll > 0.995;
      if (empty) counts.empty++;
      const notes = r % 10 === 0 ? `"restored, then ""re-tagged""\r\non ${r % 28} Nov"` : `plain note ${r % 1000}`;
      line = `${resourceArn(r)},${empty ? '' : apmidOf(r)},app-${r % 977},team-${r % 31},${notes}`;
    }
    buffer += `${line}\r\n`;
    counts.rows++;
    if (buffer.length > 1 << 20) {
      if (!out.write(buffer)) await new Promise<void>((r) => out.once('drain', () => r()));
      buffer = '';
    }
  }
  out.end(buffer);
  await new Promise<void>((r) => out.once('finish', () => r()));
  counts.resources = resources;
  return counts;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

interface RunResult {
  loadMs: number;
  loadRssMb: number;
  rows: number;
  problems: Record<string, number>;
  lagMaxMs: number;
  lagP99Ms: number;
  reconcileLagMaxMs: number;
  materializeLagMaxMs: number;
  noopMs: number;
  pointsInsertMs: number;
  reconcileMs: number;
  unmatchedRows: number;
  pointsWithoutRow: number;
  materializeMs: number;
  resources: number;
  planScanMs: number;
  peakRssMb: number;
}

/** Samples how late a 10 ms interval timer fires until stop(), which returns the lags sorted ascending. */
function lagSampler(): { stop(): number[] } {
  const lags: number[] = [];
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    lags.push(now - last - 10);
    last = now;
  }, 10);
  return {
    stop() {
      clearInterval(timer);
      return lags.sort((a, b) => a - b);
    },
  };
}

async function child(csv: string, dir: string, resources: number): Promise<RunResult> {
  const store = openStore(join(dir, 'rpcopy.db'), identity, { version: 'bench' });
  const config = { metadata: { csv, keyColumn: 'resourceArn', apmidColumn: 'APMID' } };

  const loadLag = lagSampler();
  let t = performance.now();
  const loaded = await loadMetadata(store, config);
  const loadMs = performance.now() - t;
  const lags = loadLag.stop();
  const loadRssMb = process.resourceUsage().maxRSS / 1024;

  t = performance.now();
  await loadMetadata(store, config);
  const noopMs = performance.now() - t;

  // As many recovery points as CSV resources: 97% match a row, 3% have none (and 3% of rows match nothing).
  t = performance.now();
  const insert = store.sqlite.prepare(
    `INSERT INTO recovery_points (arn, vault_name, resource_arn, resource_type, status, creation_date)
     VALUES (?, ?, ?, 'EBS', 'COMPLETED', ?)`,
  );
  const batch = 50_000;
  for (let from = 0; from < resources; from += batch) {
    store.write(() => {
      for (let i = from; i < Math.min(from + batch, resources); i++) {
        const r = i % 100 < 97 ? i : resources + i;
        insert.run(
          `arn:aws:ec2:eu-west-2::snapshot/snap-${i.toString(16).padStart(12, '0')}`,
          `vault-${i % 12}`,
          resourceArn(r),
          1_700_000_000_000 + i,
        );
      }
    });
  }
  const pointsInsertMs = performance.now() - t;

  const reconcileLag = lagSampler();
  t = performance.now();
  const reconciled = await reconcileMetadataWithPoints(store);
  const reconcileMs = performance.now() - t;
  const reconcileLags = reconcileLag.stop();

  const materializeLag = lagSampler();
  t = performance.now();
  const resolved = await materializeResolvedApmids(store);
  const materializeMs = performance.now() - t;
  const materializeLags = materializeLag.stop();

  // What the plan does per chunk of points: one probe into the resolved table per point.
  t = performance.now();
  const chunk = store.sqlite.prepare(
    `SELECT p.id, r.apmid, CASE WHEN r.resource_arn IS NULL THEN 'missing' ELSE r.reason END AS reason
     FROM recovery_points p LEFT JOIN temp.metadata_resolved_apmids r ON r.resource_arn = p.resource_arn
     WHERE p.id > ? ORDER BY p.id LIMIT 5000`,
  );
  let after = 0;
  let seen = 0;
  for (;;) {
    const rows = chunk.all(after) as { id: number }[];
    if (rows.length === 0) break;
    seen += rows.length;
    after = rows[rows.length - 1]?.id ?? after;
  }
  const planScanMs = performance.now() - t;
  if (seen !== resources) throw new Error(`plan scan saw ${seen} points, expected ${resources}`);
  store.close();

  return {
    loadMs,
    loadRssMb,
    rows: loaded.rows,
    problems: loaded.problems,
    lagMaxMs: lags[lags.length - 1] ?? 0,
    lagP99Ms: lags[Math.floor(lags.length * 0.99)] ?? 0,
    reconcileLagMaxMs: reconcileLags[reconcileLags.length - 1] ?? 0,
    materializeLagMaxMs: materializeLags[materializeLags.length - 1] ?? 0,
    noopMs,
    pointsInsertMs,
    reconcileMs,
    unmatchedRows: reconciled.unmatchedRows,
    pointsWithoutRow: reconciled.pointsWithoutRow,
    materializeMs,
    resources: resolved.resources,
    planScanMs,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
  };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--child') {
    const [, csv, dir, resources] = args;
    const result = await child(csv as string, dir as string, Number(resources));
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  const option = (name: string, fallback: number) => {
    const at = args.indexOf(name);
    return at >= 0 ? Number(args[at + 1]) : fallback;
  };
  const rows = option('--rows', 1_000_000);
  const runs = option('--runs', 3);
  const write = !args.includes('--no-write');

  const dir = mkdtempSync(join(tmpdir(), 'rpc-bench-enrich-'));
  try {
    const csv = join(dir, 'metadata.csv');
    let t = performance.now();
    const generated = await generateCsv(csv, rows);
    const size = statSync(csv).size;
    console.log(
      `generated ${rows} rows (${(size / 1e6).toFixed(1)} MB) in ${((performance.now() - t) / 1000).toFixed(1)} s`,
      generated,
    );

    const loadBefore = loadavg()[0] ?? 0;
    const results: RunResult[] = [];
    for (let run = 1; run <= runs; run++) {
      const runDir = mkdtempSync(join(dir, 'run-'));
      t = performance.now();
      const out = spawnSync(
        process.execPath,
        [...process.execArgv, fileURLToPath(import.meta.url), '--child', csv, runDir, String(generated.resources)],
        { encoding: 'utf8', maxBuffer: 1 << 24 },
      );
      if (out.status !== 0) throw new Error(`run ${run} failed (${out.status}):\n${out.stderr}`);
      const result = JSON.parse(out.stdout.trim().split('\n').pop() as string) as RunResult;
      results.push(result);
      console.log(`run ${run}:`, JSON.stringify(result));
      rmSync(runDir, { recursive: true, force: true });
    }

    const loadAfter = loadavg()[0] ?? 0;
    const m = (key: keyof RunResult) => median(results.map((r) => r[key] as number));
    const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    const first = results[0] as RunResult;
    const report = `# Benchmark: metadata enrichment (bench/enrich.ts)

Command: \`npx tsx bench/enrich.ts${rows === 1_000_000 ? '' : ` --rows ${rows}`}${runs === 3 ? '' : ` --runs ${runs}`}\`
Date: ${new Date().toISOString().slice(0, 10)}
Machine: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), Node ${process.version}; 1-minute load average ${loadBefore.toFixed(1)} before the runs, ${loadAfter.toFixed(1)} after (other processes share the machine: lag and times grow with it)

Input: ${rows.toLocaleString('en')} CSV rows, ${(size / 1e6).toFixed(1)} MB, CRLF, 5 columns, every tenth row with a quoted
field holding a comma, doubled quotes and a line break; ${generated.duplicates} duplicate rows, ${generated.conflicts}
conflicting rows, ${generated.empty} empty APMIDs, ${generated.malformed} malformed rows; ${generated.resources.toLocaleString('en')} distinct resources.
Each run is a fresh child process with a fresh store (WAL, synchronous=NORMAL). Medians of ${runs} runs.

| measure | median | runs |
| --- | --- | --- |
| **loadMetadata: wall time** | **${s(m('loadMs'))}** | ${results.map((r) => s(r.loadMs)).join(', ')} |
| **loadMetadata: peak RSS (maxRSS after the load)** | **${m('loadRssMb').toFixed(0)} MB** | ${results.map((r) => `${r.loadRssMb.toFixed(0)} MB`).join(', ')} |
| event-loop lag during the load, p99 / max (10 ms timer) | ${m('lagP99Ms').toFixed(0)} ms / ${m('lagMaxMs').toFixed(0)} ms | ${results.map((r) => `${r.lagP99Ms.toFixed(0)}/${r.lagMaxMs.toFixed(0)}`).join(', ')} |
| event-loop lag, max: during reconcileMetadataWithPoints / materializeResolvedApmids | ${m('reconcileLagMaxMs').toFixed(0)} ms / ${m('materializeLagMaxMs').toFixed(0)} ms | ${results.map((r) => `${r.reconcileLagMaxMs.toFixed(0)}/${r.materializeLagMaxMs.toFixed(0)}`).join(', ')} |
| loadMetadata again, file unchanged (no-op) | ${m('noopMs').toFixed(1)} ms | ${results.map((r) => `${r.noopMs.toFixed(1)} ms`).join(', ')} |
| reconcileMetadataWithPoints, ${generated.resources.toLocaleString('en')} points | ${s(m('reconcileMs'))} | ${results.map((r) => s(r.reconcileMs)).join(', ')} |
| materializeResolvedApmids | ${s(m('materializeMs'))} | ${results.map((r) => s(r.materializeMs)).join(', ')} |
| plan-shaped scan: every point joined to its resolved APMID, chunks of 5,000 | ${s(m('planScanMs'))} | ${results.map((r) => s(r.planScanMs)).join(', ')} |
| peak RSS of the whole run | ${m('peakRssMb').toFixed(0)} MB | ${results.map((r) => `${r.peakRssMb.toFixed(0)} MB`).join(', ')} |

Rows stored: ${first.rows.toLocaleString('en')}. Problems: ${Object.entries(first.problems)
      .map(([k, v]) => `${k} ${v}`)
      .join(
        ', ',
      )}; after reconciliation ${first.unmatchedRows} unmatched rows and ${first.pointsWithoutRow} points without a row.
(Inserting the ${generated.resources.toLocaleString('en')} recovery points themselves, not part of enrichment: ${s(m('pointsInsertMs'))}.)
`;
    console.log(report);
    if (write) writeFileSync(resolve(HERE, 'results/enrich.md'), report);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
