// The run loop: the one place that decides when the pipeline's work may run.
//
// Guarantees:
// - Work runs only inside an open change window and within the run's time: every run (the first, and each rerun
//   an operator asks for with rpctl retry or rpctl reset) goes through the same loop, waits for the window,
//   and ends at the window's close or when max runtime is used up (stop claiming; in-flight calls finish).
// - window.max_runtime with daily windows caps the work per window occurrence: from the first moment work starts
//   in that occurrence (recorded in the store, so a restart inside the occurrence gets no fresh budget) until
//   max_runtime later or the close, whichever is first; after that the loop waits for the next occurrence.
//   Without daily windows, and for rpcopyd --max-runtime, it caps the daemon process's run: when it is up, the
//   loop ends with 'window_closed'.
// - No copy job starts from `drainFrom` on (window.drain, or rpctl set drain, before the run's deadline).
// - state, window and drainFrom describe what the loop is doing now: waiting_for_window while it waits (also
//   when the occurrence's max runtime is used up: the window is then reported closed until the next one opens).
// Crash behaviour: nothing here is state but the occurrence's first start (one settings row, written before work
// starts); a restart resumes the pipeline from the store through this same loop.

import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LogLevel } from './log.js';
import type { PhaseContext } from './pipeline.js';
import type { ChangeWindow, WindowState } from './window.js';

/** What a run does: the whole pipeline, or (after rpctl retry on a finished pipeline) its copy phase again. */
export type RunWork = 'pipeline' | 'copy';

export type SupervisorOutcome = 'done' | 'stopped' | 'window_closed';

export type SupervisorState = 'starting' | 'waiting_for_window' | 'running' | 'done';

export interface SupervisorClock {
  now(): number;
  /** Resolve after `ms`, or as soon as `signal` aborts (never rejects). */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

const realClock: SupervisorClock = {
  now: () => Date.now(),
  sleep: (ms, signal) => sleep(ms, undefined, { signal }).catch(() => undefined),
};

export interface RunSupervisorOptions {
  window: ChangeWindow;
  /** window.max_runtime, or rpcopyd --max-runtime (then `oneOffRuntime`). */
  maxRuntimeMs?: number;
  /** max runtime came from rpcopyd --max-runtime: it caps this process's run, not each window occurrence. */
  oneOffRuntime?: boolean;
  /** --once: outside the window, or when the run's time is up, the loop ends with 'window_closed'. */
  once: boolean;
  /** window.drain, or the operator's rpctl set drain (read at each run start). */
  drainMs(): number;
  /** When work first started in the window occurrence that opened at `openedAt`, as kept in the store. */
  occurrence: {
    /** The recorded start, if work started in this occurrence. */
    read(openedAt: number): number | undefined;
    /** The recorded start, or `now` recorded as the start. */
    claim(openedAt: number, now: number): number;
  };
  /** Do the work; resolves 'done' when it is complete, 'stopped' when `context.signal` ended it early. */
  work(work: RunWork, context: PhaseContext): Promise<'done' | 'stopped'>;
  /** Aborted at shutdown. */
  signal: AbortSignal;
  track<T>(work: Promise<T>): Promise<T>;
  record(level: LogLevel, kind: string, message: string, data?: Record<string, unknown>): void;
  /** The loop ended: 'done' (nothing more asked for), 'stopped' (shutdown) or 'window_closed' (time is up). */
  onEnd(outcome: SupervisorOutcome): void;
  onError(err: unknown): void;
  clock?: SupervisorClock;
}

/** The work a later request adds to an earlier one: the whole pipeline includes its copy phase. */
function merge(a: RunWork | undefined, b: RunWork): RunWork {
  return a === 'pipeline' || b === 'pipeline' ? 'pipeline' : 'copy';
}

export class RunSupervisor {
  private readonly clock: SupervisorClock;
  private stateValue: SupervisorState = 'starting';
  /** The work of the active loop (undefined: no loop). */
  private job: RunWork | undefined;
  /** Work asked for while the active loop's work was running: done after it. */
  private next: RunWork | undefined;
  private working = false;
  /** Wakes a loop that waits for the window when the work it waits for changes. */
  private wake = new AbortController();
  private view: WindowState;
  private drainFromValue: number | undefined;
  private deadlineValue: number | undefined;
  /** The first start of work in this process (the budget of a one-off or always-open max runtime). */
  private processStart: number | undefined;
  /** Re-derives the running run's deadline from the schedule (set while work runs). */
  private rescheduleRun: (() => void) | undefined;

  constructor(private readonly options: RunSupervisorOptions) {
    this.clock = options.clock ?? realClock;
    this.view = options.window.state(this.clock.now());
  }

  get state(): SupervisorState {
    return this.stateValue;
  }

  /** True while work runs (not while the loop waits for the window). */
  get running(): boolean {
    return this.working;
  }

  /** No copy job starts from this moment on (undefined: no limit, or no run). */
  get drainFrom(): number | undefined {
    return this.drainFromValue;
  }

  /** When the current run must end (undefined: no limit, or no run). */
  get deadline(): number | undefined {
    return this.deadlineValue;
  }

  /** May a new copy job start now? */
  startAllowed(): boolean {
    return this.working && (this.drainFromValue === undefined || this.clock.now() < this.drainFromValue);
  }

  /** The window as rpctl status shows it: the loop's own view while a loop is active, else the schedule's now. */
  window(): WindowState {
    if (this.job !== undefined) return this.view;
    return this.schedule(this.clock.now(), false).view;
  }

  /** The operator changed the drain (rpctl set drain): apply it to the run in progress. */
  setDrain(drainMs: number): void {
    if (this.deadlineValue !== undefined && this.working) this.drainFromValue = this.deadlineValue - drainMs;
  }

  /**
   * The window's schedule changed (a config reload): a loop waiting for its window looks again; a run in
   * progress takes the new deadline, or ends as at a window's close when the new schedule is closed now.
   */
  rescheduled(): void {
    if (this.job === undefined) return;
    if (this.working) this.rescheduleRun?.();
    else this.wake.abort();
  }

  /**
   * Ask for `work` to run. No loop active: a loop starts (and waits for the window like the first run). A loop
   * waiting for its window: it waits for the larger work. Work running: the work runs again once it is done.
   * Returns 'started' or 'queued'.
   */
  request(work: RunWork): 'started' | 'queued' {
    if (this.options.signal.aborted) return 'queued';
    if (this.job === undefined) {
      this.job = work;
      this.loop();
      return 'started';
    }
    if (this.working) this.next = merge(this.next, work);
    else {
      this.job = merge(this.job, work);
      this.wake.abort();
    }
    return 'queued';
  }

  private loop(): void {
    void this.options.track(this.runLoop()).then(
      (outcome) => {
        this.job = undefined;
        this.next = undefined;
        this.drainFromValue = undefined;
        this.deadlineValue = undefined;
        if (outcome === 'done') this.stateValue = 'done';
        this.options.onEnd(outcome);
      },
      (err: unknown) => {
        this.job = undefined;
        this.working = false;
        this.options.onError(err);
      },
    );
  }

  /**
   * What the schedule allows at `now`: an open window with the deadline of a run starting now, or a closed one
   * with the next opening. `claim`: record the occurrence's first start (work is about to start).
   */
  private schedule(now: number, claim: boolean): { view: WindowState; deadline?: number; spent?: boolean } {
    const { window, maxRuntimeMs, oneOffRuntime } = this.options;
    const current = window.state(now);
    if (!current.open) return { view: current };
    if (maxRuntimeMs === undefined)
      return { view: current, ...(current.closesAt ? { deadline: current.closesAt } : {}) };
    let budgetStart: number;
    if (window.scheduled && !oneOffRuntime && current.openedAt !== undefined) {
      budgetStart = claim
        ? this.options.occurrence.claim(current.openedAt, now)
        : (this.options.occurrence.read(current.openedAt) ?? now);
    } else {
      budgetStart = this.processStart ?? now;
      if (claim) this.processStart ??= now;
    }
    const byRuntime = budgetStart + maxRuntimeMs;
    if (byRuntime <= now) {
      // This occurrence's max runtime is used up: closed for work until the next occurrence opens.
      const after = current.closesAt === undefined ? undefined : window.state(current.closesAt);
      return {
        view: { open: false, ...(after?.opensAt !== undefined ? { opensAt: after.opensAt } : {}) },
        spent: true,
      };
    }
    const deadline = current.closesAt === undefined ? byRuntime : Math.min(current.closesAt, byRuntime);
    return { view: current, deadline };
  }

  private async runLoop(): Promise<SupervisorOutcome> {
    const { options } = this;
    for (;;) {
      if (options.signal.aborted) return 'stopped';
      const now = this.clock.now();
      const peek = this.schedule(now, false);
      if (!peek.view.open) {
        this.view = peek.view;
        this.stateValue = 'waiting_for_window';
        const opensAt = peek.view.opensAt;
        const opens = opensAt !== undefined ? new Date(opensAt).toISOString() : 'never (no window day configured)';
        options.record(
          'info',
          'window.waiting',
          peek.spent
            ? `window.max_runtime is used up in this window: no work starts until ${opens}`
            : `outside the change window: no work starts until ${opens}`,
          { opensAt: opensAt ?? null, ...(peek.spent ? { maxRuntimeSpent: true } : {}) },
        );
        if (options.once) return 'window_closed';
        // A spent budget without windows (or a one-off run's) does not come back: the run is over.
        if (peek.spent && (options.oneOffRuntime || !options.window.scheduled)) return 'window_closed';
        // Re-check at least every minute: a clock change or a suspended machine moves the next opening.
        const wait = Math.min(Math.max((opensAt ?? now + 60_000) - now, 1_000), 60_000);
        this.wake = new AbortController();
        await this.clock.sleep(wait, AbortSignal.any([options.signal, this.wake.signal]));
        continue;
      }
      const { view, deadline } = this.schedule(now, true);
      this.view = view;
      this.stateValue = 'running';
      this.deadlineValue = deadline;
      this.drainFromValue = deadline === undefined ? undefined : deadline - options.drainMs();
      const runEnd = new AbortController();
      const signal = AbortSignal.any([options.signal, runEnd.signal]);
      // Like the shutdown signal it combines: every waiting AWS call listens to it, hundreds at once.
      setMaxListeners(0, signal);
      // The deadline's timer; a reschedule replaces it, and the run's end cancels it.
      let timer = new AbortController();
      const arm = (until: number | undefined, from: number) => {
        timer.abort();
        timer = new AbortController();
        if (until === undefined) return;
        const mine = timer;
        void this.clock.sleep(until - from, AbortSignal.any([signal, mine.signal])).then(() => {
          if (!mine.signal.aborted) runEnd.abort('window closed');
        });
      };
      if (deadline !== undefined) {
        options.record('info', 'window.open', `working until ${new Date(deadline).toISOString()}`, {
          deadline,
          drainFrom: this.drainFromValue ?? null,
        });
      }
      arm(deadline, now);
      this.rescheduleRun = () => {
        const at = this.clock.now();
        const next = this.schedule(at, true);
        if (!next.view.open) {
          runEnd.abort('window closed');
          return;
        }
        this.view = next.view;
        this.deadlineValue = next.deadline;
        this.drainFromValue = next.deadline === undefined ? undefined : next.deadline - options.drainMs();
        options.record('info', 'window.rescheduled', 'the change window changed: the run goes on under it', {
          deadline: next.deadline ?? null,
          drainFrom: this.drainFromValue ?? null,
        });
        arm(next.deadline, at);
      };
      const work = this.job ?? 'pipeline';
      this.working = true;
      let outcome: 'done' | 'stopped';
      try {
        outcome = await options.work(work, { signal, track: (w) => options.track(w) });
      } finally {
        this.working = false;
        this.rescheduleRun = undefined;
        timer.abort();
        this.drainFromValue = undefined;
      }
      if (outcome === 'done') {
        // Work asked for while this ran (an operator's reset or retry): run it, through the window check.
        if (this.next !== undefined && !options.signal.aborted) {
          this.job = this.next;
          this.next = undefined;
          continue;
        }
        return 'done';
      }
      if (options.signal.aborted) return 'stopped';
      options.record('info', 'window.closed', 'the run’s time is up: stopped claiming work; progress is saved', {
        deadline: deadline ?? null,
      });
      // A one-off run (--once, --max-runtime, or max_runtime without daily windows) ends here.
      if (options.once || options.oneOffRuntime || !options.window.scheduled) return 'window_closed';
      // Work asked for meanwhile joins the work that resumes in the next window.
      if (this.next !== undefined) {
        this.job = merge(this.job, this.next);
        this.next = undefined;
      }
    }
  }
}
