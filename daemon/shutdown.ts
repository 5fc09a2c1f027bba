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
