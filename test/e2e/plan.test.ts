// Inventory → enrich → plan against the sandbox, judged two ways:
// - against the generator's truth (counts of points, flags and CSV problems);
// - against an independent oracle written here in plain TypeScript from the
//   stored inventory and the CSV, point by point (the daemon decides in SQL).
// Also: `rpctl plan` (human, --json, --list), and a refresh that finds new points.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { CROSS_ACCOUNT_TYPES, SOURCE_KEY_TYPES } from '../../daemon/plan/reasons.js';
import { runUntilDone, stopDaemon } from '../helpers/pipeline.js';
import { runCtlAsync } from '../helpers/process.js';
import { startSandboxProcess } from '../helpers/sandbox.js';

const DAY = 86_400_000;

interface PointRow {
  id: number;
  arn: string;
  vault_name: string;
  resource_arn: string;
  resource_type: string;
  status: string;
  is_continuous: number;
  move_to_cold_at: number | null;
  encryption_key_arn: string | null;
  lifecycle_delete_after_days: number | null;
  delete_at: number | null;
  creation_date: number;
  state: string;
  skip_reason: string | null;
  planned_at: number;
}

/** The CSV as the spec describes it: rows keyed by resourceArn, malformed lines ignored. */
function csvApmids(text: string): Map<string, Set<string>> {
  const byResource = new Map<string, Set<string>>();
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\n/);
  // Malformed rows are the ones the daemon reported; parse the rest with a small quoted-field splitter.
  for (const line of lines.slice(1)) {
    if (!line) continue;
    const fields: string[] = [];
    let field = '';
    let quoted = false;
    for (let i = 0; i < line.length; i++) {
      const ch = line[i];
      if (quoted) {
        if (ch === '"' && line[i + 1] === '"') {
          field += '"';
          i++;
        } else if (ch === '"') quoted = false;
        else field += ch;
      } else if (ch === '"') quoted = true;
      else if (ch === ',') {
        fields.push(field);
        field = '';
      } else field += ch;
    }
    fields.push(field);
    if (quoted || fields.length !== 4) continue;
    const [arn, apmid] = fields.map((f) => f.trim());
    if (!arn) continue;
    const set = byResource.get(arn) ?? new Set<string>();
    set.add(apmid ?? '');
    byResource.set(arn, set);
  }
  return byResource;
}

t.test('plan: every point gets one decision that an independent oracle agrees with', async (t) => {
  const sandbox = await startSandboxProcess(t, { points: 2400, seed: 5 });
  const daemon = await runUntilDone(t, sandbox, ['--dry-run']);

  const human = await runCtlAsync(['plan'], sandbox.env);
  t.equal(human.code, 0, human.stderr);
  t.match(human.stdout, /recovery points inventoried \(12 of 12 selected vaults listed\)/);
  t.match(
    human.stdout,
    /\[destination\.vault_names\]\n {2}"Default" = "Default-copy"/,
    'proposes names for vaults that need one',
  );
  const json = await runCtlAsync(['plan', '--json'], sandbox.env);
  const plan = JSON.parse(json.stdout);
  const listed = await runCtlAsync(['plan', '--list', 'apmid_conflict', '--json'], sandbox.env);
  const badList = await runCtlAsync(['plan', '--list', 'no_such_reason'], sandbox.env);
  await stopDaemon(daemon, sandbox.env);

  const truth = await sandbox.admin.truth();
  t.equal(plan.points, truth.totalPoints, 'every generated point is inventoried');
  t.equal(
    plan.toCopy + Object.values(plan.skipped as Record<string, number>).reduce((a, b) => a + b, 0),
    plan.points,
    'one decision per point',
  );
  t.equal(plan.metadata.problems.conflicting_apmid, truth.csv.conflictingResources.length, 'conflicts found');
  t.equal(plan.metadata.problems.malformed_row, truth.csv.malformedLines.length, 'malformed rows found');
  t.equal(listed.code, 0);
  const conflictLines = listed.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  t.equal(conflictLines.length, plan.skipped.apmid_conflict, '--list exports every point of the reason');
  t.ok(conflictLines.every((p: { reason: string }) => p.reason === 'apmid_conflict'));
  t.equal(badList.code, 2, 'an unknown reason is a bad request');
  t.match(badList.stderr, /unknown skip reason "no_such_reason"/);

  const db = new Database(join(sandbox.stateDir, 'rpcopy.db'), { readonly: true });
  t.teardown(() => db.close());
  const points = db
    .prepare(
      `SELECT p.*, i.state, i.skip_reason, i.planned_at FROM recovery_points p JOIN copy_items i ON i.point_id = p.id`,
    )
    .all() as PointRow[];
  t.equal(points.length, truth.totalPoints, 'a copy item for every point');
  t.equal(points.filter((p) => p.is_continuous).length, truth.flags.continuous, 'continuous points recognised');
  const keys = new Map(
    (db.prepare('SELECT arn, manager FROM kms_keys').all() as { arn: string; manager: string }[]).map((k) => [
      k.arn,
      k.manager,
    ]),
  );
  const awsKey = (p: PointRow) =>
    (SOURCE_KEY_TYPES as readonly string[]).includes(p.resource_type) && keys.get(p.encryption_key_arn ?? '') === 'AWS';
  t.equal(points.filter(awsKey).length, truth.flags.awsManagedKey, 'AWS-managed keys recognised through KMS');

  const vaults = new Map(
    (
      db.prepare('SELECT name, min_retention_days, max_retention_days, vault_type FROM source_vaults').all() as {
        name: string;
        vault_type: string;
        min_retention_days: number | null;
        max_retention_days: number | null;
      }[]
    ).map((v) => [v.name, v]),
  );
  const config = readFileSync(sandbox.config, 'utf8');
  const allowed = new Set(JSON.parse(/allowed_apmids = (\[.*\])/.exec(config)?.[1] ?? '[]') as string[]);
  const csv = csvApmids(readFileSync(join(sandbox.dir, 'apm.csv'), 'utf8'));

  const oracle = (p: PointRow): string | null => {
    if (p.vault_name === 'Default' || !/^[a-zA-Z0-9\-_]{2,50}$/.test(p.vault_name)) return 'vault_needs_mapping';
    const apmids = csv.get(p.resource_arn);
    if (!apmids) return 'apmid_missing';
    const nonEmpty = [...apmids].filter(Boolean);
    if (nonEmpty.length > 1) return 'apmid_conflict';
    if (nonEmpty.length === 0) return 'apmid_empty';
    if (!allowed.has(nonEmpty[0]!)) return 'apmid_not_allowed';
    if (p.status !== 'COMPLETED' && p.status !== 'AVAILABLE') return 'status_not_completed';
    if (p.arn.includes(':recovery-point:continuous:')) return 'continuous_backup';
    if (!(CROSS_ACCOUNT_TYPES as readonly string[]).includes(p.resource_type)) return 'resource_type_not_supported';
    if (p.resource_type === 'DynamoDB' && p.arn.startsWith('arn:aws:dynamodb:')) return 'resource_type_not_supported';
    if (p.move_to_cold_at !== null && p.move_to_cold_at <= p.planned_at) return 'cold_storage';
    if (awsKey(p)) return 'aws_managed_key';
    const vault = vaults.get(p.vault_name)!;
    const retention =
      p.lifecycle_delete_after_days ??
      (p.delete_at === null ? null : Math.floor((p.delete_at - p.creation_date) / DAY));
    if (vault.min_retention_days !== null && retention !== null && retention < vault.min_retention_days) {
      return 'lifecycle_outside_lock';
    }
    if (vault.max_retention_days !== null && (retention === null || retention > vault.max_retention_days)) {
      return 'lifecycle_outside_lock';
    }
    if (p.delete_at !== null && p.delete_at < p.planned_at + 2 * DAY) return 'expiring_before_copy';
    // No consent to compliance locks in this config: an air-gapped vault's destination is not created.
    if (vault.vault_type === 'LOGICALLY_AIR_GAPPED_BACKUP_VAULT') return 'vault_needs_consent';
    return null;
  };
  const disagreements = points.filter((p) => oracle(p) !== p.skip_reason);
  t.same(
    disagreements.slice(0, 5).map((p) => ({ arn: p.arn, daemon: p.skip_reason, oracle: oracle(p) })),
    [],
    `daemon and oracle agree on all ${points.length} points`,
  );
  const reasons = new Set(points.map((p) => p.skip_reason).filter(Boolean));
  for (const reason of [
    'vault_needs_mapping',
    'apmid_missing',
    'apmid_empty',
    'apmid_conflict',
    'apmid_not_allowed',
    'status_not_completed',
    'continuous_backup',
    'resource_type_not_supported',
    'cold_storage',
    'aws_managed_key',
    'lifecycle_outside_lock',
  ]) {
    t.ok(reasons.has(reason), `the generated data produces ${reason}`);
  }
});

t.test(
  'plan: a vault dropped from source.vaults, a confirmed mapping, and a refresh that finds new points',
  async (t) => {
    const sandbox = await startSandboxProcess(t, { points: 800, seed: 9 });
    let daemon = await runUntilDone(t, sandbox, ['--dry-run']);
    await stopDaemon(daemon, sandbox.env);

    const before = new Database(join(sandbox.stateDir, 'rpcopy.db'), { readonly: true });
    const count = (db: Database.Database) =>
      (db.prepare('SELECT count(*) AS n FROM recovery_points').get() as { n: number }).n;
    const initial = count(before);
    before.close();

    await sandbox.admin.addRecoveryPoints({ vault: 'prod-ebs-daily', count: 7 });
    const config = readFileSync(sandbox.config, 'utf8')
      .replace('vaults = ["*"]', 'vaults = ["prod-*", "analytics-s3", "Default", "finance-compliance"]')
      .replace('[destination]\n', '[destination]\nvault_names = { "Default" = "Default-copy" }\n');
    writeFileSync(sandbox.config, config);

    daemon = await runUntilDone(t, sandbox, ['--dry-run']);
    await stopDaemon(daemon, sandbox.env);
    const db = new Database(join(sandbox.stateDir, 'rpcopy.db'), { readonly: true });
    t.teardown(() => db.close());
    t.equal(count(db), initial + 7, 'the refresh found the 7 new points and nothing twice');
    const reasonsOf = (vault: string) =>
      (
        db
          .prepare(
            `SELECT DISTINCT coalesce(i.skip_reason, 'copy') AS r FROM copy_items i JOIN recovery_points p ON p.id = i.point_id
           WHERE p.vault_name = ?`,
          )
          .all(vault) as { r: string }[]
      ).map((r) => r.r);
    t.same(reasonsOf('dev-shortterm'), ['vault_not_selected'], 'a vault no longer selected: vault_not_selected');
    t.notOk(reasonsOf('Default').includes('vault_needs_mapping'), 'a confirmed mapping lifts vault_needs_mapping');
    t.equal(
      (
        db
          .prepare(
            `SELECT DISTINCT destination_vault_name AS d FROM copy_items i JOIN recovery_points p ON p.id = i.point_id WHERE p.vault_name = 'Default' AND i.state = 'queued'`,
          )
          .all() as { d: string }[]
      )
        .map((r) => r.d)
        .join(),
      'Default-copy',
      'copies from Default go to the confirmed name',
    );
  },
);
