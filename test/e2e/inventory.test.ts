// Inventory against the sandbox: complete, and a SIGKILL in the middle
// followed by a restart gives exactly the set an uninterrupted run gives.

import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t, { type Test } from 'tap';
import { type DaemonProcess, spawnDaemon, waitFor } from '../helpers/process.js';
import { startSandboxProcess } from '../helpers/sandbox.js';

function pointArns(stateDir: string): string[] {
  const db = new Database(join(stateDir, 'rpcopy.db'), { readonly: true });
  try {
    return (db.prepare('SELECT arn FROM recovery_points ORDER BY arn').all() as { arn: string }[]).map((r) => r.arn);
  } finally {
    db.close();
  }
}

function storedCount(stateDir: string): number {
  try {
    const db = new Database(join(stateDir, 'rpcopy.db'), { readonly: true, fileMustExist: true });
    try {
      return (db.prepare('SELECT count(*) AS n FROM recovery_points').get() as { n: number }).n;
    } finally {
      db.close();
    }
  } catch {
    return 0;
  }
}

/** Wait for the daemon to exit; its output is shown only when it did not exit 0. */
async function runToEnd(t: Test, daemon: DaemonProcess): Promise<number | null> {
  const exit = await daemon.exited;
  if (exit.code !== 0) t.comment(daemon.output());
  return exit.code;
}

t.test('inventory: SIGKILL mid-listing, restart, same set as an uninterrupted run', async (t) => {
  const sandbox = await startSandboxProcess(t, { points: 3000, seed: 11, latencyMs: 15 });
  // Small pages so the listing spans many checkpoints.
  appendFileSync(sandbox.config, '\n[inventory]\npage_size = 25\nparallel_vaults = 3\n');
  const total = (await sandbox.admin.info()).points;

  // The kill must land before the last page: at 15 ms a page the 40 pages of a lane take under a second, which a
  // loaded machine's polling can miss. 150 ms more keeps the first run listing for about 7 s; the runs compared
  // afterwards list at the usual pace.
  await sandbox.admin.setKnobs({ latencyByOperation: { ListRecoveryPointsByBackupVault: 150 } });
  const interrupted = join(sandbox.dir, 'interrupted');
  const first = spawnDaemon(['--dry-run', '--state-dir', interrupted], sandbox.env, t);
  await waitFor(() => storedCount(interrupted) >= 600, 'part of the inventory to be stored', 60_000);
  first.child.kill('SIGKILL');
  await first.exited;
  await sandbox.admin.setKnobs({ latencyByOperation: { ListRecoveryPointsByBackupVault: 0 } });
  const partial = storedCount(interrupted);
  t.ok(partial > 0 && partial < total, `killed mid-inventory with ${partial} of ${total} points stored`);

  const second = spawnDaemon(['--dry-run', '--once', '--state-dir', interrupted], sandbox.env, t);
  t.equal(await runToEnd(t, second), 0, 'the restarted run completes');

  const clean = join(sandbox.dir, 'clean');
  const uninterrupted = spawnDaemon(['--dry-run', '--once', '--state-dir', clean], sandbox.env, t);
  t.equal(await runToEnd(t, uninterrupted), 0, 'the uninterrupted run completes');

  const resumed = pointArns(interrupted);
  t.equal(resumed.length, total, 'every point of the sandbox is inventoried');
  t.equal(new Set(resumed).size, resumed.length, 'no duplicates');
  t.same(resumed, pointArns(clean), 'the same set as the uninterrupted run');
});
