// The desktop channel of operator notifications, best effort: node-notifier, loaded on first use; on a headless
// machine (no notify-send, no D-Bus session) it degrades to one logged warning, then debug lines. show() never
// rejects and gives up after the timeout.

import type { Logger } from './log.js';

/** Shows one desktop notification; calls `done` once, with an error if it could not be shown. */
export type DesktopNotify = (title: string, message: string, done: (err: Error | null) => void) => void;

const TITLE = 'rpcopy';

async function loadNodeNotifier(): Promise<DesktopNotify> {
  // Loaded on first use, not at import: node-notifier probes the platform when it is loaded.
  const { default: notifier } = await import('node-notifier');
  return (title, message, done) => {
    notifier.notify({ title, message, wait: false }, (err) => done(err ?? null));
  };
}

export class DesktopChannel {
  private notifier: Promise<DesktopNotify | undefined> | undefined;
  private warned = false;

  /** `replacement` stands in for node-notifier (tests). */
  constructor(
    private readonly log: Logger,
    private readonly timeoutMs: number,
    private readonly replacement?: DesktopNotify,
  ) {}

  async show(message: string): Promise<void> {
    this.notifier ??= this.replacement
      ? Promise.resolve(this.replacement)
      : loadNodeNotifier().catch((err: unknown) => {
          this.unavailable(err);
          return undefined;
        });
    const show = await this.notifier;
    if (!show) return;
    const { timeoutMs } = this;
    await new Promise<void>((resolve) => {
      let settled = false;
      const timer = setTimeout(() => finish(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      const finish = (err: Error | null) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) this.unavailable(err);
        resolve();
      };
      try {
        show(TITLE, message, finish);
      } catch (err) {
        finish(err as Error);
      }
    });
  }

  private unavailable(err: unknown): void {
    const fields = { error: err instanceof Error ? err.message : String(err) };
    // Warn once: on a headless host every event would otherwise repeat the same warning.
    if (this.warned) {
      this.log.debug('desktop notification failed', fields);
      return;
    }
    this.warned = true;
    this.log.warn(
      'desktop notifications are not available here; operator events go to the log and notify.command',
      fields,
    );
  }
}
