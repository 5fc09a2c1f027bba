// One shutdown path for SIGINT, SIGTERM, `rpctl stop` and the end of a window.
//
// request() flips the daemon into stopping: the abort signal tells every loop
// to stop claiming work. drain() then waits for the calls in flight, bounded
// by the configured timeout, so a stuck AWS call cannot hold the process past
// systemd's stop timeout. Work that is cut off at the bound is safe: every
// item's state is committed before its AWS call, and reconciliation settles it.

import { setMaxListeners } from 'node:events';

export class Shutdown {
  private readonly controller = new AbortController();

  constructor() {
    // Every waiting AWS call and backoff listens to this one signal: hundreds at once are expected.
    setMaxListeners(0, this.controller.signal);
  }

  private readonly inFlight = new Set<Promise<unknown>>();
  private reasonText: string | undefined;

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get requested(): boolean {
    return this.controller.signal.aborted;
  }

  get reason(): string | undefined {
    return this.reasonText;
  }

  /** Ask everything to stop taking work; the first reason wins. Returns false if already requested. */
  request(reason: string): boolean {
    if (this.requested) return false;
    this.reasonText = reason;
    this.controller.abort(new Error(reason));
    return true;
  }

  /** Track a unit of in-flight work so drain() waits for it. */
  track<T>(work: Promise<T>): Promise<T> {
    this.inFlight.add(work);
    const forget = () => this.inFlight.delete(work);
    work.then(forget, forget);
    return work;
  }

  get pending(): number {
    return this.inFlight.size;
  }

  /** Wait for tracked work, at most timeoutMs. Resolves with the number of units cut off. */
  async drain(timeoutMs: number): Promise<number> {
    if (this.inFlight.size === 0) return 0;
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const all = Promise.allSettled([...this.inFlight]).then(() => 'done' as const);
    const outcome = await Promise.race([all, bound]);
    clearTimeout(timer);
    return outcome === 'timeout' ? this.inFlight.size : 0;
  }
}

/** One thing the daemon holds until it stops: a file, a thread, a timer, a listener. */
export interface Closer<Context> {
  /** Named in the error when closing it fails. */
  name: string;
  /** The graceful path: awaited in turn, the last added first. */
  close(context: Context): void | Promise<void>;
  /** The immediate path (a second SIGINT): synchronous; absent when exiting the process is enough. */
  abort?(): void;
}

/**
 * The one ordered list of what to release: each part is added as it is acquired and released in the reverse
 * order, so a graceful stop, a failed start (only what was acquired so far) and an immediate exit share one list.
 */
export class Closers<Context> {
  private readonly list: Closer<Context>[] = [];

  add(closer: Closer<Context>): void {
    this.list.push(closer);
  }

  /** Close everything, the last added first. Each closer runs once; a failure stops the sequence. */
  async close(context: Context): Promise<void> {
    while (this.list.length > 0) {
      const closer = this.list.pop() as Closer<Context>;
      try {
        await closer.close(context);
      } catch (err) {
        throw new Error(`closing ${closer.name} failed: ${(err as Error).message}`, { cause: err });
      }
    }
  }

  /** Release what must not outlive the process, now and without waiting: the last added first. */
  abort(): void {
    for (const closer of [...this.list].reverse()) closer.abort?.();
  }
}

/** The daemon's graceful stop: the first call's reason and outcome stand; later calls share its promise. */
export interface Stopper<Outcome> {
  /** Request the shutdown, then run the closers; resolves with the outcome once everything is released. */
  stop(reason: string, outcome: Outcome): Promise<Outcome>;
  /** Resolves once a stop has released everything. */
  readonly finished: Promise<Outcome>;
}

export function createStopper<Outcome>(
  shutdown: Shutdown,
  closers: Closers<{ reason: string; outcome?: Outcome }>,
): Stopper<Outcome> {
  let stopping: Promise<Outcome> | undefined;
  let resolveFinished!: (outcome: Outcome) => void;
  const finished = new Promise<Outcome>((resolve) => {
    resolveFinished = resolve;
  });
  return {
    finished,
    stop(reason, outcome) {
      if (stopping) return stopping;
      shutdown.request(reason);
      stopping = closers.close({ reason, outcome }).then(() => {
        resolveFinished(outcome);
        return outcome;
      });
      return stopping;
    },
  };
}
