// `rpctl reset` on a real store: each target changes only its own rows, of the named vault when one is given,
// in one transaction (daemon/reset.ts through the inventory and copy repos).
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { resetState } from '../../daemon/reset.js';
import { openStore, type Store } from '../../daemon/store/store.js';
import { shortTempDir } from '../helpers/process.js';

const identity = { sourceAccountId: '111111111111', destinationAccountId: '222222222222', region: 'eu-west-2' };
const NOW = 1_800_000_000_000;

/** Two listed vaults, each with a point in every state a reset looks at, a failed combination and a census. */
function seededStore(t: Test): Store {
  const store = openStore(join(shortTempDir(t), 'rpcopy.db'), identity, { version: 'test' });
  t.teardown(() => store.close());
  const { sqlite } = store;
  const vault = sqlite.prepare(
    `INSERT INTO source_vaults (name, arn, selected, inventory_state, inventory_pages, inventory_count,
       inventory_horizon, inventory_completed_at)
     VALUES (?, ?, 1, 'done', 3, 30, 1, 2)`,
  );
  const point = sqlite.prepare(
    `INSERT INTO recovery_points (arn, vault_name, resource_arn, resource_type, status, creation_date)
     VALUES (?, ?, ?, 'EBS', 'COMPLETED', 1)`,
  );
  const item = sqlite.prepare(
    `INSERT INTO copy_items (point_id, state, skip_reason, attempt, failure_reason, resource_arn, creation_date)
     VALUES (?, ?, ?, ?, ?, ?, 1)`,
  );
  const items: [string, string | null, number, string | null][] = [
    ['skipped', 'apmid_missing', 0, null],
    ['queued', null, 0, null],
    ['queued', null, 1, null],
    ['failed', null, 1, 'copy_job_failed'],
    ['verified', null, 1, null],
  ];
  store.write(() => {
    for (const name of ['alpha', 'beta']) {
      vault.run(name, `arn:aws:backup:eu-west-2:111111111111:backup-vault:${name}`);
      items.forEach(([state, reason, attempt, failure], i) => {
        const resource = `arn:aws:ec2:eu-west-2:111111111111:volume/vol-${name}-${i}`;
        const id = point.run(`arn:${name}:${i}`, name, resource).lastInsertRowid;
        item.run(id, state, reason, attempt, failure, resource);
      });
      sqlite
        .prepare(
          `INSERT INTO copy_combos (source_vault_name, resource_type, encryption_key_arn, state, detail)
           VALUES (?, 'EBS', 'key', 'failed', 'canary failed')`,
        )
        .run(name);
    }
    sqlite.prepare(`INSERT INTO copy_checkpoints (key, value) VALUES ('destination_census_at', 5)`).run();
  });
  return store;
}

/** Each vault's items as `state/attempt`, in insertion order. */
function itemsByVault(store: Store): Record<string, string[]> {
  const rows = store.sqlite
    .prepare<[], { vault: string; state: string; attempt: number }>(
      `SELECT p.vault_name AS vault, i.state, i.attempt FROM copy_items i JOIN recovery_points p ON p.id = i.point_id
       ORDER BY i.point_id`,
    )
    .all();
  const out: Record<string, string[]> = {};
  for (const r of rows) {
    out[r.vault] ??= [];
    out[r.vault]?.push(`${r.state}/${r.attempt}`);
  }
  return out;
}

const UNTOUCHED = ['skipped/0', 'queued/0', 'queued/1', 'failed/1', 'verified/1'];

t.test('reset plan of one vault: its unstarted decisions are undone and the census is forgotten', async (t) => {
  const store = seededStore(t);
  const result = resetState(store, 'plan', 'alpha', NOW);
  t.match(result, { target: 'plan', vault: 'alpha', replanned: 2, requeued: 0, vaults: 0 });
  t.same(itemsByVault(store), {
    alpha: ['discovered/0', 'discovered/0', 'queued/1', 'failed/1', 'verified/1'],
    beta: UNTOUCHED,
  });
  const census = store.sqlite.prepare(`SELECT count(*) FROM copy_checkpoints WHERE key = 'destination_census_at'`);
  t.equal(census.pluck().get(), 0);
});

t.test(
  'reset failed: failed points of every vault are queued with a new attempt, their combinations probe again',
  async (t) => {
    const store = seededStore(t);
    const result = resetState(store, 'failed', null, NOW);
    t.match(result, { requeued: 2, replanned: 0 });
    const requeued = ['skipped/0', 'queued/0', 'queued/1', 'queued/2', 'verified/1'];
    t.same(itemsByVault(store), { alpha: requeued, beta: requeued });
    const combos = store.sqlite
      .prepare<[], { state: string; detail: string | null }>('SELECT state, detail FROM copy_combos ORDER BY id')
      .all();
    t.same(combos, [
      { state: 'pending', detail: null },
      { state: 'pending', detail: null },
    ]);
    const failure = store.sqlite
      .prepare<[], { base: number; reason: string | null }>(
        `SELECT attempt_base AS base, failure_reason AS reason FROM copy_items WHERE state = 'queued' AND attempt = 2`,
      )
      .all();
    t.same(failure, [
      { base: 1, reason: null },
      { base: 1, reason: null },
    ]);
  },
);

t.test('reset inventory of one vault: only its listing starts over; nothing else changes', async (t) => {
  const store = seededStore(t);
  const result = resetState(store, 'inventory', 'beta', NOW);
  t.match(result, { vaults: 1, replanned: 0, requeued: 0 });
  const vaults = store.sqlite
    .prepare<[], { name: string; state: string; pages: number; horizon: number | null }>(
      `SELECT name, inventory_state AS state, inventory_pages AS pages, inventory_horizon AS horizon
       FROM source_vaults ORDER BY name`,
    )
    .all();
  t.same(vaults, [
    { name: 'alpha', state: 'done', pages: 3, horizon: 1 },
    { name: 'beta', state: 'pending', pages: 0, horizon: null },
  ]);
  t.same(itemsByVault(store), { alpha: UNTOUCHED, beta: UNTOUCHED });
});

t.test('reset all: the listings, the plan and the failures of every vault together', async (t) => {
  const store = seededStore(t);
  const result = resetState(store, 'all', null, NOW);
  t.match(result, { vaults: 2, replanned: 4, requeued: 2 });
  const all = ['discovered/0', 'discovered/0', 'queued/1', 'queued/2', 'verified/1'];
  t.same(itemsByVault(store), { alpha: all, beta: all });
});

t.test('an unknown vault is refused, naming it, and changes nothing', async (t) => {
  const store = seededStore(t);
  t.throws(() => resetState(store, 'all', 'gamma', NOW), { code: 'BAD_REQUEST', message: /vault: .*"gamma"/ });
  t.same(itemsByVault(store), { alpha: UNTOUCHED, beta: UNTOUCHED });
});
