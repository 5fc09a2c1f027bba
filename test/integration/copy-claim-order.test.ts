// The copy phase's claim on a real store (migrations applied): the heaviest chain heads first, ties by point id,
// read straight off copy_items_claim_idx. Many resources share a chain weight in a real backlog (chains of
// small daily snapshots weigh the same), so a claim that sorted every queued row of the top weight would cost
// time in proportion to the queue on every claim.
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { CLAIMABLE_SQL, CopyQueue } from '../../daemon/copy/repo.js';
import { openStore, type Store } from '../../daemon/store/store.js';
import { shortTempDir } from '../helpers/process.js';

const identity = { sourceAccountId: '111111111111', destinationAccountId: '222222222222', region: 'eu-west-2' };

/** One vault, one open combination, and `weights.length` single-point chains, queued with those weights. */
function queuedStore(t: Test, weights: number[]): Store {
  const store = openStore(join(shortTempDir(t), 'rpcopy.db'), identity, { version: 'test' });
  t.teardown(() => store.close());
  const { sqlite } = store;
  store.write(() => {
    sqlite
      .prepare(`INSERT INTO source_vaults (name, arn, selected) VALUES ('alpha', 'arn:aws:backup:src:alpha', 1)`)
      .run();
    sqlite
      .prepare(
        `INSERT INTO destination_vaults (source_vault_name, name, arn, state)
         VALUES ('alpha', 'alpha-copy', 'arn:aws:backup:dst:alpha-copy', 'created')`,
      )
      .run();
    const combo = sqlite
      .prepare(
        `INSERT INTO copy_combos (source_vault_name, resource_type, encryption_key_arn, state)
         VALUES ('alpha', 'EBS', 'key', 'open')`,
      )
      .run().lastInsertRowid;
    const point = sqlite.prepare(
      `INSERT INTO recovery_points (arn, vault_name, resource_arn, resource_type, status, creation_date)
       VALUES (?, 'alpha', ?, 'EBS', 'COMPLETED', 1)`,
    );
    const item = sqlite.prepare(
      `INSERT INTO copy_items (point_id, state, resource_arn, creation_date, destination_vault_name, combo_id,
         chain_weight)
       VALUES (?, 'queued', ?, 1, 'alpha-copy', ?, ?)`,
    );
    weights.forEach((weight, i) => {
      const resource = `arn:aws:ec2:eu-west-2:111111111111:volume/vol-${i}`;
      item.run(point.run(`arn:point:${i}`, resource).lastInsertRowid, resource, combo, weight);
    });
  });
  return store;
}

t.test('the claim walks the claim index in its ORDER BY and sorts nothing', async (t) => {
  const store = queuedStore(t, [600, 600, 600]);
  const plan = store.sqlite
    .prepare<[{ now: number; limit: number }], { detail: string }>(`EXPLAIN QUERY PLAN ${CLAIMABLE_SQL}`)
    .all({ now: 0, limit: 10 })
    .map((row) => row.detail);
  t.ok(
    plan.some((step) => /SEARCH i USING (COVERING )?INDEX copy_items_claim_idx/.test(step)),
    'copy_items is read through copy_items_claim_idx',
  );
  t.notOk(
    plan.some((step) => step.includes('TEMP B-TREE')),
    `no sort over the queued rows (plan: ${plan.join(' | ')})`,
  );
});

t.test('heaviest chains first; among equal weights, the lowest point id first', async (t) => {
  const weights = [600, 1200, 600, 1800, 1200, 600, 600];
  const store = queuedStore(t, weights);
  const claimed = new CopyQueue(store, 1).claimable(5, Date.now()).map((c) => c.pointId);
  // Point ids are 1-based in insertion order: weights 1800 (id 4), 1200 (ids 2, 5), then 600 (ids 1, 3, ...).
  t.same(claimed, [4, 2, 5, 1, 3]);
});
