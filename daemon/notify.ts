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

import type { Logger } from './log.js';
import { runNotifyCommand } from './notify-command.js';
import { DesktopChannel, type DesktopNotify } from './notify-desktop.js';
import { DeliveryQueue } from './notify-queue.js';

export type { DesktopNotify } from './notify-desktop.js';

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

export function createNotifier(options: NotifierOptions): Notifier {
  const { log } = options;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const now = options.now ?? (() => new Date());
  const queue = new DeliveryQueue();
  const desktop = new DesktopChannel(log, timeoutMs, options.desktopNotify);
  let channelConfig = { desktop: options.desktop, command: options.command };

  const deliver = async (event: OperatorEvent, channels: { desktop?: boolean }): Promise<void> => {
    const full = { ...event, time: now().toISOString() };
    const level = event.event === 'resumed' ? 'info' : 'warn';
    log[level](`operator ${event.event === 'paused' ? 'needed' : 'notified'}: ${event.message}`, {
      notify: event.event,
      reason: event.reason,
    });
    const work: Promise<void>[] = [];
    const { desktop: onDesktop, command } = channelConfig;
    if (onDesktop && channels.desktop !== false) work.push(desktop.show(event.message));
    if (command) {
      const payload = `${JSON.stringify(full)}\n`;
      work.push(runNotifyCommand({ command, payload, kind: event.event, timeoutMs, log }));
    }
    await Promise.all(work);
  };

  return {
    notify(event, channels = {}) {
      const delivery = deliver(event, channels).catch((err: unknown) => {
        // Unreachable by construction; kept so that a notification can never become an unhandled rejection.
        log.warn('notifying the operator failed', { error: err });
      });
      queue.add(delivery);
      return delivery;
    },
    drain: (bound) => queue.drain(bound),
    setChannels(next) {
      channelConfig = { desktop: next.desktop, command: next.command };
    },
  };
}
