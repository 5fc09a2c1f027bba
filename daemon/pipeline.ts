// The pipeline: inventory → enrich → plan → vaults → copy, each phase
// resumable and idempotent (the store records where each stands), run in
// order. A phase returns 'done' when its work is complete and 'stopped' when
// it gave up early because shutdown was requested; a stopped pipeline is
// resumed by the next run from the store, never restarted from scratch.
// A phase may start the part of its work that needs nothing from the phases
// before it when a pass begins (the metadata CSV loads while the inventory
// lists); its run() still comes in order and finishes that work first.
// A refresh of the inventory that comes due while the copy phase runs (it runs
// for weeks) stops that phase like a window end and runs the pipeline again
// from the inventory, so the plan is re-decided on fresh data.

import { setMaxListeners } from 'node:events';
import type { Phase } from '../shared/api.js';

export interface PhaseContext {
  /** Aborted when the daemon stops taking work (signal, rpctl stop, window end). */
  signal: AbortSignal;
  /** Track a unit of in-flight work so shutdown waits for it (bounded). */
  track<T>(work: Promise<T>): Promise<T>;
}

export interface PipelinePhase {
  readonly name: Exclude<Phase, 'idle' | 'done'>;
  run(context: PhaseContext): Promise<'done' | 'stopped'>;
  /**
   * Work that needs nothing from the phases before this one, started when a pass of the pipeline starts so it
   * runs alongside them; run() then finishes it. It must be safe to stop or crash at any moment, like run().
   */
  start?(context: PhaseContext): void;
}

export type PipelineOutcome = 'done' | 'stopped';

export interface PipelineRefresh {
  /** When the inventory is next due for a refresh (epoch ms); undefined for never. */
  dueAt(): number | undefined;
  /** The refresh interval: a phase that starts with the refresh already due runs at least this long. */
  readonly intervalMs: number;
  /** Told when a refresh stops a phase. */
  onRefresh?(phase: Phase): void;
}

/** setTimeout's largest delay; a longer wait is made of several. */
const MAX_TIMER_MS = 2_147_483_647;

export class Pipeline {
  private current: Phase = 'idle';

  constructor(
    private readonly phases: readonly PipelinePhase[],
    private readonly refresh?: PipelineRefresh,
  ) {}

  get phase(): Phase {
    return this.current;
  }

  get phaseNames(): string[] {
    return this.phases.map((p) => p.name);
  }

  /** Run one phase again after the pipeline finished (a service whose operator requeued work). */
  async rerun(phase: PipelinePhase, context: PhaseContext): Promise<PipelineOutcome> {
    if (context.signal.aborted) return 'stopped';
    this.current = phase.name;
    const outcome = await phase.run(context);
    if (outcome === 'done') this.current = 'done';
    return outcome;
  }

  async run(context: PhaseContext): Promise<PipelineOutcome> {
    for (let i = 0; i < this.phases.length; ) {
      if (context.signal.aborted) return 'stopped';
      if (i === 0) for (const later of this.phases.slice(1)) later.start?.(context);
      const phase = this.phases[i] as PipelinePhase;
      this.current = phase.name;
      // Only the copy phase runs for long; the others always reach it, however short the interval.
      const due = this.refresh && phase.name === 'copy' ? this.refreshTimer(context.signal) : undefined;
      try {
        const outcome = await phase.run(due ? { ...context, signal: due.signal } : context);
        if (outcome === 'stopped') {
          if (context.signal.aborted || !due?.signal.aborted) return 'stopped';
          this.refresh?.onRefresh?.(phase.name);
          i = 0;
          continue;
        }
      } finally {
        due?.cancel();
      }
      i++;
    }
    this.current = 'done';
    return 'done';
  }

  /** A signal that aborts with the run's, or when the inventory refresh comes due. */
  private refreshTimer(outer: AbortSignal): { signal: AbortSignal; cancel: () => void } | undefined {
    const refresh = this.refresh as PipelineRefresh;
    const dueAt = refresh.dueAt();
    if (dueAt === undefined) return undefined;
    const startedAt = Date.now();
    // Due already (the listing took longer than the interval): this phase still gets one interval of work.
    const at = dueAt > startedAt ? dueAt : startedAt + refresh.intervalMs;
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      const left = at - Date.now();
      if (left <= 0) controller.abort('inventory refresh due');
      else timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
    };
    arm();
    const signal = AbortSignal.any([outer, controller.signal]);
    // Like the run's signal: every waiting AWS call of the phase listens to it.
    setMaxListeners(0, signal);
    return { signal, cancel: () => clearTimeout(timer) };
  }
}
