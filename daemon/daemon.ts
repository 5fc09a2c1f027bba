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
import type { DaemonState, StatusResponse } from '../shared/api.js';
import type { Config } from '../shared/config.js';
import { RpcopyError } from '../shared/errors.js';
import { MAX_SOCKET_PATH_BYTES, socketPath } from '../shared/socket.js';
import { buildApi, closeServer, listenOnSocket } from './api.js';
import { createJournal, type EventJournal, endRun, startRun } from './events.js';
import { acquireStateLock, type StateLock } from './lock.js';
import type { Logger } from './log.js';
import { Pipeline, type PipelinePhase } from './pipeline.js';
import { Shutdown } from './shutdown.js';
import { readCounts } from './status.js';
import { openStore, type Store } from './store/store.js';

export const STORE_FILE = 'rpcopy.db';

/** How a run ended; main.ts maps it to the exit code. */
export type RunOutcome = 'done' | 'stopped' | 'paused' | 'window_closed' | 'failed';

export interface DaemonDeps {
  config: Config;
  version: string;
  log: Logger;
  mode: 'service' | 'once';
  /** The pipeline phases; built by the composition root from the config and the AWS ports. */
  phases?: (store: Store, journal: EventJournal) => PipelinePhase[];
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

  const runId = startRun(store, { pid: process.pid, version, mode });
  const journal = createJournal(store, runId, log);
  const shutdown = new Shutdown();
  const pipeline = new Pipeline(deps.phases?.(store, journal) ?? []);
  let state: DaemonState = 'starting';
  let pauseReason: string | undefined;

  const status = (): StatusResponse => ({
    state,
    ...(state === 'paused' && pauseReason ? { pauseReason } : {}),
    phase: pipeline.phase,
    counts: readCounts(store),
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
  });

  let stopping: Promise<RunOutcome> | undefined;
  let resolveFinished!: (outcome: RunOutcome) => void;
  const finished = new Promise<RunOutcome>((resolve) => {
    resolveFinished = resolve;
  });
  let server: Server | undefined;

  const stop = (reason: string, outcome: RunOutcome = 'stopped'): Promise<RunOutcome> => {
    if (stopping) return stopping;
    shutdown.request(reason);
    state = 'stopping';
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
      if (server) await closeServer(server);
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
        return { state, message: 'stopping: in-flight work finishes, progress is saved, then the daemon exits' };
      },
      config: () => config,
    },
    log,
  );
  try {
    server = await listenOnSocket(api, socketPath(stateDir));
  } catch (err) {
    endRun(store, runId, `failed to listen: ${(err as Error).message}`);
    store.close();
    lock.release();
    throw err;
  }

  state = 'running';
  journal.record('info', 'daemon.started', 'rpcopyd started', {
    pid: process.pid,
    version,
    mode,
    socket: socketPath(stateDir),
  });

  void shutdown.track(pipeline.run({ signal: shutdown.signal, track: (work) => shutdown.track(work) })).then(
    (outcome) => {
      if (outcome !== 'done') return;
      journal.record('info', 'pipeline.done', 'every recovery point has reached a final state');
      if (mode === 'once') void stop('pipeline finished', 'done');
      else if (!shutdown.requested) state = 'done';
    },
    (err: unknown) => {
      journal.record('error', 'pipeline.failed', 'the pipeline failed; progress so far is saved', { error: err });
      void stop('pipeline failed', 'failed');
    },
  );

  return {
    socketPath: socketPath(stateDir),
    store,
    finished,
    stop,
    abort: () => {
      // Synchronous and safe between two statements: every transaction is synchronous, so none is open here.
      store.close();
      rmSync(socketPath(stateDir), { force: true });
      lock.release();
    },
  };
}
