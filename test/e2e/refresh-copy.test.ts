// The inventory's refresh during a long copy phase (inventory.full_refresh_interval): when the full pass comes
// due the copy phase stops claiming, the source is listed again and the plan re-decided, so a queued point that
// started deleting or expired meanwhile is skipped and never submitted; the copy then finishes cleanly.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { assertClean, copySandbox, ledgerVerdict, runOnce } from '../helpers/copy.js';
import { stopDaemon } from '../helpers/pipeline.js';
import { spawnDaemon, waitFor } from '../helpers/process.js';
import { type Item, items, refreshEvery } from '../helpers/refresh.js';

t.setTimeout(600_000);

t.test('a full pass that comes due during the copy phase re-decides what is not yet submitted', async (t) => {
  // Slow copy jobs and one at a time: the copy phase runs for a while with most of the plan still queued.
  const sandbox = await copySandbox(t, 200);
  await sandbox.admin.setKnobs({ timeFactor: 2_000 });
  const base = readFileSync(sandbox.config, 'utf8');
  refreshEvery(sandbox, '3s', base.replace(/max_in_flight = \d+/, 'max_in_flight = 1'));
  const daemon = spawnDaemon([], sandbox.env, t);
  t.teardown(() => stopDaemon(daemon, sandbox.env));
  await waitFor(
    () => {
      try {
        return [...items(sandbox.stateDir).values()].some(
          (i) => !['queued', 'skipped', 'discovered'].includes(i.state),
        );
      } catch {
        return false;
      }
    },
    'the first copy job',
    180_000,
    100,
  ).catch((err: unknown) => {
    t.comment(daemon.output().slice(-6000));
    throw err;
  });
  // The newest queued points are claimed last (a resource's points go oldest first).
  const queued = [...items(sandbox.stateDir).values()].filter((i) => i.state === 'queued').slice(-2);
  t.equal(queued.length, 2, 'queued points to change');
  const [deleting, expired] = queued as [Item, Item];
  await sandbox.admin.setRecoveryPointStatus(deleting.vault, deleting.arn, 'DELETING');
  await sandbox.admin.setRecoveryPointStatus(expired.vault, expired.arn, 'EXPIRED');
  await waitFor(
    () => {
      const now = items(sandbox.stateDir);
      return now.get(deleting.arn)?.state === 'skipped' && now.get(expired.arn)?.state === 'skipped';
    },
    'the changed points to be skipped',
    120_000,
    200,
  );
  t.match(items(sandbox.stateDir).get(deleting.arn), { reason: 'status_not_completed' });
  const db = new Database(join(sandbox.stateDir, 'rpcopy.db'), { readonly: true });
  const refreshes = db.prepare(`SELECT data FROM events WHERE kind = 'inventory.refresh_due'`).all() as {
    data: string;
  }[];
  db.close();
  t.ok(
    refreshes.some((r) => JSON.parse(r.data).stopped === 'copy'),
    'the refresh stopped the copy phase and listed the source again',
  );
  // The rest is copied by a restarted run at full speed: the store carries on where the service stopped.
  await stopDaemon(daemon, sandbox.env);
  await sandbox.admin.setKnobs({ timeFactor: 100_000 });
  refreshEvery(sandbox, '1h', base);
  const rest = await runOnce(t, sandbox);
  t.equal(rest.code, 0, 'the restarted run copies the rest');
  if (rest.code !== 0) t.comment(rest.output.slice(-3000));
  const verdict = await ledgerVerdict(sandbox);
  assertClean(t, verdict, 'refreshed copy');
  const jobsFor = new Set((await sandbox.admin.copyJobs()).map((j) => String(j.SourceRecoveryPointArn)));
  t.notOk(jobsFor.has(deleting.arn), 'the DELETING point was never submitted');
  t.notOk(jobsFor.has(expired.arn), 'the EXPIRED point was never submitted');
});
