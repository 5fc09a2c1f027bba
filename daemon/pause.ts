// The pause gate: when the operator is needed (credentials rejected three
// times, a failed preflight, rpctl pause), new work waits here instead of
// failing. Nothing in flight is lost: calls simply await the gate, then carry
// on. The gate opens on `rpctl resume`, or for a credentials pause when the
// credentials file changes; either way only after the new token is verified
// (resume.ts).
//
// Two scopes. Submitting new work (a StartCopyJob, an inventory page, a vault
// write) waits for any pause. Tracking work already started (the copy jobs'
// states, the copies' verification) waits only for a pause that keeps AWS from
// answering: a credentials pause, or any pause while a session's credentials
// were rejected. So in-flight jobs are still seen to finish during an
// operator's pause; a credentials pause still freezes everything.

import type { EventJournal } from './events.js';
import type { Notifier } from './notify.js';

export interface PauseState {
  reason: string;
  detail: string;
  since: number;
  /** The latest development while paused, e.g. why the last resume was refused. */
  note?: string;
  /** AWS rejected the credentials: tracking waits too (set by a credentials pause, or one during another pause). */
  credentials: boolean;
}

/** What a caller is about to do: start new work, or follow work already started. */
export type PauseScope = 'submit' | 'track';

export class PauseGate {
  private state: PauseState | undefined;
  private waiters: (() => void)[] = [];

  get paused(): PauseState | undefined {
    return this.state;
  }

  /** True while the scope may go on: open, or (tracking) paused for a reason other than credentials. */
  allows(scope: PauseScope): boolean {
    if (!this.state) return true;
    return scope === 'track' && !this.state.credentials;
  }

  /**
   * Close the gate; a second pause while paused keeps the first reason. Returns true if it was open. A
   * credentials pause during another one is not news to announce (the resume verifies the credentials anyway),
   * but from then on tracking waits as well, and the pause's note says why.
   */
  pause(reason: string, detail: string, now = Date.now()): boolean {
    const credentials = reason === 'credentials';
    if (this.state) {
      if (credentials && !this.state.credentials) {
        this.state.credentials = true;
        this.state.note = `AWS rejected the credentials too, so copy jobs are not followed either: ${detail}`;
      }
      return false;
    }
    this.state = { reason, detail, since: now, credentials };
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

  /** Resolves at once when the scope may go on, else when resumed; rejects if the signal aborts first. */
  wait(signal?: AbortSignal, scope: PauseScope = 'submit'): Promise<void> {
    if (this.allows(scope)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.waiters = this.waiters.filter((w) => w !== wake);
        reject(signal?.reason);
      };
      // Only a resume ends a pause that holds this scope (a pause never narrows while it lasts).
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

/**
 * Close the gate and announce it. Returns false when already paused: the first reason stands, and only credentials
 * rejected during the pause are announced (once).
 */
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
    const before = gate.paused;
    const credentialsKnown = before?.credentials ?? false;
    if (!gate.pause(reason, detail)) {
      // Credentials rejected during another pause (the operator's) are news all the same: whoever resumes later
      // would find them expired without having been told. Said once per pause, as a credentials pause is.
      if (reason === 'credentials' && before && !credentialsKnown) {
        const message = `still paused (${before.reason}), and ${detail}`;
        journal.record('error', 'daemon.credentials_rejected_while_paused', message, {
          reason,
          pausedFor: before.reason,
          ...data,
        });
        void notifier.notify({ event: 'paused', reason, message, pausedFor: before.reason, ...data });
      }
      return false;
    }
    journal.record(byOperator ? 'warn' : 'error', 'daemon.paused', detail, { reason, ...data });
    void notifier.notify({ event: 'paused', reason, message: detail, ...data });
    if (!byOperator) onOperatorNeeded();
    return true;
  };
}
