// The daemon's one list of closers (daemon/shutdown.ts): released last acquired first, each once, whether by a
// graceful stop, a failed start (only what was acquired so far) or the immediate exit; and the stopper, whose
// first reason and outcome stand while later calls share its promise.

import t from 'tap';
import { Closers, createStopper, Shutdown } from '../../daemon/shutdown.js';

type Ending = { reason: string; outcome?: string };

function recording() {
  const log: string[] = [];
  const closers = new Closers<Ending>();
  const add = (name: string, options: { abort?: boolean; async?: boolean } = {}) =>
    closers.add({
      name,
      close: async ({ reason }) => {
        if (options.async) await new Promise((r) => setTimeout(r, 5));
        log.push(`close ${name} (${reason})`);
      },
      ...(options.abort ? { abort: () => log.push(`abort ${name}`) } : {}),
    });
  return { log, closers, add };
}

t.test('a graceful stop releases everything, the last acquired first, each once', async (t) => {
  const { log, closers, add } = recording();
  add('lock', { abort: true });
  add('store', { abort: true, async: true });
  add('socket');
  await closers.close({ reason: 'rpctl stop' });
  t.same(log, ['close socket (rpctl stop)', 'close store (rpctl stop)', 'close lock (rpctl stop)']);
  await closers.close({ reason: 'again' });
  closers.abort();
  t.equal(log.length, 3, 'nothing is released twice');
});

t.test('a failed start releases only what it had acquired', async (t) => {
  const { log, closers, add } = recording();
  add('lock');
  add('store');
  await closers.close({ reason: 'failed to start: no socket' });
  t.same(log, ['close store (failed to start: no socket)', 'close lock (failed to start: no socket)']);
});

t.test('abort releases what must not outlive the process, without waiting', (t) => {
  const { log, closers, add } = recording();
  add('lock', { abort: true });
  add('pool');
  add('store', { abort: true });
  closers.abort();
  t.same(log, ['abort store', 'abort lock'], 'synchronously, the last acquired first; the pool is left to the exit');
  t.end();
});

t.test('a closer that fails is named and stops the sequence', async (t) => {
  const { log, closers, add } = recording();
  add('lock');
  closers.add({
    name: 'the store',
    close: () => {
      throw new Error('disk I/O error');
    },
  });
  await t.rejects(closers.close({ reason: 'stop' }), /closing the store failed: disk I\/O error/);
  t.same(log, []);
});

t.test(
  'the stopper: one shutdown request, the first outcome stands, finished resolves once all is released',
  async (t) => {
    const { log, closers, add } = recording();
    const shutdown = new Shutdown();
    add('store', { async: true });
    closers.add({ name: 'work', close: () => void log.push(`shutdown requested: ${shutdown.requested}`) });
    const stopper = createStopper<string>(shutdown, closers);
    let finished: string | undefined;
    void stopper.finished.then((outcome) => {
      finished = outcome;
    });
    const first = stopper.stop('pipeline finished', 'done');
    const second = stopper.stop('rpctl stop', 'stopped');
    t.equal(first, second, 'later calls share the first stop');
    t.equal(shutdown.reason, 'pipeline finished');
    t.equal(finished, undefined);
    t.equal(await first, 'done');
    t.equal(finished, 'done');
    t.same(log, ['shutdown requested: true', 'close store (pipeline finished)']);
  },
);
