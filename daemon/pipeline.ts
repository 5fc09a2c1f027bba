// The pipeline: inventory → enrich → plan → vaults → copy, each phase
// resumable and idempotent (the store records where each stands), run in
// order. A phase returns 'done' when its work is complete and 'stopped' when
// it gave up early because shutdown was requested; a stopped pipeline is
// resumed by the next run from the store, never restarted from scratch.

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
}

export type PipelineOutcome = 'done' | 'stopped';

export class Pipeline {
  private current: Phase = 'idle';

  constructor(private readonly phases: readonly PipelinePhase[]) {}

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
    for (const phase of this.phases) {
      if (context.signal.aborted) return 'stopped';
      this.current = phase.name;
      const outcome = await phase.run(context);
      if (outcome === 'stopped') return 'stopped';
    }
    this.current = 'done';
    return 'done';
  }
}
