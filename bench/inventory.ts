/**
 * Benchmark: inventory, enrichment and plan of N recovery points from the
 * sandbox by the real daemon (built dist/, worker threads, SQLite store), with
 * side by side the AWS CLI listing the same vaults to /dev/null.
 *
 *   npm run build && npx tsx bench/inventory.ts [--points 1000000] [--runs 3] [--cli-runs 1] [--csv-rows 1000000]
 *
 * Per run: a fresh sandbox (AWS's published request rates enforced, as on a
 * real account) and a fresh state directory; `rpcopyd --dry-run` (a service)
 * runs inventory → enrich → plan, and once its status says done the bench asks
 * for the plan and the forecast a few times and stops it. Phase times come from
 * the daemon's own event log; the whole run is process start to the plan's
 * last event; peak RSS is the daemon's VmHWM, also taken per phase from VmRSS
 * samples; `rpctl status` latency is sampled over the control socket every
 * 100 ms while the daemon works, `rpctl plan` and `rpctl forecast` every 2 s.
 * Results go to bench/results/inventory.md (medians) and stdout.
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  appendFileSync,
  createWriteStream,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { request } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';

const { values } = parseArgs({
  options: {
    points: { type: 'string' },
    runs: { type: 'string' },
    'cli-runs': { type: 'string' },
    'csv-rows': { type: 'string' },
    out: { type: 'string' },
    // Profiling: extra Node options for the daemon (e.g. --node-arg=--cpu-prof), and where its stdout goes.
    'node-arg': { type: 'string', multiple: true },
    'daemon-stdout': { type: 'string' },
    // Keep each run's sandbox and state directory (its log, store and events) for a look afterwards.
    keep: { type: 'boolean' },
    // Run the daemon under strace, recording its syncs and truncations (the calls that block a thread on the disk)
    // to this file, and print the main thread's. The memory figures are then strace's, not the daemon's.
    strace: { type: 'string' },
  },
});
const NODE_ARGS = values['node-arg'] ?? [];
const POINTS = Number(values.points ?? 1_000_000);
const RUNS = Number(values.runs ?? 3);
const CLI_RUNS = Number(values['cli-runs'] ?? 1);
const CSV_ROWS = Number(values['csv-rows'] ?? POINTS);
const RESULTS = values.out ?? 'bench/results/inventory.md';
const AWS_CLI = process.env.RPCOPY_TEST_AWS_CLI ?? '/usr/bin/aws';

interface Sandbox {
  dir: string;
  url: string;
  env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

async function startSandbox(): Promise<Sandbox> {
  const dir = mkdtempSync(join(tmpdir(), 'rpc-bench-'));
  const child = spawn(
    process.execPath,
    ['dist/test/sandbox/main.js', '--points', String(POINTS), '--seed', '1', '--out', dir],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`sandbox exited with ${code}`)));
  });
  const { url } = JSON.parse(line) as { url: string };
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return {
    dir,
    url,
    env: {
      ...process.env,
      AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials'),
      AWS_CONFIG_FILE: join(dir, 'aws-config'),
      AWS_ENDPOINT_URL: url,
      AWS_REGION: 'eu-west-2',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
      if (values.keep) console.log(`kept ${dir}`);
      else rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Pad the sandbox's CSV with rows for resources that do not exist, up to `rows` data rows. The padding goes
 * right after the header: the sandbox's own rows end with deliberately broken ones (a quote never closed
 * swallows everything after it), so rows appended at the end would never be loaded.
 */
async function padCsv(file: string, rows: number): Promise<number> {
  const text = readFileSync(file, 'utf8');
  const headerEnd = text.indexOf('\n') + 1;
  const existing = text.split(/\r?\n/).filter(Boolean).length - 1;
  const out = createWriteStream(`${file}.padded`);
  out.write(text.slice(0, headerEnd));
  for (let i = existing; i < rows; i++) {
    const ok = out.write(
      `arn:aws:ec2:eu-west-2:111111111111:volume/vol-bench${i.toString(16).padStart(12, '0')},APM${String(1_000_000 + (i % 5000))},bench,bench@example.com\r\n`,
    );
    if (!ok) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  out.write(text.slice(headerEnd));
  await new Promise<void>((r) => out.end(() => r()));
  renameSync(`${file}.padded`, file);
  return Math.max(existing, rows);
}

/** The daemon's peak (VmHWM) and current (VmRSS) resident set, in MB. */
function memoryMb(pid: number): { peak: number; now: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)\\s+kB`).exec(status)?.[1] ?? Number.NaN);
    return { peak: kb('VmHWM') / 1024, now: kb('VmRSS') / 1024 };
  } catch {
    return undefined;
  }
}

/** One control-API call's answer time in ms and its body; undefined when it did not answer 200. */
function call(socketPath: string, path: string, method = 'GET'): Promise<{ ms: number; body: string } | undefined> {
  return new Promise((resolve) => {
    const start = performance.now();
    const req = request({ socketPath, path, method, headers: { host: 'localhost' }, timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve(
          res.statusCode && res.statusCode < 300
            ? { ms: performance.now() - start, body: Buffer.concat(chunks).toString('utf8') }
            : undefined,
        ),
      );
    });
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

const percentile = (xs: number[], p: number) => {
  if (xs.length === 0) return Number.NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
};
const median = (xs: number[]) => percentile(xs, 50);

interface Run {
  inventoryS: number;
  enrichS: number;
  planS: number;
  totalS: number;
  points: number;
  csvRowsLoaded: number;
  peakRssMb: number;
  statusP50: number;
  statusP99: number;
  statusMax: number;
  statusSamples: number;
  /** The largest resident set sampled in each phase (MB). */
  rssInventory: number;
  rssEnrich: number;
  rssPlan: number;
  /** rpctl plan and rpctl forecast answer times (ms): the largest while the dry run ran, the median after. */
  planDuringMax: number;
  forecastDuringMax: number;
  planAfter: number;
  forecastAfter: number;
}

interface DiskWaits {
  calls: number;
  totalS: number;
  over50ms: number;
  maxS: number;
}

/**
 * From an strace log (`-f -T`, see --strace): the main thread's syncs and truncations, per call: how many, the total
 * and the longest seconds, and how many took over 50 ms. The main thread is the first one the log shows: each run
 * here starts on a new store, which the daemon creates and migrates (syncing) on the main thread before it starts
 * the checkpointer or any other thread that syncs (daemon/daemon.ts).
 */
function mainThreadDiskWaits(file: string): Record<string, DiskWaits> {
  const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  const main = lines[0]?.split(/\s+/)[0];
  const waits: Record<string, DiskWaits> = {};
  for (const line of lines) {
    const match = /^(\d+)\s+(\w+)\(.*<([\d.]+)>$/.exec(line);
    if (!match || match[1] !== main) continue;
    const [, , call = '', seconds = '0'] = match;
    const s = Number(seconds);
    const entry = waits[call] ?? { calls: 0, totalS: 0, over50ms: 0, maxS: 0 };
    waits[call] = entry;
    entry.calls++;
    entry.totalS += s;
    if (s > 0.05) entry.over50ms++;
    entry.maxS = Math.max(entry.maxS, s);
  }
  for (const entry of Object.values(waits)) entry.totalS = Math.round(entry.totalS * 1000) / 1000;
  return waits;
}

async function runDaemon(sandbox: Sandbox): Promise<Run> {
  const stateDir = join(sandbox.dir, 'state');
  const config = join(sandbox.dir, 'config.toml');
  const stdout = values['daemon-stdout'] ? openSync(values['daemon-stdout'], 'w') : 'ignore';
  const startedAt = Date.now();
  const command = [process.execPath, ...NODE_ARGS, 'dist/daemon/main.js', '--config', config, '--dry-run'];
  const traced = values.strace
    ? ['strace', '--seccomp-bpf', '-f', '-T', '-e', 'trace=fsync,fdatasync,ftruncate', '-o', values.strace, ...command]
    : command;
  const daemon = spawn(traced[0] as string, traced.slice(1), {
    env: sandbox.env,
    stdio: ['ignore', stdout, 'inherit'],
  });
  let done = false;
  const exited = new Promise<number | null>((resolve) =>
    daemon.once('exit', (code) => {
      // The samplers end with the daemon, whether it finished or failed.
      done = true;
      resolve(code);
    }),
  );
  let peak = 0;
  const latencies: number[] = [];
  const slow: { at: number; ms: number }[] = [];
  const rss: { at: number; mb: number }[] = [];
  const socket = join(stateDir, 'rpcopyd.sock');
  const planDuring: number[] = [];
  const forecastDuring: number[] = [];
  let finished = false;
  // rpctl plan and forecast while the dry run runs: their answer times at scale.
  const heavySampler = (async () => {
    while (!done && !finished) {
      if (existsSync(socket)) {
        const plan = await call(socket, '/v1/plan');
        if (plan) planDuring.push(plan.ms);
        const forecast = await call(socket, '/v1/forecast');
        if (forecast) forecastDuring.push(forecast.ms);
      }
      await new Promise((r) => setTimeout(r, 2000));
    }
  })();
  const sampler = (async () => {
    while (!done && !finished) {
      const memory = memoryMb(daemon.pid as number);
      if (memory) {
        if (Number.isFinite(memory.peak)) peak = Math.max(peak, memory.peak);
        if (Number.isFinite(memory.now)) rss.push({ at: Date.now(), mb: memory.now });
      }
      if (existsSync(socket)) {
        const answer = await call(socket, '/v1/status');
        if (answer) {
          latencies.push(answer.ms);
          if (answer.ms > 100) slow.push({ at: Date.now(), ms: Math.round(answer.ms) });
          if ((JSON.parse(answer.body) as { state: string }).state === 'done') finished = true;
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  await Promise.race([sampler, exited]);
  await heavySampler;
  // After the run: the plan and forecast of the complete store, as an operator asks for them.
  const planAfter: number[] = [];
  const forecastAfter: number[] = [];
  for (let i = 0; i < 5 && finished; i++) {
    const plan = await call(socket, '/v1/plan');
    if (plan) planAfter.push(plan.ms);
    const forecast = await call(socket, '/v1/forecast');
    if (forecast) forecastAfter.push(forecast.ms);
  }
  if (finished) await call(socket, '/v1/stop', 'POST');
  const code = await exited;
  done = true;
  await sampler;
  if (code !== 0) throw new Error(`rpcopyd exited with ${code}`);

  const db = new Database(join(stateDir, 'rpcopy.db'), { readonly: true });
  const at = (kind: string, which: 'min' | 'max') =>
    (db.prepare(`SELECT ${which}(at) AS at FROM events WHERE kind = ?`).get(kind) as { at: number | null }).at ??
    Number.NaN;
  const points = (db.prepare('SELECT count(*) AS n FROM recovery_points').get() as { n: number }).n;
  // What the enrich phase really loaded: a CSV whose rows were swallowed by a broken quote would measure nothing.
  const csvRowsLoaded = (
    db.prepare("SELECT coalesce(max(rows), 0) AS n FROM metadata_sources WHERE state = 'complete'").get() as {
      n: number;
    }
  ).n;
  const inventoryStart = at('daemon.started', 'min');
  const inventoryEnd = at('inventory.vault_done', 'max');
  const enrichEnd = at('enrich.done', 'max');
  const planEnd = at('plan.done', 'max');
  const totalS = (planEnd - startedAt) / 1000;
  const phaseAt = (when: number) =>
    when < at('inventory.started', 'min')
      ? 'start-up'
      : when <= inventoryEnd
        ? 'inventory'
        : when <= enrichEnd
          ? 'enrich'
          : when <= planEnd
            ? 'plan'
            : 'end';
  const slowByPhase: Record<string, number[]> = {};
  for (const s of slow) {
    const phase = phaseAt(s.at);
    slowByPhase[phase] = [...(slowByPhase[phase] ?? []), s.ms];
  }
  console.log(`status answers slower than 100 ms, by phase: ${JSON.stringify(slowByPhase)}`);
  if (values.strace) console.log(`main thread's disk waits: ${JSON.stringify(mainThreadDiskWaits(values.strace))}`);
  // Where the peak comes from: the largest resident set sampled in each phase.
  const rssByPhase: Record<string, number> = {};
  for (const r of rss) rssByPhase[phaseAt(r.at)] = Math.max(rssByPhase[phaseAt(r.at)] ?? 0, Math.round(r.mb));
  console.log(`largest resident set sampled, by phase (MB): ${JSON.stringify(rssByPhase)}`);
  db.close();
  return {
    inventoryS: (inventoryEnd - inventoryStart) / 1000,
    enrichS: (enrichEnd - inventoryEnd) / 1000,
    planS: (planEnd - enrichEnd) / 1000,
    totalS,
    points,
    csvRowsLoaded,
    peakRssMb: peak,
    statusP50: percentile(latencies, 50),
    statusP99: percentile(latencies, 99),
    statusMax: percentile(latencies, 100),
    statusSamples: latencies.length,
    rssInventory: rssByPhase.inventory ?? Number.NaN,
    rssEnrich: rssByPhase.enrich ?? Number.NaN,
    rssPlan: rssByPhase.plan ?? Number.NaN,
    planDuringMax: percentile(planDuring, 100),
    forecastDuringMax: percentile(forecastDuring, 100),
    planAfter: median(planAfter),
    forecastAfter: median(forecastAfter),
  };
}

/** The AWS CLI listing every vault, fully paginated, to /dev/null. Returns seconds. */
function runCli(sandbox: Sandbox): number {
  const vaults = JSON.parse(
    spawnSync(
      AWS_CLI,
      ['--endpoint-url', sandbox.url, '--profile', 'rpcopy-source', 'backup', 'list-backup-vaults', '--output', 'json'],
      {
        env: sandbox.env,
        encoding: 'utf8',
      },
    ).stdout,
  ) as { BackupVaultList: { BackupVaultName: string }[] };
  const start = performance.now();
  for (const vault of vaults.BackupVaultList) {
    const result = spawnSync(
      AWS_CLI,
      [
        '--endpoint-url',
        sandbox.url,
        '--profile',
        'rpcopy-source',
        'backup',
        'list-recovery-points-by-backup-vault',
        '--backup-vault-name',
        vault.BackupVaultName,
      ],
      { env: sandbox.env, stdio: ['ignore', 'ignore', 'inherit'] },
    );
    if (result.status !== 0) throw new Error(`aws cli failed on ${vault.BackupVaultName}`);
  }
  return (performance.now() - start) / 1000;
}

const runs: Run[] = [];
const cli: number[] = [];
let csvRows = 0;
for (let i = 0; i < RUNS; i++) {
  const sandbox = await startSandbox();
  try {
    csvRows = await padCsv(join(sandbox.dir, 'apm.csv'), CSV_ROWS);
    const run = await runDaemon(sandbox);
    runs.push(run);
    console.log(`run ${i + 1}: ${JSON.stringify(run)}`);
    if (i < CLI_RUNS && existsSync(AWS_CLI)) {
      const seconds = runCli(sandbox);
      cli.push(seconds);
      console.log(`cli ${i + 1}: ${seconds.toFixed(1)} s`);
    }
  } finally {
    await sandbox.stop();
  }
}

const m = (key: keyof Run) => median(runs.map((r) => r[key]));
const row = (label: string, key: keyof Run, digits = 1) =>
  `| ${label} | ${m(key).toFixed(digits)} | ${runs.map((r) => r[key].toFixed(digits)).join(', ')} |`;
const text = `
## ${POINTS.toLocaleString('en-US')} points, CSV of ${csvRows.toLocaleString('en-US')} rows — ${new Date().toISOString()}

Command: \`npm run build && npx tsx bench/inventory.ts --points ${POINTS} --runs ${RUNS} --cli-runs ${CLI_RUNS} --csv-rows ${CSV_ROWS}\`
Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}. Sandbox with AWS's published request rates (ListRecoveryPointsByBackupVault 20/s).

| metric | median | runs |
| --- | --- | --- |
${row('inventory (s)', 'inventoryS')}
${row('enrich: load CSV + reconcile (s)', 'enrichS')}
${row('plan (s)', 'planS')}
${row('whole --dry-run, process start to the complete plan (s)', 'totalS')}
${row('points stored', 'points', 0)}
${row('CSV rows loaded', 'csvRowsLoaded', 0)}
${row('daemon peak RSS (MB)', 'peakRssMb', 0)}
${row('rpctl status latency p50 (ms)', 'statusP50')}
${row('rpctl status latency p99 (ms)', 'statusP99')}
${row('rpctl status latency max (ms)', 'statusMax')}
${row('status samples', 'statusSamples', 0)}
${row('largest RSS sampled in inventory (MB)', 'rssInventory', 0)}
${row('largest RSS sampled in enrich (MB)', 'rssEnrich', 0)}
${row('largest RSS sampled in plan (MB)', 'rssPlan', 0)}
${row('rpctl plan answer during the run, slowest (ms)', 'planDuringMax')}
${row('rpctl forecast answer during the run, slowest (ms)', 'forecastDuringMax')}
${row('rpctl plan answer after the run, median of 5 (ms)', 'planAfter')}
${row('rpctl forecast answer after the run, median of 5 (ms)', 'forecastAfter')}
${cli.length > 0 ? `| AWS CLI (Debian awscli) listing the same vaults to /dev/null (s) | ${median(cli).toFixed(1)} | ${cli.map((s) => s.toFixed(1)).join(', ')} |\n| CLI listing time ÷ rpcopy inventory time | ${(median(cli) / m('inventoryS')).toFixed(2)} | |` : '| AWS CLI | not run | |'}
`;
console.log(text);
if (!existsSync(RESULTS)) writeFileSync(RESULTS, '# Inventory, enrich and plan benchmark\n');
appendFileSync(RESULTS, text);
