// The plan decides the points already stored while the inventory still lists
// (daemon/plan/phase.ts start: drafts), and run() then decides every point
// again with the final inputs. A SIGKILL while the drafts are partly written,
// then a restart, gives the plan of an uninterrupted run; and the drafts never
// leave a decision that the whole inventory changes (the KMS keys, classified
// after the last page, turn drafted copies into aws_managed_key skips).

import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import t, { type Test } from 'tap';
import { type DaemonProcess, spawnDaemon, waitFor } from '../helpers/process.js';
import { startSandboxProcess } from '../helpers/sandbox.js';
import { countOf, readStore, storedPoints } from '../helpers/store.js';

const decidedItems = (db: Database.Database) => countOf(db, 'SELECT count(*) AS n FROM copy_items');

/** Every decision of the plan, with what it says about the point, by ARN. */
function decisionsOf(stateDir: string) {
  const decisions = readStore(
    stateDir,
    (db) =>
      db
        .prepare(
          `SELECT p.arn, i.state, i.skip_reason, i.apmid, i.destination_vault_name,
           i.lifecycle_delete_after_days, i.lifecycle_cold_after_days
         FROM copy_items i JOIN recovery_points p ON p.id = i.point_id ORDER BY p.arn`,
        )
        .all() as { arn: string; state: string; skip_reason: string | null }[],
  );
  if (!decisions) throw new Error(`no store in ${stateDir}`);
  return decisions;
}

async function runToEnd(t: Test, daemon: DaemonProcess): Promise<number | null> {
  const exit = await daemon.exited;
  if (exit.code !== 0) t.comment(daemon.output());
  return exit.code;
}

// Three daemon runs over a sandbox that lists for seconds: longer than tap's default on a busy machine.
t.setTimeout(600_000);

t.test('plan drafts: SIGKILL while points are decided behind the inventory, then a restart', async (t) => {
  const sandbox = await startSandboxProcess(t, { points: 2000, seed: 21, latencyMs: 15 });
  // Small pages over few lanes: the listing spans seconds, and the drafts follow it in many rounds.
  appendFileSync(sandbox.config, '\n[inventory]\npage_size = 25\nparallel_vaults = 2\n');
  const total = (await sandbox.admin.info()).points;

  // The kill must land after the moment is seen and before the last page: at 15 ms a page the 40 pages of a lane
  // take under a second, which a loaded machine's polling can miss. 150 ms more keeps the first run listing for
  // about 7 s; the runs compared afterwards list at the usual pace.
  await sandbox.admin.setKnobs({ latencyByOperation: { ListRecoveryPointsByBackupVault: 150 } });
  const interrupted = join(sandbox.dir, 'interrupted');
  const first = spawnDaemon(['--dry-run', '--state-dir', interrupted], sandbox.env, t);
  await waitFor(
    () =>
      // Some rounds of drafts written, the listing still under way.
      readStore(interrupted, (db) => decidedItems(db) > 100 && storedPoints(db) < total) === true,
    'points decided while the inventory lists',
    90_000,
  );
  first.child.kill('SIGKILL');
  await first.exited;
  await sandbox.admin.setKnobs({ latencyByOperation: { ListRecoveryPointsByBackupVault: 0 } });
  const after = readStore(interrupted, (db) => ({ points: storedPoints(db), decided: decidedItems(db) }));
  t.ok(after && after.points < total, `killed with ${after?.points} of ${total} points inventoried`);
  t.ok(after && after.decided > 0 && after.decided <= after.points, `and ${after?.decided} of them decided`);

  const second = spawnDaemon(['--dry-run', '--once', '--state-dir', interrupted], sandbox.env, t);
  t.equal(await runToEnd(t, second), 0, 'the restarted run completes');
  const clean = join(sandbox.dir, 'clean');
  const uninterrupted = spawnDaemon(['--dry-run', '--once', '--state-dir', clean], sandbox.env, t);
  t.equal(await runToEnd(t, uninterrupted), 0, 'the uninterrupted run completes');

  const resumed = decisionsOf(interrupted);
  const reference = decisionsOf(clean);
  t.equal(resumed.length, total, 'every point has one decision');
  t.equal(new Set(resumed.map((d) => d.arn)).size, total, 'no point has two');
  t.same(resumed, reference, 'the same plan as the uninterrupted run');
  // The KMS keys are classified after the last page: drafts took these points as copies, run() skips them.
  t.ok(
    reference.some((d) => d.skip_reason === 'aws_managed_key'),
    'points under AWS-managed keys are skipped, whatever the drafts said',
  );
});
