// notify.command: one run of the operator's shell command with the event as one JSON line on stdin. Never rejects:
// a command that cannot start, fails or hangs is logged. Its own process group, so a timeout kills whatever the
// shell started too.

import { spawn } from 'node:child_process';
import type { Logger } from './log.js';

/** Enough of a failing command's stderr to say why, not enough to flood the log. */
const STDERR_TAIL = 2000;

export interface NotifyCommandRun {
  command: string;
  /** The event as one JSON line. */
  payload: string;
  /** The event's kind, for the log. */
  kind: string;
  timeoutMs: number;
  log: Logger;
}

export function runNotifyCommand({ command, payload, kind, timeoutMs, log }: NotifyCommandRun): Promise<void> {
  return new Promise<void>((resolve) => {
    let stderr = '';
    let timedOut = false;
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(command, { shell: true, detached: true, stdio: ['pipe', 'ignore', 'pipe'] });
    } catch (err) {
      log.warn('notify.command could not be started', { error: err });
      resolve();
      return;
    }
    const killGroup = (signal: NodeJS.Signals) => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, signal);
      } catch {
        // Already gone.
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup('SIGTERM');
      setTimeout(() => killGroup('SIGKILL'), 1000).unref();
    }, timeoutMs);
    timer.unref();
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-STDERR_TAIL);
    });
    // A command that does not read its stdin closes the pipe early (EPIPE): not a failure of the command.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(payload);
    child.once('error', (err) => {
      clearTimeout(timer);
      log.warn('notify.command could not be run', { event: kind, error: err });
      resolve();
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) {
        log.warn('notify.command did not finish in time and was stopped', { event: kind, timeoutMs });
      } else if (code !== 0) {
        log.warn('notify.command failed', { event: kind, exitCode: code, signal, stderr: stderr.trim() });
      } else {
        log.debug('notify.command received the event', { event: kind });
      }
      resolve();
    });
  });
}
