// The pause gate: when the operator is needed (credentials rejected three
// times, a failed preflight), all work waits here instead of failing. Nothing
// in flight is lost: calls simply await the gate, then carry on. The gate
// opens on `rpctl resume`, or for a credentials pause when the credentials
// file changes; either way only after the new token is verified (resume.ts).

import type { EventJournal } from './events.js';
import type { Notifier } from './notify.js';

export interface PauseState {
  reason: string;
  detail: string;
  since: number;
  /** The latest development while paused, e.g. why the last resume was refused. */
  note?: string;
}

export class PauseGate {
  private state: PauseState | undefined;
  private waiters: (() => void)[] = [];

  get paused(): PauseState | undefined {
    return this.state;
  }

  /** Close the gate; a second pause while paused keeps the first reason. Returns true if it was open. */
  pause(reason: string, detail: string, now = Date.now()): boolean {
    if (this.state) return false;
    this.state = { reason, detail, since: now };
    return true;
  }

  /** Say what happened since the pause began (a resume was refused, and why); replaces any earlier note. */
  note(text: string): void {
    if (this.state) this.state.note = text;
  }

  /** Open the gate and release everyone waiting. Returns the state it ended, if any. */
  resume(): PauseState | undefined {
    const ended = this.state;
    this.state = undefined;
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
    return ended;
  }

  /** Resolves at once when open, else when resumed; rejects if the signal aborts first. */
  wait(signal?: AbortSignal): Promise<void> {
    if (!this.state) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.waiters = this.waiters.filter((w) => w !== wake);
        reject(signal?.reason);
      };
      const wake = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(wake);
    });
  }
}

/** A pause as the daemon announces it. */
export interface PauseRequest {
  /** Shown by rpctl status and carried by the journal record and the notification: `credentials`, `preflight`, ... */
  reason: string;
  detail: string;
  /** Fields for the journal record and the notification beside the reason; never credentials. */
  data?: Record<string, unknown>;
  /** The operator's own pause (rpctl pause): a warning, not an error, and a --once run waits instead of exiting. */
  byOperator?: boolean;
}

/** Close the gate and announce it. Returns false when already paused: the first reason stands, nothing is said. */
export type Pauser = (request: PauseRequest) => boolean;

export interface PauserOptions {
  gate: PauseGate;
  journal: EventJournal;
  notifier: Pick<Notifier, 'notify'>;
  /** After a pause that waits for the operator was announced: a --once run stops here (exit 8). */
  onOperatorNeeded(): void;
}

/** The one way work pauses: close the gate, record `daemon.paused`, notify, then let --once stop. */
export function createPauser({ gate, journal, notifier, onOperatorNeeded }: PauserOptions): Pauser {
  return ({ reason, detail, data, byOperator = false }) => {
    if (!gate.pause(reason, detail)) return false;
    journal.record(byOperator ? 'warn' : 'error', 'daemon.paused', detail, { reason, ...data });
    void notifier.notify({ event: 'paused', reason, message: detail, ...data });
    if (!byOperator) onOperatorNeeded();
    return true;
  };
}
