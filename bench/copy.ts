/**
 * Benchmark: the copy phase against the sandbox's concurrent-copy quota.
 *
 *   npm run build && npx tsx bench/copy.ts [--points 4000] [--seed 1] [--quota 20] [--time-factor 350]
 *     [--vaults a,b,…] [--runs 3] [--scenarios a,b,c,d] [--latency-ms 50] [--out bench/results/copy.md] [--keep]
 *
 * Per run: a fresh sandbox (`dist/test/sandbox/main.js`, AWS's request rates enforced, copy-job quota Q,
 * durations ÷ time factor) and a fresh state directory; `rpcopyd --once` runs inventory → … → copy and exits
 * when every point is final. Meanwhile `/v1/status` is read over the control socket every 100 ms; the first
 * time it shows phase `copy` the sandbox's call counters are reset, so the counters read at the end are the
 * copy phase's calls. Afterwards the sandbox's admin API gives every copy job (CreationDate, CompletionDate,
 * ResourceArn) and the StartCopyJob ledger, from which:
 *
 * - makespan = last CompletionDate − first CreationDate (sandbox clock = real time);
 * - duration of a job = CompletionDate − CreationDate (a job's start delay included: it holds a quota slot);
 * - ideal = max(Σ durations / Q, the longest per-resource Σ durations), a lower bound for any scheduler that
 *   keeps at most Q jobs in flight and one job per resource at a time;
 * - ratio = makespan / ideal; StartCopyJob calls and Backup API calls per completed job.
 *
 * Scenarios: (a) max_in_flight = Q, 2 workers, --runs times (medians); (b) max_in_flight = 2Q, 2 workers (the
 * AIMD window meets LimitExceededException); (c) 50 ms added to every call, 1, 2 and 4 workers, max_in_flight = Q;
 * (d) as (c) with 1 worker but a quota of 2Q, so that Q ÷ mean job duration exceeds rpcopy's StartCopyJob rate.
 * Results go to --out (appended) and stdout. --keep keeps each run's directory with raw.json and the daemon's log;
 * --from-raw DIR1/raw.json,… re-analyses kept runs without running anything.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    points: { type: 'string' },
    seed: { type: 'string' },
    quota: { type: 'string' },
    'time-factor': { type: 'string' },
    vaults: { type: 'string' },
    runs: { type: 'string' },
    scenarios: { type: 'string' },
    'latency-ms': { type: 'string' },
    out: { type: 'string' },
    keep: { type: 'boolean' },
    'from-raw': { type: 'string' },
  },
});
const POINTS = Number(values.points ?? 4000);
const SEED = Number(values.seed ?? 1);
const QUOTA = Number(values.quota ?? 20);
const TIME_FACTOR = Number(values['time-factor'] ?? 350);
// Default: every source vault whose longest resource chain is short next to the backlog (see the results file).
const VAULTS = (values.vaults ?? 'prod-ebs-daily,analytics-s3,airgapped-archive,dynamo-tables')
  .split(',')
  .map((v) => v.trim())
  .filter(Boolean);
const RUNS = Number(values.runs ?? 3);
const SCENARIOS = new Set((values.scenarios ?? 'a,b,c,d').split(',').map((s) => s.trim()));
const LATENCY_MS = Number(values['latency-ms'] ?? 50);
const RESULTS = values.out ?? 'bench/results/copy.md';
const KEEP = values.keep ?? false;
// Re-analyse runs kept with --keep (each leaves DIR/raw.json) instead of running anything.
const FROM_RAW = values['from-raw']?.split(',').filter(Boolean);
// rpcopy's [copy] start_rate (StartCopyJob calls/s); the sandbox's config.toml leaves it at its default.
const START_RATE = 4;
const WINDOW_MS = 5_000;
// The copy engine's shortest sweep interval (daemon/copy/phase.ts MIN_SWEEP_MS): what it uses for jobs under 10 s.
const MIN_SWEEP_MS = 500;

interface Scenario {
  label: string;
  /** The sandbox's concurrent copy-job quota. */
  quota: number;
  workers: number;
  maxInFlight: number;
  latencyMs: number;
}

interface Sandbox {
  dir: string;
  adminUrl: string;
  env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The sandbox as a child process. Retried: another session may be rebuilding dist/ right now. */
async function startSandbox(latencyMs: number, quota: number): Promise<Sandbox> {
  for (let attempt = 1; ; attempt++) {
    const dir = mkdtempSync(join(tmpdir(), 'rpc-bench-copy-'));
    const args = [
      'dist/test/sandbox/main.js',
      '--out',
      dir,
      '--points',
      String(POINTS),
      '--seed',
      String(SEED),
      '--time-factor',
      String(TIME_FACTOR),
      '--copy-job-quota',
      String(quota),
      ...(latencyMs > 0 ? ['--latency-ms', String(latencyMs)] : []),
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout }).once('line', resolve);
        child.once('exit', (code) => reject(new Error(`sandbox exited with ${code}: ${stderr.slice(-500)}`)));
      });
      const { adminUrl } = JSON.parse(line) as { adminUrl: string };
      return {
        dir,
        adminUrl,
        env: {
          ...process.env,
          ...readEnvFile(join(dir, 'sandbox.env')),
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        },
        stop: async () => {
          child.kill('SIGTERM');
          await exited;
          if (!KEEP) rmSync(dir, { recursive: true, force: true });
        },
      };
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      if (attempt >= 5) throw err;
      console.error(
        `sandbox did not start (${(err as Error).message.split('\n')[0]}); retrying (dist/ being rebuilt?)`,
      );
      await sleep(5_000);
    }
  }
}

/** `export K='v'` lines of sandbox.env. */
function readEnvFile(file: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^export ([A-Z_][A-Z0-9_]*)='(.*)'$/.exec(line);
    if (m) env[m[1] as string] = (m[2] as string).replaceAll(`'\\''`, `'`);
  }
  return env;
}

/** The scenario's [copy] workers and max_in_flight, the selected source vaults, and every vault created. */
function writeConfig(file: string, scenario: Scenario): void {
  let text = readFileSync(file, 'utf8');
  const replace = (pattern: RegExp, line: string) => {
    if (!pattern.test(text)) throw new Error(`config.toml has no line matching ${pattern}`);
    text = text.replace(pattern, line);
  };
  replace(/^workers = .*$/m, `workers = ${scenario.workers}`);
  replace(/^max_in_flight = .*$/m, `max_in_flight = ${scenario.maxInFlight}`);
  replace(/^vaults = .*$/m, `vaults = ${JSON.stringify(VAULTS)}`);
  text += '\n[vaults]\nconfirm_compliance_lock = true\n';
  writeFileSync(file, text);
}

async function admin<T>(sandbox: Sandbox, path: string, method = 'GET'): Promise<T> {
  const res = await fetch(`${sandbox.adminUrl}${path}`, { method });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status}`);
  return (await res.json()) as T;
}

interface CopyStatus {
  window: number;
  learnedQuota: number | null;
  quotaRejections: number;
  throttled: number;
  startedThisRun: number;
  meanJobSeconds: number | null;
}

function status(socketPath: string): Promise<{ phase: string; copy?: CopyStatus } | undefined> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/v1/status', headers: { host: 'localhost' }, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => {
        body += d.toString();
      });
      res.on('end', () => {
        try {
          resolve(res.statusCode === 200 ? JSON.parse(body) : undefined);
        } catch {
          resolve(undefined);
        }
      });
    });
    req.on('error', () => resolve(undefined));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

/** utime + stime of a process (all its threads), in seconds. */
function cpuSeconds(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

interface WireJob {
  CopyJobId: string;
  ResourceArn: string;
  SourceBackupVaultArn: string;
  CreationDate: number;
  CompletionDate?: number;
  State: string;
}

interface Run {
  scenario: string;
  quota: number;
  jobs: number;
  completed: number;
  failed: number;
  makespanS: number;
  idealS: number;
  quotaBoundS: number;
  chainBoundS: number;
  ratio: number;
  meanJobS: number;
  /** Quota-slot seconds used ÷ Q × makespan. */
  utilisation: number;
  /** copy.started → last copy.canary_passed (wall clock), and the combinations. */
  canaryS: number;
  canaries: number;
  canariesFailed: number;
  /** First CreationDate → the first moment Q jobs were in flight (NaN if never). */
  rampS: number;
  /** Last job's creation → last completion: the drain at the end, when fewer than Q jobs remain. */
  tailS: number;
  /**
   * Idle quota-slot seconds ÷ Q (seconds of makespan): until the last canary verdict; after it, in 5-second windows
   * where StartCopyJob ran at ≥ 90 % of rpcopy's rate; in the other windows. Σ durations ÷ Q plus the three = makespan.
   */
  idleGateS: number;
  idleRateS: number;
  idleOtherS: number;
  /** Time in 5-second windows where jobs were created at ≥ 90 % of the StartCopyJob rate. */
  rateBoundS: number;
  startCalls: number;
  rejectedCalls: number;
  rejectedByCode: Record<string, number>;
  replayedCalls: number;
  startPerCompleted: number;
  backupCallsPerCompleted: number;
  allCallsPerCompleted: number;
  callsByOperation: Record<string, number>;
  throughput: number;
  throughputIdeal: number;
  /** Jobs finished between the last canary verdict and the last job's creation, per second of that interval. */
  throughputSteady: number;
  overlappingJobs: number;
  /** Replayed makespan ÷ ideal: no rate limit and slots seen at once; 4/s; 4/s and a 0.5 s sweep; the same, mixed order. */
  replayFree: number;
  replayRate: number;
  replayRateSweep: number;
  replayMixed: number;
  pointsWithMultipleJobs: number;
  quotaRejectionsSeen: number;
  throttledSeen: number;
  learnedQuota: number | null;
  finalWindow: number | null;
  daemonCpuS: number;
  daemonWallS: number;
  copyPhaseWallS: number;
}

/** The daemon from start to exit; the copy phase's counters; the sandbox's jobs. */
async function runOnce(scenario: Scenario): Promise<Run> {
  for (let attempt = 1; ; attempt++) {
    const sandbox = await startSandbox(scenario.latencyMs, scenario.quota);
    try {
      return await measure(sandbox, scenario);
    } catch (err) {
      if (!(err instanceof BeforeCopyError) || attempt >= 3) throw err;
      console.error(`${(err as Error).message}; retrying in a fresh sandbox (dist/ being rebuilt?)`);
      await sleep(5_000);
    } finally {
      await sandbox.stop();
    }
  }
}

class BeforeCopyError extends Error {}

async function measure(sandbox: Sandbox, scenario: Scenario): Promise<Run> {
  const config = join(sandbox.dir, 'config.toml');
  writeConfig(config, scenario);
  const socket = join(sandbox.dir, 'state', 'rpcopyd.sock');
  const started = performance.now();
  const daemon: ChildProcess = spawn(process.execPath, ['dist/daemon/main.js', '--config', config, '--once'], {
    env: sandbox.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  daemon.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const events: DaemonEvent[] = [];
  const logLines: string[] = [];
  createInterface({ input: daemon.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    if (KEEP) logLines.push(line);
    try {
      const o = JSON.parse(line) as { time: string; event?: string };
      if (o.event) events.push({ time: Date.parse(o.time), event: o.event });
    } catch {
      // not a JSON line
    }
  });
  const exited = new Promise<number | null>((resolve) => daemon.once('exit', (code) => resolve(code)));
  let done = false;
  let copyPhaseAt: number | undefined;
  let lastCopy: CopyStatus | undefined;
  let cpu = 0;
  const sampler = (async () => {
    while (!done) {
      cpu = cpuSeconds(daemon.pid as number) ?? cpu;
      if (existsSync(socket)) {
        const s = await status(socket);
        if (s?.phase === 'copy' && copyPhaseAt === undefined) {
          await admin(sandbox, '/counters/reset', 'POST');
          copyPhaseAt = performance.now();
        }
        if (s?.copy) lastCopy = s.copy;
      }
      await sleep(100);
    }
  })();
  const code = await exited;
  done = true;
  await sampler;
  const daemonWallS = (performance.now() - started) / 1000;
  if (KEEP) writeFileSync(join(sandbox.dir, 'daemon.log'), `${logLines.join('\n')}\n`);
  if (code !== 0) {
    const message = `rpcopyd exited with ${code}: ${stderr.slice(-1500)}`;
    throw copyPhaseAt === undefined ? new BeforeCopyError(message) : new Error(message);
  }
  if (copyPhaseAt === undefined) throw new Error('status never showed phase copy');

  const raw: Raw = {
    scenario,
    quota: scenario.quota,
    jobs: await admin<WireJob[]>(sandbox, '/copy-jobs'),
    ledger: await admin<LedgerSummary>(sandbox, '/ledger/summary'),
    entries: await admin<LedgerEntry[]>(sandbox, '/ledger'),
    counters: await admin<Record<string, { calls: number }>>(sandbox, '/counters'),
    events,
    lastCopy,
    cpu,
    daemonWallS,
  };
  if (KEEP) writeFileSync(join(sandbox.dir, 'raw.json'), JSON.stringify(raw));
  return analyse(raw);
}

interface LedgerSummary {
  startCopyJobCalls: number;
  rejectedCalls: number;
  replayedCalls: number;
  pointsWithMultipleJobs: number;
}

interface LedgerEntry {
  calls: { outcome: string; error?: string }[];
}

interface DaemonEvent {
  time: number;
  event: string;
}

/** What one run leaves behind: the sandbox's jobs, ledger and counters, the daemon's events and last status. */
interface Raw {
  scenario: Scenario;
  quota: number;
  jobs: WireJob[];
  ledger: LedgerSummary;
  entries: LedgerEntry[];
  counters: Record<string, { calls: number }>;
  events: DaemonEvent[];
  lastCopy: CopyStatus | undefined;
  cpu: number;
  daemonWallS: number;
}

function analyse(raw: Raw): Run {
  const { jobs, ledger, entries, counters, events, lastCopy, cpu, daemonWallS, quota: Q } = raw;

  const rejectedByCode: Record<string, number> = {};
  for (const e of entries)
    for (const c of e.calls)
      if (c.outcome === 'rejected') rejectedByCode[c.error ?? '?'] = (rejectedByCode[c.error ?? '?'] ?? 0) + 1;

  const finished = jobs.filter((j) => j.CompletionDate !== undefined);
  if (finished.length !== jobs.length) throw new Error(`${jobs.length - finished.length} jobs unfinished at exit`);
  const created = (j: WireJob) => j.CreationDate * 1000;
  const ended = (j: WireJob) => (j.CompletionDate as number) * 1000;
  const first = Math.min(...jobs.map(created));
  const last = Math.max(...jobs.map(ended));
  const makespan = last - first;
  const durations = jobs.map((j) => ended(j) - created(j));
  const sum = durations.reduce((a, b) => a + b, 0);
  const chains = new Map<string, WireJob[]>();
  for (const j of jobs) chains.set(j.ResourceArn, [...(chains.get(j.ResourceArn) ?? []), j]);
  let chainBound = 0;
  let overlapping = 0;
  for (const chain of chains.values()) {
    chain.sort((a, b) => created(a) - created(b));
    chainBound = Math.max(
      chainBound,
      chain.reduce((s, j) => s + ended(j) - created(j), 0),
    );
    for (let i = 1; i < chain.length; i++)
      if (created(chain[i] as WireJob) < ended(chain[i - 1] as WireJob)) overlapping += 1;
  }
  const quotaBound = sum / Q;
  const ideal = Math.max(quotaBound, chainBound);

  const at = (event: string, which: 'first' | 'last') => {
    const xs = events.filter((e) => e.event === event).map((e) => e.time);
    return xs.length === 0 ? Number.NaN : which === 'first' ? Math.min(...xs) : Math.max(...xs);
  };
  const copyStarted = at('copy.started', 'first');
  const canaryVerdicts = events.filter((e) => e.event === 'copy.canary_passed' || e.event === 'copy.canary_failed');
  const lastCanary = canaryVerdicts.length === 0 ? first : Math.max(...canaryVerdicts.map((e) => e.time));
  const copyDone = at('copy.done', 'last');

  // Jobs in flight over time. Makespan = (Σ durations + idle quota-slot time) / Q exactly. The idle time is split
  // at the last canary's verdict (log time; same machine clock), then by 5-second window: a window in which jobs
  // were created at ≥ 90 % of rpcopy's StartCopyJob rate was bound by that rate, not by the quota.
  const steps = [...jobs.map((j) => [created(j), 1] as const), ...jobs.map((j) => [ended(j), -1] as const)].sort(
    (a, b) => a[0] - b[0] || a[1] - b[1],
  );
  const lastCreated = Math.max(...jobs.map(created));
  const gateEnd = Math.min(Math.max(lastCanary, first), lastCreated);
  const breaks = [gateEnd];
  for (let t = gateEnd + WINDOW_MS; t < last; t += WINDOW_MS) breaks.push(t);
  breaks.push(last);
  const idle = breaks.map(() => 0);
  let inFlight = 0;
  let rampAt = Number.NaN;
  let prev = first;
  for (const [t, delta] of steps) {
    for (let k = 0; k < breaks.length && prev < t; k++) {
      const until = Math.min(t, breaks[k] as number);
      if (until > prev) {
        idle[k] = (idle[k] as number) + (Q - inFlight) * (until - prev);
        prev = until;
      }
    }
    inFlight += delta;
    if (inFlight >= Q && Number.isNaN(rampAt)) rampAt = t;
  }
  let idleRate = 0;
  let idleOther = 0;
  let rateBoundMs = 0;
  for (let k = 1; k < breaks.length; k++) {
    const from = breaks[k - 1] as number;
    const to = breaks[k] as number;
    const starts = jobs.filter((j) => created(j) >= from && created(j) < to).length;
    if (starts >= 0.9 * START_RATE * ((to - from) / 1000)) {
      idleRate += idle[k] as number;
      rateBoundMs += to - from;
    } else idleOther += idle[k] as number;
  }

  const byOperation: Record<string, number> = {};
  let backupCalls = 0;
  let allCalls = 0;
  for (const [key, c] of Object.entries(counters)) {
    if (key.includes('@')) continue;
    byOperation[key] = c.calls;
    allCalls += c.calls;
    if (key.startsWith('backup:')) backupCalls += c.calls;
  }
  const completed = jobs.filter((j) => j.State === 'COMPLETED').length;
  const meanJob = sum / jobs.length;
  return {
    scenario: raw.scenario.label,
    quota: Q,
    jobs: jobs.length,
    completed,
    failed: jobs.length - completed,
    makespanS: makespan / 1000,
    idealS: ideal / 1000,
    quotaBoundS: quotaBound / 1000,
    chainBoundS: chainBound / 1000,
    replayFree: replay(jobs, Q, Number.POSITIVE_INFINITY, 0) / ideal,
    replayRate: replay(jobs, Q, START_RATE, 0) / ideal,
    replayRateSweep: replay(jobs, Q, START_RATE, MIN_SWEEP_MS) / ideal,
    replayMixed: replay(jobs, Q, START_RATE, MIN_SWEEP_MS, 2) / ideal,
    ratio: makespan / ideal,
    meanJobS: meanJob / 1000,
    utilisation: sum / (Q * makespan),
    canaryS: (at('copy.canary_passed', 'last') - copyStarted) / 1000,
    canaries: events.filter((e) => e.event === 'copy.canary_passed').length,
    canariesFailed: events.filter((e) => e.event === 'copy.canary_failed').length,
    rampS: (rampAt - first) / 1000,
    tailS: (last - lastCreated) / 1000,
    idleGateS: (idle[0] as number) / Q / 1000,
    idleRateS: idleRate / Q / 1000,
    idleOtherS: idleOther / Q / 1000,
    rateBoundS: rateBoundMs / 1000,
    startCalls: ledger.startCopyJobCalls,
    rejectedCalls: ledger.rejectedCalls,
    rejectedByCode,
    replayedCalls: ledger.replayedCalls,
    startPerCompleted: ledger.startCopyJobCalls / completed,
    backupCallsPerCompleted: backupCalls / completed,
    allCallsPerCompleted: allCalls / completed,
    callsByOperation: byOperation,
    throughput: jobs.length / (makespan / 1000),
    throughputIdeal: Q / (meanJob / 1000),
    throughputSteady:
      jobs.filter((j) => ended(j) > gateEnd && ended(j) <= lastCreated).length / ((lastCreated - gateEnd) / 1000),
    overlappingJobs: overlapping,
    pointsWithMultipleJobs: ledger.pointsWithMultipleJobs,
    quotaRejectionsSeen: lastCopy?.quotaRejections ?? Number.NaN,
    throttledSeen: lastCopy?.throttled ?? Number.NaN,
    learnedQuota: lastCopy?.learnedQuota ?? null,
    finalWindow: lastCopy?.window ?? null,
    daemonCpuS: cpu,
    daemonWallS,
    copyPhaseWallS: (copyDone - copyStarted) / 1000,
  };
}

/**
 * Replay one run's jobs (their measured durations, each resource's jobs oldest first) through a model scheduler: Q
 * slots, one job per resource at a time, StartCopyJob spaced at `rate` per second, a finished job's slot seen
 * only at the next sweep (every `sweepMs`; 0 = at once). Chains are taken heaviest remaining work first, as
 * rpcopy's queue orders them (it weighs by a size-based prior, the replay by the measured durations); with
 * `lightEvery` = n, every (n+1)th pick takes the lightest chain instead. Returns the makespan in ms.
 */
function replay(jobs: WireJob[], q: number, rate: number, sweepMs: number, lightEvery = 0): number {
  const byResource = new Map<string, WireJob[]>();
  for (const j of jobs) byResource.set(j.ResourceArn, [...(byResource.get(j.ResourceArn) ?? []), j]);
  const chains = [...byResource.values()].map((js) => {
    const d = js
      .sort((a, b) => a.CreationDate - b.CreationDate)
      .map((j) => ((j.CompletionDate as number) - j.CreationDate) * 1000);
    return { d, next: 0, busy: false, work: d.reduce((a, b) => a + b, 0) };
  });
  type Chain = (typeof chains)[number];
  let running: { chain: Chain; end: number }[] = [];
  let t = 0;
  let nextSlot = 0;
  let free = q;
  let done = 0;
  let end = 0;
  let picks = 0;
  while (done < jobs.length) {
    const ready = chains.filter((c) => !c.busy && c.next < c.d.length).sort((a, b) => b.work - a.work);
    while (free > 0 && ready.length > 0) {
      const light = lightEvery > 0 && picks % (lightEvery + 1) === lightEvery;
      picks += 1;
      const chain = (light ? ready.pop() : ready.shift()) as Chain;
      const start = Math.max(t, nextSlot);
      nextSlot = start + 1000 / rate;
      const d = chain.d[chain.next] as number;
      chain.next += 1;
      chain.busy = true;
      chain.work -= d;
      free -= 1;
      running.push({ chain, end: start + d });
    }
    const first = Math.min(...running.map((r) => r.end));
    t = sweepMs > 0 ? Math.ceil(first / sweepMs) * sweepMs : first;
    running = running.filter((r) => {
      if (r.end > t) return true;
      r.chain.busy = false;
      free += 1;
      done += 1;
      end = Math.max(end, r.end);
      return false;
    });
  }
  return end;
}

const percentile = (xs: number[], p: number) => {
  if (xs.length === 0) return Number.NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
};
const median = (xs: number[]) => percentile(xs, 50);
const f = (x: number, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : '–');

const scenarios: Scenario[] = [];
const base = { quota: QUOTA, workers: 2, maxInFlight: QUOTA, latencyMs: 0 };
if (SCENARIOS.has('a')) for (let i = 0; i < RUNS; i++) scenarios.push({ ...base, label: `a${RUNS > 1 ? i + 1 : ''}` });
if (SCENARIOS.has('b')) scenarios.push({ ...base, label: 'b', maxInFlight: 2 * QUOTA });
if (SCENARIOS.has('c'))
  for (const workers of [1, 2, 4]) scenarios.push({ ...base, label: `c/${workers}w`, workers, latencyMs: LATENCY_MS });
// (d) twice the quota: Q ÷ mean duration above the StartCopyJob rate, so the rate, not the quota, binds.
if (SCENARIOS.has('d'))
  scenarios.push({ ...base, label: 'd', quota: 2 * QUOTA, maxInFlight: 2 * QUOTA, workers: 1, latencyMs: LATENCY_MS });

const load = loadavg()[0] as number;
const runs: Run[] = [];
if (FROM_RAW) {
  scenarios.length = 0;
  for (const file of FROM_RAW) {
    const raw = JSON.parse(readFileSync(file, 'utf8')) as Raw;
    scenarios.push(raw.scenario);
    runs.push(analyse(raw));
  }
} else {
  for (const scenario of scenarios) {
    const run = await runOnce(scenario);
    runs.push(run);
    console.log(`${scenario.label}: ${JSON.stringify(run)}`);
  }
}

const describe = (label: string) => {
  const s = scenarios.find((x) => x.label === label) as Scenario;
  return `${s.quota !== QUOTA ? `Q = ${s.quota}, ` : ''}${s.workers} worker${s.workers > 1 ? 's' : ''}, max_in_flight ${s.maxInFlight}${s.latencyMs > 0 ? `, +${s.latencyMs} ms per call` : ''}`;
};
const aRuns = runs.filter((r) => r.scenario.startsWith('a'));
const others = runs.filter((r) => !r.scenario.startsWith('a'));
const columns = [
  ...(aRuns.length > 0
    ? [{ title: `(a) median of ${aRuns.length}`, pick: (k: (r: Run) => number) => median(aRuns.map(k)) }]
    : []),
  ...others.map((r) => ({ title: `(${r.scenario})`, pick: (k: (r: Run) => number) => k(r) })),
];
const rows: [string, (r: Run) => number, number][] = [
  ['copy-job quota Q', (r) => r.quota, 0],
  ['copy jobs (completed / failed)', (r) => r.completed, 0],
  ['mean job duration, start delay included (s)', (r) => r.meanJobS, 2],
  ['quota bound Σ durations ÷ Q (s)', (r) => r.quotaBoundS, 1],
  ['longest resource chain (s)', (r) => r.chainBoundS, 1],
  ['**makespan (s)**', (r) => r.makespanS, 1],
  ['**makespan ÷ ideal** (target ≤ 1.05)', (r) => r.ratio, 3],
  ['quota utilisation Σ durations ÷ (Q × makespan)', (r) => r.utilisation, 3],
  ['canary gate: copy.started → last copy.canary_passed (s)', (r) => r.canaryS, 1],
  ['first job → Q jobs in flight (s)', (r) => r.rampS, 1],
  ['makespan lost to idle quota slots (idle slot-s ÷ Q): until the last canary verdict (s)', (r) => r.idleGateS, 1],
  [
    `… after it, in 5-s windows where jobs started at ≥ 90 % of the ${START_RATE}/s StartCopyJob rate (s)`,
    (r) => r.idleRateS,
    1,
  ],
  ['… after it, in the other windows (s)', (r) => r.idleOtherS, 1],
  ['time in those start-rate-bound windows (s)', (r) => r.rateBoundS, 0],
  ['tail: last job created → last job done (s)', (r) => r.tailS, 1],
  ['**StartCopyJob calls per completed job** (target ≤ 1.05)', (r) => r.startPerCompleted, 3],
  ['StartCopyJob calls rejected (LimitExceeded + Throttling)', (r) => r.rejectedCalls, 0],
  ['Backup API calls per completed job (copy phase)', (r) => r.backupCallsPerCompleted, 2],
  ['all API calls per completed job (copy phase)', (r) => r.allCallsPerCompleted, 2],
  ['throughput: jobs (completed + failed) ÷ makespan (per s)', (r) => r.throughput, 3],
  ['throughput between the last canary verdict and the last job created (jobs per s)', (r) => r.throughputSteady, 3],
  ['Q ÷ mean duration (jobs per s)', (r) => r.throughputIdeal, 3],
  ['jobs created while another of their resource ran', (r) => r.overlappingJobs, 0],
  ['points with more than one job', (r) => r.pointsWithMultipleJobs, 0],
  [
    'replay of these jobs, heaviest chain first, no start-rate limit, slots seen at once: makespan ÷ ideal',
    (r) => r.replayFree,
    3,
  ],
  [`… with StartCopyJob at ${START_RATE}/s`, (r) => r.replayRate, 3],
  [
    `… at ${START_RATE}/s and slots seen at ${MIN_SWEEP_MS} ms sweeps (rpcopy's policy, modelled)`,
    (r) => r.replayRateSweep,
    3,
  ],
  [`… the same, but every third pick the lightest chain (what-if)`, (r) => r.replayMixed, 3],
  ['daemon CPU time, all threads (s)', (r) => r.daemonCpuS, 1],
  ['rpcopyd --once, start to exit (s)', (r) => r.daemonWallS, 1],
];
const table = rows
  .map(([label, k, digits]) => {
    const cells = columns.map((c) =>
      label.startsWith('copy jobs')
        ? `${f(
            c.pick((r) => r.completed),
            0,
          )} / ${f(
            c.pick((r) => r.failed),
            0,
          )}`
        : f(c.pick(k), digits),
    );
    return `| ${label} | ${cells.join(' | ')} |`;
  })
  .join('\n');
const perRun = runs
  .map(
    (r) =>
      `| ${r.scenario} | ${describe(r.scenario)} | ${f(r.makespanS)} | ${f(r.idealS)} | ${f(r.ratio, 3)} | ${f(r.canaryS)} | ${f(r.startPerCompleted, 3)} | ${f(r.backupCallsPerCompleted, 2)} | ${r.rejectedCalls} ${JSON.stringify(r.rejectedByCode)} | ${r.learnedQuota ?? '–'} / ${r.finalWindow ?? '–'} | ${f(r.throughput, 3)} |`,
  )
  .join('\n');
const ops = [...new Set(runs.flatMap((r) => Object.keys(r.callsByOperation)))].sort();
const opsTable = ops.map((op) => `| ${op} | ${runs.map((r) => r.callsByOperation[op] ?? 0).join(' | ')} |`).join('\n');

const text = `
## ${POINTS.toLocaleString('en-US')} points, Q = ${QUOTA}, time factor ${TIME_FACTOR} — ${new Date().toISOString()}
${FROM_RAW ? `\nRe-analysed from ${FROM_RAW.join(', ')}; the command line below is this invocation's, not necessarily the runs'.\n` : ''}
Command: \`npm run build && npx tsx bench/copy.ts --points ${POINTS} --seed ${SEED} --quota ${QUOTA} --time-factor ${TIME_FACTOR} --runs ${RUNS} --scenarios ${[...SCENARIOS].join(',')} --latency-ms ${LATENCY_MS}${values.vaults ? ` --vaults ${VAULTS.join(',')}` : ''}\`
Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'} (shared with other sessions; 1-minute load average ${load.toFixed(1)} at the start, ${(loadavg()[0] as number).toFixed(1)} at the end), Node ${process.version}.
Sandbox: \`--points ${POINTS} --seed ${SEED} --time-factor ${TIME_FACTOR} --copy-job-quota ${QUOTA}\`, AWS's request rates enforced (StartCopyJob 5/s, ListCopyJobs 20/s); source vaults ${VAULTS.join(', ')}; rpcopy's start_rate 4/s.
Columns: ${columns.map((c) => c.title).join(', ')}; ${[...new Set(runs.map((r) => r.scenario))].map((l) => `${l}: ${describe(l)}`).join('; ')}.

| metric | ${columns.map((c) => c.title).join(' | ')} |
| --- | ${columns.map(() => '---').join(' | ')} |
${table}

Every run:

| run | scenario | makespan (s) | ideal (s) | ÷ ideal | canary gate (s) | StartCopyJob / job | Backup calls / job | rejected StartCopyJob | learned quota / final window | jobs/s |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
${perRun}

Copy-phase calls by operation (counters reset when status first showed phase \`copy\`):

| operation | ${runs.map((r) => r.scenario).join(' | ')} |
| --- | ${runs.map(() => '---').join(' | ')} |
${opsTable}
`;
console.log(text);
if (!existsSync(RESULTS)) writeFileSync(RESULTS, '# Copy phase benchmark: makespan against the quota\n');
appendFileSync(RESULTS, text);
