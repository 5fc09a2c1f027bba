// The event log's retention against a real store: routine events older than the retention become one count per
// day, kind and level; the audit trail (operator actions, warnings, errors, kinds not known to be routine) and
// everything recent stay as they were.

import { join } from 'node:path';
import t, { type Test } from 'tap';
import { eventCompaction, startEventCompaction, startRun } from '../../daemon/events.js';
import { createLogger } from '../../daemon/log.js';
import { openStore } from '../../daemon/store/store.js';
import { shortTempDir } from '../helpers/process.js';

const DAY = 86_400_000;
const NOW = Date.parse('2026-12-07T12:00:00Z');
const quiet = createLogger({ level: 'error', write: () => undefined });

function setup(t: Test) {
  const dir = shortTempDir(t);
  const store = openStore(
    join(dir, 'rpcopy.db'),
    { sourceAccountId: '111111111111', destinationAccountId: '222222222222', region: 'eu-west-2' },
    { version: 'test' },
  );
  t.teardown(() => store.close());
  const runId = startRun(store, { pid: 1, version: 'test', mode: 'service' });
  const insert = store.sqlite.prepare('INSERT INTO events (at, run_id, level, kind, message) VALUES (?, ?, ?, ?, ?)');
  const add = (at: number, level: string, kind: string, times = 1) => {
    store.write(() => {
      for (let i = 0; i < times; i++) insert.run(at + i, runId, level, kind, `${kind} #${i}`);
    });
  };
  const kinds = () =>
    store.sqlite
      .prepare('SELECT kind, level, count(*) AS n FROM events GROUP BY kind, level ORDER BY kind, level')
      .all();
  const rollups = () =>
    store.sqlite
      .prepare(
        'SELECT day, kind, level, count, first_at AS firstAt, last_at AS lastAt FROM event_rollups ORDER BY day, kind',
      )
      .all();
  return { store, add, kinds, rollups };
}

t.test('old routine events fold into daily counts; audit, warnings and recent events stay', async (t) => {
  const { store, add, kinds, rollups } = setup(t);
  const old = NOW - 100 * DAY; // 2026-08-29
  add(old, 'info', 'inventory.vault_done', 3);
  add(old + DAY, 'info', 'inventory.vault_done', 2);
  add(old, 'info', 'window.open');
  add(old, 'warn', 'vaults.vault'); // a routine kind, but a warning: kept
  add(old, 'info', 'settings.changed'); // an operator action: kept
  add(old, 'warn', 'copy.reconciled');
  add(old, 'info', 'some.future_kind'); // not known to be routine: kept
  add(NOW - DAY, 'info', 'inventory.vault_done', 4); // inside the retention: kept

  const folded = eventCompaction(store).step(NOW - 90 * DAY);
  t.equal(folded, 6, 'the six old routine info events are folded');
  t.same(kinds(), [
    { kind: 'copy.reconciled', level: 'warn', n: 1 },
    { kind: 'inventory.vault_done', level: 'info', n: 4 },
    { kind: 'settings.changed', level: 'info', n: 1 },
    { kind: 'some.future_kind', level: 'info', n: 1 },
    { kind: 'vaults.vault', level: 'warn', n: 1 },
  ]);
  t.same(rollups(), [
    { day: '2026-08-29', kind: 'inventory.vault_done', level: 'info', count: 3, firstAt: old, lastAt: old + 2 },
    { day: '2026-08-29', kind: 'window.open', level: 'info', count: 1, firstAt: old, lastAt: old },
    {
      day: '2026-08-30',
      kind: 'inventory.vault_done',
      level: 'info',
      count: 2,
      firstAt: old + DAY,
      lastAt: old + DAY + 1,
    },
  ]);
  t.equal(eventCompaction(store).step(NOW - 90 * DAY), 0, 'a second pass finds nothing');

  // Events of a day already folded (a store restored from an older copy) add to its count.
  add(old + 10, 'info', 'inventory.vault_done', 2);
  t.equal(eventCompaction(store).step(NOW - 90 * DAY), 2);
  t.same(rollups()[0], {
    day: '2026-08-29',
    kind: 'inventory.vault_done',
    level: 'info',
    count: 5,
    firstAt: old,
    lastAt: old + 11,
  });
});

t.test('a pass folds any backlog in small transactions, then waits for the next', async (t) => {
  const { add, kinds, rollups, store } = setup(t);
  const old = NOW - 200 * DAY;
  add(old, 'info', 'copy.started', 4_500); // more than two batches
  add(NOW, 'info', 'copy.started', 3);
  const stop = startEventCompaction(store, { retentionMs: 90 * DAY, log: quiet, now: () => NOW, everyMs: 3_600_000 });
  t.teardown(stop);
  for (let i = 0; i < 100 && (rollups()[0] as { count: number } | undefined)?.count !== 4_500; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  t.same(kinds(), [{ kind: 'copy.started', level: 'info', n: 3 }], 'only the recent three are left');
  t.match(rollups(), [{ kind: 'copy.started', count: 4_500 }]);
  stop();
});
