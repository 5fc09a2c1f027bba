// Exactly-once over a service's life: a store older than AWS's records, an
// operator's retry, or AWS refusing to answer must never copy a point twice,
// strand it, or keep the run from ever finishing. Each test drives the real
// daemon against the sandbox and judges by the sandbox's ledger.

import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import t from 'tap';
import { assertClean, copySandbox, expectExit, ledgerVerdict, readItems, runOnce } from '../helpers/copy.js';
import { runCtlAsync, spawnDaemon, waitFor } from '../helpers/process.js';
import type { RunningSandbox } from '../helpers/sandbox.js';

t.setTimeout(1_800_000);

function openStore(sandbox: RunningSandbox): Database.Database {
  return new Database(join(sandbox.stateDir, 'rpcopy.db'));
}

async function state(sandbox: RunningSandbox): Promise<string> {
  const status = await runCtlAsync(['status', '--json'], sandbox.env);
  return status.code === 0 ? JSON.parse(status.stdout).state : 'unreachable';
}

t.test(
  'a store older than AWS: a point it says failed, or submitted to a job that failed, was copied since',
  async (t) => {
    const sandbox = await copySandbox(t, 300, { idempotencyTtlSeconds: 1 }, 11);
    expectExit(t, await runOnce(t, sandbox), 'the first run copies everything');
    const jobsBefore = (await sandbox.admin.ledgerSummary()).jobsCreated;
    // The older store: for ten verified points it knows neither their job nor anything after it; five it last saw
    // failed (a permanent failure the operator later retried), five submitted to an earlier job that since failed.
    const db = openStore(sandbox);
    const rows = db
      .prepare(
        `SELECT i.point_id AS pointId, i.copy_job_id AS jobId FROM copy_items i WHERE i.state = 'verified'
       ORDER BY i.point_id LIMIT 10`,
      )
      .all() as { pointId: number; jobId: string }[];
    const forget = db.transaction(() => {
      for (const [n, row] of rows.entries()) {
        db.prepare('DELETE FROM copy_attempts WHERE point_id = ?').run(row.pointId);
        if (n < 5) {
          db.prepare(
            `UPDATE copy_items SET state = 'failed', failure_kind = 'permanent', failure_reason = 'access_denied',
             copy_job_id = NULL, destination_point_arn = NULL, verified_at = NULL WHERE point_id = ?`,
          ).run(row.pointId);
        } else {
          db.prepare(
            `UPDATE copy_items SET state = 'submitted', copy_job_id = 'job-from-before', job_state = 'RUNNING',
             submitted_at = 0, destination_point_arn = NULL, verified_at = NULL WHERE point_id = ?`,
          ).run(row.pointId);
        }
      }
      db.prepare(`DELETE FROM copy_checkpoints`).run();
    });
    forget();
    db.close();

    const run = await runOnce(t, sandbox);
    expectExit(t, run, 'the run on the older store finishes');
    t.match(run.output, /took over copy jobs AWS has that the store did not record/);
    const items = new Map(readItems(sandbox.stateDir).map((i) => [i.arn, i]));
    const byId = openStore(sandbox);
    const arns = rows.map(
      (r) => (byId.prepare('SELECT arn FROM recovery_points WHERE id = ?').get(r.pointId) as { arn: string }).arn,
    );
    byId.close();
    for (const [n, arn] of arns.entries()) {
      const item = items.get(arn);
      t.equal(item?.state, 'verified', `the point the store saw ${n < 5 ? 'failed' : 'submitted'} is verified`);
      t.equal(item?.copyJobId, rows[n]?.jobId, 'through the job AWS has');
    }
    t.equal((await sandbox.admin.ledgerSummary()).jobsCreated, jobsBefore, 'no copy job was started again');
    assertClean(t, await ledgerVerdict(sandbox), 'older store');
  },
);

t.test('rpctl retry of a verification failure whose copy exists takes the copy, not a second job', async (t) => {
  const sandbox = await copySandbox(t, 300, {}, 12);
  expectExit(t, await runOnce(t, sandbox), 'the first run copies everything');
  const jobsBefore = (await sandbox.admin.ledgerSummary()).jobsCreated;
  // Verification failed for eight copies that do exist (a listing that had not caught up, say).
  const db = openStore(sandbox);
  const failed = db
    .prepare(
      `UPDATE copy_items SET state = 'failed', failure_kind = 'permanent', failure_reason = 'verification_failed',
         error_message = 'not yet listed', verified_at = NULL
       WHERE point_id IN (SELECT point_id FROM copy_items WHERE state = 'verified' ORDER BY point_id LIMIT 8)`,
    )
    .run().changes;
  db.close();
  t.equal(failed, 8);

  const daemon = spawnDaemon([], sandbox.env, t);
  await waitFor(async () => (await state(sandbox)) === 'done', 'the service to be done', 120_000, 200);
  const retried = await runCtlAsync(['retry', '--reason', 'verification_failed', '--json'], sandbox.env);
  t.equal(retried.code, 0, retried.stderr);
  t.equal(JSON.parse(retried.stdout).requeued, 8, 'the eight points are requeued');
  await waitFor(
    async () =>
      readItems(sandbox.stateDir).every((i) => i.state !== 'queued' && i.failureReason !== 'verification_failed') &&
      (await state(sandbox)) === 'done',
    'the retried points to settle',
    120_000,
    200,
  );
  await runCtlAsync(['stop'], sandbox.env);
  await daemon.exited;
  t.match(daemon.output(), /the copy of .* exists already/, 'each retry found the copy');
  t.equal((await sandbox.admin.ledgerSummary()).jobsCreated, jobsBefore, 'no second copy job');
  t.equal(readItems(sandbox.stateDir).filter((i) => i.failureReason === 'verification_failed').length, 0);
  assertClean(t, await ledgerVerdict(sandbox), 'retried verification');
});

t.test(
  'rpctl retry while the copy phase runs: requeued points are prepared again and settle, the phase ends',
  async (t) => {
    // Slow jobs, so the copy phase is still running when the operator retries. The generator's unshared keys make
    // permanent failures (key_not_accessible, and canary_failed for the rest of their combination) early on. The
    // air-gapped vault is not created without consent: its points are skipped (vault_needs_consent), not failed.
    const sandbox = await copySandbox(t, 400, {}, 13);
    await sandbox.admin.setKnobs({ timeFactor: 2_000 });
    const daemon = spawnDaemon([], sandbox.env, t);
    const RETRIED = ['key_not_accessible', 'canary_failed'];
    // Zero until the store exists and has its tables.
    const failedOf = (reason: string) => {
      try {
        return readItems(sandbox.stateDir)
          .filter((i) => i.failureReason === reason)
          .map((i) => i.arn);
      } catch {
        return [];
      }
    };
    let reason = '';
    await waitFor(
      () => {
        reason = RETRIED.find((r) => failedOf(r).length > 0) ?? '';
        return reason !== '';
      },
      'a permanent failure during the copy phase',
      120_000,
      200,
    );
    const before = failedOf(reason);
    t.equal(await state(sandbox), 'running', 'the copy phase is still running');
    const retried = await runCtlAsync(['retry', '--reason', reason, '--json'], sandbox.env);
    t.equal(retried.code, 0, retried.stderr);
    t.ok(JSON.parse(retried.stdout).requeued >= before.length, `the ${reason} points were requeued`);
    await sandbox.admin.setKnobs({ timeFactor: 100_000 });
    await waitFor(async () => (await state(sandbox)) === 'done', 'the copy phase to finish', 180_000, 200);
    const db = new Database(join(sandbox.stateDir, 'rpcopy.db'), { readonly: true });
    const stranded = db
      .prepare(
        `SELECT count(*) AS n FROM copy_items i LEFT JOIN copy_combos c ON c.id = i.combo_id
       WHERE i.state = 'queued' AND c.id IS NULL`,
      )
      .get() as { n: number };
    const consent = db
      .prepare(`SELECT count(*) AS n FROM copy_items WHERE skip_reason = 'vault_needs_consent'`)
      .get() as { n: number };
    db.close();
    t.equal(stranded.n, 0, 'no queued point without a combination');
    const after = new Map(readItems(sandbox.stateDir).map((i) => [i.arn, i]));
    t.ok(
      before.every((arn) => ['failed', 'verified', 'skipped'].includes(after.get(arn)?.state ?? '')),
      'every retried point settled again',
    );
    t.ok(consent.n > 0, 'the air-gapped vault’s points wait for consent');
    t.equal(failedOf('destination_vault_unavailable').length, 0, 'none failed destination_vault_unavailable');
    await runCtlAsync(['stop'], sandbox.env);
    await daemon.exited;
  },
);

t.test('verification that AWS refuses to answer ends in a named failure, and --once exits', async (t) => {
  const sandbox = await copySandbox(t, 200, {}, 14);
  // Jobs that take seconds, so the refusal below lands before the copies are looked at.
  await sandbox.admin.setKnobs({ timeFactor: 2_000 });
  const destination = String((await sandbox.admin.info()).accounts.destination);
  const daemon = spawnDaemon(['--once'], sandbox.env, t);
  await waitFor(
    async () => {
      const status = await runCtlAsync(['status', '--json'], sandbox.env);
      return status.code === 0 && JSON.parse(status.stdout).phase === 'copy';
    },
    'the copy phase (preflight passed)',
    120_000,
    100,
  );
  // From now on the destination refuses every look at its recovery points.
  await sandbox.admin.setKnobs({
    enforceIamDenials: true,
    iamDeniedActions: { [destination]: ['backup:DescribeRecoveryPoint', 'backup:ListRecoveryPointsByBackupVault'] },
  });
  // Bounded: a verification that retried forever would keep --once from ever exiting.
  const exit = await Promise.race([daemon.exited, sleep(300_000).then(() => undefined)]);
  t.ok(exit, 'rpcopyd --once exits by itself');
  const db = new Database(join(sandbox.stateDir, 'rpcopy.db'), { readonly: true });
  const messages = db
    .prepare(`SELECT error_message AS m FROM copy_items WHERE failure_reason = 'verification_failed'`)
    .all() as { m: string }[];
  db.close();
  t.ok(messages.length > 0, `copies that could not be looked at failed verification (${messages.length})`);
  t.match(messages[0]?.m ?? '', /could not look at the copy .* AccessDenied/, 'the failure names AWS’s refusal');
});
