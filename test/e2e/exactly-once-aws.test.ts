// Exactly-once against what AWS's listings do not say yet: a lost StartCopyJob
// answer under listing lag and a short idempotency window, copies a vault does
// not list yet, copies that predate the store, and a canary whose own point is
// gone. Each test drives the real daemon against the sandbox and judges by the
// sandbox's own records. (Stores older than AWS, retries and refused answers
// are in exactly-once.test.ts.)

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { assertClean, copySandbox, expectExit, ledgerVerdict, runOnce } from '../helpers/copy.js';
import type { RunningSandbox } from '../helpers/sandbox.js';

t.setTimeout(1_800_000);

function openStore(sandbox: RunningSandbox): Database.Database {
  return new Database(join(sandbox.stateDir, 'rpcopy.db'));
}

t.test('a lost StartCopyJob answer under listing lag and a short idempotency window: one job', async (t) => {
  // Every call to the first points is applied and its answer lost, resends included, so the listing decides; the
  // listings lag 5 s and a token is remembered 3 s: a listing taken soon after the call, and a resend after it,
  // would make a second job.
  const sandbox = await copySandbox(
    t,
    300,
    { listingLagSeconds: 5, idempotencyTtlSeconds: 3, dropAfterStartCopyJob: { count: 16, probability: 0 } },
    15,
  );
  writeFileSync(
    sandbox.config,
    readFileSync(sandbox.config, 'utf8').replace(/listing_lag = "[^"]*"/, 'listing_lag = "8s"'),
  );
  const run = await runOnce(t, sandbox);
  expectExit(t, run, 'the run finishes');
  const judge = await sandbox.admin.judge({ activeOnly: true });
  t.equal(judge.totals.pointsWithMultipleCompletedCopiesInOneVault, 0, 'no point has two copies');
  t.ok((await sandbox.admin.ledgerSummary()).droppedResponses >= 16, 'the answers were lost');
  assertClean(t, await ledgerVerdict(sandbox), 'lost answers under lag');
});

t.test('copies that are not listed yet are verified, not failed (verification waits with backoff)', async (t) => {
  // Many copies wait in each vault (describing one takes 300 ms, so a listing verifies them), finished jobs are
  // listed at once, and the destination lists a copy 8 s after it lands.
  const sandbox = await copySandbox(
    t,
    800,
    {
      listingLagSeconds: 0,
      recoveryPointListingLagSeconds: 8,
      latencyByOperation: { DescribeRecoveryPoint: 300 },
    },
    16,
  );
  writeFileSync(
    sandbox.config,
    readFileSync(sandbox.config, 'utf8').replace(/listing_lag = "[^"]*"/, 'listing_lag = "10s"'),
  );
  const run = await runOnce(t, sandbox);
  expectExit(t, run, 'the run finishes');
  const verdict = await ledgerVerdict(sandbox);
  t.same(verdict.failed.verification_failed ?? 0, 0, 'no copy that exists failed verification');
  assertClean(t, verdict, 'lagging destination listing');
});

t.test('copies that exist before the store: skipped as already_copied, never copied again', async (t) => {
  const sandbox = await copySandbox(t, 400, {}, 17);
  // Vaults first (no copy job), then copies of a share of every source vault appear, with no job history.
  expectExit(t, await runOnce(t, sandbox, {}, ['--no-copy']), 'the run up to the destination vaults');
  const db = new Database(join(sandbox.stateDir, 'rpcopy.db'), { readonly: true });
  const vaults = db
    .prepare(`SELECT source_vault_name AS source, name FROM destination_vaults WHERE arn IS NOT NULL`)
    .all() as { source: string; name: string }[];
  db.close();
  let seeded = 0;
  for (const vault of vaults) {
    const { copies } = await sandbox.admin.seedDestinationCopies({
      destinationVault: vault.name,
      sourceVault: vault.source,
      share: 0.3,
      seed: 5,
    });
    seeded += copies.length;
  }
  t.ok(seeded > 10, `copies predate the store (${seeded})`);
  const run = await runOnce(t, sandbox);
  expectExit(t, run, 'the run finishes');
  const judge = await sandbox.admin.judge({ activeOnly: true });
  t.equal(judge.totals.pointsWithMultipleCompletedCopiesInOneVault, 0, 'no point was copied a second time');
  const skipped = openStore(sandbox);
  const already = skipped
    .prepare(`SELECT count(*) AS n FROM copy_items WHERE skip_reason = 'already_copied'`)
    .get() as { n: number };
  skipped.close();
  t.ok(already.n > 0, `points with a copy were skipped as already_copied (${already.n})`);
  const preexisting = judge.points.filter((p) => (p.preexistingCopies ?? 0) > 0);
  t.ok(
    preexisting.every((p) => p.jobsCreated === 0),
    'no copy job for a point whose copy existed',
  );
});

t.test('a canary whose own point is gone is replaced; its combination goes on', async (t) => {
  const sandbox = await copySandbox(t, 400, {}, 18);
  expectExit(t, await runOnce(t, sandbox, {}, ['--no-copy']), 'the run up to the destination vaults');
  // The smallest chain head of each (vault, type, key): the canary the copy phase will choose first.
  const db = new Database(join(sandbox.stateDir, 'rpcopy.db'), { readonly: true });
  const canaries = db
    .prepare(
      `SELECT vault, arn FROM (
         SELECT p.vault_name AS vault, p.arn, row_number() OVER (
           PARTITION BY p.vault_name, p.resource_type, coalesce(p.encryption_key_arn, '')
           ORDER BY coalesce(p.size_bytes, 0), i.point_id) AS n
         FROM copy_items i JOIN recovery_points p ON p.id = i.point_id
         JOIN destination_vaults d ON d.source_vault_name = p.vault_name
         WHERE i.state = 'queued' AND d.arn IS NOT NULL AND d.state IN ('created', 'existing') AND NOT EXISTS (SELECT 1 FROM copy_items o WHERE o.resource_arn = i.resource_arn
           AND o.state = 'queued' AND (o.creation_date < i.creation_date
             OR (o.creation_date = i.creation_date AND o.point_id < i.point_id))))
       WHERE n = 1`,
    )
    .all() as { vault: string; arn: string }[];
  db.close();
  t.ok(canaries.length > 3, `combinations to probe (${canaries.length})`);
  // Deleted in the source after the inventory saw them.
  for (const c of canaries) await sandbox.admin.deleteRecoveryPoint(c.vault, c.arn);
  const run = await runOnce(t, sandbox);
  expectExit(t, run, 'the run finishes');
  const after = openStore(sandbox);
  const held = after
    .prepare(
      `SELECT count(*) AS n FROM copy_combos c JOIN recovery_points p ON p.id = c.canary_point_id
       WHERE c.state = 'failed' AND p.arn IN (SELECT value FROM json_each(?))`,
    )
    .get(JSON.stringify(canaries.map((c) => c.arn))) as { n: number };
  const missing = after
    .prepare(
      `SELECT count(*) AS n FROM copy_items i JOIN recovery_points p ON p.id = i.point_id
       WHERE i.failure_reason = 'source_point_missing'`,
    )
    .get() as { n: number };
  after.close();
  t.equal(held.n, 0, 'no combination is held because its canary’s point was deleted');
  t.equal(missing.n, canaries.length, 'each deleted point failed with its own reason');
  t.same((await sandbox.admin.judge({ activeOnly: true })).totals.pointsWithMultipleCompletedCopiesInOneVault, 0);
});
