// A SIGKILL in the middle of a full refresh pass, then a restart: the pass continues as a full pass from its
// checkpoint, and the plan it ends with equals the plan of a store that listed the changed source from scratch.

import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { runOnce } from '../helpers/copy.js';
import { spawnDaemon, waitFor } from '../helpers/process.js';
import { items } from '../helpers/refresh.js';
import { startSandboxProcess } from '../helpers/sandbox.js';

t.setTimeout(600_000);

/** Point ARN → its decision. */
function plan(stateDir: string): Record<string, string> {
  return Object.fromEntries(
    [...items(stateDir).values()].map((i) => [i.arn, i.state === 'skipped' ? `skipped:${i.reason}` : i.state]),
  );
}

/** Whether some vault is in the middle of a full pass, a few pages in. */
function midFullPass(stateDir: string): boolean {
  try {
    const db = new Database(join(stateDir, 'rpcopy.db'), { readonly: true, fileMustExist: true });
    try {
      return (
        (
          db
            .prepare(
              `SELECT count(*) AS n FROM source_vaults
             WHERE inventory_state = 'listing' AND inventory_created_after IS NULL AND inventory_pages >= 3`,
            )
            .get() as { n: number }
        ).n > 0
      );
    } finally {
      db.close();
    }
  } catch {
    return false;
  }
}

t.test('SIGKILL mid full refresh, restart: the same plan as a fresh listing of the changed source', async (t) => {
  const sandbox = await startSandboxProcess(t, { points: 2000, seed: 24, latencyMs: 15 });
  // Small pages so a pass spans many checkpoints; every run after the first is due a full pass.
  appendFileSync(sandbox.config, '\n[inventory]\npage_size = 25\nparallel_vaults = 3\nfull_refresh_interval = "1s"\n');
  t.equal((await runOnce(t, sandbox, {}, ['--dry-run'])).code, 0, 'the first run completes');
  const queued = [...items(sandbox.stateDir).values()].filter((i) => i.state === 'queued');
  const [deleting, deleted] = [queued[0], queued[queued.length - 1]];
  if (!deleting || !deleted) throw new Error('no queued points');
  await sandbox.admin.setRecoveryPointStatus(deleting.vault, deleting.arn, 'DELETING');
  await sandbox.admin.deleteRecoveryPoint(deleted.vault, deleted.arn);
  await new Promise((r) => setTimeout(r, 1_100));

  const killed = spawnDaemon(['--dry-run', '--once'], sandbox.env, t);
  await waitFor(() => midFullPass(sandbox.stateDir), 'a full refresh pass to be under way', 120_000, 20);
  killed.child.kill('SIGKILL');
  await killed.exited;
  t.ok(midFullPass(sandbox.stateDir), 'killed in the middle of a full pass');
  const resumed = await runOnce(t, sandbox, {}, ['--dry-run']);
  t.equal(resumed.code, 0, 'the restarted run completes');

  const fresh = join(sandbox.dir, 'fresh');
  const clean = await runOnce(t, sandbox, {}, ['--dry-run', '--state-dir', fresh]);
  t.equal(clean.code, 0, 'a fresh store lists the changed source');
  const after = plan(sandbox.stateDir);
  const expected = plan(fresh);
  t.equal(after[deleting.arn], 'skipped:status_not_completed', 'the DELETING point is skipped');
  t.equal(after[deleted.arn], 'skipped:point_gone', 'the deleted point is gone');
  delete after[deleted.arn];
  t.same(after, expected, 'every other point has the decision a fresh listing gives');
});
