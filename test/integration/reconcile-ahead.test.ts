// The reconciliation's head start (daemon/enrich/reconcile.ts collectResourcesAhead): resource ARNs gathered while
// the inventory lists count only while every stored point is live; the problems always equal a reconciliation
// from scratch.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { loadMetadata } from '../../daemon/enrich/loader.js';
import { collectResourcesAhead, reconcileMetadataWithPoints } from '../../daemon/enrich/reconcile.js';
import { openStore, type Store } from '../../daemon/store/store.js';
import { shortTempDir } from '../helpers/process.js';

const identity = { sourceAccountId: '111111111111', destinationAccountId: '222222222222', region: 'eu-west-2' };
const arn = (n: number) => `arn:aws:ec2:eu-west-2:111111111111:volume/vol-${n}`;

async function setup(t: Test, resources: number[]): Promise<Store> {
  const dir = shortTempDir(t);
  const store = openStore(join(dir, 'rpcopy.db'), identity, { version: 'test' });
  t.teardown(() => store.close());
  const csv = join(dir, 'metadata.csv');
  writeFileSync(csv, `resourceArn,APMID\n${resources.map((n) => `${arn(n)},APM000000${n}\n`).join('')}`);
  const loaded = await loadMetadata(store, { metadata: { csv, keyColumn: 'resourceArn', apmidColumn: 'APMID' } });
  t.equal(loaded.outcome, 'loaded');
  return store;
}

function addPoint(store: Store, id: number, resource: number): void {
  store.sqlite
    .prepare(
      `INSERT INTO recovery_points (id, arn, vault_name, resource_arn, resource_type, status, creation_date)
       VALUES (?, ?, 'main', ?, 'EBS', 'COMPLETED', ?)`,
    )
    .run(id, `arn:aws:ec2:eu-west-2::snapshot/snap-${id}`, arn(resource), 1_700_000_000_000 + id);
}

const problems = (store: Store) =>
  store.sqlite
    .prepare(`SELECT kind, line, resource_arn AS resourceArn FROM metadata_problems
      WHERE kind IN ('unmatched_row', 'point_without_row') ORDER BY kind, line, resource_arn`)
    .all();

t.test('points stored after the head start are added; the problems are those of a full reconciliation', async (t) => {
  const store = await setup(t, [1, 2, 3, 4]);
  addPoint(store, 1, 1);
  addPoint(store, 2, 2);
  await collectResourcesAhead(store);
  addPoint(store, 3, 3);
  addPoint(store, 4, 5);
  const result = await reconcileMetadataWithPoints(store);
  t.match(result, { outcome: 'done', unmatchedRows: 1, pointsWithoutRow: 1 });
  t.same(problems(store), [
    { kind: 'point_without_row', line: null, resourceArn: arn(5) },
    { kind: 'unmatched_row', line: 5, resourceArn: arn(4) },
  ]);
});

t.test('a point gone after the head start: its resource is collected again, from scratch', async (t) => {
  const store = await setup(t, [1, 2]);
  addPoint(store, 1, 1);
  addPoint(store, 2, 2);
  await collectResourcesAhead(store);
  store.sqlite.prepare('UPDATE recovery_points SET gone_at = 1 WHERE id = 2').run();
  const result = await reconcileMetadataWithPoints(store);
  t.match(result, { outcome: 'done', unmatchedRows: 1, pointsWithoutRow: 0 });
  t.same(problems(store), [{ kind: 'unmatched_row', line: 3, resourceArn: arn(2) }]);
  // The head start is spent: a later reconciliation without one sees the same.
  t.match(await reconcileMetadataWithPoints(store), { unmatchedRows: 1, pointsWithoutRow: 0 });
});
