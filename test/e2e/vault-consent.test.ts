// Destination vaults that need the operator's consent, through the built daemon and the sandbox:
// - without vaults.confirm_compliance_lock, an air-gapped source vault's points are skipped with the named plan
//   reason vault_needs_consent (never failed as destination_vault_unavailable); the compliance-locked vault's
//   points are copied into a governance-locked destination; status, plan and the journal say what waits, and
//   rpctl preflight gives the same verdict as the daemon's own preflight (no FAIL for it);
// - once the operator sets the key and restarts, those points are copied without rpctl retry.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { copySandbox, readItems, runOnce } from '../helpers/copy.js';
import { runCtlAsync, spawnDaemon, waitFor } from '../helpers/process.js';
import type { RunningSandbox } from '../helpers/sandbox.js';

const LAG = 'LOGICALLY_AIR_GAPPED_BACKUP_VAULT';

function vaultPoints(sandbox: RunningSandbox): { arn: string; vault: string; vaultType: string; locked: boolean }[] {
  const db = new Database(join(sandbox.stateDir, 'rpcopy.db'), { readonly: true });
  try {
    return db
      .prepare(
        `SELECT p.arn, v.name AS vault, v.vault_type AS vaultType, v.lock_date IS NOT NULL AS locked
         FROM recovery_points p JOIN source_vaults v ON v.name = p.vault_name`,
      )
      .all() as { arn: string; vault: string; vaultType: string; locked: boolean }[];
  } finally {
    db.close();
  }
}

async function state(sandbox: RunningSandbox): Promise<string> {
  const s = await runCtlAsync(['status', '--json'], sandbox.env);
  return s.code === 0 ? (JSON.parse(s.stdout) as { state: string }).state : 'unreachable';
}

t.test('an air-gapped vault without consent: a named skip, then copied once the operator consents', async (t) => {
  const sandbox = await copySandbox(t, 400, {}, 13);
  const daemon = spawnDaemon([], sandbox.env, t);
  await waitFor(
    async () => {
      if (daemon.child.exitCode !== null) throw new Error(`daemon exited:\n${daemon.output()}`);
      return (await state(sandbox)) === 'done';
    },
    'the first run to finish',
    180_000,
    200,
  );
  const items = new Map(readItems(sandbox.stateDir).map((i) => [i.arn, i]));
  const points = vaultPoints(sandbox);
  const airGapped = points.filter((p) => p.vaultType === LAG).map((p) => items.get(p.arn));
  const compliance = points.filter((p) => p.vaultType !== LAG && p.locked).map((p) => items.get(p.arn));
  t.ok(airGapped.length > 0, 'the sandbox has an air-gapped vault');
  t.equal(
    readItems(sandbox.stateDir).filter((i) => i.failureReason === 'destination_vault_unavailable').length,
    0,
    'no point failed destination_vault_unavailable',
  );
  const db = new Database(join(sandbox.stateDir, 'rpcopy.db'), { readonly: true });
  const waiting = db
    .prepare(
      `SELECT p.arn FROM copy_items i JOIN recovery_points p ON p.id = i.point_id
       WHERE i.state = 'skipped' AND i.skip_reason = 'vault_needs_consent'`,
    )
    .pluck()
    .all() as string[];
  const journal = db
    .prepare(`SELECT level, message FROM events WHERE kind = 'vaults.consent_needed' ORDER BY id DESC LIMIT 1`)
    .get() as { level: string; message: string } | undefined;
  db.close();
  t.ok(waiting.length > 0, `${waiting.length} points wait for consent`);
  t.ok(
    waiting.every((arn) => points.find((p) => p.arn === arn)?.vaultType === LAG),
    'only air-gapped points wait',
  );
  t.equal(journal?.level, 'warn', 'the log says so');
  t.match(journal?.message, /vault_needs_consent: .*vaults\.confirm_compliance_lock = true/);
  t.ok(
    compliance.some((i) => i?.state === 'verified'),
    'a compliance-locked vault’s points are copied (governance lock until confirmed)',
  );

  const status = JSON.parse((await runCtlAsync(['status', '--json'], sandbox.env)).stdout) as { warnings?: string[] };
  t.match(status.warnings?.join('\n'), `${waiting.length} points are skipped as vault_needs_consent`);
  const plan = JSON.parse((await runCtlAsync(['plan', '--json'], sandbox.env)).stdout) as {
    skipped: Record<string, number>;
    reasons: Record<string, string>;
  };
  t.equal(plan.skipped.vault_needs_consent, waiting.length, 'rpctl plan counts the named reason');
  t.match(plan.reasons.vault_needs_consent, /confirm_compliance_lock/);
  const preflight = await runCtlAsync(['preflight', '--json'], sandbox.env);
  const checks = JSON.parse(preflight.stdout) as {
    checks: { check: string; status: string; detail: string }[];
  };
  const consentChecks = checks.checks.filter((c) => /air-gapped/.test(c.detail));
  t.ok(consentChecks.length > 0, 'rpctl preflight names the vault');
  t.ok(
    consentChecks.every((c) => c.status !== 'fail'),
    'and does not FAIL it: the same verdict as the daemon’s own preflight',
  );
  await runCtlAsync(['stop'], sandbox.env);
  await daemon.exited;

  // The operator consents: config edit and restart, no rpctl retry.
  writeFileSync(sandbox.config, `${readFileSync(sandbox.config, 'utf8')}\n[vaults]\nconfirm_compliance_lock = true\n`);
  const second = await runOnce(t, sandbox);
  t.equal(second.code, 0, 'the run after consent finishes');
  const after = new Map(readItems(sandbox.stateDir).map((i) => [i.arn, i]));
  const copied = waiting.filter((arn) => after.get(arn)?.state === 'verified');
  t.ok(copied.length > 0, `points that waited are copied now (${copied.length} of ${waiting.length})`);
  t.same(
    waiting.filter((arn) => after.get(arn)?.state === 'skipped'),
    [],
    'none is still skipped',
  );
  t.equal(
    [...after.values()].filter((i) => i.failureReason === 'destination_vault_unavailable').length,
    0,
    'still no destination_vault_unavailable',
  );
});
