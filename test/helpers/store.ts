// Reading a running daemon's store from a test: read-only, one connection per look, nothing held open.

import { join } from 'node:path';
import Database from 'better-sqlite3';

/** Read the store of a running daemon; undefined while it does not exist yet. */
export function readStore<T>(stateDir: string, read: (db: Database.Database) => T): T | undefined {
  try {
    const db = new Database(join(stateDir, 'rpcopy.db'), { readonly: true, fileMustExist: true });
    try {
      return read(db);
    } finally {
      db.close();
    }
  } catch {
    return undefined;
  }
}

/** One `SELECT count(*) AS n ...` answer. */
export const countOf = (db: Database.Database, sql: string, ...params: unknown[]): number =>
  (db.prepare(sql).get(...params) as { n: number }).n;

export const storedPoints = (db: Database.Database): number => countOf(db, 'SELECT count(*) AS n FROM recovery_points');
