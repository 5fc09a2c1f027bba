// What the control API's routes call (daemon/api.ts): the daemon's named parts behind the ApiServices interface.
// Handlers answer from cheap reads or flip flags; scans run on read workers and AWS checks never wait on the
// pause gate. Each group below is one kind of request: the daemon's lifecycle, changes to the state, reports,
// and on-demand AWS checks.

import type { DaemonState, StatusResponse } from '../shared/api.js';
import type { Config } from '../shared/config.js';
import { durationText } from '../shared/config-view.js';
import { RpcopyError } from '../shared/errors.js';
import type { ApiServices } from './api.js';
import type { AwsPort } from './aws/port.js';
import { checkCompliance } from './compliance/check.js';
import { FAILURE_REASONS } from './copy/failures.js';
import type { CopyPhase } from './copy/phase.js';
import { reconcileReport } from './copy/reconcile.js';
import { CopyQueue } from './copy/repo.js';
import { costForecast } from './cost/forecast.js';
import { loadPrices } from './cost/prices.js';
import { csvProblemsPage } from './enrich/gate.js';
import type { EventJournal } from './events.js';
import { forecast, JobSamples } from './forecast.js';
import type { PauseGate, Pauser } from './pause.js';
import { planPoints } from './plan/phase.js';
import { SKIP_REASONS } from './plan/reasons.js';
import { planReport } from './plan/report.js';
import { runPreflight } from './preflight/checks.js';
import { remainingWork } from './read-model.js';
import type { Reloader } from './reload.js';
import { reportPoints } from './report/points.js';
import { reportSummary } from './report/summary.js';
import { parseResetTarget, resetState } from './reset.js';
import type { ResumeController } from './resume.js';
import type { RunSupervisor } from './run-supervisor.js';
import { deleteSetting, type LiveSettings, parseSetting, parseSettingKey, saveSetting } from './settings.js';
import { ReadWorker } from './store/read-worker.js';
import type { Store } from './store/store.js';
import type { WatchHub } from './watch.js';
import type { ChangeWindow } from './window.js';

/** The read workers the API starts on first use (one thread each, kept until the daemon stops). */
export class ReadWorkers {
  private planWorker: ReadWorker | undefined;
  private costWorker: ReadWorker | undefined;

  constructor(private readonly storeFile: string) {}

  /** The plan report's plan-wide scans. */
  get plan(): ReadWorker {
    this.planWorker ??= new ReadWorker(this.storeFile, 'the plan report worker');
    return this.planWorker;
  }

  /** The cost forecast's reads. */
  get cost(): ReadWorker {
    this.costWorker ??= new ReadWorker(this.storeFile, 'the cost forecast worker');
    return this.costWorker;
  }

  async close(): Promise<void> {
    await this.planWorker?.close();
    await this.costWorker?.close();
  }

  /** Start closing both without waiting (the immediate exit). */
  abort(): void {
    void this.planWorker?.close();
    void this.costWorker?.close();
  }
}

/** The daemon's parts the API reaches. */
export interface ApiServiceParts {
  config: Config;
  /** rpctl config show and rpctl reload (reload.ts). */
  reloader: Pick<Reloader, 'show' | 'reload'>;
  version: string;
  mode: 'service' | 'once';
  startedAt: Date;
  /** window.max_runtime, or rpcopyd --max-runtime. */
  maxRuntimeMs: number | undefined;
  runId: number;
  store: Store;
  journal: EventJournal;
  port: AwsPort;
  gate: PauseGate;
  pause: Pauser;
  resume: Pick<ResumeController, 'resume'>;
  supervisor: Pick<RunSupervisor, 'running' | 'state' | 'request'>;
  changeWindow: ChangeWindow;
  /** The copy engine (absent in a dry run or with --no-copy). */
  copy: CopyPhase | undefined;
  settings: Pick<LiveSettings, 'apply' | 'clear'>;
  watchHub: Pick<WatchHub, 'connect'>;
  readers: ReadWorkers;
  /** Aborted at shutdown. */
  signal: AbortSignal;
  status(): StatusResponse;
  state(): DaemonState;
  /** The graceful stop; returns at once. */
  stop(reason: string): void;
}

/** The daemon's lifecycle: health, status, config and its reload, stop, pause, resume. */
function lifecycle(
  parts: ApiServiceParts,
): Pick<ApiServices, 'health' | 'status' | 'config' | 'reload' | 'stop' | 'pause' | 'resume'> {
  const { version, gate, state, reloader } = parts;
  return {
    health: () => ({ ok: true, pid: process.pid, version }),
    status: parts.status,
    config: () => reloader.show(),
    reload: () => reloader.reload('rpctl reload'),
    stop: () => {
      parts.stop('rpctl stop');
      return {
        state: state(),
        message: 'stopping: in-flight work finishes, progress is saved, then the daemon exits',
      };
    },
    pause: () => {
      const detail =
        'paused by the operator (rpctl pause): calls in flight finish, nothing new starts; rpctl resume continues';
      const paused = parts.pause({ reason: 'operator', detail, byOperator: true });
      return {
        state: state(),
        paused,
        message: paused ? detail : `already paused (${gate.paused?.reason ?? 'unknown'}): rpctl resume continues`,
      };
    },
    resume: () => parts.resume.resume('operator'),
  };
}

/** Changes to the state: live settings, resets and requeues, each followed by the run it calls for. */
function stateChanges(parts: ApiServiceParts): Pick<ApiServices, 'set' | 'reset' | 'retry'> {
  const { store, journal, gate, supervisor, copy, mode, runId } = parts;
  return {
    set: (request) => {
      if ('clear' in request) {
        const key = parseSettingKey(request.key);
        const had = deleteSetting(store, key);
        const now = parts.settings.clear(key, parts.config.copy.maxInFlight);
        const shown = now.key === 'drain' ? durationText(now.value) : String(now.value);
        const configKey = key === 'drain' ? 'window.drain' : 'copy.max_in_flight';
        if (had) {
          journal.record('info', 'settings.cleared', `${key} override lifted: ${configKey} applies (${shown})`, {
            key,
            value: now.value,
          });
        }
        return {
          key,
          value: now.value,
          cleared: had,
          message: had
            ? `${key} override lifted: ${configKey} applies again (${shown})`
            : `${key} was not set by rpctl set: ${configKey} applies (${shown})`,
        };
      }
      const { key, value } = request;
      const setting = parseSetting(key, value);
      saveSetting(store, setting);
      parts.settings.apply(setting);
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
  };
}

/** Reports from the store: the plan and the CSV's problems, the forecast, the per-point report and rpctl watch's stream. */
function reports(
  parts: ApiServiceParts,
): Pick<ApiServices, 'plan' | 'planPoints' | 'csvProblems' | 'forecast' | 'reportPoints' | 'reportSummary' | 'watch'> {
  const { config, store, copy, readers, signal, maxRuntimeMs } = parts;
  return {
    plan: () => planReport(store, readers.plan, config),
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
    forecast: async () => {
      const { remaining, heaviestChainPriorSeconds } = await remainingWork(readers.cost);
      const now = Date.now();
      const f = forecast({
        now,
        remaining,
        heaviestChainPriorSeconds,
        concurrency: copy?.concurrency ?? config.copy.maxInFlight,
        startRatePerSecond: config.copy.startRate,
        samples: copy?.samples ?? new JobSamples(),
        window: parts.changeWindow,
        ...(maxRuntimeMs !== undefined ? { maxRuntimeMs, runStartedAt: parts.startedAt.getTime() } : {}),
      });
      const prices = loadPrices(config);
      const cost = await costForecast(readers.cost, {
        now,
        finishAt: f.finishAt,
        workMs: f.workMs,
        region: config.region,
        ...prices,
      });
      return { ...f, cost };
    },
    reportPoints: (query) => reportPoints(store, query),
    reportSummary: () => reportSummary(store, { signal }),
    watch: () => parts.watchHub.connect(),
  };
}

/** On-demand AWS checks, answered while the pipeline may be paused: these calls do not wait on the pause gate. */
function awsChecks(parts: ApiServiceParts): Pick<ApiServices, 'preflight' | 'compliance' | 'reconcile'> {
  const { config, store, port, signal, runId } = parts;
  return {
    preflight: async () => {
      const checks = await runPreflight({
        port,
        store,
        config,
        signal,
        callOptions: { ignorePause: true },
        vaultPolicies: 'strict',
      });
      return { ok: !checks.some((c) => c.status === 'fail'), checkedAt: new Date().toISOString(), checks };
    },
    compliance: async () => {
      const result = await checkCompliance({ port, store, config, signal, callOptions: { ignorePause: true } });
      return { ok: result.drift.length === 0, checkedAt: new Date().toISOString(), ...result };
    },
    reconcile: async () => reconcileReport(store, new CopyQueue(store, runId), port, signal, { ignorePause: true }),
  };
}

/** The control API's services, from the daemon's parts. */
export function apiServices(parts: ApiServiceParts): ApiServices {
  return { ...lifecycle(parts), ...stateChanges(parts), ...reports(parts), ...awsChecks(parts) };
}
