// rpctl watch: a live view fed by the daemon's event stream (GET /v1/watch), never by polling. A full screen
// with bars when stdout is a terminal (Enter resumes a pause through POST /v1/resume, q or Ctrl-C quits and the
// terminal is restored); plain lines otherwise; --json prints the stream's events as JSON lines.
// Exit 0 when the daemon stops (the stream ends) or on q; 4 when no daemon runs; 1 when the connection is lost.

import { ResumeResponse, ROUTES, WatchJournalEvent, WatchSnapshot, WatchStatus } from '../shared/api.js';
import { RpcopyError } from '../shared/errors.js';
import { socketPath } from '../shared/socket.js';
import type { Command, CommandContext } from './command.js';
import { openWatchStream, type SseMessage } from './watch/stream.js';
import {
  applyEvent,
  applyStatus,
  emptyView,
  plainEventLine,
  plainKey,
  plainStatusLine,
  renderScreen,
  type WatchView,
} from './watch/view.js';

/** No byte (not even a heartbeat) for this long: the daemon is gone or hung. */
const SILENCE_MS = 45_000;
const ESC = '\x1b[';

type Mode = 'screen' | 'plain' | 'json';

/** The same socket resolution as the other commands (command.ts), which only hand out a request/response client. */
function watchSocket(ctx: CommandContext, env: NodeJS.ProcessEnv = process.env): string {
  const stateDir =
    (ctx.values['state-dir'] as string | undefined) ?? env.RPCOPY_STATE_DIR ?? ctx.config().daemon.stateDir;
  return socketPath(stateDir);
}

export const watchCommand: Command = {
  name: 'watch',
  summary: 'live progress: bars per phase and vault, rates, ETA, jobs, events; Enter resumes a pause',
  usage: 'rpctl watch [--json]',
  async run(ctx) {
    const out = process.stdout;
    const mode: Mode = ctx.json ? 'json' : out.isTTY ? 'screen' : 'plain';
    const view: WatchView = emptyView();
    let lastPlainKey: string | undefined;
    let lastState: string | undefined;
    let screen: Screen | undefined;

    const onStatus = (data: WatchStatus, raw: unknown, recent: WatchJournalEvent[] = []) => {
      for (const e of recent) applyEvent(view, e);
      applyStatus(view, data.status, data.vaults, raw);
      lastState = data.status.state;
      if (mode === 'plain') {
        for (const e of recent) out.write(`${plainEventLine(e)}\n`);
        const key = plainKey(data.status, view.vaults);
        if (key !== lastPlainKey) {
          lastPlainKey = key;
          out.write(`${plainStatusLine(data.status, view.vaults, Date.now())}\n`);
        }
      }
      screen?.render();
    };

    const onMessage = (message: SseMessage) => {
      let json: unknown;
      try {
        json = JSON.parse(message.data);
      } catch {
        return;
      }
      if (mode === 'json') {
        out.write(`${JSON.stringify({ event: message.event, data: json })}\n`);
        return;
      }
      if (message.event === 'snapshot') {
        const parsed = WatchSnapshot.safeParse(json);
        if (parsed.success) onStatus(parsed.data, (json as { status?: unknown }).status, parsed.data.recent);
      } else if (message.event === 'status') {
        const parsed = WatchStatus.safeParse(json);
        if (parsed.success) onStatus(parsed.data, (json as { status?: unknown }).status);
      } else if (message.event === 'event') {
        const parsed = WatchJournalEvent.safeParse(json);
        if (!parsed.success) return;
        applyEvent(view, parsed.data);
        if (parsed.data.kind === 'daemon.stopping') lastState = 'stopping';
        if (mode === 'plain') out.write(`${plainEventLine(parsed.data)}\n`);
        screen?.render();
      }
    };

    let silence: NodeJS.Timeout | undefined;
    let silent = false;
    const stream = await openWatchStream(watchSocket(ctx), {
      onMessage,
      onActivity: () => {
        silence?.refresh();
      },
    });
    silence = setTimeout(() => {
      silent = true;
      stream.close();
    }, SILENCE_MS);

    let quit = false;
    if (mode === 'screen') {
      screen = new Screen(view, {
        onQuit: () => {
          quit = true;
          stream.close();
        },
        onEnter: () => {
          if (view.resume?.pending) return;
          view.resume = { pending: true };
          screen?.render();
          ctx
            .client()
            .post(ROUTES.resume, ResumeResponse)
            .then(
              (answer) => {
                view.resume = { pending: false, ok: answer.resumed, message: answer.message };
              },
              (err: unknown) => {
                view.resume = { pending: false, ok: false, message: (err as Error).message };
              },
            )
            .finally(() => screen?.render());
        },
      });
      screen.start();
    }

    let how: Awaited<typeof stream.done>;
    try {
      how = await stream.done;
    } finally {
      clearTimeout(silence);
      screen?.stop();
    }
    if (quit || how === 'ended' || (how === 'lost' && lastState === 'stopping')) {
      if (mode !== 'json' && !quit) out.write('rpctl watch: rpcopyd stopped; the stream ended\n');
      return 0;
    }
    if (silent) throw new RpcopyError('INTERNAL', `no data from rpcopyd for ${SILENCE_MS / 1000} s; stopped watching`);
    throw new RpcopyError('INTERNAL', 'lost the connection to rpcopyd');
  },
};

/** The full-screen view: alternate screen, hidden cursor, raw keys; stop() puts the terminal back as it was. */
class Screen {
  private timer: NodeJS.Timeout | undefined;
  private dirty = false;
  private lastDraw = 0;
  private started = false;
  private readonly restore = () => this.stop();
  private readonly onSignal = () => {
    this.stop();
    process.exit(0);
  };
  private readonly onResize = () => this.render();
  private readonly onKey = (key: string) => {
    if (key === 'q' || key === 'Q' || key === '\x03' || key === '\x04') this.handlers.onQuit();
    else if (key === '\r' || key === '\n') this.handlers.onEnter();
  };

  constructor(
    private readonly view: WatchView,
    private readonly handlers: { onQuit(): void; onEnter(): void },
  ) {}

  start(): void {
    this.started = true;
    process.stdout.write(`${ESC}?1049h${ESC}?25l${ESC}H${ESC}2J`);
    const stdin = process.stdin;
    if (stdin.isTTY) {
      stdin.setRawMode(true);
      stdin.setEncoding('utf8');
      stdin.on('data', this.onKey);
      stdin.resume();
    }
    process.stdout.on('resize', this.onResize);
    process.once('exit', this.restore);
    process.once('SIGTERM', this.onSignal);
    process.once('SIGHUP', this.onSignal);
    this.render();
  }

  /** Draw now, or soon: at most ten frames a second. */
  render(): void {
    if (!this.started) return;
    const wait = this.lastDraw + 100 - Date.now();
    if (wait > 0) {
      this.dirty = true;
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        if (this.dirty) this.render();
      }, wait);
      return;
    }
    this.dirty = false;
    this.lastDraw = Date.now();
    const lines = renderScreen(this.view, {
      width: process.stdout.columns ?? 100,
      height: process.stdout.rows ?? 40,
      color: true,
    });
    process.stdout.write(`${ESC}H${lines.map((l) => `${l}${ESC}K`).join('\r\n')}${ESC}J`);
  }

  stop(): void {
    if (!this.started) return;
    this.started = false;
    clearTimeout(this.timer);
    const stdin = process.stdin;
    if (stdin.isTTY) {
      stdin.off('data', this.onKey);
      stdin.setRawMode(false);
      stdin.pause();
    }
    process.stdout.off('resize', this.onResize);
    process.off('exit', this.restore);
    process.off('SIGTERM', this.onSignal);
    process.off('SIGHUP', this.onSignal);
    process.stdout.write(`${ESC}?25h${ESC}?1049l`);
  }
}
