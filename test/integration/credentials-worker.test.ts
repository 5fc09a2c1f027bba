// A worker thread that holds clients built from old credentials never signs with them once a task of a newer
// generation arrives: the real worker pool (one thread, so every task meets the same client cache) against the
// in-process sandbox, whose SigV4 check rejects an expired key.

import t from 'tap';
import { createLogger } from '../../daemon/log.js';
import { createWorkerPool } from '../../daemon/workers/pool.js';
import { startSandbox } from '../sandbox/server.js';

t.test('clients are rebuilt when the generation changes, in the same worker thread', async (t) => {
  const h = await startSandbox({ points: 30, seed: 3, knobs: { throttling: { enabled: false } } });
  t.teardown(() => h.close());
  const previous = process.env.AWS_ENDPOINT_URL;
  // Worker threads copy the environment when they start: set the endpoint before the pool exists.
  process.env.AWS_ENDPOINT_URL = h.url;
  t.teardown(() => {
    if (previous === undefined) delete process.env.AWS_ENDPOINT_URL;
    else process.env.AWS_ENDPOINT_URL = previous;
  });
  const pool = createWorkerPool(1, createLogger({ level: 'error', write: () => undefined }));
  t.teardown(() => pool.destroy());

  const sourceId = h.accounts.source;
  const asTask = (generation: number, cred: { accessKeyId: string; secretAccessKey: string; sessionToken: string }) =>
    ({
      operation: 'listBackupVaults',
      input: {},
      account: 'source',
      generation,
      credentials: {
        accessKeyId: cred.accessKeyId,
        secretAccessKey: cred.secretAccessKey,
        sessionToken: cred.sessionToken,
      },
      region: h.region,
    }) as const;
  const errors = () => h.sandbox.counters.get('backup:ListBackupVaults')?.errors ?? {};

  const first = h.credentialsFor('source');
  const warmed = await pool.runAws(asTask(1, first));
  t.ok(warmed.ok, 'generation 1 works; the thread now caches clients built from its keys');

  // The token expires and the credentials file gets new keys: the main thread hands out generation 2.
  h.sandbox.credentials.expireNow(sourceId);
  const second = h.sandbox.issue(sourceId);
  const results = await Promise.all(Array.from({ length: 8 }, () => pool.runAws(asTask(2, second))));
  t.ok(
    results.every((r) => r.ok && r.generation === 2),
    'every generation-2 task succeeds: none was signed with the cached, expired keys',
  );
  t.same(errors(), {}, 'the sandbox saw no request with the old key');

  // A task dispatched before the reload (generation 1) fails on its own keys and says which generation it used,
  // so the main thread can tell a stale failure from a failure of the current credentials.
  const stale = await pool.runAws(asTask(1, first));
  t.equal(stale.ok, false);
  t.equal(stale.generation, 1);
  t.equal(stale.ok ? undefined : stale.error.name, 'ExpiredTokenException');
  const again = await pool.runAws(asTask(2, second));
  t.ok(again.ok, 'and the next current task is signed with the new keys again');
});
