// The store refuses what is not its own and touches nothing when it does.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
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
