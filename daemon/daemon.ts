// The daemon's composition: state directory and lock, store, control API,
// pipeline, and the one shutdown path. main.ts adds process concerns
// (arguments, signals, exit codes); tests can call startDaemon directly.
//
// Start-up order matters for "touch nothing on refusal": the lock is taken
// before the store is opened, and the store's identity is checked before the
// socket appears, so a refused start leaves no socket and an unchanged store.

import { chmodSync, mkdirSync, rmSync, statSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import type { DaemonState, ResumeResponse, StatusResponse } from '../shared/api.js';
import type { Config } from '../shared/config.js';
import { formatDuration } from '../shared/duration.js';
import { RpcopyError } from '../shared/errors.js';
import { MAX_SOCKET_PATH_BYTES, socketPath } from '../shared/socket.js';
import { buildApi, closeServer, listenOnSocket } from './api.js';
import { type CredentialLoader, CredentialSession, verifyCredentials } from './aws/credentials.js';
import { type CredentialsWatch, sharedCredentialsFile, watchCredentialsFile } from './aws/credentials-watch.js';
import { AwsPort } from './aws/port.js';
import { checkCompliance } from './compliance/service.js';
import { FAILURE_REASONS } from './copy/failures.js';
import { CopyPhase } from './copy/phase.js';
import { CopyQueue } from './copy/queue.js';
import { reconcileReport } from './copy/reconcile.js';
import { loadPrices } from './cost/prices.js';
import { costForecast } from './cost/service.js';
import { csvProblemsPage } from './enrich/gate.js';
import { EnrichPhase } from './enrich/phase.js';
import { createJournal, type EventJournal, endRun, startRun } from './events.js';
import { forecast, JobSamples, remainingWork } from './forecast.js';
import { inventoryRefresh, wakeForRefresh } from './inventory/refresh.js';
import { InventoryPhase } from './inventory/service.js';
import { acquireStateLock, type StateLock } from './lock.js';
import type { Logger } from './log.js';
import { createNotifier } from './notify.js';
import { PauseGate } from './pause.js';
import { Pipeline, type PipelinePhase } from './pipeline.js';
import { SKIP_REASONS } from './plan/reasons.js';
import { planReport } from './plan/report.js';
import { PlanPhase, planPoints } from './plan/service.js';
import { operatorWarnings, warningsOf } from './plan/warnings.js';
import { type OperatorPause, PreflightPhase } from './preflight/phase.js';
import { runPreflight } from './preflight/service.js';
import { reportPoints } from './report/points.js';
import { reportSummary } from './report/summary.js';
import { parseResetTarget, resetState } from './reset.js';
import { RunSupervisor } from './run-supervisor.js';
import {
  claimWindowRunStart,
  loadSettings,
  parseSetting,
  type SettingValue,
  saveSetting,
  windowRunStart,
} from './settings.js';
import { Shutdown } from './shutdown.js';
import { readCounts, readInventoryProgress } from './status.js';
import { startCheckpointer } from './store/checkpointer.js';
import { ReadWorker } from './store/read-worker.js';
import { openStore, type Store } from './store/store.js';
import { VaultsPhase } from './vaults/service.js';
import { createWatchHub } from './watch.js';
import { ChangeWindow, type WindowState } from './window.js';
import { createWorkerPool } from './workers/pool.js';

export const STORE_FILE = 'rpcopy.db';

/** How a run ended; main.ts maps it to the exit code. */
export type RunOutcome = 'done' | 'stopped' | 'paused' | 'window_closed' | 'failed';

export interface DaemonDeps {
  config: Config;
  version: string;
  log: Logger;
  mode: 'service' | 'once';
  /** Stop after the plan: nothing is created in the destination and nothing is copied. */
  dryRun?: boolean;
  /** Run every phase up to the destination vaults, but start no copy job. */
  noCopy?: boolean;
  /** A one-off run: stop gracefully after this long (rpcopyd --max-runtime); overrides window.max_runtime. */
  maxRuntimeMs?: number;
  /** How credentials are read; the shared credentials file by default. */
  credentialLoader?: CredentialLoader;
  /** Replace the pipeline phases (tests of the daemon's own mechanics). */
  phases?: (services: DaemonServices) => PipelinePhase[];
}

/** What the phases are built from. */
export interface DaemonServices {
  config: Config;
  dryRun: boolean;
  store: Store;
  journal: EventJournal;
  log: Logger;
  port: AwsPort;
  /** Pause all work for the operator (reason shown by rpctl status); resolves on resume, rejects on stop. */
  pauseForOperator: OperatorPause;
  /** The copy engine (absent in a dry run). */
  copy?: CopyPhase;
}

function defaultPhases({
  config,
  dryRun,
  store,
  journal,
  log,
  port,
  pauseForOperator,
  copy,
}: DaemonServices): PipelinePhase[] {
  const phases: PipelinePhase[] = [
    new InventoryPhase({
      store,
      port,
      journal,
      log: log.child({ phase: 'inventory' }),
      vaultPatterns: config.source.vaults,
      pageSize: config.inventory.pageSize,
      parallelVaults: config.inventory.parallelVaults,
      fullRefreshIntervalMs: config.inventory.fullRefreshIntervalMs,
    }),
    new EnrichPhase({ store, config, journal, log: log.child({ phase: 'enrich' }) }),
    new PlanPhase({ store, config, journal, log: log.child({ phase: 'plan' }) }),
  ];
  // A dry run stops after the plan: nothing is created in the destination (rpctl preflight still works on demand).
  if (dryRun) return phases;
  return [
    ...phases,
    // Preflight before the first write to the destination: a wrong account or a missing permission pauses here.
    new PreflightPhase({
      store,
      port,
      config,
      journal,
      log: log.child({ phase: 'preflight' }),
      pause: pauseForOperator,
    }),
    new VaultsPhase({ store, port, config, journal, log: log.child({ phase: 'vaults' }) }),
    ...(copy ? [copy] : []),
  ];
}

export interface RunningDaemon {
  readonly socketPath: string;
  readonly store: Store;
  /** Resolves once the daemon has shut down and released everything. */
  readonly finished: Promise<RunOutcome>;
  /** The graceful path: stop claiming, drain in-flight work (bounded), close, release. */
  stop(reason: string): Promise<RunOutcome>;
  /** The second-Ctrl-C path: close the store and release the lock now, without waiting. */
  abort(): void;
}

function prepareStateDir(stateDir: string, log: Logger): void {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const mode = statSync(stateDir).mode & 0o777;
  if (mode !== 0o700) {
    chmodSync(stateDir, 0o700);
    log.warn('tightened the state directory to mode 0700', { stateDir, was: mode.toString(8) });
  }
  const path = socketPath(stateDir);
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) {
    throw new RpcopyError(
      'CONFIG_INVALID',
      `daemon.state_dir gives a control socket path of ${Buffer.byteLength(path)} bytes (${path}); ` +
        `Unix sockets allow at most ${MAX_SOCKET_PATH_BYTES}: choose a shorter state_dir`,
    );
  }
}

/** rpctl status's window: what the run loop sees now (drainFrom only while work runs). */
function windowStatus(view: WindowState, drainFrom: number | undefined): NonNullable<StatusResponse['window']> {
  const iso = (t: number | undefined) => (t !== undefined ? new Date(t).toISOString() : null);
  return { open: view.open, closesAt: iso(view.closesAt), opensAt: iso(view.opensAt), drainFrom: iso(drainFrom) };
}

export async function startDaemon(deps: DaemonDeps): Promise<RunningDaemon> {
  const { config, log, version, mode } = deps;
  const stateDir = config.daemon.stateDir;
  const startedAt = new Date();
  prepareStateDir(stateDir, log);

  const lock: StateLock = acquireStateLock(stateDir);
  let store: Store;
  try {
    store = openStore(
      join(stateDir, STORE_FILE),
      {
        sourceAccountId: config.source.accountId,
        destinationAccountId: config.destination.accountId,
        region: config.region,
      },
      { version },
    );
  } catch (err) {
    lock.release();
    throw err;
  }

  const checkpointer = startCheckpointer(store.file, log);
  const runId = startRun(store, { pid: process.pid, version, mode });
  const journal = createJournal(store, runId, log);
  const shutdown = new Shutdown();
  const gate = new PauseGate();
  const changeWindow = new ChangeWindow(config.window);
  const maxRuntimeMs = deps.maxRuntimeMs ?? config.window.maxRuntimeMs;
  let drainOverrideMs: number | undefined;
  const sessions = {
    source: new CredentialSession('source', config.source.profile, deps.credentialLoader),
    destination: new CredentialSession('destination', config.destination.profile, deps.credentialLoader),
  };
  const accountIds = { source: config.source.accountId, destination: config.destination.accountId };
  const notifier = createNotifier({
    log: log.child({ component: 'notify' }),
    desktop: config.notify.desktop,
    command: config.notify.command,
  });
  const pool = createWorkerPool(config.copy.workers, log);
  const port = new AwsPort({
    pool,
    rates: { startCopyJob: config.copy.startRate },
    sessions,
    region: config.region,
    log: log.child({ component: 'aws' }),
    gate,
    pause: {
      // Every call that meets the exhausted session lands here; the first one pauses and notifies, all of them
      // wait on the gate and then retry with the verified credentials: nothing in flight is lost.
      credentialsExhausted: async (account, failure) => {
        const session = sessions[account];
        const detail =
          `${account} account (profile ${session.profile}): AWS rejected its credentials ` +
          `${session.consecutiveFailures} times in a row (${failure.name}); refresh the token: rpcopy resumes by ` +
          'itself once the credentials file holds a working one, or run rpctl resume';
        if (gate.pause('credentials', detail)) {
          const data = {
            account,
            accountId: accountIds[account],
            profile: session.profile,
            error: failure.name,
            consecutiveFailures: session.consecutiveFailures,
          };
          journal.record('error', 'daemon.paused', detail, { reason: 'credentials', ...data });
          void notifier.notify({ event: 'paused', reason: 'credentials', message: detail, ...data });
          if (mode === 'once') void stop('paused for the operator', 'paused');
          // A refresh that landed while the last reload gave up is no change the watcher will report again.
          else {
            void recheckAfterPause(account).catch((err: unknown) =>
              log.warn('checking the credentials file after the pause failed', { account, error: err }),
            );
          }
        }
        await gate.wait(shutdown.signal);
      },
    },
  });
  const pauseForOperator: OperatorPause = async (reason, detail, data) => {
    const ours = gate.pause(reason, detail);
    if (ours) {
      journal.record('error', 'daemon.paused', detail, { reason, ...data });
      void notifier.notify({ event: 'paused', reason, message: detail, ...data });
      if (mode === 'once') void stop('paused for the operator', 'paused');
    }
    await gate.wait(shutdown.signal);
    return ours;
  };

  // Resuming: one function for every trigger (rpctl resume through the API, a changed credentials file, and
  // later the keypress of rpctl watch through the same API). After a credentials pause, work restarts only once
  // STS accepts both accounts' tokens as the configured accounts; otherwise the daemon stays paused and says why.
  // Concurrent triggers share one check.
  type ResumeTrigger = 'operator' | 'credentials-file';
  let resuming: Promise<ResumeResponse> | undefined;
  const resumeAfterPause = (trigger: ResumeTrigger): Promise<ResumeResponse> => {
    resuming ??= tryResume(trigger).finally(() => {
      resuming = undefined;
    });
    return resuming;
  };
  const tryResume = async (trigger: ResumeTrigger): Promise<ResumeResponse> => {
    const paused = gate.paused;
    if (!paused) return { state: currentState(), resumed: false, message: 'not paused: nothing to resume' };
    const checkCredentials =
      paused.reason === 'credentials' || sessions.source.exhausted || sessions.destination.exhausted;
    if (checkCredentials) {
      let problems: Awaited<ReturnType<typeof verifyCredentials>>;
      try {
        problems = await verifyCredentials({ port, sessions, accountIds, signal: shutdown.signal });
      } catch (err) {
        if (shutdown.requested) return { state: currentState(), resumed: false, message: 'stopping: not resumed' };
        throw err;
      }
      if (problems.length > 0) {
        const why = problems.map((p) => p.message).join('; ');
        const by = trigger === 'operator' ? 'rpctl resume' : 'the credentials file changed';
        const message =
          `still paused: ${why}. Refresh the token: rpcopy resumes by itself once the credentials file holds ` +
          'a working one, or run rpctl resume again';
        gate.note(`Resume refused (${by}): ${why}`);
        journal.record('warn', 'daemon.resume_refused', message, {
          reason: paused.reason,
          trigger,
          problems: problems.map(({ account, kind }) => ({ account, kind })),
        });
        // The operator who ran rpctl resume reads the answer; a refused automatic resume is news to them.
        if (trigger !== 'operator') {
          void notifier.notify({ event: 'resume_refused', reason: paused.reason, message, trigger });
        }
        return { state: currentState(), resumed: false, verified: false, message };
      }
    }
    // Resumed or stopped by someone else while the check ran.
    if (gate.paused !== paused)
      return { state: currentState(), resumed: false, message: 'not paused: nothing to resume' };
    gate.resume();
    const message =
      trigger === 'operator'
        ? `resumed (was paused: ${paused.reason}${checkCredentials ? '; STS accepted both accounts’ credentials' : ''})`
        : `resumed by itself: the credentials file changed and STS accepted both accounts’ credentials (was paused: ${paused.reason})`;
    journal.record('info', 'daemon.resumed', message, { reason: paused.reason, trigger, verified: checkCredentials });
    void notifier.notify(
      { event: 'resumed', reason: paused.reason, message, trigger },
      { desktop: trigger !== 'operator' },
    );
    return { state: currentState(), resumed: true, ...(checkCredentials ? { verified: true } : {}), message };
  };
  const recheckAfterPause = async (account: keyof typeof sessions): Promise<void> => {
    if (await sessions[account].holdsNewKeys()) await resumeAfterPause('credentials-file');
  };
  const onCredentialsFileChange = async (): Promise<void> => {
    if (gate.paused?.reason !== 'credentials' || shutdown.requested) return;
    await resumeAfterPause('credentials-file');
  };
  let credentialsWatch: CredentialsWatch | undefined;
  const copy =
    deps.dryRun || deps.noCopy
      ? undefined
      : new CopyPhase({
          store,
          port,
          config,
          journal,
          log: log.child({ phase: 'copy' }),
          runId,
          gate,
          startAllowed: () => supervisor.startAllowed(),
        });
  const applySetting = (setting: SettingValue): void => {
    if (setting.key === 'max-in-flight') copy?.setMaxInFlight(setting.value);
    else {
      drainOverrideMs = setting.value;
      supervisor.setDrain(setting.value);
    }
  };
  const services: DaemonServices = {
    copy,
    config,
    dryRun: deps.dryRun ?? false,
    store,
    journal,
    log,
    port,
    pauseForOperator,
  };
  const pipeline = new Pipeline(
    (deps.phases ?? defaultPhases)(services),
    deps.phases ? undefined : inventoryRefresh(store, config.inventory.fullRefreshIntervalMs, journal),
  );
  let cancelRefreshWake: () => void = () => undefined;
  // The one place that decides when work runs: the first run, and every rerun an operator asks for.
  const supervisor: RunSupervisor = new RunSupervisor({
    window: changeWindow,
    ...(maxRuntimeMs !== undefined ? { maxRuntimeMs } : {}),
    oneOffRuntime: deps.maxRuntimeMs !== undefined,
    once: mode === 'once',
    drainMs: () => drainOverrideMs ?? changeWindow.drainMs,
    occurrence: {
      read: (openedAt) => windowRunStart(store, openedAt),
      claim: (openedAt, now) => claimWindowRunStart(store, openedAt, now),
    },
    work: (work, context) => (work === 'copy' && copy ? pipeline.rerun(copy, context) : pipeline.run(context)),
    signal: shutdown.signal,
    track: (work) => shutdown.track(work),
    record: (level, kind, message, data) => journal.record(level, kind, message, data),
    onEnd: (outcome) => {
      if (outcome === 'done') {
        journal.record('info', 'pipeline.done', 'every phase of the pipeline is done', {
          phases: pipeline.phaseNames,
        });
        if (mode === 'once') void stop('pipeline finished', 'done');
        else {
          // A done service lists the source again when its next full pass is due, and copies what changed.
          cancelRefreshWake();
          cancelRefreshWake = wakeForRefresh(store, config.inventory.fullRefreshIntervalMs, () => {
            if (!shutdown.requested) supervisor.request('pipeline');
            return true;
          });
        }
        return;
      }
      // The run's time is up: --once says so in its exit code (9); a one-off --max-runtime run exits 0.
      if (outcome === 'window_closed') {
        void stop('the run’s time is up', mode === 'once' ? 'window_closed' : 'stopped');
      }
    },
    onError: (err) => {
      journal.record('error', 'pipeline.failed', 'the pipeline failed; progress so far is saved', { error: err });
      void stop('pipeline failed', 'failed');
    },
  });
  for (const setting of loadSettings(store)) applySetting(setting);
  let stopping: Promise<RunOutcome> | undefined;
  const state = (): DaemonState => (stopping ? 'stopping' : supervisor.state);
  const currentState = (): DaemonState => (gate.paused && state() === 'running' ? 'paused' : state());

  const status = (): StatusResponse => ({
    state: currentState(),
    ...(gate.paused && state() === 'running'
      ? {
          pauseReason: gate.paused.reason,
          pauseDetail: gate.paused.note ? `${gate.paused.detail}. ${gate.paused.note}` : gate.paused.detail,
        }
      : {}),
    phase: pipeline.phase,
    counts: readCounts(store),
    inventory: readInventoryProgress(store),
    daemon: {
      pid: process.pid,
      version,
      startedAt: startedAt.toISOString(),
      uptimeMs: Date.now() - startedAt.getTime(),
      configFile: config.file,
      stateDir,
      runId,
    },
    source: { accountId: config.source.accountId, region: config.region },
    destination: { accountId: config.destination.accountId },
    credentials: { source: sessions.source.snapshot(), destination: sessions.destination.snapshot() },
    ...(copy && (pipeline.phase === 'copy' || pipeline.phase === 'done') ? { copy: copy.status() } : {}),
    ...(changeWindow.scheduled || maxRuntimeMs !== undefined
      ? { window: windowStatus(supervisor.window(), supervisor.running ? supervisor.drainFrom : undefined) }
      : {}),
    ...warningsOf(operatorWarnings(store, config)),
  });

  // rpctl watch's stream: shares one status() per second among all watchers and relays the journal.
  const watchHub = createWatchHub({ journal, status, storeFile: store.file, log: log.child({ component: 'watch' }) });

  let progressTimer: NodeJS.Timeout | undefined;
  let resolveFinished!: (outcome: RunOutcome) => void;
  const finished = new Promise<RunOutcome>((resolve) => {
    resolveFinished = resolve;
  });
  let server: Server | undefined;
  let planReader: ReadWorker | undefined;
  let costReader: ReadWorker | undefined;

  const stop = (reason: string, outcome: RunOutcome = 'stopped'): Promise<RunOutcome> => {
    if (stopping) return stopping;
    shutdown.request(reason);
    credentialsWatch?.close();
    clearInterval(progressTimer);
    cancelRefreshWake();
    journal.record('info', 'daemon.stopping', 'stopping: no new work is claimed', {
      reason,
      inFlight: shutdown.pending,
    });
    stopping = (async () => {
      const cutOff = await shutdown.drain(config.daemon.shutdownTimeoutMs);
      if (cutOff > 0) {
        journal.record(
          'warn',
          'daemon.drain_timeout',
          'in-flight work did not finish in time; it is reconciled at the next start',
          {
            cutOff,
          },
        );
      }
      await watchHub.close();
      if (server) await closeServer(server);
      await planReader?.close();
      await costReader?.close();
      // A --once run that stops on a pause must still hand its event to notify.command.
      await notifier.drain(config.daemon.shutdownTimeoutMs);
      await pool.destroy();
      await checkpointer.stop();
      journal.record('info', 'daemon.stopped', 'stopped', { reason, outcome });
      endRun(store, runId, reason);
      store.close();
      lock.release();
      resolveFinished(outcome);
      return outcome;
    })();
    return stopping;
  };

  const api = buildApi(
    {
      health: () => ({ ok: true, pid: process.pid, version }),
      status,
      stop: () => {
        void stop('rpctl stop');
        return {
          state: state(),
          message: 'stopping: in-flight work finishes, progress is saved, then the daemon exits',
        };
      },
      resume: () => resumeAfterPause('operator'),
      config: () => config,
      pause: () => {
        const detail =
          'paused by the operator (rpctl pause): calls in flight finish, nothing new starts; rpctl resume continues';
        const paused = gate.pause('operator', detail);
        if (paused) {
          journal.record('warn', 'daemon.paused', detail, { reason: 'operator' });
          void notifier.notify({ event: 'paused', reason: 'operator', message: detail });
        }
        return {
          state: currentState(),
          paused,
          message: paused ? detail : `already paused (${gate.paused?.reason ?? 'unknown'}): rpctl resume continues`,
        };
      },
      set: ({ key, value }) => {
        const setting = parseSetting(key, value);
        saveSetting(store, setting);
        applySetting(setting);
        journal.record('info', 'settings.changed', `${setting.key} set to ${value}`, {
          key: setting.key,
          value: setting.value,
        });
        return {
          key: setting.key,
          value: setting.value,
          message: `${setting.key} is now ${value}; kept across restarts`,
        };
      },
      reset: ({ target, vault }) => {
        const what = parseResetTarget(target);
        const paused = gate.paused !== undefined;
        if (supervisor.running && !paused) {
          throw new RpcopyError(
            'BAD_REQUEST',
            'the pipeline is running: pause it first (rpctl pause), or reset once it is done or waiting for its window',
          );
        }
        const result = resetState(store, what, vault ?? null);
        if (result.requeued > 0) copy?.requeued();
        journal.record('warn', 'state.reset', `reset ${what}${vault ? ` of vault ${vault}` : ''}`, { ...result });
        const running = supervisor.running;
        // The pipeline runs again over the reset state, when the window allows (after the current run, if any).
        supervisor.request('pipeline');
        return {
          ...result,
          message:
            `reset ${what}${vault ? ` of vault ${vault}` : ''}: ${result.vaults} vault listings, ` +
            `${result.metadataLoads} metadata loads, ${result.replanned} points to decide again, ` +
            `${result.requeued} failed points requeued; ` +
            (running
              ? 'the pipeline runs again once the current run ends (rpctl resume if paused)'
              : supervisor.state === 'waiting_for_window'
                ? 'the pipeline runs again when the change window opens'
                : 'the pipeline runs again now'),
        };
      },
      forecast: async () => {
        const { remaining, heaviestChainPriorSeconds } = remainingWork(store);
        const now = Date.now();
        const f = forecast({
          now,
          remaining,
          heaviestChainPriorSeconds,
          concurrency: copy?.concurrency ?? config.copy.maxInFlight,
          startRatePerSecond: config.copy.startRate,
          samples: copy?.samples ?? new JobSamples(),
          window: changeWindow,
          ...(maxRuntimeMs !== undefined ? { maxRuntimeMs, runStartedAt: startedAt.getTime() } : {}),
        });
        costReader ??= new ReadWorker(store.file, 'the cost forecast worker');
        const prices = loadPrices(config);
        const cost = await costForecast(costReader, {
          now,
          finishAt: f.finishAt,
          workMs: f.workMs,
          region: config.region,
          ...prices,
        });
        return { ...f, cost };
      },
      retry: ({ reason }) => {
        if (!(reason in FAILURE_REASONS)) {
          throw new RpcopyError(
            'BAD_REQUEST',
            `reason: unknown failure reason ${JSON.stringify(reason)}; expected one of ${Object.keys(FAILURE_REASONS).join(', ')}`,
          );
        }
        const result = new CopyQueue(store, runId).retry(reason, Date.now());
        if (result.requeued > 0) copy?.requeued();
        journal.record('info', 'copy.retry', `requeued failed points of reason ${reason}`, { reason, ...result });
        // A service whose pipeline had finished copies the requeued points again, when the window allows; a run
        // in progress runs its copy phase once more after it ends, in case that phase had already finished.
        if (result.requeued > 0 && copy && mode === 'service') supervisor.request('copy');
        return {
          reason,
          ...result,
          message:
            result.requeued === 0
              ? `no failed points of reason ${reason}`
              : `requeued ${result.requeued} failed points of reason ${reason}${result.combos > 0 ? ` (${result.combos} canaries run again first)` : ''}`,
        };
      },
      reconcile: async () =>
        reconcileReport(store, new CopyQueue(store, runId), port, shutdown.signal, { ignorePause: true }),
      plan: () => {
        // Started at the first `rpctl plan` and kept: the report's plan-wide scans run on its thread.
        planReader ??= new ReadWorker(store.file, 'the plan report worker');
        return planReport(store, planReader, config);
      },
      planPoints: (query) => {
        if (query.reason !== undefined && query.reason !== 'copy' && !(query.reason in SKIP_REASONS)) {
          throw new RpcopyError(
            'BAD_REQUEST',
            `reason: unknown skip reason ${JSON.stringify(query.reason)}; expected copy or one of ${Object.keys(SKIP_REASONS).join(', ')}`,
          );
        }
        return planPoints(store, query);
      },
      csvProblems: (query) => csvProblemsPage(store, query),
      reportPoints: (query) => reportPoints(store, query),
      reportSummary: () => reportSummary(store, { signal: shutdown.signal }),
      watch: () => watchHub.connect(),
      // On demand, while the pipeline may be paused: these calls do not wait on the pause gate.
      preflight: async () => {
        const checks = await runPreflight({
          port,
          store,
          config,
          signal: shutdown.signal,
          callOptions: { ignorePause: true },
          vaultPolicies: 'strict',
        });
        return { ok: !checks.some((c) => c.status === 'fail'), checkedAt: new Date().toISOString(), checks };
      },
      compliance: async () => {
        const result = await checkCompliance({
          port,
          store,
          config,
          signal: shutdown.signal,
          callOptions: { ignorePause: true },
        });
        return { ok: result.drift.length === 0, checkedAt: new Date().toISOString(), ...result };
      },
    },
    log,
  );
  // Read both accounts' credentials once before listening: the SDK's provider chain loads its modules on first
  // use, a few hundred milliseconds of synchronous work that would otherwise stall the first `rpctl status`.
  // A failure here is not fatal: the first AWS call reports it and the credential session handles it.
  await Promise.allSettled([sessions.source.credentials(), sessions.destination.credentials()]);
  try {
    server = await listenOnSocket(api, socketPath(stateDir));
  } catch (err) {
    endRun(store, runId, `failed to listen: ${(err as Error).message}`);
    await pool.destroy();
    await checkpointer.stop();
    store.close();
    lock.release();
    throw err;
  }

  // A progress line at a steady interval (the terminal in the foreground, journald as a service): phase,
  // done/total, the rate over the last interval and the ETA at that rate (rpctl forecast knows better).
  let lastDone: number | undefined;
  progressTimer = setInterval(() => {
    const c = readCounts(store);
    const total = c.queued + c.inFlight + c.completed + c.failed;
    const done = c.completed + c.failed;
    const perMinute =
      lastDone === undefined ? undefined : ((done - lastDone) * 60_000) / config.daemon.progressIntervalMs;
    lastDone = done;
    const etaMs = perMinute && perMinute > 0 ? ((total - done) / perMinute) * 60_000 : undefined;
    log.info(
      `progress: ${currentState()}, phase ${pipeline.phase}, ${done}/${total} copies final` +
        `${perMinute !== undefined ? `, ${perMinute.toFixed(1)}/min` : ''}` +
        `${etaMs !== undefined ? `, ETA ${formatDuration(etaMs)} at this rate` : ''}`,
      { event: 'progress', phase: pipeline.phase, done, total, perMinute: perMinute ?? null, etaMs: etaMs ?? null },
    );
  }, config.daemon.progressIntervalMs);
  progressTimer.unref();
  credentialsWatch = watchCredentialsFile({
    file: sharedCredentialsFile(),
    log: log.child({ component: 'credentials' }),
    onChange: onCredentialsFileChange,
  });
  journal.record('info', 'daemon.started', 'rpcopyd started', {
    pid: process.pid,
    version,
    mode,
    socket: socketPath(stateDir),
  });

  supervisor.request('pipeline');

  return {
    socketPath: socketPath(stateDir),
    store,
    finished,
    stop,
    abort: () => {
      credentialsWatch?.close();
      clearInterval(progressTimer);
      void checkpointer.stop();
      void planReader?.close();
      void costReader?.close();
      // Synchronous and safe between two statements: every transaction is synchronous, so none is open here.
      store.close();
      rmSync(socketPath(stateDir), { force: true });
      lock.release();
    },
  };
}
