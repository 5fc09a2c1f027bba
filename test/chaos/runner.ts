// Runs one chaos schedule: a sandbox process and the real rpcopyd as a service, the schedule's steps at their
// moments, then a fault-free final phase (faults off, window open, `rpcopyd --once` until it exits 0, bounded)
// and the judge (judge.ts). Everything is bounded in time; the caller gets the verdict and a log of what happened.

import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BackupClient, CreateBackupVaultCommand } from '@aws-sdk/client-backup';
import { fromIni } from '@aws-sdk/credential-providers';
import { type DaemonProcess, runCtlAsync, spawnDaemon } from '../helpers/process.js';
import { type RunningSandbox, startSandboxProcess } from '../helpers/sandbox.js';
import { judge, type PointFacts, type SourceChange, sourceModel, type Verdict } from './judge.js';
import type { Account, Schedule, Step } from './schedule.js';

const PROFILES: Record<Account, string> = { source: 'rpcopy-source', destination: 'rpcopy-dest' };
const DB_FILES = ['rpcopy.db', 'rpcopy.db-wal', 'rpcopy.db-shm'];
/** Final-phase bounds: `--once` runs and how long each may take. */
const FINAL_RUNS = 3;
const ONCE_TIMEOUT_MS = 90_000;
/** A graceful stop that takes longer than this is ended with SIGKILL (the daemon's shutdown_timeout is 5 s). */
const STOP_TIMEOUT_MS = 30_000;

export interface SeedResult {
  schedule: Schedule;
  verdict: Verdict;
  /** What the harness did and saw, in order (step outcomes, daemon exits, final runs). */
  log: string[];
  /** Daemon exits nobody asked for, with their codes (an internal error is a finding too). */
  unexpectedExits: string[];
  chaosMs: number;
  totalMs: number;
}

type Teardown = () => void | Promise<void>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const hhmm = (ms: number) => {
  const d = new Date(ms);
  return `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
};

async function withTimeout<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((r) => {
    timer = setTimeout(() => r(fallback), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Copies made "before rpcopy": the destination vault is created first (the sandbox puts copies only in one). */
async function seedPreexisting(
  sandbox: RunningSandbox,
  pre: NonNullable<Schedule['preexisting']>,
  keyArn: string,
  note: (line: string) => void,
): Promise<string[]> {
  const client = new BackupClient({
    region: String(sandbox.env.AWS_REGION),
    endpoint: sandbox.url,
    credentials: fromIni({
      profile: PROFILES.destination,
      filepath: String(sandbox.env.AWS_SHARED_CREDENTIALS_FILE),
      configFilepath: String(sandbox.env.AWS_CONFIG_FILE),
    }),
  });
  try {
    await client.send(new CreateBackupVaultCommand({ BackupVaultName: pre.vault, EncryptionKeyArn: keyArn }));
  } finally {
    client.destroy();
  }
  const { copies } = await sandbox.admin.seedDestinationCopies({
    destinationVault: pre.vault,
    sourceVault: pre.vault,
    share: pre.share,
    seed: 1,
    withJob: pre.withJob,
  });
  note(
    `${copies.length} copies of ${pre.vault} already in the destination${pre.withJob ? ' (with their old jobs)' : ''}`,
  );
  return copies.flatMap((c) => (c.jobId ? [c.jobId] : []));
}

export async function runSchedule(schedule: Schedule, print: (line: string) => void = () => {}): Promise<SeedResult> {
  const teardowns: Teardown[] = [];
  const owner = { teardown: (fn: Teardown) => teardowns.push(fn) };
  try {
    return await run(schedule, owner, print);
  } finally {
    for (const fn of teardowns.reverse()) await fn();
  }
}

async function run(
  schedule: Schedule,
  owner: { teardown(fn: Teardown): void },
  print: (line: string) => void,
): Promise<SeedResult> {
  const started = Date.now();
  const log: string[] = [];
  const note = (line: string) => {
    const entry = `${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s  ${line}`;
    log.push(entry);
    print(entry);
  };
  const sandbox = await startSandboxProcess(owner, {
    points: schedule.points,
    seed: schedule.sandboxSeed,
    timeFactor: schedule.timeFactor,
    extraArgs: ['--no-throttling'],
    knobs: schedule.knobs,
  });
  const baseConfig = readFileSync(sandbox.config, 'utf8')
    .replace(
      /max_in_flight = \d+/,
      `max_in_flight = ${schedule.maxInFlight}\nstart_rate = ${schedule.startRate}\n` +
        // The daemon's margins bracket what the schedule may draw: a listing lag above the sandbox's largest
        // (30 s), a resend window below its shortest idempotency window (2 s). No path may rely on more.
        'listing_lag = "35s"\nresend_window = "1s"',
    )
    .replace(/^state_dir = (.*)$/m, 'state_dir = $1\nshutdown_timeout = "5s"');
  const windowState: { mode: 'open' | 'closed' | 'closing'; drainSeconds: number; maxRuntime?: number } = {
    mode: 'open',
    drainSeconds: 0,
  };
  const writeConfig = () => {
    const lines: string[] = [];
    const now = Date.now();
    if (windowState.mode === 'closed') {
      lines.push(`start = "${hhmm(now + 2 * 3_600_000)}"`, `stop = "${hhmm(now + 3 * 3_600_000)}"`);
    } else if (windowState.mode === 'closing') {
      // Minutes are the window's resolution: close at the first minute boundary at least 15 s away.
      const stop = Math.ceil((now + 15_000) / 60_000) * 60_000;
      lines.push(`start = "${hhmm(now - 2 * 3_600_000)}"`, `stop = "${hhmm(stop)}"`);
      // The config refuses a drain as long as max_runtime.
      const drainFits = windowState.maxRuntime === undefined || windowState.drainSeconds < windowState.maxRuntime;
      if (windowState.drainSeconds > 0 && drainFits) lines.push(`drain = "${windowState.drainSeconds}s"`);
    }
    if (windowState.maxRuntime !== undefined) lines.push(`max_runtime = "${windowState.maxRuntime}s"`);
    if (lines.length > 0 && windowState.mode !== 'open') lines.push('timezone = "UTC"');
    writeFileSync(sandbox.config, lines.length > 0 ? `${baseConfig}\n[window]\n${lines.join('\n')}\n` : baseConfig);
  };
  writeConfig();

  // The daemon as a service; the harness restarts it after an exit nobody asked for, like a service manager.
  const unexpectedExits: string[] = [];
  let daemon: DaemonProcess | undefined;
  let wanted = true;
  let expectingExit = false;
  const start = () => {
    const d = spawnDaemon([], sandbox.env, owner);
    daemon = d;
    void d.exited.then((exit) => {
      if (daemon !== d || expectingExit) return;
      const what = `daemon exited by itself: code ${exit.code} signal ${exit.signal}`;
      note(what);
      if (exit.code !== 0 && exit.code !== 9) {
        unexpectedExits.push(`${what}\n${d.output().slice(-1500)}`);
      }
    });
  };
  const alive = () => daemon !== undefined && daemon.child.exitCode === null && daemon.child.signalCode === null;
  const stop = async (signal: NodeJS.Signals) => {
    if (!daemon || !alive()) return;
    expectingExit = true;
    const d = daemon;
    d.child.kill(signal);
    const exit = await withTimeout(d.exited, STOP_TIMEOUT_MS, undefined);
    if (!exit) {
      note(`daemon did not stop within ${STOP_TIMEOUT_MS} ms of ${signal}: SIGKILL`);
      unexpectedExits.push(`no exit within ${STOP_TIMEOUT_MS} ms of ${signal}\n${d.output().slice(-1500)}`);
      d.child.kill('SIGKILL');
      await d.exited;
    }
    expectingExit = false;
  };
  const restart = async (signal: NodeJS.Signals = 'SIGTERM') => {
    await stop(signal);
    writeConfig();
    start();
  };
  const supervisor = setInterval(() => {
    if (wanted && !expectingExit && !alive()) start();
  }, 1_000);
  owner.teardown(() => clearInterval(supervisor));

  const ctl = async (args: string[]) => {
    const result = await withTimeout(runCtlAsync(args, sandbox.env), 30_000, {
      code: null,
      stdout: '',
      stderr: 'rpctl did not answer within 30 s',
    });
    const said = (result.stdout || result.stderr).trim().split('\n')[0] ?? '';
    note(`rpctl ${args.join(' ')} → ${result.code} ${said.slice(0, 160)}`);
  };

  const info = await sandbox.admin.info();
  const model = sourceModel(info, (await sandbox.admin.clock()).now);
  const eligible = [...model.points.values()].filter((p) => p.mustCopy);
  const eligibleResources = [...new Map(eligible.map((p) => [p.resourceArn, p])).values()];
  const changes: SourceChange[] = [];
  const added = new Map<string, PointFacts>();
  const stateDir = sandbox.stateDir;
  const snapshotDir = join(sandbox.dir, 'snapshot');

  const credentialsFile = String(sandbox.env.AWS_SHARED_CREDENTIALS_FILE);
  const execute = async (step: Step) => {
    switch (step.kind) {
      case 'kill':
        if (!alive()) {
          note(`kill ${step.signal}: no daemon running`);
          return;
        }
        note(`kill ${step.signal}, restart after ${step.restartAfterMs} ms`);
        wanted = false;
        await stop(step.signal);
        await sleep(step.restartAfterMs);
        wanted = true;
        writeConfig();
        start();
        return;
      case 'errorAfterStartCopyJob':
        note(`errors after StartCopyJob applied: next ${step.count}, then p=${step.probability}`);
        await sandbox.admin.errorAfterStartCopyJob(step.count, step.probability);
        return;
      case 'dropStartCopyJob':
        note(`drop StartCopyJob responses: next ${step.count}, then p=${step.probability}`);
        await sandbox.admin.dropAfterStartCopyJob(step.count, step.probability);
        return;
      case 'knobs':
        note(`${step.label}: ${JSON.stringify(step.patch)}`);
        await sandbox.admin.setKnobs(step.patch);
        return;
      case 'expireCredentials':
        note(`expire ${step.account} credentials${step.refresher ? ' (a refresher rewrites the file)' : ''}`);
        if (step.refresher)
          await sandbox.admin.autoRotateCredentials(step.account, credentialsFile, PROFILES[step.account], 1);
        await sandbox.admin.expireCredentials(step.account);
        return;
      case 'refreshCredentials':
        note(`operator refreshes ${step.account} credentials`);
        await sandbox.admin.rotateCredentials(step.account, credentialsFile, PROFILES[step.account]);
        await ctl(['resume']);
        return;
      case 'ctl':
        await ctl(step.args);
        return;
      case 'window':
        windowState.mode = step.mode;
        windowState.drainSeconds = step.drainSeconds;
        note(`window ${step.mode}${step.drainSeconds ? `, drain ${step.drainSeconds} s` : ''}: restart`);
        await restart();
        return;
      case 'maxRuntime':
        windowState.maxRuntime = step.seconds;
        note(`max_runtime ${step.seconds} s: restart`);
        await restart();
        return;
      case 'snapshot': {
        wanted = false;
        await stop('SIGTERM');
        const present = DB_FILES.filter((f) => existsSync(join(stateDir, f)));
        rmSync(snapshotDir, { recursive: true, force: true });
        mkdirSync(snapshotDir, { recursive: true });
        for (const f of present) copyFileSync(join(stateDir, f), join(snapshotDir, f));
        note(`snapshot of the store: ${present.join(', ') || 'no store yet'}`);
        wanted = true;
        writeConfig();
        start();
        return;
      }
      case 'restore': {
        if (!existsSync(join(snapshotDir, 'rpcopy.db'))) {
          note('restore: no snapshot was taken');
          return;
        }
        wanted = false;
        await stop('SIGTERM');
        for (const f of DB_FILES) rmSync(join(stateDir, f), { force: true });
        for (const f of DB_FILES) {
          if (existsSync(join(snapshotDir, f))) copyFileSync(join(snapshotDir, f), join(stateDir, f));
        }
        note('store restored from the older copy');
        wanted = true;
        writeConfig();
        start();
        return;
      }
      case 'source': {
        const at = (await sandbox.admin.clock()).now;
        if (step.change === 'add') {
          const res = eligibleResources[Math.floor(step.pick * eligibleResources.length)];
          if (!res) return;
          const out = await sandbox.admin.addRecoveryPoints({ vault: res.vault, resourceArn: res.resourceArn });
          for (const arn of out.recoveryPointArns) {
            added.set(arn, { arn, vault: res.vault, resourceArn: res.resourceArn, mustCopy: true });
            changes.push({ arn, vault: res.vault, change: 'add', at });
          }
          note(`source: new point ${out.recoveryPointArns.join(', ')} on ${res.resourceArn}`);
          return;
        }
        const point = eligible[Math.floor(step.pick * eligible.length)];
        if (!point) return;
        if (step.change === 'delete') await sandbox.admin.deleteRecoveryPoint(point.vault, point.arn);
        else if (step.change === 'cold') {
          await sandbox.admin.patchRecoveryPoint({
            vault: point.vault,
            recoveryPointArn: point.arn,
            moveToColdStorageAt: at,
          });
        } else {
          const status = step.change === 'expire' ? 'EXPIRED' : 'DELETING';
          await sandbox.admin.setRecoveryPointStatus(point.vault, point.arn, status);
        }
        changes.push({ arn: point.arn, vault: point.vault, change: step.change, at });
        note(`source: ${point.arn} ${step.change}`);
        return;
      }
    }
  };

  const preexistingJobs = new Set(
    schedule.preexisting ? await seedPreexisting(sandbox, schedule.preexisting, info.destVaultKeyArn, note) : [],
  );
  note(`sandbox ${sandbox.url}, ${eligible.length} points to copy; daemon starts`);
  start();
  const chaosStart = Date.now();
  for (const step of schedule.steps) {
    const wait = chaosStart + step.at - Date.now();
    if (wait > 0) await sleep(wait);
    try {
      await execute(step);
    } catch (err) {
      note(`step ${step.kind} failed: ${(err as Error).message}`);
    }
  }
  const remaining = chaosStart + schedule.durationMs - Date.now();
  if (remaining > 0) await sleep(remaining);
  const chaosMs = Date.now() - chaosStart;

  // Final phase: no faults, the window open, fresh credentials, then `--once` until the run is done.
  note('final phase: faults off, window open');
  wanted = false;
  await stop('SIGTERM');
  clearInterval(supervisor);
  await sandbox.admin.setKnobs({
    transientErrorRate: 0,
    copyFailureRate: 0,
    copyJobQuota: 100,
    throttling: { enabled: false },
    dropAfterStartCopyJob: { count: 0, probability: 0 },
  });
  for (const account of ['source', 'destination'] as const) {
    await sandbox.admin.stopAutoRotate(account);
    await sandbox.admin.rotateCredentials(account, credentialsFile, PROFILES[account]);
  }
  windowState.mode = 'open';
  windowState.maxRuntime = undefined;
  writeConfig();
  let done = false;
  for (let attempt = 1; attempt <= FINAL_RUNS && !done; attempt++) {
    const once = spawnDaemon(['--once'], sandbox.env, owner);
    const exit = await withTimeout(once.exited, ONCE_TIMEOUT_MS, undefined);
    if (!exit) {
      const status = await withTimeout(runCtlAsync(['status', '--json'], sandbox.env), 20_000, undefined);
      note(
        `final run ${attempt} still running; status: ${status?.stdout.replaceAll('\n', ' ').slice(0, 1500) ?? 'no answer'}`,
      );
      once.child.kill('SIGKILL');
      await once.exited;
      note(`final run ${attempt}: no exit within ${ONCE_TIMEOUT_MS} ms, killed`);
      unexpectedExits.push(
        `final --once run ${attempt} did not finish in ${ONCE_TIMEOUT_MS} ms\n${once.output().slice(-1500)}`,
      );
      continue;
    }
    note(`final run ${attempt}: exit ${exit.code}${exit.signal ? ` (${exit.signal})` : ''}`);
    if (exit.code === 0) done = true;
    else {
      unexpectedExits.push(`final --once run ${attempt} exited ${exit.code}\n${once.output().slice(-1500)}`);
      // A pause for credentials: give both profiles fresh keys again.
      for (const account of ['source', 'destination'] as const) {
        await sandbox.admin.rotateCredentials(account, credentialsFile, PROFILES[account]);
      }
    }
  }
  const verdict = await judge({ admin: sandbox.admin, stateDir, changes, done, added, preexistingJobs });
  note(
    `judge: ${verdict.violations.length} violations; ${verdict.pointsCopied} points copied of ${verdict.mustCopy} required, ${verdict.jobs} jobs`,
  );
  return { schedule, verdict, log, unexpectedExits, chaosMs, totalMs: Date.now() - started };
}
