// The inventory's refresh schedule against the sandbox (inventory.full_refresh_interval): points that change in
// the source after the first pass (CREATING → COMPLETED, COMPLETED → DELETING or EXPIRED, deleted, a delete
// date moved inside copy.expiry_margin, moved to cold storage) are seen by the next full pass and re-decided by
// the plan; between full passes a run lists only new points; a done service and a
// running copy phase both come back to the inventory when the full pass is due; an item the copy engine owns is
// never re-decided (the copy phase's case is refresh-copy.test.ts).

import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { runOnce } from '../helpers/copy.js';
import { runUntilDone, stopDaemon } from '../helpers/pipeline.js';
import { waitFor } from '../helpers/process.js';
import { type Item, items, refreshEvery } from '../helpers/refresh.js';
import { startSandboxProcess } from '../helpers/sandbox.js';

const HOUR = 3_600_000;

t.setTimeout(600_000);

/** Queued points created long before the refresh overlap, so an incremental listing does not see them again. */
function oldQueued(stateDir: string, n: number): Item[] {
  const db = new Database(join(stateDir, 'rpcopy.db'), { readonly: true, fileMustExist: true });
  try {
    return db
      .prepare(
        `SELECT p.arn, p.vault_name AS vault, p.status, i.state, i.skip_reason AS reason
         FROM recovery_points p JOIN copy_items i ON i.point_id = p.id
         WHERE i.state = 'queued' AND p.creation_date < ? ORDER BY p.id LIMIT ?`,
      )
      .all(Date.now() - 24 * HOUR, n) as Item[];
  } finally {
    db.close();
  }
}

function vaultDoneEvents(stateDir: string): { incremental: boolean }[] {
  const db = new Database(join(stateDir, 'rpcopy.db'), { readonly: true, fileMustExist: true });
  try {
    return (
      db.prepare(`SELECT data FROM events WHERE kind = 'inventory.vault_done' ORDER BY id`).all() as { data: string }[]
    ).map((r) => JSON.parse(r.data) as { incremental: boolean });
  } finally {
    db.close();
  }
}

t.test(
  'a run lists incrementally until the full pass is due, then in full: statuses and the plan follow',
  async (t) => {
    const sandbox = await startSandboxProcess(t, { points: 400, seed: 21 });
    const base = refreshEvery(sandbox, '1h');
    const first = await runOnce(t, sandbox, {}, ['--dry-run']);
    t.equal(first.code, 0, 'the first run completes');
    const [deleting, expired, creating] = oldQueued(sandbox.stateDir, 3) as [Item, Item, Item];
    t.ok(creating, 'three queued points to change');
    await sandbox.admin.setRecoveryPointStatus(deleting.vault, deleting.arn, 'DELETING');
    await sandbox.admin.setRecoveryPointStatus(expired.vault, expired.arn, 'EXPIRED');
    await sandbox.admin.setRecoveryPointStatus(creating.vault, creating.arn, 'CREATING');

    const second = await runOnce(t, sandbox, {}, ['--dry-run']);
    t.equal(second.code, 0, 'a second run inside the interval completes');
    const events = vaultDoneEvents(sandbox.stateDir);
    const firstCount = events.filter((e) => !e.incremental).length;
    t.ok(firstCount > 0, 'the first run listed every vault in full');
    t.ok(
      events.slice(firstCount).every((e) => e.incremental),
      'inside the interval, the second run lists only new points',
    );
    t.equal(items(sandbox.stateDir).get(deleting.arn)?.status, 'COMPLETED', 'so it has not seen the changes yet');

    refreshEvery(sandbox, '1s', base);
    await new Promise((r) => setTimeout(r, 1_100));
    const third = await runOnce(t, sandbox, {}, ['--dry-run']);
    t.equal(third.code, 0, 'a run after the interval completes');
    t.ok(
      vaultDoneEvents(sandbox.stateDir)
        .slice(events.length)
        .some((e) => !e.incremental),
      'after the interval a run lists in full',
    );
    let now = items(sandbox.stateDir);
    t.match(now.get(deleting.arn), { status: 'DELETING', state: 'skipped', reason: 'status_not_completed' });
    t.match(now.get(expired.arn), { status: 'EXPIRED', state: 'skipped', reason: 'status_not_completed' });
    t.match(now.get(creating.arn), { status: 'CREATING', state: 'skipped', reason: 'status_not_completed' });

    await sandbox.admin.setRecoveryPointStatus(creating.vault, creating.arn, 'COMPLETED');
    await new Promise((r) => setTimeout(r, 1_100));
    const fourth = await runOnce(t, sandbox, {}, ['--dry-run']);
    t.equal(fourth.code, 0, 'another run after the interval completes');
    now = items(sandbox.stateDir);
    t.match(now.get(creating.arn), { status: 'COMPLETED', state: 'queued', reason: null }, 'completed since: queued');
  },
);

t.test(
  'a done service lists the source again when the full pass is due: changed, deleted, expiring and cold points are re-decided',
  async (t) => {
    const sandbox = await startSandboxProcess(t, { points: 300, seed: 22 });
    refreshEvery(sandbox, '5s');
    const daemon = await runUntilDone(t, sandbox, ['--dry-run']);
    t.teardown(() => stopDaemon(daemon, sandbox.env));
    const [deleting, creating, deleted, expiring, cold] = oldQueued(sandbox.stateDir, 5) as [
      Item,
      Item,
      Item,
      Item,
      Item,
    ];
    t.ok(cold, 'five queued points to change');
    await sandbox.admin.setRecoveryPointStatus(deleting.vault, deleting.arn, 'DELETING');
    await sandbox.admin.setRecoveryPointStatus(creating.vault, creating.arn, 'CREATING');
    await sandbox.admin.deleteRecoveryPoint(deleted.vault, deleted.arn);
    // Inside copy.expiry_margin (2 days by default), and past its cold-storage date.
    await sandbox.admin.patchRecoveryPoint({
      vault: expiring.vault,
      recoveryPointArn: expiring.arn,
      deleteAt: Date.now() + 24 * HOUR,
    });
    await sandbox.admin.patchRecoveryPoint({
      vault: cold.vault,
      recoveryPointArn: cold.arn,
      moveToColdStorageAt: Date.now() - 60_000,
    });
    const decided = (arn: string, state: string) => () => items(sandbox.stateDir).get(arn)?.state === state;
    for (const [point, what] of [
      [deleting, 'DELETING'],
      [creating, 'CREATING'],
      [deleted, 'deleted'],
      [expiring, 'expiring'],
      [cold, 'cold'],
    ] as const) {
      await waitFor(decided(point.arn, 'skipped'), `the ${what} point to be skipped`, 60_000, 200);
    }
    const now = items(sandbox.stateDir);
    t.match(now.get(deleting.arn), { status: 'DELETING', reason: 'status_not_completed' });
    t.match(now.get(creating.arn), { status: 'CREATING', reason: 'status_not_completed' });
    t.match(now.get(deleted.arn), { reason: 'point_gone' }, 'a deleted point is gone');
    t.match(now.get(expiring.arn), { reason: 'expiring_before_copy' }, 'a point now expiring within the margin');
    t.match(now.get(cold.arn), { reason: 'cold_storage' }, 'a point moved to cold storage');
    await sandbox.admin.setRecoveryPointStatus(creating.vault, creating.arn, 'COMPLETED');
    await waitFor(decided(creating.arn, 'queued'), 'the point completed since to be queued', 60_000, 200);
    t.pass('a point that completed after the first pass is queued');
  },
);

t.test('a point skipped as already_copied keeps that decision through a full refresh', async (t) => {
  const sandbox = await startSandboxProcess(t, { points: 200, seed: 23 });
  refreshEvery(sandbox, '1s');
  t.equal((await runOnce(t, sandbox, {}, ['--dry-run'])).code, 0, 'the first run completes');
  const [copied] = oldQueued(sandbox.stateDir, 1) as [Item];
  // What the copy engine's destination census records for a copy that predates the store.
  const db = new Database(join(sandbox.stateDir, 'rpcopy.db'));
  db.prepare(
    `UPDATE copy_items SET state = 'skipped', skip_reason = 'already_copied'
     WHERE point_id = (SELECT id FROM recovery_points WHERE arn = ?)`,
  ).run(copied.arn);
  db.close();
  await new Promise((r) => setTimeout(r, 1_100));
  t.equal((await runOnce(t, sandbox, {}, ['--dry-run'])).code, 0, 'a run with a full pass completes');
  t.ok(
    vaultDoneEvents(sandbox.stateDir).some((e, i, all) => i >= all.length / 2 && !e.incremental),
    'the second run listed in full',
  );
  t.match(items(sandbox.stateDir).get(copied.arn), { state: 'skipped', reason: 'already_copied' });
});
