// The resume controller: how work pauses for the operator and how it starts again.
//
// Guarantees:
// - One resume path for every trigger (rpctl resume through the API, a changed credentials file); concurrent
//   triggers share one check.
// - After a credentials pause (or while a session is exhausted), work restarts only once STS accepts both
//   accounts' tokens as the configured accounts; otherwise the daemon stays paused and the gate's note says why.
// - A credentials pause in a service re-reads the file once at once: a refresh that landed while the last reload
//   gave up is no change the file watch will report again. A --once run stops on the pause instead.
// Crash behaviour: nothing here is persisted; a restart reads the credentials afresh and pauses again if needed.

import type { DaemonState, ResumeResponse } from '../shared/api.js';
import { type CredentialSession, verifyCredentials } from './aws/credentials.js';
import { type CredentialsWatch, watchCredentialsFile } from './aws/credentials-watch.js';
import type { Account } from './aws/operations.js';
import type { AwsPort, PauseHandler } from './aws/port.js';
import type { EventJournal } from './events.js';
import type { Logger } from './log.js';
import type { Notifier } from './notify.js';
import type { PauseGate, Pauser } from './pause.js';
import type { OperatorPause } from './preflight/phase.js';

/** What asked for the resume: the operator (rpctl resume) or a changed credentials file. */
export type ResumeTrigger = 'operator' | 'credentials-file';

export interface ResumeControllerOptions {
  gate: PauseGate;
  pause: Pauser;
  sessions: Record<Account, CredentialSession>;
  /** The configured account id of each side: STS must name these. */
  accountIds: Record<Account, string>;
  /** STS is asked through here (getCallerIdentity, past the pause gate). */
  port: Pick<AwsPort, 'call'>;
  journal: EventJournal;
  notifier: Pick<Notifier, 'notify'>;
  log: Logger;
  /** Aborted at shutdown: waits on the gate reject, a check under way gives up. */
  signal: AbortSignal;
  /** --once: a credentials pause ends the run (through the pauser) instead of rechecking the file. */
  once: boolean;
  /** The daemon's state, for the answers. */
  state(): DaemonState;
}

export class ResumeController {
  private resuming: Promise<ResumeResponse> | undefined;
  private watch: CredentialsWatch | undefined;

  constructor(private readonly options: ResumeControllerOptions) {}

  /** Pause all work for the operator (reason shown by rpctl status); resolves on resume, rejects on stop. */
  readonly operatorPause: OperatorPause = async (reason, detail, data) => {
    const ours = this.options.pause({ reason, detail, data });
    await this.options.gate.wait(this.options.signal);
    return ours;
  };

  /**
   * The AWS port's handler: every call that meets an exhausted session lands here; the first one pauses and
   * notifies, all of them wait on the gate and then retry with the verified credentials: nothing in flight is lost.
   */
  readonly credentialsExhausted: PauseHandler['credentialsExhausted'] = async (account, failure) => {
    const { sessions, accountIds, gate, log } = this.options;
    const session = sessions[account];
    const detail =
      `${account} account (profile ${session.profile}): AWS rejected its credentials ` +
      `${session.consecutiveFailures} times in a row (${failure.name}); refresh the token: rpcopy resumes by ` +
      'itself once the credentials file holds a working one, or run rpctl resume';
    const data = {
      account,
      accountId: accountIds[account],
      profile: session.profile,
      error: failure.name,
      consecutiveFailures: session.consecutiveFailures,
    };
    if (this.options.pause({ reason: 'credentials', detail, data }) && !this.options.once) {
      void this.recheckAfterPause(account).catch((err: unknown) =>
        log.warn('checking the credentials file after the pause failed', { account, error: err }),
      );
    }
    await gate.wait(this.options.signal);
  };

  /** End the pause if the trigger may: after a credentials pause, only once STS verified both accounts. */
  resume(trigger: ResumeTrigger): Promise<ResumeResponse> {
    this.resuming ??= this.tryResume(trigger).finally(() => {
      this.resuming = undefined;
    });
    return this.resuming;
  }

  /** Watch the shared credentials file: while paused for credentials, a change tries a resume. */
  watchCredentials(file: string): void {
    this.watch = watchCredentialsFile({
      file,
      log: this.options.log.child({ component: 'credentials' }),
      onChange: async () => {
        if (this.options.gate.paused?.reason !== 'credentials' || this.options.signal.aborted) return;
        await this.resume('credentials-file');
      },
    });
  }

  /** Stop watching the credentials file. */
  close(): void {
    this.watch?.close();
  }

  private async tryResume(trigger: ResumeTrigger): Promise<ResumeResponse> {
    const { gate, sessions, accountIds, port, journal, notifier, signal, state } = this.options;
    const paused = gate.paused;
    if (!paused) return { state: state(), resumed: false, message: 'not paused: nothing to resume' };
    const checkCredentials =
      paused.reason === 'credentials' || sessions.source.exhausted || sessions.destination.exhausted;
    if (checkCredentials) {
      let problems: Awaited<ReturnType<typeof verifyCredentials>>;
      try {
        problems = await verifyCredentials({ port, sessions, accountIds, signal });
      } catch (err) {
        if (signal.aborted) return { state: state(), resumed: false, message: 'stopping: not resumed' };
        throw err;
      }
      if (problems.length > 0) {
        const why = problems.map((p) => p.message).join('; ');
        const by = trigger === 'operator' ? 'rpctl resume' : 'the credentials file changed';
        const message =
          `still paused: ${why}. Refresh the token: rpcopy resumes by itself once the credentials file holds ` +
          'a working one, or run rpctl resume again';
        gate.note(`Resume refused (${by}): ${why}`);
        journal.record('warn', 'daemon.resume_refused', message, {
          reason: paused.reason,
          trigger,
          problems: problems.map(({ account, kind }) => ({ account, kind })),
        });
        // The operator who ran rpctl resume reads the answer; a refused automatic resume is news to them.
        if (trigger !== 'operator') {
          void notifier.notify({ event: 'resume_refused', reason: paused.reason, message, trigger });
        }
        return { state: state(), resumed: false, verified: false, message };
      }
    }
    // Resumed or stopped by someone else while the check ran.
    if (gate.paused !== paused) return { state: state(), resumed: false, message: 'not paused: nothing to resume' };
    gate.resume();
    const message =
      trigger === 'operator'
        ? `resumed (was paused: ${paused.reason}${checkCredentials ? '; STS accepted both accounts’ credentials' : ''})`
        : `resumed by itself: the credentials file changed and STS accepted both accounts’ credentials (was paused: ${paused.reason})`;
    journal.record('info', 'daemon.resumed', message, { reason: paused.reason, trigger, verified: checkCredentials });
    void notifier.notify(
      { event: 'resumed', reason: paused.reason, message, trigger },
      { desktop: trigger !== 'operator' },
    );
    return { state: state(), resumed: true, ...(checkCredentials ? { verified: true } : {}), message };
  }

  private async recheckAfterPause(account: Account): Promise<void> {
    if (await this.options.sessions[account].holdsNewKeys()) await this.resume('credentials-file');
  }
}
