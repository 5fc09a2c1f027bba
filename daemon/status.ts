// `rpctl status`: its answer, built from cheap reads only (counters, a dozen-row table, in-memory state), so
// status answers promptly at any load.

import type { Counts, DaemonState, StatusResponse } from '../shared/api.js';
import type { Config } from '../shared/config.js';
import type { CredentialSession } from './aws/credentials.js';
import type { Account } from './aws/operations.js';
import type { CopyPhase } from './copy/phase.js';
import type { PauseGate } from './pause.js';
import type { Pipeline } from './pipeline.js';
import { operatorWarnings, warningsOf } from './plan/warnings.js';
import { readCounters, readInventoryProgress, statusCounts } from './read-model.js';
import type { RunSupervisor } from './run-supervisor.js';
import type { Store } from './store/store.js';
import type { WindowState } from './window.js';

/** rpctl status's counts (read-model.ts: the trigger-kept counters, constant time at any scale). */
export function readCounts(store: Store): Counts {
  return statusCounts(readCounters(store));
}

/** The state rpctl status shows: `paused` while the gate is closed on running work, else the run's own. */
export function currentState(runState: DaemonState, gate: PauseGate): DaemonState {
  return gate.paused && runState === 'running' ? 'paused' : runState;
}

/** rpctl status's window: what the run loop sees now (drainFrom only while work runs). */
function windowStatus(view: WindowState, drainFrom: number | undefined): NonNullable<StatusResponse['window']> {
  const iso = (t: number | undefined) => (t !== undefined ? new Date(t).toISOString() : null);
  return { open: view.open, closesAt: iso(view.closesAt), opensAt: iso(view.opensAt), drainFrom: iso(drainFrom) };
}

/** What rpctl status is read from. */
export interface StatusSources {
  config: Config;
  version: string;
  startedAt: Date;
  runId: number;
  store: Store;
  gate: PauseGate;
  /** The run's state before the pause gate is considered: stopping, or the run loop's. */
  runState(): DaemonState;
  pipeline: Pick<Pipeline, 'phase'>;
  sessions: Record<Account, Pick<CredentialSession, 'snapshot'>>;
  /** The copy engine (absent in a dry run or with --no-copy). */
  copy?: Pick<CopyPhase, 'status'>;
  supervisor: Pick<RunSupervisor, 'window' | 'running' | 'drainFrom'>;
  /** Show the window: a schedule or a max runtime limits when work runs. */
  showWindow: boolean;
  runMode: 'copy' | 'dry_run' | 'no_copy';
}

/** rpctl status's answer, from cheap reads only. */
export function statusBuilder(sources: StatusSources): () => StatusResponse {
  const { config, version, startedAt, runId, store, gate, pipeline, sessions, copy, supervisor } = sources;
  return () => {
    const runState = sources.runState();
    return {
      state: currentState(runState, gate),
      ...(gate.paused && runState === 'running'
        ? {
            pauseReason: gate.paused.reason,
            pauseDetail: gate.paused.note ? `${gate.paused.detail}. ${gate.paused.note}` : gate.paused.detail,
          }
        : {}),
      runMode: sources.runMode,
      phase: pipeline.phase,
      counts: readCounts(store),
      inventory: readInventoryProgress(store),
      daemon: {
        pid: process.pid,
        version,
        startedAt: startedAt.toISOString(),
        uptimeMs: Date.now() - startedAt.getTime(),
        configFile: config.file,
        stateDir: config.daemon.stateDir,
        runId,
      },
      source: { accountId: config.source.accountId, region: config.region },
      destination: { accountId: config.destination.accountId },
      credentials: { source: sessions.source.snapshot(), destination: sessions.destination.snapshot() },
      ...(copy && (pipeline.phase === 'copy' || pipeline.phase === 'done') ? { copy: copy.status() } : {}),
      ...(sources.showWindow
        ? { window: windowStatus(supervisor.window(), supervisor.running ? supervisor.drainFrom : undefined) }
        : {}),
      ...warningsOf(operatorWarnings(store, config)),
    };
  };
}
