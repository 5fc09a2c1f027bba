// Reading a daemon's plan items and setting inventory.full_refresh_interval, for the refresh tests.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { RunningSandbox } from './sandbox.js';

export interface Item {
  arn: string;
  vault: string;
  status: string;
  state: string;
  reason: string | null;
}

export function items(stateDir: string): Map<string, Item> {
  const db = new Database(join(stateDir, 'rpcopy.db'), { readonly: true, fileMustExist: true });
  try {
    const rows = db
      .prepare(
        `SELECT p.arn, p.vault_name AS vault, p.status, i.state, i.skip_reason AS reason
         FROM recovery_points p JOIN copy_items i ON i.point_id = p.id ORDER BY p.id`,
      )
      .all() as Item[];
    return new Map(rows.map((r) => [r.arn, r]));
  } finally {
    db.close();
  }
}

/** The sandbox's config with inventory.full_refresh_interval set (again) to `interval`. */
export function refreshEvery(sandbox: RunningSandbox, interval: string, base = readFileSync(sandbox.config, 'utf8')) {
  writeFileSync(sandbox.config, `${base}\n[inventory]\nfull_refresh_interval = "${interval}"\n`);
  return base;
}
