// `rpctl status`: its answer, built from cheap reads only (counters, a dozen-row table, in-memory state), so
// status answers promptly at any load.

import type { Counts, DaemonState, InventoryProgress, StatusResponse } from '../shared/api.js';
import type { Config } from '../shared/config.js';
import type { CredentialSession } from './aws/credentials.js';
import type { Account } from './aws/operations.js';
import type { CopyPhase } from './copy/phase.js';
import type { PauseGate } from './pause.js';
import type { Pipeline } from './pipeline.js';
import { operatorWarnings, warningsOf } from './plan/warnings.js';
import type { RunSupervisor } from './run-supervisor.js';
import type { Store } from './store/store.js';
import type { WindowState } from './window.js';

export function readCounts(store: Store): Counts {
  // status_counters is kept by triggers (drizzle/0001_status_counters.sql): constant time at any scale.
  const counters = new Map(
    (store.sqlite.prepare('SELECT name, n FROM status_counters').all() as { name: string; n: number }[]).map((r) => [
      r.name,
      r.n,
    ]),
  );
  const n = (...states: string[]) => states.reduce((sum, s) => sum + (counters.get(`item:${s}`) ?? 0), 0);
  return {
    discovered: counters.get('points') ?? 0,
    skipped: n('skipped'),
    queued: n('queued'),
    inFlight: n('submitting', 'submitted'),
    completed: n('completed', 'verified'),
    failed: n('failed'),
  };
}

/** Inventory progress: vaults listed of those selected, and points stored so far (a dozen rows: cheap). */
function readInventoryProgress(store: Store): InventoryProgress {
  return store.sqlite
    .prepare(
      `SELECT count(*) AS vaultsSelected, coalesce(sum(inventory_state = 'done'), 0) AS vaultsDone,
         coalesce(sum(inventory_pages), 0) AS pages
       FROM source_vaults WHERE selected = 1`,
    )
    .get() as InventoryProgress;
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
