// The daemon's composition: it wires named parts and does nothing else. The state directory and lock, the store,
// the worker pool, the AWS port, pause and resume (pause.ts, resume.ts), the pipeline and its run loop
// (run-supervisor.ts), and the control server: reload, the status answer, watch and the API's services on the
// socket (control.ts). main.ts adds process concerns (arguments, signals, exit codes); tests can call
// startDaemon directly.
//
// Start-up order matters for "touch nothing on refusal": the lock is taken before the store is opened, and the
// store's identity is checked before the socket appears, so a refused start leaves no socket and an unchanged
// store. Each part is added to one list of closers as it is acquired (shutdown.ts): a stop, a failed start and
// abort() release what is there, the last acquired first.

import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { DaemonState, ReloadResponse } from '../shared/api.js';
import type { Config, ConfigOverrides } from '../shared/config.js';
import { RpcopyError } from '../shared/errors.js';
import { MAX_SOCKET_PATH_BYTES, socketPath } from '../shared/socket.js';
import { ReadWorkers } from './api-services.js';
import { type CredentialLoader, CredentialSession } from './aws/credentials.js';
import { sharedCredentialsFile } from './aws/credentials-watch.js';
import { AwsPort } from './aws/port.js';
import type { WorkerPool } from './aws/task.js';
import { startControl } from './control.js';
import { CopyPhase } from './copy/phase.js';
import { EnrichPhase } from './enrich/phase.js';
import {
  createJournal,
  type EventJournal,
  endRun,
  type SubscribableJournal,
  startEventCompaction,
  startRun,
} from './events.js';
import { InventoryPhase } from './inventory/phase.js';
import { inventoryRefresh, wakeForRefresh } from './inventory/refresh.js';
import { acquireStateLock, type StateLock } from './lock.js';
import type { Logger } from './log.js';
import { createNotifier, type Notifier } from './notify.js';
import { createPauser, PauseGate } from './pause.js';
import { Pipeline, type PipelinePhase } from './pipeline.js';
import { PlanPhase } from './plan/phase.js';
import { type OperatorPause, PreflightPhase } from './preflight/phase.js';
import { startProgressLog } from './progress.js';
import { ResumeController } from './resume.js';
import { RunSupervisor } from './run-supervisor.js';
import { claimWindowRunStart, LiveSettings, loadSettings, windowRunStart } from './settings.js';
import { type Closer, Closers, createStopper, Shutdown } from './shutdown.js';
import { currentState } from './status.js';
import { startCheckpointer } from './store/checkpointer.js';
import { openStore, type Store } from './store/store.js';
import { VaultsPhase } from './vaults/phase.js';
import { ChangeWindow } from './window.js';
import { createWorkerPool } from './workers/pool.js';

const STORE_FILE = 'rpcopy.db';

/** How a run ended; main.ts maps it to the exit code. */
export type RunOutcome = 'done' | 'stopped' | 'paused' | 'window_closed' | 'failed';

export interface DaemonDeps {
  config: Config;
  /** The start-up flags the config was loaded with (rpcopyd --state-dir): a reload loads the file with them. */
  configOverrides?: ConfigOverrides;
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
  /** Re-read the config file and apply what changes live (SIGHUP); throws CONFIG_INVALID, changing nothing. */
  reload(trigger: string): ReloadResponse;
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

/** Why the daemon ends, as its closers see it; no outcome when the start failed. */
interface Ending {
  reason: string;
  outcome?: RunOutcome;
}

interface RunLoopParts {
  deps: DaemonDeps;
  store: Store;
  journal: EventJournal;
  pipeline: Pipeline;
  copy: CopyPhase | undefined;
  changeWindow: ChangeWindow;
  settings: LiveSettings;
  shutdown: Shutdown;
  stop(reason: string, outcome: RunOutcome): void;
}

/** The run supervisor wired to this daemon's pipeline and stop paths; `cancelWake` ends a done service's wait. */
function superviseRuns(parts: RunLoopParts): {
  supervisor: RunSupervisor;
  /** window.max_runtime, or rpcopyd --max-runtime. */
  maxRuntimeMs: number | undefined;
  cancelWake: () => void;
} {
  const { deps, store, journal, pipeline, copy, changeWindow, shutdown, stop } = parts;
  const { config, mode } = deps;
  const maxRuntimeMs = deps.maxRuntimeMs ?? config.window.maxRuntimeMs;
  let cancelWake: () => void = () => undefined;
  const supervisor: RunSupervisor = new RunSupervisor({
    window: changeWindow,
    ...(maxRuntimeMs !== undefined ? { maxRuntimeMs } : {}),
    oneOffRuntime: deps.maxRuntimeMs !== undefined,
    once: mode === 'once',
    drainMs: () => parts.settings.drainMs(),
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
        if (mode === 'once') stop('pipeline finished', 'done');
        else {
          // A done service lists the source again when its next full pass is due, and copies what changed.
          cancelWake();
          cancelWake = wakeForRefresh(store, config.inventory.fullRefreshIntervalMs, () => {
            if (!shutdown.requested) supervisor.request('pipeline');
            return true;
          });
        }
        return;
      }
      // The run's time is up: --once says so in its exit code (9); a one-off --max-runtime run exits 0.
      if (outcome === 'window_closed') stop('the run’s time is up', mode === 'once' ? 'window_closed' : 'stopped');
    },
    onError: (err) => {
      journal.record('error', 'pipeline.failed', 'the pipeline failed; progress so far is saved', { error: err });
      stop('pipeline failed', 'failed');
    },
  });
  return { supervisor, maxRuntimeMs, cancelWake: () => cancelWake() };
}

/** Stop claiming work and wait for what is in flight, within daemon.shutdown_timeout (the first closer of a stop). */
function drainCloser(shutdown: Shutdown, journal: EventJournal, timeoutMs: number): Closer<Ending> {
  return {
    name: 'the work in flight',
    close: async ({ reason }) => {
      journal.record('info', 'daemon.stopping', 'stopping: no new work is claimed', {
        reason,
        inFlight: shutdown.pending,
      });
      const cutOff = await shutdown.drain(timeoutMs);
      if (cutOff > 0) {
        journal.record(
          'warn',
          'daemon.drain_timeout',
          'in-flight work did not finish in time; it is reconciled at the next start',
          { cutOff },
        );
      }
    },
  };
}

/** The store and this run's record, opened under the lock; their closers release them before it. */
function openState(
  deps: DaemonDeps,
  closers: Closers<Ending>,
): { store: Store; runId: number; journal: SubscribableJournal } {
  const { config, version, mode, log } = deps;
  const { source, destination, region } = config;
  const identity = { sourceAccountId: source.accountId, destinationAccountId: destination.accountId, region };
  const store = openStore(join(config.daemon.stateDir, STORE_FILE), identity, { version });
  closers.add({ name: 'the store', close: () => store.close(), abort: () => store.close() });
  const runId = startRun(store, { pid: process.pid, version, mode });
  const journal = createJournal(store, runId, log);
  closers.add({
    name: 'the run record',
    close: ({ reason, outcome }) => {
      if (outcome) journal.record('info', 'daemon.stopped', 'stopped', { reason, outcome });
      endRun(store, runId, reason);
    },
  });
  const checkpointer = startCheckpointer(store.file, log);
  closers.add({ name: 'the checkpointer', close: () => checkpointer.stop(), abort: () => void checkpointer.stop() });
  const stopCompaction = startEventCompaction(store, { retentionMs: config.daemon.eventRetentionMs, log });
  closers.add({ name: 'the event compaction', close: stopCompaction, abort: stopCompaction });
  return { store, runId, journal };
}

/** The process-wide helpers: the worker pool, the operator notifier and the API's read workers. */
function startHelpers(deps: DaemonDeps, storeFile: string, closers: Closers<Ending>) {
  const { config, log } = deps;
  const pool = createWorkerPool(config.copy.workers, log);
  closers.add({ name: 'the worker pool', close: () => pool.destroy() });
  const { desktop, command } = config.notify;
  const notifier = createNotifier({ log: log.child({ component: 'notify' }), desktop, command });
  // A --once run that stops on a pause must still hand its event to notify.command.
  closers.add({ name: 'the notifier', close: () => notifier.drain(config.daemon.shutdownTimeoutMs) });
  const readers = new ReadWorkers(storeFile);
  closers.add({ name: 'the read workers', close: () => readers.close(), abort: () => readers.abort() });
  return { pool, notifier, readers };
}

interface AccountParts {
  deps: DaemonDeps;
  journal: EventJournal;
  pool: WorkerPool;
  notifier: Notifier;
  shutdown: Shutdown;
  stop(reason: string, outcome: RunOutcome): Promise<RunOutcome>;
  /** The run's state before the pause gate is considered. */
  runState(): DaemonState;
}

/** Both accounts' credentials and the AWS port, with the pause gate in front and the resume controller behind. */
function connectAccounts({ deps, journal, pool, notifier, shutdown, stop, runState }: AccountParts) {
  const { config, log, mode } = deps;
  const gate = new PauseGate();
  const sessions = {
    source: new CredentialSession('source', config.source.profile, deps.credentialLoader),
    destination: new CredentialSession('destination', config.destination.profile, deps.credentialLoader),
  };
  const port: AwsPort = new AwsPort({
    pool,
    rates: { startCopyJob: config.copy.startRate },
    sessions,
    region: config.region,
    log: log.child({ component: 'aws' }),
    gate,
    pause: { credentialsExhausted: (account, failure) => resume.credentialsExhausted(account, failure) },
  });
  const state = () => currentState(runState(), gate);
  const onOperatorNeeded = () => {
    if (mode === 'once') void stop('paused for the operator', 'paused');
  };
  const pause = createPauser({ gate, journal, notifier, onOperatorNeeded });
  const accountIds = { source: config.source.accountId, destination: config.destination.accountId };
  const { signal } = shutdown;
  const once = mode === 'once';
  const resumeParts = { gate, pause, sessions, accountIds, port, journal, notifier, log, signal, once, state };
  const resume: ResumeController = new ResumeController(resumeParts);
  return { gate, sessions, port, pause, resume, state };
}

interface PipelineParts {
  deps: DaemonDeps;
  store: Store;
  runId: number;
  journal: EventJournal;
  port: AwsPort;
  gate: PauseGate;
  resume: ResumeController;
  shutdown: Shutdown;
  stop(reason: string, outcome: RunOutcome): void;
}

/** The phases, the pipeline that runs them, and the run supervisor that decides when it may run. */
function buildPipeline({ deps, store, runId, journal, port, gate, resume, shutdown, stop }: PipelineParts) {
  const { config, log } = deps;
  const startAllowed = () => runs.supervisor.startAllowed();
  const copy =
    deps.dryRun || deps.noCopy
      ? undefined
      : new CopyPhase({ store, port, config, journal, log: log.child({ phase: 'copy' }), runId, gate, startAllowed });
  const pauseForOperator = resume.operatorPause;
  const dryRun = deps.dryRun ?? false;
  const services: DaemonServices = { copy, config, dryRun, store, journal, log, port, pauseForOperator };
  const refresh = deps.phases ? undefined : inventoryRefresh(store, config.inventory.fullRefreshIntervalMs, journal);
  const pipeline = new Pipeline((deps.phases ?? defaultPhases)(services), refresh);
  const changeWindow = new ChangeWindow(config.window);
  const setDrain = (drainMs: number) => runs.supervisor.setDrain(drainMs);
  const configuredDrainMs = () => changeWindow.drainMs;
  const settings = new LiveSettings({ copy, configuredDrainMs, setDrain });
  // The one place that decides when work runs: the first run, and every rerun an operator asks for.
  const runs = superviseRuns({ deps, store, journal, pipeline, copy, changeWindow, settings, shutdown, stop });
  for (const setting of loadSettings(store)) settings.apply(setting);
  return { copy, pipeline, changeWindow, settings, ...runs };
}

interface BackgroundParts {
  deps: DaemonDeps;
  store: Store;
  journal: EventJournal;
  shutdown: Shutdown;
  pipeline: Pipeline;
  resume: ResumeController;
  cancelWake(): void;
  state(): DaemonState;
}

/**
 * What runs beside the pipeline once the socket is up: the stop's drain, the refresh wake, the progress log and
 * the credentials file watch, each with its closer.
 */
function startBackground(parts: BackgroundParts, closers: Closers<Ending>): void {
  const { deps, store, journal, shutdown, pipeline, resume, state } = parts;
  const { config, log } = deps;
  closers.add(drainCloser(shutdown, journal, config.daemon.shutdownTimeoutMs));
  closers.add({ name: 'the refresh wake', close: parts.cancelWake });
  const intervalMs = config.daemon.progressIntervalMs;
  const stopProgress = startProgressLog({ store, log, intervalMs, state, pipeline });
  closers.add({ name: 'the progress log', close: stopProgress, abort: stopProgress });
  resume.watchCredentials(sharedCredentialsFile());
  closers.add({ name: 'the credentials file watch', close: () => resume.close(), abort: () => resume.close() });
}

export async function startDaemon(deps: DaemonDeps): Promise<RunningDaemon> {
  const { config, log, version, mode } = deps;
  const stateDir = config.daemon.stateDir;
  const socket = socketPath(stateDir);
  const startedAt = new Date();
  prepareStateDir(stateDir, log);

  // Everything is added here as it is acquired; a stop, a failed start and abort() release it, the last first.
  const closers = new Closers<Ending>();
  const lock: StateLock = acquireStateLock(stateDir);
  closers.add({ name: 'the state lock', close: () => lock.release(), abort: () => lock.release() });
  try {
    const { store, runId, journal } = openState(deps, closers);
    const { pool, notifier, readers } = startHelpers(deps, store.file, closers);
    const shutdown = new Shutdown();
    const { stop, finished } = createStopper<RunOutcome>(shutdown, closers);
    const runState = (): DaemonState => (shutdown.requested ? 'stopping' : runs.supervisor.state);
    const accounts = connectAccounts({ deps, journal, pool, notifier, shutdown, stop, runState });
    const { gate, resume, port, state } = accounts;
    const runs = buildPipeline({ deps, store, runId, journal, port, gate, resume, shutdown, stop });
    const runMode = deps.dryRun ? 'dry_run' : deps.noCopy ? 'no_copy' : 'copy';
    const reloader = await startControl(
      {
        ...accounts,
        ...runs,
        config,
        configOverrides: deps.configOverrides ?? {},
        version,
        mode,
        runMode,
        log,
        startedAt,
        socket,
        runId,
        store,
        journal,
        notifier,
        readers,
        signal: shutdown.signal,
        runState,
        stop: (reason) => void stop(reason, 'stopped'),
      },
      closers,
    );
    startBackground(
      { deps, store, journal, shutdown, pipeline: runs.pipeline, resume, cancelWake: runs.cancelWake, state },
      closers,
    );
    journal.record('info', 'daemon.started', 'rpcopyd started', { pid: process.pid, version, mode, socket });

    runs.supervisor.request('pipeline');
    return {
      socketPath: socket,
      store,
      finished,
      stop: (reason) => stop(reason, 'stopped'),
      reload: (trigger) => reloader.reload(trigger),
      abort: () => closers.abort(),
    };
  } catch (err) {
    await closers.close({ reason: `failed to start: ${(err as Error).message}` });
    throw err;
  }
}
