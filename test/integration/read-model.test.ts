// The read model on a real store: the plan and forecast reads give the same answers as the queries they replace,
// and a cached answer is re-read after any commit.

import { join } from 'node:path';
import Database from 'better-sqlite3';
import t, { type Test } from 'tap';
import { costForecast } from '../../daemon/cost/forecast.js';
import { DEFAULT_PRICES } from '../../daemon/cost/prices.js';
import {
  cachedOnStore,
  PLAN_BY_TYPE_SQL,
  PLAN_BY_VAULT_SQL,
  type PlanSummary,
  planCounts,
  planTotals,
  readCounters,
  remainingWork,
  statusCounts,
} from '../../daemon/read-model.js';
import { ReadWorker } from '../../daemon/store/read-worker.js';
import { openStore, type Store } from '../../daemon/store/store.js';
import { shortTempDir } from '../helpers/process.js';

const identity = { sourceAccountId: '111111111111', destinationAccountId: '222222222222', region: 'eu-west-2' };
const DAY = 86_400_000;
const STATES = ['discovered', 'skipped', 'queued', 'submitting', 'submitted', 'completed', 'verified', 'failed'];
const TYPES = ['EBS', 'RDS', 'Aurora', 'DynamoDB', 'S3'];

/** A few hundred points over vaults, types and states; chains of one resource with tied creation dates. */
function seed(store: Store): void {
  const { sqlite } = store;
  const point = sqlite.prepare(
    `INSERT INTO recovery_points (arn, vault_name, resource_arn, resource_type, status, creation_date, size_bytes,
       move_to_cold_at, delete_at)
     VALUES (@arn, @vault, @resource, @type, 'COMPLETED', @created, @size, @cold, @delete)`,
  );
  const item = sqlite.prepare(
    `INSERT INTO copy_items (point_id, state, skip_reason, destination_vault_name, lifecycle_delete_after_days,
       lifecycle_cold_after_days, resource_arn, creation_date, chain_weight, verified_at, completed_at)
     VALUES (@id, @state, @reason, @destination, @deleteDays, @coldDays, @resource, @created, @weight, @verified,
       @completed)`,
  );
  store.write(() => {
    for (let i = 0; i < 400; i++) {
      const vault = `vault-${i % 7}`;
      const resource = `arn:aws:ec2:eu-west-2:111111111111:volume/vol-${i % 37}`;
      const created = 1_700_000_000_000 + Math.floor(i / 3) * DAY;
      const id = point.run({
        arn: `arn:aws:backup:eu-west-2:111111111111:recovery-point:p${i}`,
        vault,
        resource,
        type: TYPES[i % TYPES.length],
        created,
        size: i % 11 === 0 ? null : (i * 7_919) % 50_000_000_000,
        cold: i % 5 === 0 ? created + 30 * DAY : null,
        delete: i % 4 === 0 ? null : created + 365 * DAY,
      }).lastInsertRowid;
      const state = STATES[(i * 3) % STATES.length] as string;
      item.run({
        id,
        state,
        reason: state === 'skipped' ? (i % 2 ? 'not_allowed' : 'no_apmid') : null,
        destination: state === 'discovered' ? null : i % 9 === 0 ? `dest-${i % 3}` : `${vault}-copy`,
        deleteDays: i % 6 === 0 ? 90 : null,
        coldDays: i % 8 === 0 ? 7 : null,
        resource,
        created,
        weight: state === 'queued' ? (i * 13) % 1_000 : null,
        verified: state === 'verified' ? created + DAY + i * 60_000 : null,
        completed: state === 'verified' || state === 'completed' ? created + DAY : null,
      });
    }
  });
}

// The chain query as it was before one window replaced two (daemon/cost/forecast.ts, FIRST_COPIES).
const FIRST_COPIES_BEFORE = `
  SELECT vault, resourceType, landedAt, coldAt,
    CASE WHEN lastDelete >= 9000000000000000000 THEN NULL ELSE (lastDelete / 86400000) * 86400000 END AS deleteAt,
    count(*) AS items, sum(size) AS bytes
  FROM (
    SELECT
      coalesce(i.destination_vault_name, p.vault_name) AS vault,
      p.resource_type AS resourceType,
      CASE WHEN i.state = 'verified' THEN (coalesce(i.verified_at, i.completed_at, i.updated_at) / 3600000) * 3600000 END AS landedAt,
      (coalesce(p.creation_date + i.lifecycle_cold_after_days * 86400000, p.move_to_cold_at) / 86400000) * 86400000 AS coldAt,
      (coalesce(p.creation_date + i.lifecycle_delete_after_days * 86400000, p.delete_at) / 86400000) * 86400000 AS deleteAt,
      coalesce(p.size_bytes, 0) AS size,
      row_number() OVER (PARTITION BY i.resource_arn, i.destination_vault_name ORDER BY i.creation_date, i.point_id) AS rn,
      max(coalesce(p.creation_date + i.lifecycle_delete_after_days * 86400000, p.delete_at, 9000000000000000000))
        OVER (PARTITION BY i.resource_arn, i.destination_vault_name) AS lastDelete
    FROM copy_items i JOIN recovery_points p ON p.id = i.point_id
    WHERE i.state IN ('queued', 'submitting', 'submitted', 'completed', 'verified')
      AND p.resource_type IN ('EBS', 'EC2', 'RDS', 'EFS', 'S3', 'FSx')
  )
  WHERE rn = 1
  GROUP BY 1, 2, 3, 4, 5`;

const REMAINING_BEFORE = `
  SELECT p.resource_type AS resourceType, count(*) AS items, coalesce(sum(p.size_bytes), 0) AS bytes
  FROM copy_items i JOIN recovery_points p ON p.id = i.point_id
  WHERE i.state IN ('queued', 'submitting', 'submitted')
  GROUP BY p.resource_type ORDER BY p.resource_type`;

/** rpctl plan's answer computed the plain way: the totals and both breakdowns read now, nothing cached. */
async function planSummary(store: Store, reader: ReadWorker): Promise<PlanSummary> {
  const [byVault, byType] = await Promise.all([
    reader.all<PlanSummary['byVault'][number]>(PLAN_BY_VAULT_SQL),
    reader.all<PlanSummary['byType'][number]>(PLAN_BY_TYPE_SQL),
  ]);
  return { ...planTotals(store), byVault, byType };
}

/** A seeded store and a read worker on it, both closed when the test ends. */
function seededStore(t: Test): { store: Store; reader: ReadWorker } {
  const file = join(shortTempDir(t), 'rpcopy.db');
  const store = openStore(file, identity, { version: 'test' });
  t.teardown(() => store.close());
  seed(store);
  const reader = new ReadWorker(file, 'the test reader');
  t.teardown(() => reader.close());
  return { store, reader };
}

const sorted = <T>(rows: T[]) => rows.map((r) => JSON.stringify(r)).sort();

t.test('plan, remaining work and cost groups answer as the queries they replace', async (t) => {
  const { store, reader } = seededStore(t);

  t.same(await planCounts(store, reader), await planSummary(store, reader), 'rpctl plan: totals and breakdowns');
  t.ok((await planCounts(store, reader)).byVault.length >= 7, 'the store has every vault planned');

  const { remaining } = await remainingWork(reader);
  t.same(remaining, await reader.all(REMAINING_BEFORE), 'remaining work by type');
  t.ok(remaining.length >= 3, 'several types remain');

  const asked: string[] = [];
  const recording = {
    cached: <Row>(sql: string) => {
      asked.push(sql);
      return reader.all<Row>(sql);
    },
  };
  await costForecast(recording, {
    now: 1_700_000_000_000,
    finishAt: null,
    workMs: 30 * DAY,
    region: 'eu-west-2',
    table: DEFAULT_PRICES,
    tableFile: null,
  });
  const chains = asked.find((sql) => sql.includes('row_number()'));
  if (!chains) throw new Error('the cost forecast asked no chain query');
  const after = await reader.all(chains);
  t.ok(after.length > 10, 'the chain query finds first copies');
  t.same(sorted(after), sorted(await reader.all(FIRST_COPIES_BEFORE)), 'first copies per chain: the same groups');

  const counters = readCounters(store);
  const byState: Record<string, number> = {};
  for (const r of store.sqlite
    .prepare<[], { state: string; n: number }>('SELECT state, count(*) AS n FROM copy_items GROUP BY state')
    .all())
    byState[r.state] = r.n;
  const of = (state: string) => byState[state] ?? 0;
  t.same(counters, { points: 400, items: byState }, 'the counters are the items per state');
  t.equal(Object.keys(byState).length, STATES.length, 'every state is present');
  t.same(statusCounts(counters), {
    discovered: 400,
    skipped: of('skipped'),
    queued: of('queued'),
    inFlight: of('submitting') + of('submitted'),
    completed: of('completed') + of('verified'),
    failed: of('failed'),
  });
});

t.test('a cached answer holds until a commit, then the store is read again', async (t) => {
  const { store, reader } = seededStore(t);

  const random = 'SELECT random() AS r';
  const [first] = await reader.cached<{ r: number }>(random);
  const [again] = await reader.cached<{ r: number }>(random);
  t.equal(again?.r, first?.r, 'asked again with nothing committed: the same answer, from the cache');
  const [uncached] = await reader.all<{ r: number }>(random);
  t.not(uncached?.r, first?.r, 'all() always reads');

  const before = await planCounts(store, reader);
  const { remaining: remainingBefore } = await remainingWork(reader);
  store.write(() =>
    store.sqlite.prepare(`UPDATE copy_items SET state = 'verified' WHERE state IN ('queued', 'submitted')`).run(),
  );
  const [changed] = await reader.cached<{ r: number }>(random);
  t.not(changed?.r, first?.r, 'a commit by the writer drops the cached answers');
  const after = await planCounts(store, reader);
  t.same(after, await planSummary(store, reader), 'the plan after the commit is the store as it is now');
  t.notSame(after.byVault, before.byVault, 'and differs from the one before');
  const { remaining } = await remainingWork(reader);
  t.same(remaining, await reader.all(REMAINING_BEFORE), 'remaining work after the commit');
  t.notSame(remaining, remainingBefore);
});

t.test("a read kept on the writer's connection is read again after any change to the store", async (t) => {
  const file = join(shortTempDir(t), 'rpcopy.db');
  const store = openStore(file, identity, { version: 'test' });
  t.teardown(() => store.close());
  seed(store);
  let reads = 0;
  const queued = () =>
    cachedOnStore(store, 'queued', () => {
      reads += 1;
      return readCounters(store).items.queued;
    });
  const first = queued();
  t.equal(queued(), first);
  t.equal(reads, 1, 'asked twice over an unchanged store: read once');

  store.write(() => store.sqlite.prepare(`UPDATE copy_items SET state = 'queued' WHERE state = 'failed'`).run());
  t.ok(queued() > first, 'a row changed by the writer: read again');
  t.equal(reads, 2);
  store.write(() => store.sqlite.prepare(`UPDATE copy_items SET state = 'queued' WHERE point_id < 0`).run());
  queued();
  t.equal(reads, 2, 'a write that changed no row keeps the answer');

  const other = new Database(file);
  t.teardown(() => other.close());
  other.prepare(`UPDATE copy_items SET state = 'queued' WHERE state = 'submitted'`).run();
  const afterOther = queued();
  t.equal(reads, 3, 'a commit by another connection: read again');
  t.same(afterOther, readCounters(store).items.queued);

  store.sqlite.exec('CREATE TEMP TABLE scratch (x)');
  queued();
  t.equal(reads, 4, 'a schema change: read again');
  t.equal(
    cachedOnStore(store, 'another key', () => 'x'),
    'x',
    'keys are kept apart',
  );
});
