/**
 * Benchmark: the plan phase alone, on a store kept by the inventory benchmark, with and without schema changes.
 *
 *   npx tsx bench/inventory.ts --points 1000000 --runs 1 --cli-runs 0 --keep      # prints "kept DIR"
 *   npx tsx bench/plan.ts --dir DIR [--runs 3] [--variant 'SQL; SQL; …'] [--out bench/results/plan.md]
 *
 * Each run copies the kept store (with copy_items emptied once, then VACUUMed, into DIR/plan-base.db), applies the
 * variant's SQL (for example an index to drop or make partial), and runs the real PlanPhase on the main thread:
 * the resolved-APMID temp table, the decision in chunks, the totals. It prints wall time and the process's CPU
 * time (user + system) of the phase. There is no checkpointer thread here, so the WAL grows through the whole
 * plan and the times are not the inventory benchmark's plan figure (they have come out higher); use it to compare
 * variants, not as the target's number. Variant runs alternate with runs of the schema as it is, so that a noisy
 * spell hits both. Results are appended to --out.
 *
 * After each run of the schema as it is, `rpctl plan`'s report is built three times as the daemon builds it (the
 * plan-wide scans on a ReadWorker), and the same two scans once on the main thread, as the code before did: the
 * longest event-loop stall of each (perf_hooks' event-loop delay histogram) is what `rpctl status` would wait.
 */
import { appendFileSync, copyFileSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import type { EventJournal } from '../daemon/events.js';
import { createLogger } from '../daemon/log.js';
import { PlanPhase } from '../daemon/plan/phase.js';
import { planReport } from '../daemon/plan/report.js';
import { PLAN_BY_TYPE_SQL, PLAN_BY_VAULT_SQL } from '../daemon/read-model.js';
import { ReadWorker } from '../daemon/store/read-worker.js';
import { openStore, type Store } from '../daemon/store/store.js';
import { loadConfig } from '../shared/config.js';

const { values } = parseArgs({
  options: {
    dir: { type: 'string' },
    runs: { type: 'string' },
    variant: { type: 'string' },
    out: { type: 'string' },
  },
});
if (!values.dir) throw new Error('--dir DIR: a directory kept by bench/inventory.ts --keep');
const DIR = values.dir;
const RUNS = Number(values.runs ?? 3);
const BASE = join(DIR, 'plan-base.db');
const TRIAL = join(DIR, 'plan-trial.db');
const removeTrial = () => {
  for (const suffix of ['', '-wal', '-shm']) rmSync(TRIAL + suffix, { force: true });
};

if (!existsSync(BASE)) {
  copyFileSync(join(DIR, 'state', 'rpcopy.db'), BASE);
  const db = new Database(BASE);
  db.exec('DELETE FROM copy_items; VACUUM;');
  db.close();
}
const points = (() => {
  const db = new Database(BASE, { readonly: true });
  const row = db.prepare('SELECT count(*) AS n FROM recovery_points').get() as { n: number };
  db.close();
  return row.n;
})();
const config = loadConfig(join(DIR, 'config.toml'));
const identity = {
  sourceAccountId: config.source.accountId,
  destinationAccountId: config.destination.accountId,
  region: config.region,
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
const log = createLogger({ level: 'error', write: () => undefined });
const journal: EventJournal = { record: () => undefined };

interface PlanRun {
  wallS: number;
  cpuS: number;
  /** Only for the schema as it is: `rpctl plan`'s report, built on a read worker, and its scans on the main thread. */
  reportS?: number;
  reportStallMs?: number;
  mainThreadStallMs?: number;
}

/** The longest event-loop stall while `work` runs, in milliseconds. */
async function longestStall<T>(work: () => Promise<T> | T): Promise<number> {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  // The histogram records the gap between two of its timer's ticks: let it tick before the work starts.
  await sleep(20);
  await work();
  // A timer, not setImmediate: the histogram's own timer, held back by a stall at the end of `work`, must fire
  // (and record the delay) before the histogram is read.
  await sleep(20);
  histogram.disable();
  return histogram.max / 1e6;
}

async function measureReport(store: Store, run: PlanRun): Promise<void> {
  const reader = new ReadWorker(store.file, 'the plan report worker');
  try {
    const walls: number[] = [];
    const stalls: number[] = [];
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      stalls.push(await longestStall(() => planReport(store, reader, config)));
      walls.push((performance.now() - started) / 1000);
    }
    run.reportS = median(walls);
    run.reportStallMs = median(stalls);
    run.mainThreadStallMs = await longestStall(() => {
      store.sqlite.prepare(PLAN_BY_VAULT_SQL).all();
      store.sqlite.prepare(PLAN_BY_TYPE_SQL).all();
    });
  } finally {
    await reader.close();
  }
}

async function planOnce(variant: string | undefined): Promise<PlanRun> {
  removeTrial();
  copyFileSync(BASE, TRIAL);
  const store = openStore(TRIAL, identity, { version: 'bench' });
  try {
    if (variant) store.sqlite.exec(variant);
    const phase = new PlanPhase({
      store,
      config,
      journal,
      log,
    });
    const cpu = process.cpuUsage();
    const started = performance.now();
    await phase.run({ signal: new AbortController().signal, track: (work) => work });
    const used = process.cpuUsage(cpu);
    const run: PlanRun = { wallS: (performance.now() - started) / 1000, cpuS: (used.user + used.system) / 1e6 };
    if (!variant) await measureReport(store, run);
    return run;
  } finally {
    store.close();
  }
}

const results: Record<string, PlanRun[]> = { 'schema as it is': [], variant: [] };
for (let run = 1; run <= RUNS; run++) {
  results['schema as it is']?.push(await planOnce(undefined));
  if (values.variant) results.variant?.push(await planOnce(values.variant));
}
const fmt = (xs: number[]) => `${median(xs).toFixed(1)} | ${xs.map((x) => x.toFixed(1)).join(', ')}`;
const rows = Object.entries(results)
  .filter(([, runs]) => runs.length > 0)
  .flatMap(([name, runs]) => [
    `| ${name}: wall (s) | ${fmt(runs.map((r) => r.wallS))} |`,
    `| ${name}: CPU, user + system (s) | ${fmt(runs.map((r) => r.cpuS))} |`,
  ]);
const asIs = results['schema as it is'] ?? [];
rows.push(
  `| rpctl plan report, scans on a read worker: wall (s) | ${fmt(asIs.map((r) => r.reportS ?? Number.NaN))} |`,
  `| rpctl plan report: longest main-thread stall (ms) | ${fmt(asIs.map((r) => r.reportStallMs ?? Number.NaN))} |`,
  `| the same scans on the main thread: stall (ms) | ${fmt(asIs.map((r) => r.mainThreadStallMs ?? Number.NaN))} |`,
);
const section = `
## Plan phase alone, ${points.toLocaleString('en')} points (store kept in ${DIR}) — ${new Date().toISOString()}

Command: \`npx tsx bench/plan.ts --dir ${DIR} --runs ${RUNS}${values.variant ? ` --variant '${values.variant}'` : ''}\`
Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}.

| metric | median | runs |
| --- | --- | --- |
${rows.join('\n')}
`;
const out = values.out ?? 'bench/results/plan.md';
if (!existsSync(out)) writeFileSync(out, '# Plan phase benchmark (bench/plan.ts)\n');
appendFileSync(out, section);
console.log(section);
removeTrial();
