// The event log over a months-long run, with the real daemon: at start it folds the routine events older than
// daemon.event_retention into daily counts and leaves the audit trail and recent events alone.

import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { expectExit, runOnce } from '../helpers/copy.js';
import { startSandboxProcess } from '../helpers/sandbox.js';

const DAY = 86_400_000;

t.setTimeout(300_000);

t.test('a start folds routine events past the retention and keeps the audit trail', async (t) => {
  const sandbox = await startSandboxProcess(t, { points: 40, seed: 5 });
  expectExit(t, await runOnce(t, sandbox, {}, ['--dry-run']), 'the first run completes');

  const file = join(sandbox.stateDir, 'rpcopy.db');
  const db = new Database(file);
  t.teardown(() => db.close());
  // Age the first run's history past the default retention (90 days) and add an operator action to it.
  db.prepare('UPDATE events SET at = at - ?').run(100 * DAY);
  db.prepare(
    `INSERT INTO events (at, run_id, level, kind, message) SELECT min(at), run_id, 'info', 'settings.changed', 'max-in-flight 5' FROM events`,
  ).run();
  const aged = db.prepare('SELECT kind, count(*) AS n FROM events GROUP BY kind').all() as {
    kind: string;
    n: number;
  }[];
  const agedStarts = aged.find((e) => e.kind === 'daemon.started')?.n ?? 0;
  t.ok(agedStarts > 0 && aged.some((e) => e.kind === 'inventory.vault_done'), 'the aged history has routine events');

  expectExit(t, await runOnce(t, sandbox, {}, ['--dry-run']), 'the second run completes');
  const cutoff = Date.now() - 90 * DAY;
  const left = db.prepare('SELECT kind, level FROM events WHERE at < ? ORDER BY kind').all(cutoff) as {
    kind: string;
    level: string;
  }[];
  t.same(
    left.filter((e) => e.level === 'info' || e.level === 'debug').map((e) => e.kind),
    ['settings.changed'],
    'of the old info events only the operator action is left',
  );
  const rollups = db.prepare('SELECT kind, sum(count) AS n FROM event_rollups GROUP BY kind').all() as {
    kind: string;
    n: number;
  }[];
  t.equal(rollups.find((r) => r.kind === 'daemon.started')?.n, agedStarts, 'the old starts are counted, not lost');
  t.ok(
    (db.prepare('SELECT count(*) AS n FROM events WHERE at >= ?').get(cutoff) as { n: number }).n > 0,
    'the second run recorded its own events',
  );
});
