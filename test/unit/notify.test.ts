// The operator notifier (daemon/notify.ts): the event reaches notify.command as JSON on stdin and the log; a
// failing, hanging or missing command and a missing desktop notifier are logged, never thrown; drain() waits.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { createLogger, type LogLevel } from '../../daemon/log.js';
import { createNotifier, type DesktopNotify, type OperatorEvent } from '../../daemon/notify.js';

function capturingLog() {
  const lines: { level: LogLevel; msg: string; [k: string]: unknown }[] = [];
  const log = createLogger({ level: 'debug', pretty: false, write: (line) => lines.push(JSON.parse(line)) });
  return { log, lines };
}

const paused: OperatorEvent = {
  event: 'paused',
  reason: 'credentials',
  message: 'source account (profile rpcopy-source): AWS rejected its credentials 3 times in a row',
  account: 'source',
  consecutiveFailures: 3,
};

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

t.test('notify.command receives the event as one JSON line on stdin; the log gets a line', async (t) => {
  const dir = t.testdir();
  const out = join(dir, 'events.jsonl');
  const { log, lines } = capturingLog();
  const now = new Date('2026-03-01T10:00:00Z');
  const notifier = createNotifier({ log, desktop: false, command: `cat >> '${out}'`, now: () => now });
  await notifier.notify(paused);
  await notifier.notify({ event: 'resumed', reason: 'credentials', message: 'resumed', trigger: 'operator' });
  const events = readFileSync(out, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  t.same(events[0], { ...paused, time: now.toISOString() });
  t.equal(events[1].event, 'resumed');
  t.ok(
    lines.some((l) => l.level === 'warn' && l.msg.includes(paused.message) && l.notify === 'paused'),
    'a warning names the event',
  );
  t.ok(lines.some((l) => l.level === 'info' && l.notify === 'resumed'));
});

t.test('a failing command is logged with its exit code and stderr, never thrown', async (t) => {
  const { log, lines } = capturingLog();
  const notifier = createNotifier({ log, desktop: false, command: 'echo "webhook said no" >&2; exit 3' });
  await notifier.notify(paused);
  const failed = lines.find((l) => l.msg === 'notify.command failed');
  t.equal(failed?.exitCode, 3);
  t.equal(failed?.stderr, 'webhook said no');

  const missing = createNotifier({ log, desktop: false, command: '/nonexistent/rpcopy-notify-hook' });
  await missing.notify(paused);
  t.equal(lines.filter((l) => l.msg === 'notify.command failed').at(-1)?.exitCode, 127, 'a missing command: 127');

  // A command that never reads its stdin (the pipe closes early) is not an error either.
  const deaf = createNotifier({ log, desktop: false, command: 'exit 0' });
  await deaf.notify({ ...paused, message: 'x'.repeat(1_000_000) });
  t.pass('no EPIPE crash');
});

t.test('a hanging command is stopped at the timeout, with what it started', async (t) => {
  const dir = t.testdir();
  const pidFile = join(dir, 'child.pid');
  const { log, lines } = capturingLog();
  const notifier = createNotifier({
    log,
    desktop: false,
    command: `sleep 60 & echo $! > '${pidFile}'; wait`,
    timeoutMs: 300,
  });
  await notifier.notify(paused);
  t.ok(
    lines.some((l) => l.msg === 'notify.command did not finish in time and was stopped'),
    'the timeout is logged',
  );
  const pid = Number(readFileSync(pidFile, 'utf8'));
  const deadline = Date.now() + 5000;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  t.notOk(alive(pid), 'the process the command started is gone too');
});

t.test('drain waits for deliveries still running, bounded', async (t) => {
  const dir = t.testdir();
  const out = join(dir, 'late');
  const { log } = capturingLog();
  const notifier = createNotifier({ log, desktop: false, command: `sleep 0.3; cat > '${out}'` });
  void notifier.notify(paused);
  t.notOk(existsSync(out));
  await notifier.drain(10_000);
  t.ok(existsSync(out), 'delivered before drain returned');

  const slow = createNotifier({ log, desktop: false, command: 'sleep 2', timeoutMs: 10_000 });
  let delivered = false;
  const delivery = slow.notify(paused).then(() => {
    delivered = true;
  });
  await slow.drain(100);
  t.notOk(delivered, 'drain gave up at its bound, before the command finished');
  await delivery;
});

t.test('desktop: shown when available; degrades to one warning when not', async (t) => {
  const { log, lines } = capturingLog();
  const shown: string[] = [];
  const working: DesktopNotify = (title, message, done) => {
    shown.push(`${title}: ${message}`);
    done(null);
  };
  await createNotifier({ log, desktop: true, desktopNotify: working }).notify(paused);
  t.same(shown, [`rpcopy: ${paused.message}`]);
  const skipped = createNotifier({ log, desktop: true, desktopNotify: working });
  await skipped.notify(paused, { desktop: false });
  t.equal(shown.length, 1, 'desktop: false skips the desktop channel');

  const headless: DesktopNotify = (_title, _message, done) => done(new Error('not found: notify-send'));
  const notifier = createNotifier({ log, desktop: true, desktopNotify: headless });
  await notifier.notify(paused);
  await notifier.notify(paused);
  const warnings = lines.filter((l) => l.level === 'warn' && /desktop notifications are not available/.test(l.msg));
  t.equal(warnings.length, 1, 'warned once');
  t.equal(warnings[0]?.error, 'not found: notify-send');

  const throwing: DesktopNotify = () => {
    throw new Error('boom');
  };
  await createNotifier({ log, desktop: true, desktopNotify: throwing }).notify(paused);
  const silent: DesktopNotify = () => undefined;
  await createNotifier({ log, desktop: true, desktopNotify: silent, timeoutMs: 100 }).notify(paused);
  t.pass('a throwing or silent notifier neither throws nor hangs');
});

t.test('desktop through the real node-notifier on this host never throws', async (t) => {
  const dir = t.testdir();
  const out = join(dir, 'events.jsonl');
  writeFileSync(out, '');
  const { log, lines } = capturingLog();
  const notifier = createNotifier({ log, desktop: true, command: `cat >> '${out}'`, timeoutMs: 5000 });
  await notifier.notify(paused);
  t.equal(readFileSync(out, 'utf8').trim().split('\n').length, 1, 'the command still got the event');
  // Headless hosts (no notify-send, no D-Bus session) log one warning; a desktop shows the notification.
  t.comment(lines.find((l) => /desktop/.test(l.msg))?.msg ?? 'desktop notification shown');
});
