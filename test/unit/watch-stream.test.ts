// One stream per rpctl watch client (daemon/watch-stream.ts): the first message before any broadcast, the same
// bytes to every stream, a stream that is not read dropped at its limit, and the hub told when the first watcher
// joins and the last one leaves.

import t from 'tap';
import { createLogger } from '../../daemon/log.js';
import { sseMessage, WatcherStreams } from '../../daemon/watch-stream.js';

const log = createLogger({ level: 'error', write: () => {} });

async function readAll(response: Response): Promise<string> {
  return await response.text();
}

t.test('the first message, then every broadcast; closeAll ends each stream and empties the set', async (t) => {
  const events: string[] = [];
  const streams = new WatcherStreams({
    log,
    maxQueuedBytes: 1024 * 1024,
    onOpen: () => events.push('open'),
    onEmpty: () => events.push('empty'),
  });
  const a = streams.open('retry: 2000\n\n');
  const b = streams.open('retry: 2000\n\n');
  t.equal(a.headers.get('content-type'), 'text/event-stream; charset=utf-8');
  t.equal(streams.size, 2);
  streams.broadcast(sseMessage('status', { n: 1 }));
  streams.closeAll();
  t.equal(streams.size, 0);
  t.same(events, ['open', 'open', 'empty'], 'empty once, when the last watcher left');
  const expected = 'retry: 2000\n\nevent: status\ndata: {"n":1}\n\n';
  t.equal(await readAll(a), expected);
  t.equal(await readAll(b), expected);
});

t.test('a stream that is not read is dropped at its limit; a cancelled one is removed', async (t) => {
  let emptied = 0;
  const streams = new WatcherStreams({ log, maxQueuedBytes: 64, onOpen: () => {}, onEmpty: () => (emptied += 1) });
  const slow = streams.open('');
  const leaving = streams.open('');
  await leaving.body?.cancel();
  t.equal(streams.size, 1, 'the cancelled stream is gone');
  streams.broadcast('x'.repeat(100));
  t.equal(streams.size, 0, 'the unread stream passed its limit');
  t.equal(emptied, 1);
  await t.rejects(slow.text(), /does not keep up/);
});
