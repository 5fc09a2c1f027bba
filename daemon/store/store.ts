// Opening the store: identity first, then migrations.
//
// Guarantees: a file that is not an rpcopy store, a store of another account
// pair or region, or a store written by a newer rpcopy is refused before
// anything writes to it (the checks run on a read-only connection, and WAL
// mode is only switched on after they pass). A new store is built complete
// (schema and identity) under a temporary name and renamed into place, so a
// crash while creating it leaves no half-made store that later starts would
// refuse. The main thread is the only writer.

import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { is } from 'drizzle-orm';
import { type BetterSQLite3Database, drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { getTableConfig, SQLiteTable } from 'drizzle-orm/sqlite-core';
import { RpcopyError } from '../../shared/errors.js';
import * as schema from './schema.js';

const STORE_FORMAT = 'rpcopy-store';
const SQLITE_HEADER = 'SQLite format 3\0';

/** Which job a store belongs to; a store opened with another identity is refused. */
export interface StoreIdentity {
  sourceAccountId: string;
  destinationAccountId: string;
  region: string;
}

export type Db = BetterSQLite3Database<typeof schema>;

/** The size the WAL file is truncated back to after it restarts. */
const WAL_SIZE_LIMIT_BYTES = 1024 * 1024 * 1024;

export interface Store {
  readonly file: string;
  readonly sqlite: Database.Database;
  readonly db: Db;
  /** Run fn in one IMMEDIATE transaction (takes the write lock before reading). Never await inside. */
  write<T>(fn: () => T): T;
  close(): void;
}

/** drizzle/ sits next to package.json: two levels above daemon/store in both the sources and dist/. */
function defaultMigrationsFolder(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const candidate of [join(here, '../../drizzle'), join(here, '../../../drizzle')]) {
    if (existsSync(join(candidate, 'meta/_journal.json'))) return candidate;
  }
  throw new Error(`cannot find the drizzle/ migrations folder near ${here}`);
}

interface JournalEntry {
  idx: number;
  when: number;
  tag: string;
}

function readJournal(migrationsFolder: string): JournalEntry[] {
  const journal = JSON.parse(readFileSync(join(migrationsFolder, 'meta/_journal.json'), 'utf8')) as {
    entries: JournalEntry[];
  };
  return journal.entries;
}

function incompatible(file: string, reason: string): RpcopyError {
  return new RpcopyError('STORE_INCOMPATIBLE', `${file}: ${reason}. The file was not changed.`);
}

/**
 * Check an existing file without writing to it. Returns true when the file
 * holds no tables yet (a new store), false when it is a compatible store.
 */
function inspectExisting(file: string, identity: StoreIdentity, journal: JournalEntry[]): boolean {
  if (statSync(file).size === 0) return true;
  const header = Buffer.alloc(16);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, header, 0, 16, 0);
  } finally {
    closeSync(fd);
  }
  if (header.toString('latin1') !== SQLITE_HEADER) {
    throw incompatible(file, 'is not an SQLite database, so it cannot be an rpcopy store');
  }

  // A read-only connection to a WAL database creates -wal and -shm files; remove the ones this probe made
  // (the caller holds the state lock, so no other process uses the store) so a refusal leaves no trace.
  const sidecars = [`${file}-wal`, `${file}-shm`].filter((path) => !existsSync(path));
  let probe: Database.Database;
  try {
    probe = new Database(file, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw incompatible(file, `cannot be opened read-only for inspection (${(err as Error).message})`);
  }
  try {
    const tables = probe
      .prepare<[], string>(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`)
      .pluck()
      .all();
    if (tables.length === 0) return true;
    if (isInterruptedCreation(probe, tables)) return true;
    if (!tables.includes('store_meta')) {
      const shown = tables.slice(0, 5).join(', ') + (tables.length > 5 ? ', ...' : '');
      throw incompatible(file, `is an SQLite database but not an rpcopy store (its tables: ${shown})`);
    }
    const meta = new Map(probe.prepare<[], [string, string]>('SELECT key, value FROM store_meta').raw().all());
    if (meta.get('format') !== STORE_FORMAT) {
      throw incompatible(file, `has a store_meta table but is not an rpcopy store (format ${meta.get('format')})`);
    }
    const applied = tables.includes('__drizzle_migrations')
      ? probe.prepare<[], { createdAt: number }>('SELECT created_at AS createdAt FROM __drizzle_migrations').all()
      : [];
    const newestKnown = Math.max(0, ...journal.map((e) => e.when));
    const unknown = applied.filter((m) => Number(m.createdAt) > newestKnown);
    if (unknown.length > 0 || applied.length > journal.length) {
      throw incompatible(
        file,
        `was written by a newer rpcopy (schema ${applied.length} migrations, this build knows ${journal.length}); ` +
          'upgrade rpcopy to use it',
      );
    }
    const mismatches: string[] = [];
    const expect = (key: string, want: string, what: string) => {
      const have = meta.get(key);
      if (have !== want) mismatches.push(`${what} ${have} (config says ${want})`);
    };
    expect('source_account_id', identity.sourceAccountId, 'source account');
    expect('destination_account_id', identity.destinationAccountId, 'destination account');
    expect('region', identity.region, 'region');
    if (mismatches.length > 0) {
      throw incompatible(file, `belongs to another job: ${mismatches.join(', ')}`);
    }
    return false;
  } finally {
    probe.close();
    for (const path of sidecars) rmSync(path, { force: true });
  }
}

/** The tables an rpcopy store may hold: its schema's and drizzle's record of applied migrations. */
const STORE_TABLES = new Set(['__drizzle_migrations', ...storeTableNames()]);

function storeTableNames(): string[] {
  return Object.values(schema)
    .filter((value) => is(value, SQLiteTable))
    .map((table) => getTableConfig(table).name);
}

/**
 * A store an older rpcopy began creating in place and was killed before it wrote its identity: only rpcopy's
 * own tables, no identity, and no row in any table but the migrations record. Nothing can be lost by making it
 * again; anything else that lacks an identity is refused as before.
 */
function isInterruptedCreation(probe: Database.Database, tables: string[]): boolean {
  if (!tables.every((name) => STORE_TABLES.has(name))) return false;
  return tables
    .filter((name) => name !== '__drizzle_migrations')
    .every((name) => probe.prepare(`SELECT 1 FROM "${name}" LIMIT 1`).get() === undefined);
}

export interface OpenStoreOptions {
  migrationsFolder?: string;
  version: string;
}

export function openStore(file: string, identity: StoreIdentity, options: OpenStoreOptions): Store {
  const migrationsFolder = options.migrationsFolder ?? defaultMigrationsFolder();
  const journal = readJournal(migrationsFolder);
  if (!existsSync(file) || inspectExisting(file, identity, journal)) {
    createStore(file, identity, options.version, migrationsFolder, journal);
  }
  return openExisting(file, options.version, migrationsFolder, journal);
}

/**
 * Build a complete new store (schema, identity) beside `file`, then rename it into place: a crash before the
 * rename leaves only the temporary file, which the next creation replaces.
 */
function createStore(
  file: string,
  identity: StoreIdentity,
  version: string,
  migrationsFolder: string,
  journal: JournalEntry[],
): void {
  const building = `${file}.creating`;
  for (const path of [building, `${building}-journal`, `${building}-wal`, `${building}-shm`])
    rmSync(path, { force: true });
  const sqlite = new Database(building);
  try {
    sqlite.pragma('foreign_keys = ON');
    migrate(drizzle(sqlite, { schema }), { migrationsFolder });
    const upsertMeta = sqlite.prepare('INSERT INTO store_meta (key, value) VALUES (?, ?)');
    sqlite.transaction(() => {
      upsertMeta.run('format', STORE_FORMAT);
      upsertMeta.run('source_account_id', identity.sourceAccountId);
      upsertMeta.run('destination_account_id', identity.destinationAccountId);
      upsertMeta.run('region', identity.region);
      upsertMeta.run('created_at', String(Date.now()));
      upsertMeta.run('created_by_version', version);
      upsertMeta.run('schema_migrations', String(journal.length));
    })();
  } catch (err) {
    sqlite.close();
    rmSync(building, { force: true });
    throw err;
  }
  sqlite.close();
  // A new store replaces only a file that holds nothing (inspectExisting said so); its old sidecars go with it.
  for (const path of [`${file}-wal`, `${file}-shm`]) rmSync(path, { force: true });
  renameSync(building, file);
  const dir = openSync(dirname(file), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

function openExisting(file: string, version: string, migrationsFolder: string, journal: JournalEntry[]): Store {
  const sqlite = new Database(file);
  try {
    sqlite.pragma('journal_mode = WAL');
    // NORMAL: a power loss may roll back the last commits; reconciliation with AWS makes that harmless.
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('busy_timeout = 5000');
    // The daemon checkpoints from a worker thread (checkpointer.ts); the writer's own automatic checkpoint, which
    // blocks the main thread while it copies and syncs, is only a safety net at ~400 MB of WAL.
    sqlite.pragma('wal_autocheckpoint = 100000');
    // The WAL file keeps its largest size for as long as the daemon runs unless told otherwise: a reader that holds
    // an old snapshot while the writer works lets it grow past the safety net (969 MB in a million-point dry run).
    // The writer truncates it back to this at the first commit after the WAL restarts. Not smaller: that
    // truncation runs on the main thread, and at 512 MB it cut the file at most restarts of such a dry run,
    // 160-190 ms each time (strace, in a run with this safety net raised to ~1 GB; bench/results/inventory.md).
    sqlite.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
    sqlite.pragma('foreign_keys = ON');
    const db = drizzle(sqlite, { schema });
    migrate(db, { migrationsFolder });
    const upsertMeta = sqlite.prepare(
      'INSERT INTO store_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    );
    sqlite
      .transaction(() => {
        upsertMeta.run('schema_migrations', String(journal.length));
        upsertMeta.run('last_opened_by_version', version);
      })
      .immediate();
    return {
      file,
      sqlite,
      db,
      write: <T>(fn: () => T) => sqlite.transaction(fn).immediate(),
      close: () => {
        if (sqlite.open) sqlite.close();
      },
    };
  } catch (err) {
    sqlite.close();
    throw err;
  }
}
