// The read worker: plan-wide aggregates on a worker thread's read-only connection, beside the writer.

import { join } from 'node:path';
import t from 'tap';
import { ReadWorker } from '../../daemon/store/read-worker.js';
import { openStore } from '../../daemon/store/store.js';
import { shortTempDir } from '../helpers/process.js';

const identity = { sourceAccountId: '111111111111', destinationAccountId: '222222222222', region: 'eu-west-2' };

t.test('answers from the committed store while the main connection writes, and names itself in errors', async (t) => {
  const file = join(shortTempDir(t), 'rpcopy.db');
  const store = openStore(file, identity, { version: 'test' });
  t.teardown(() => store.close());
  const insert = store.sqlite.prepare('INSERT INTO store_meta (key, value) VALUES (?, ?)');
  store.write(() => {
    for (let i = 0; i < 100; i++) insert.run(`k${i}`, String(i));
  });
  const reader = new ReadWorker(file, 'the test reader');
  t.teardown(() => reader.close());

  const count = 'SELECT count(*) AS n FROM store_meta WHERE key LIKE @prefix';
  const [before, one] = await Promise.all([
    reader.all<{ n: number }>(count, { prefix: 'k%' }),
    reader.all<{ value: string }>('SELECT value FROM store_meta WHERE key = @key', { key: 'k7' }),
  ]);
  t.same(before, [{ n: 100 }], 'the rows committed before the question');
  t.same(one, [{ value: '7' }], 'named parameters; several questions in flight at once');

  store.write(() => insert.run('k100', '100'));
  t.same(await reader.all(count, { prefix: 'k%' }), [{ n: 101 }], 'a later commit is seen by the next question');

  await t.rejects(reader.all('SELECT nope FROM nowhere'), /^the test reader: no such table: nowhere/);
  await t.rejects(reader.all("DELETE FROM store_meta WHERE key = 'k1' RETURNING key"), /the test reader: .*readonly/i);
  t.same(await reader.all(count, { prefix: 'k%' }), [{ n: 101 }], 'an error leaves the worker usable');

  await reader.close();
  await t.rejects(reader.all(count, { prefix: 'k%' }), /the test reader exited/, 'a closed worker says so');
});
