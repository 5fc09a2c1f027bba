// rpctl watch's pieces without a daemon: the SSE parser, the hub (one status per tick shared by every watcher,
// journal records relayed, a watcher that does not read is dropped, a disconnect removes its watcher, close ends
// every stream) and the views (banner, bars within the width, plain lines without escapes, the rate).

import t from 'tap';
import { SseParser } from '../../ctl/watch/stream.js';
import {
  applyStatus,
  emptyView,
  plainStatusLine,
  renderScreen,
  vaultWaiting,
  verifiedPerMinute,
} from '../../ctl/watch/view.js';
import type { JournalRecord, SubscribableJournal } from '../../daemon/events.js';
import { createLogger } from '../../daemon/log.js';
import { vaultProgress } from '../../daemon/read-model.js';
import { createWatchHub } from '../../daemon/watch.js';
import { copyStatus, daemonStatus } from '../helpers/status.js';

const log = createLogger({ level: 'error', write: () => {} });

function fakeJournal(): SubscribableJournal & { emit(kind: string): void } {
  const listeners = new Set<(r: JournalRecord) => void>();
  let id = 0;
  const journal = {
    record(level: JournalRecord['level'], kind: string, message: string, data?: Record<string, unknown>) {
      id += 1;
      for (const l of listeners) l({ id, at: Date.now(), level, kind, message, ...(data ? { data } : {}) });
    },
    subscribe(listener: (r: JournalRecord) => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    emit(kind: string) {
      journal.record('warn', kind, `${kind} happened`, { error: new Error('boom') });
    },
  };
  return journal;
}

/** Reads a stream's messages as they come. */
function reader(response: Response) {
  const r = response.body!.getReader();
  const parser = new SseParser();
  const decoder = new TextDecoder();
  const messages: { event: string; data: unknown }[] = [];
  let ended = false;
  let failed: unknown;
  const done = (async () => {
    try {
      for (;;) {
        const { value, done } = await r.read();
        if (done) break;
        for (const m of parser.push(decoder.decode(value, { stream: true }))) {
          messages.push({ event: m.event, data: JSON.parse(m.data) });
        }
      }
      ended = true;
    } catch (err) {
      failed = err;
    }
  })();
  return { messages, done, cancel: () => r.cancel(), state: () => ({ ended, failed }), parser };
}

const until = async (what: string, test: () => boolean) => {
  for (let i = 0; i < 500; i++) {
    if (test()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
};

t.test('the SSE parser: split chunks, CRLF, comments, multi-line data', async (t) => {
  const p = new SseParser();
  const text =
    'retry: 2000\r\n\r\n: heartbeat\r\n\r\nevent: status\r\ndata: {"a":\r\ndata: 1}\r\nid: 7\r\n\r\ndata: x\n\n';
  const out = [];
  for (const ch of text) out.push(...p.push(ch));
  t.same(out, [
    { event: 'status', data: '{"a":\n1}', id: '7' },
    { event: 'message', data: 'x', id: '7' },
  ]);
  t.equal(p.comments, 1);
});

t.test('the hub: one status per tick for every watcher, journal records relayed in order', async (t) => {
  let statusCalls = 0;
  let vaultCalls = 0;
  const journal = fakeJournal();
  const hub = createWatchHub({
    journal,
    status: () => {
      statusCalls += 1;
      return daemonStatus();
    },
    storeFile: '/nonexistent',
    log,
    statusEveryMs: 20,
    vaultsEveryMs: 60_000,
    computeVaults: async () => {
      vaultCalls += 1;
      return { vaults: [], unassigned: 0 };
    },
  });
  journal.emit('before.watchers');
  const a = reader(hub.connect());
  const b = reader(hub.connect());
  const c = reader(hub.connect());
  t.equal(hub.watchers, 3);
  await until('status events', () =>
    [a, b, c].every((r) => r.messages.filter((m) => m.event === 'status').length >= 3),
  );
  journal.emit('copy.something');
  await until('the event', () => [a, b, c].every((r) => r.messages.some((m) => m.event === 'event')));
  await hub.close();
  await Promise.all([a.done, b.done, c.done]);
  for (const r of [a, b, c]) {
    t.equal(r.messages[0]?.event, 'snapshot', 'a snapshot first');
    const snapshot = r.messages[0]!.data as { recent: { kind: string }[] };
    t.same(
      snapshot.recent.map((e) => e.kind),
      ['before.watchers'],
      'with the records so far',
    );
    t.ok(r.state().ended, 'close ends the stream');
    const event = r.messages.find((m) => m.event === 'event')!.data as { kind: string; data: { error: unknown } };
    t.equal(event.kind, 'copy.something');
    t.same(event.data.error, { name: 'Error', message: 'boom' }, 'errors keep their message');
  }
  const ticks = Math.max(...[a, b, c].map((r) => r.messages.filter((m) => m.event === 'status').length));
  // Three snapshots, then one status() per tick whatever the number of watchers (a tick may have gone unread).
  t.ok(statusCalls <= 3 + ticks + 1, `${statusCalls} status() calls for ${ticks} ticks and 3 watchers`);
  t.equal(vaultCalls, 1, 'the per-vault figures computed once, shared');
  t.equal(hub.connect().status, 503, 'no new watcher while stopping');
});

t.test('the hub: a watcher that does not read is dropped; a disconnect removes its watcher', async (t) => {
  const hub = createWatchHub({
    journal: fakeJournal(),
    status: () => daemonStatus(),
    storeFile: '/nonexistent',
    log,
    statusEveryMs: 5,
    maxQueuedBytes: 8 * 1024,
    computeVaults: async () => ({ vaults: [], unassigned: 0 }),
  });
  const reading = reader(hub.connect());
  hub.connect(); // never read: its queue grows until the limit
  t.equal(hub.watchers, 2);
  await until('the slow watcher to be dropped', () => hub.watchers === 1);
  t.notOk(reading.state().failed, 'the reading watcher carries on');
  await reading.cancel();
  await until('the disconnect', () => hub.watchers === 0);
  await hub.close();
});

t.test('vaultProgress: states into columns, ungrouped points apart', async (t) => {
  const result = vaultProgress([
    { vault: null, destination: null, state: 'skipped', n: 50 },
    { vault: null, destination: null, state: 'failed', n: 2 },
    { vault: 'a', destination: 'a-dr', state: 'queued', n: 5 },
    { vault: 'a', destination: 'a-dr', state: 'submitted', n: 1 },
    { vault: 'a', destination: 'a-dr', state: 'submitting', n: 1 },
    { vault: 'a', destination: 'a-dr', state: 'verified', n: 3 },
    { vault: 'b', destination: null, state: 'failed', n: 4 },
  ]);
  t.same(result, {
    unassigned: 2,
    vaults: [
      { vault: 'a', destination: 'a-dr', toCopy: 10, queued: 5, inFlight: 2, completed: 0, verified: 3, failed: 0 },
      { vault: 'b', destination: null, toCopy: 4, queued: 0, inFlight: 0, completed: 0, verified: 0, failed: 4 },
    ],
  });
});

t.test('views: the pause banner, lines within the width, plain lines, the rate', async (t) => {
  const view = emptyView();
  const copy = copyStatus();

  applyStatus(view, daemonStatus({ copy }), null);
  t.equal(verifiedPerMinute(view.samples), undefined, 'no rate from one sample');
  applyStatus(
    view,
    daemonStatus({
      state: 'paused',
      pauseReason: 'credentials',
      pauseDetail: 'source account (profile p): AWS rejected its credentials 3 times in a row (ExpiredToken)',
      daemon: { ...daemonStatus().daemon, uptimeMs: 120_000 },
      copy: { ...copy, verifiedThisRun: 30 },
    }),
    null,
  );
  t.equal(verifiedPerMinute(view.samples), 30, '30 verified in a minute');
  const lines = renderScreen(view, { width: 80, height: 40, color: true });
  const plainText = lines.map((l) => l.replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;?]*[a-zA-Z]`, 'g'), ''));
  t.ok(
    plainText.every((l) => l.length <= 80),
    'every line fits the width',
  );
  const screen = plainText.join('\n');
  t.match(screen, /PAUSED \(credentials\)/);
  t.match(screen, /AWS rejected its credentials 3 times/);
  t.match(screen, /Press Enter to resume \(rpctl resume\)/);
  t.match(screen, /30 verified\/min .* 45 remaining · ETA ~1m 30s at this rate/);
  const plain = plainStatusLine(view.status!, null, Date.now());
  t.notOk(plain.includes('\u001b'));
  t.match(plain, /paused \(credentials\), phase copy; 100 points .*\n\d\d:\d\d:\d\d why: source account/);
});

t.test('why a vault is not moving: counted on the daemon, said per vault', async (t) => {
  const result = vaultProgress(
    [
      { vault: 'a', destination: 'a', state: 'queued', n: 80, held: 0 },
      { vault: 'a', destination: 'a', state: 'submitted', n: 1, held: 0 },
      { vault: 'a', destination: 'a', state: 'verified', n: 1, held: 0 },
      { vault: 'b', destination: 'b', state: 'queued', n: 12, held: 12 },
      { vault: 'c', destination: 'c', state: 'queued', n: 3, held: 0 },
    ],
    [
      { vault: 'a', kind: 'resource', n: 80 },
      { vault: 'c', kind: 'retry', n: 3 },
    ],
  );
  const [a, b, c] = result.vaults;
  t.same(a?.waiting, { canary: 0, resource: 80, retry: 0 }, 'a chain behind the copy in flight');
  t.same(b?.waiting, { canary: 12, resource: 0, retry: 0 }, 'held for the canary');
  t.same(c?.waiting, { canary: 0, resource: 0, retry: 3 }, 'waiting for the next attempt');
  const running = daemonStatus({
    copy: copyStatus({ awsInFlight: 1, canaries: { pending: 0, probing: 1, open: 1, failed: 0 } }),
  });
  t.equal(vaultWaiting(a!, running), '80 queued: 80 behind a copy of the same resource (one at a time, oldest first)');
  t.equal(vaultWaiting(b!, running), "12 queued: 12 held for their combination's canary copy");
  t.equal(vaultWaiting(c!, running), '3 queued: 3 waiting to retry');
  t.equal(
    vaultWaiting({ ...c!, waiting: undefined }, { ...running, counts: { ...running.counts, inFlight: 10 } }),
    '3 queued: in-flight limit reached (10)',
  );
  t.equal(vaultWaiting({ ...c!, waiting: undefined }, running), '', 'no reason known: nothing said');
  t.equal(vaultWaiting(a!, { ...running, state: 'paused' }), '80 queued: paused');
  t.equal(
    vaultWaiting(a!, { ...running, window: { open: false, opensAt: null, closesAt: null, drainFrom: null } as never }),
    '80 queued: window closed',
  );
  t.equal(vaultWaiting({ ...a!, queued: 0 }, running), '', 'nothing queued: nothing to explain');
  const view = emptyView();
  applyStatus(view, running, { at: new Date().toISOString(), ...result });
  const screen = renderScreen(view, { width: 200, height: 50, color: false }).join('\n');
  t.match(screen, /^ {2}a\b.* 1\/82 · 1 in flight · 80 queued: 80 behind a copy of the same resource/m);
});
