// The metadata CSV loads while the inventory lists (daemon/enrich/phase.ts
// start). A SIGKILL while both run, then a restart, gives the same plan and
// the same CSV problems as an uninterrupted run: killed in the middle of the
// load, and killed after the load finished but before the inventory did.

import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import t, { type Test } from 'tap';
import { type DaemonProcess, spawnDaemon, waitFor } from '../helpers/process.js';
import { type RunningSandbox, startSandboxProcess } from '../helpers/sandbox.js';
import { countOf, readStore, storedPoints } from '../helpers/store.js';

const sourcesIn = (db: Database.Database, state: string) =>
  countOf(db, 'SELECT count(*) AS n FROM metadata_sources WHERE state = ?', state);

/** Every decision of the plan and every problem of the current CSV load, in a stable order. */
function planOf(stateDir: string) {
  const plan = readStore(stateDir, (db) => ({
    decisions: db
      .prepare(
        `SELECT p.arn, i.state, i.skip_reason, i.destination_vault_name
           FROM copy_items i JOIN recovery_points p ON p.id = i.point_id ORDER BY p.arn`,
      )
      .all(),
    problems: db
      .prepare(
        `SELECT m.kind, m.line, m.resource_arn, m.detail FROM metadata_problems m
           JOIN metadata_sources s ON s.id = m.source_id AND s.state = 'complete'
          ORDER BY m.kind, m.line, m.resource_arn`,
      )
      .all(),
    rows: (db.prepare('SELECT count(*) AS n FROM metadata_rows').get() as { n: number }).n,
    sources: (db.prepare('SELECT state FROM metadata_sources').all() as { state: string }[]).map((s) => s.state),
  }));
  if (!plan) throw new Error(`no store in ${stateDir}`);
  return plan;
}

async function runToEnd(t: Test, daemon: DaemonProcess): Promise<number | null> {
  const exit = await daemon.exited;
  if (exit.code !== 0) t.comment(daemon.output());
  return exit.code;
}

/** Rows for resources that do not exist, right after the header (the sandbox's last rows are broken on purpose). */
function padCsv(file: string, rows: number): void {
  const text = readFileSync(file, 'utf8');
  const headerEnd = text.indexOf('\n') + 1;
  const padding: string[] = [];
  for (let i = 0; i < rows; i++) {
    padding.push(
      `arn:aws:ec2:eu-west-2:111111111111:volume/vol-pad${i.toString(16).padStart(12, '0')},APM${String(1_000_000 + (i % 500))},pad,pad@example.com\r\n`,
    );
  }
  writeFileSync(file, text.slice(0, headerEnd) + padding.join('') + text.slice(headerEnd));
}

async function killRestartCompare(
  t: Test,
  sandbox: RunningSandbox,
  killWhen: (db: Database.Database, total: number) => boolean,
  what: string,
): Promise<void> {
  // Small pages over few lanes: the listing spans seconds and many checkpoints.
  appendFileSync(sandbox.config, '\n[inventory]\npage_size = 25\nparallel_vaults = 2\n');
  const total = (await sandbox.admin.info()).points;

  // The kill must land after the moment is seen and before the last page: at 15 ms a page the 40 pages of a lane
  // take under a second, which a loaded machine's polling can miss. 150 ms more keeps the first run listing for
  // about 7 s; the runs compared afterwards list at the usual pace.
  await sandbox.admin.setKnobs({ latencyByOperation: { ListRecoveryPointsByBackupVault: 150 } });
  const interrupted = join(sandbox.dir, 'interrupted');
  const first = spawnDaemon(['--dry-run', '--state-dir', interrupted], sandbox.env, t);
  await waitFor(() => readStore(interrupted, (db) => killWhen(db, total)) === true, what, 90_000);
  first.child.kill('SIGKILL');
  await first.exited;
  await sandbox.admin.setKnobs({ latencyByOperation: { ListRecoveryPointsByBackupVault: 0 } });
  const partial = readStore(interrupted, storedPoints) ?? 0;
  t.ok(partial > 0 && partial < total, `killed with ${partial} of ${total} points inventoried`);

  const second = spawnDaemon(['--dry-run', '--once', '--state-dir', interrupted], sandbox.env, t);
  t.equal(await runToEnd(t, second), 0, 'the restarted run completes');
  const clean = join(sandbox.dir, 'clean');
  const uninterrupted = spawnDaemon(['--dry-run', '--once', '--state-dir', clean], sandbox.env, t);
  t.equal(await runToEnd(t, uninterrupted), 0, 'the uninterrupted run completes');

  const resumed = planOf(interrupted);
  const reference = planOf(clean);
  t.equal(resumed.decisions.length, total, 'every point has one decision');
  t.same(resumed.sources, ['complete'], 'one complete CSV load is left, nothing of the killed one');
  t.equal(resumed.rows, reference.rows, 'the same number of CSV rows as the uninterrupted run');
  t.same(resumed.problems, reference.problems, 'the same CSV problems as the uninterrupted run');
  t.same(resumed.decisions, reference.decisions, 'the same plan as the uninterrupted run');
}

// Six daemon runs over two sandboxes: longer than tap's default on a busy machine.
t.setTimeout(600_000);

t.test('enrich overlap: SIGKILL in the middle of the CSV load while the inventory lists', async (t) => {
  const sandbox = await startSandboxProcess(t, { points: 2000, seed: 12, latencyMs: 15 });
  // Enough rows that the load is still running when the first listing page, 165 ms after the start, has landed.
  padCsv(join(sandbox.dir, 'apm.csv'), 200_000);
  await killRestartCompare(
    t,
    sandbox,
    (db, total) => sourcesIn(db, 'loading') > 0 && storedPoints(db) > 0 && storedPoints(db) < total,
    'the CSV load to be under way while the inventory is not done',
  );
});

t.test('enrich overlap: SIGKILL after the CSV load finished, before the inventory did', async (t) => {
  const sandbox = await startSandboxProcess(t, { points: 2000, seed: 13, latencyMs: 15 });
  await killRestartCompare(
    t,
    sandbox,
    (db, total) => sourcesIn(db, 'complete') > 0 && storedPoints(db) > 0 && storedPoints(db) < total,
    'the CSV to be loaded while the inventory is not done',
  );
});
