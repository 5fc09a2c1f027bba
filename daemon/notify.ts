// Telling the operator that rpcopy needs them (paused) or no longer does
// (resumed, or a resume that was refused), on three channels:
// - a log line, always (journald keeps it; it is the channel that cannot fail);
// - a desktop notification through node-notifier, best effort: on a headless
//   machine (no notify-send, no D-Bus session) it degrades to one logged
//   warning (stack.md §6: node-notifier reports these through its callback);
// - `notify.command`, run through the shell with the event as one JSON line on
//   stdin, bounded by a timeout after which its process group is killed.
// Guarantees: notify() never throws and its promise never rejects; a failing
// or hanging channel is logged and never delays the daemon's work. drain()
// lets the stop path wait (bounded) for deliveries still running, so that a
// `--once` run that exits on a pause still hands its event to the command.
// Events carry no credential material: callers pass account names, profile
// names, error names and messages, never keys.

import { spawn } from 'node:child_process';
import type { Logger } from './log.js';

export type OperatorEventKind = 'paused' | 'resumed' | 'resume_refused';

export interface OperatorEvent {
  event: OperatorEventKind;
  /** Why the daemon paused: `credentials`, `preflight`, ... */
  reason: string;
  /** What happened and what the operator should do, in one sentence. */
  message: string;
  /** Anything else worth knowing (account, profile, error name, trigger); never credentials. */
  [field: string]: unknown;
}

/** Shows one desktop notification; calls `done` once, with an error if it could not be shown. */
export type DesktopNotify = (title: string, message: string, done: (err: Error | null) => void) => void;

export interface NotifierOptions {
  log: Logger;
  /** notify.desktop: try a desktop notification. */
  desktop: boolean;
  /** notify.command: a shell command line that receives each event as JSON on stdin. */
  command?: string;
  /** How long the command (or the desktop notifier) may take before it is given up on (killed). */
  timeoutMs?: number;
  /** Replaces node-notifier (tests). */
  desktopNotify?: DesktopNotify;
  now?: () => Date;
}

export interface Notifier {
  /** Deliver an event; `desktop: false` skips the desktop channel (the operator is at the terminal already). */
  notify(event: OperatorEvent, channels?: { desktop?: boolean }): Promise<void>;
  /** Wait for deliveries still running, at most `timeoutMs`. */
  drain(timeoutMs: number): Promise<void>;
  /** New notify.desktop and notify.command (a config reload), used from the next event. */
  setChannels(channels: { desktop: boolean; command?: string | undefined }): void;
}

const TITLE = 'rpcopy';
/** Enough of a failing command's stderr to say why, not enough to flood the log. */
const STDERR_TAIL = 2000;

async function loadNodeNotifier(): Promise<DesktopNotify> {
  // Loaded on first use, not at import: node-notifier probes the platform when it is loaded.
  const { default: notifier } = await import('node-notifier');
  return (title, message, done) => {
    notifier.notify({ title, message, wait: false }, (err) => done(err ?? null));
  };
}

export function createNotifier(options: NotifierOptions): Notifier {
  const { log } = options;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const now = options.now ?? (() => new Date());
  const pending = new Set<Promise<void>>();
  let channelConfig = { desktop: options.desktop, command: options.command };
  let desktop: Promise<DesktopNotify | undefined> | undefined;
  let desktopWarned = false;

  const desktopUnavailable = (err: unknown) => {
    const fields = { error: err instanceof Error ? err.message : String(err) };
    // Warn once: on a headless host every event would otherwise repeat the same warning.
    if (desktopWarned) {
      log.debug('desktop notification failed', fields);
      return;
    }
    desktopWarned = true;
    log.warn('desktop notifications are not available here; operator events go to the log and notify.command', fields);
  };

  const showDesktop = async (message: string): Promise<void> => {
    desktop ??= options.desktopNotify
      ? Promise.resolve(options.desktopNotify)
      : loadNodeNotifier().catch((err: unknown) => {
          desktopUnavailable(err);
          return undefined;
        });
    const show = await desktop;
    if (!show) return;
    await new Promise<void>((resolve) => {
      let settled = false;
      const timer = setTimeout(() => finish(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      function finish(err: Error | null) {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) desktopUnavailable(err);
        resolve();
      }
      try {
        show(TITLE, message, finish);
      } catch (err) {
        finish(err as Error);
      }
    });
  };

  const runCommand = (command: string, payload: string, kind: OperatorEventKind): Promise<void> =>
    new Promise<void>((resolve) => {
      let stderr = '';
      let timedOut = false;
      let child: ReturnType<typeof spawn>;
      try {
        // Its own process group, so a timeout kills whatever the shell started too.
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
          log.warn('notify.command failed', {
            event: kind,
            exitCode: code,
            signal,
            stderr: stderr.trim(),
          });
        } else {
          log.debug('notify.command received the event', { event: kind });
        }
        resolve();
      });
    });

  const deliver = async (event: OperatorEvent, channels: { desktop?: boolean }): Promise<void> => {
    const full = { ...event, time: now().toISOString() };
    const level = event.event === 'resumed' ? 'info' : 'warn';
    log[level](`operator ${event.event === 'paused' ? 'needed' : 'notified'}: ${event.message}`, {
      notify: event.event,
      reason: event.reason,
    });
    const work: Promise<void>[] = [];
    const { desktop: onDesktop, command } = channelConfig;
    if (onDesktop && channels.desktop !== false) work.push(showDesktop(event.message));
    if (command) work.push(runCommand(command, `${JSON.stringify(full)}\n`, event.event));
    await Promise.all(work);
  };

  return {
    notify(event, channels = {}) {
      const delivery = deliver(event, channels).catch((err: unknown) => {
        // Unreachable by construction; kept so that a notification can never become an unhandled rejection.
        log.warn('notifying the operator failed', { error: err });
      });
      pending.add(delivery);
      void delivery.then(() => pending.delete(delivery));
      return delivery;
    },
    async drain(bound) {
      if (pending.size === 0) return;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...pending]),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, bound);
        }),
      ]);
      clearTimeout(timer);
    },
    setChannels(next) {
      channelConfig = { desktop: next.desktop, command: next.command };
    },
  };
}
