// The store refuses what is not its own and touches nothing when it does.

import { createHash } from 'node:crypto';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t, { type Test } from 'tap';
import { openStore, type StoreIdentity } from '../../daemon/store/store.js';
import { RpcopyError } from '../../shared/errors.js';
import { shortTempDir } from '../helpers/process.js';

const identity: StoreIdentity = {
  sourceAccountId: '111111111111',
  destinationAccountId: '222222222222',
  region: 'eu-west-2',
};
const options = { version: 'test' };

const digest = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

function refused(t: Test, file: string, who: StoreIdentity, pattern: RegExp): void {
  const before = digest(file);
  let error: unknown;
  try {
    openStore(file, who, options).close();
  } catch (err) {
    error = err;
  }
  t.ok(error instanceof RpcopyError && error.code === 'STORE_INCOMPATIBLE', 'refused as STORE_INCOMPATIBLE');
  t.match((error as Error | undefined)?.message, pattern);
  t.equal(digest(file), before, 'the file is byte-for-byte unchanged');
  t.notOk(existsSync(`${file}-wal`), 'no WAL file was created');
}

t.test('a new store is created in WAL mode with its identity', async (t) => {
  const file = join(shortTempDir(t), 'rpcopy.db');
  const store = openStore(file, identity, options);
  t.equal(store.sqlite.pragma('journal_mode', { simple: true }), 'wal');
  t.equal(store.sqlite.pragma('journal_size_limit', { simple: true }), 1024 ** 3, 'a WAL spike is given back');
  const meta = Object.fromEntries(
    (store.sqlite.prepare('SELECT key, value FROM store_meta').all() as { key: string; value: string }[]).map((r) => [
      r.key,
      r.value,
    ]),
  );
  t.match(meta, { format: 'rpcopy-store', source_account_id: '111111111111', destination_account_id: '222222222222' });
  store.close();
  const again = openStore(file, identity, options);
  t.ok(again, 'reopens with the same identity');
  again.close();
});

t.test('a file that is not SQLite is refused and unchanged', async (t) => {
  const file = join(shortTempDir(t), 'rpcopy.db');
  writeFileSync(file, 'this is a text file, not a database\n'.repeat(20));
  refused(t, file, identity, /is not an SQLite database/);
});

t.test('a foreign SQLite database is refused and unchanged', async (t) => {
  const file = join(shortTempDir(t), 'rpcopy.db');
  const foreign = new Database(file);
  foreign.exec('CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL); INSERT INTO invoices VALUES (1, 9.5);');
  foreign.close();
  refused(t, file, identity, /is an SQLite database but not an rpcopy store \(its tables: invoices\)/);
});

t.test('a store of another account pair or region is refused and unchanged', async (t) => {
  const file = join(shortTempDir(t), 'rpcopy.db');
  openStore(file, identity, options).close();
  refused(
    t,
    file,
    { ...identity, destinationAccountId: '333333333333' },
    /belongs to another job: destination account 222222222222 \(config says 333333333333\)/,
  );
  refused(t, file, { ...identity, region: 'us-east-1' }, /region eu-west-2 \(config says us-east-1\)/);
});

t.test('a store written by a newer rpcopy is refused and unchanged', async (t) => {
  const file = join(shortTempDir(t), 'rpcopy.db');
  openStore(file, identity, options).close();
  const db = new Database(file);
  db.prepare('INSERT INTO __drizzle_migrations (hash, created_at) VALUES (?, ?)').run('future', Date.now() + 1e10);
  db.pragma('journal_mode = DELETE');
  db.close();
  refused(t, file, identity, /was written by a newer rpcopy/);
});

t.test('a store left by a crash (WAL and shm present) reopens', async (t) => {
  const file = join(shortTempDir(t), 'rpcopy.db');
  const store = openStore(file, identity, options);
  store.write(() => store.sqlite.prepare("INSERT INTO settings (key, value) VALUES ('k', '1')").run());
  // Simulate a crash: copy the files while the connection is still open.
  const crashed = join(shortTempDir(t), 'rpcopy.db');
  for (const suffix of ['', '-wal', '-shm']) {
    if (existsSync(file + suffix)) writeFileSync(crashed + suffix, readFileSync(file + suffix));
  }
  store.close();
  const reopened = openStore(crashed, identity, options);
  t.same(
    reopened.sqlite.prepare("SELECT value FROM settings WHERE key = 'k'").get(),
    { value: '1' },
    'committed row kept',
  );
  reopened.close();
});

t.test('a crash while the store is being created leaves nothing a later start refuses', async (t) => {
  const dir = shortTempDir(t);
  const file = join(dir, 'rpcopy.db');
  // A migration that fails half-way stands in for a SIGKILL during creation: the schema is partly written.
  const broken = join(dir, 'drizzle');
  cpSync(join(import.meta.dirname, '../../drizzle'), broken, { recursive: true });
  const journal = JSON.parse(readFileSync(join(broken, 'meta/_journal.json'), 'utf8')) as {
    entries: { tag: string }[];
  };
  writeFileSync(join(broken, `${journal.entries.at(-1)?.tag}.sql`), 'CREATE TABLE half_made (id INTEGER);\nNOT SQL;');
  t.throws(() => openStore(file, identity, { ...options, migrationsFolder: broken }), 'the creation fails');
  t.notOk(existsSync(file), 'no half-made store is left where the store belongs');

  const store = openStore(file, identity, options);
  t.match(
    store.sqlite.prepare("SELECT value FROM store_meta WHERE key = 'format'").get(),
    { value: 'rpcopy-store' },
    'the next start creates the store',
  );
  store.close();
});

t.test('a store an older rpcopy began creating in place, with no identity and no rows, is made again', async (t) => {
  for (const made of ['only the migrations record', 'the schema without the identity']) {
    const file = join(shortTempDir(t), 'rpcopy.db');
    const db = new Database(file);
    db.exec('CREATE TABLE __drizzle_migrations (id INTEGER PRIMARY KEY, hash text NOT NULL, created_at numeric)');
    if (made !== 'only the migrations record')
      db.exec('CREATE TABLE store_meta (key text PRIMARY KEY, value text NOT NULL)');
    db.close();
    const store = openStore(file, identity, options);
    t.match(
      store.sqlite.prepare("SELECT value FROM store_meta WHERE key = 'source_account_id'").get(),
      { value: '111111111111' },
      `${made}: opened as a new store`,
    );
    store.close();
  }
  // With any row in it, a store without an identity is not ours to remake.
  const file = join(shortTempDir(t), 'rpcopy.db');
  const db = new Database(file);
  db.exec(
    "CREATE TABLE store_meta (key text PRIMARY KEY, value text NOT NULL); INSERT INTO store_meta VALUES ('x', 'y');",
  );
  db.close();
  refused(t, file, identity, /has a store_meta table but is not an rpcopy store/);
});

t.test('status counters follow every insert, state change, gone mark and delete', async (t) => {
  const { readCounts } = await import('../../daemon/status.js');
  const file = join(shortTempDir(t), 'rpcopy.db');
  const store = openStore(file, identity, options);
  t.teardown(() => store.close());
  const { sqlite } = store;
  const addPoint = sqlite.prepare(
    `INSERT INTO recovery_points (arn, vault_name, resource_arn, resource_type, status, creation_date)
     VALUES (?, 'v', ?, 'EBS', 'COMPLETED', 0)`,
  );
  const addItem = sqlite.prepare(
    `INSERT INTO copy_items (point_id, state, resource_arn, creation_date) VALUES (?, ?, 'r', 0)`,
  );
  store.write(() => {
    for (let i = 1; i <= 10; i++) {
      addPoint.run(`arn:p${i}`, `arn:r${i}`);
      addItem.run(i, i <= 4 ? 'skipped' : 'queued');
    }
    sqlite.prepare(`UPDATE copy_items SET state = 'submitted' WHERE point_id IN (5, 6)`).run();
    sqlite.prepare(`UPDATE copy_items SET state = 'completed' WHERE point_id = 7`).run();
    sqlite.prepare(`UPDATE copy_items SET state = 'failed' WHERE point_id = 8`).run();
    sqlite.prepare(`UPDATE copy_items SET state = 'failed' WHERE point_id = 8`).run(); // no change: no double count
    sqlite.prepare(`UPDATE recovery_points SET gone_at = 1 WHERE id IN (9, 10)`).run();
    sqlite.prepare(`UPDATE recovery_points SET gone_at = 2 WHERE id = 10`).run(); // still gone: no double count
    sqlite.prepare(`UPDATE recovery_points SET gone_at = NULL WHERE id = 10`).run(); // back again
    // An upsert that changes the state counts like an update.
    sqlite
      .prepare(
        `INSERT INTO copy_items (point_id, state, resource_arn, creation_date) VALUES (1, 'queued', 'r', 0)
         ON CONFLICT (point_id) DO UPDATE SET state = excluded.state`,
      )
      .run();
    sqlite.prepare('DELETE FROM copy_items WHERE point_id = 2').run();
  });
  const aggregate = Object.fromEntries(
    (
      sqlite.prepare('SELECT state, count(*) AS n FROM copy_items GROUP BY state').all() as {
        state: string;
        n: number;
      }[]
    ).map((r) => [r.state, r.n]),
  );
  t.same(readCounts(store), {
    discovered: 9,
    skipped: aggregate.skipped,
    queued: aggregate.queued,
    inFlight: aggregate.submitted,
    completed: aggregate.completed,
    failed: aggregate.failed,
  });
  t.same(aggregate, { skipped: 2, queued: 3, submitted: 2, completed: 1, failed: 1 }, 'the scenario is as intended');
});
