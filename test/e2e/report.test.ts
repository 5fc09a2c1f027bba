// rpctl report against the built daemon and the sandbox: a copy run to the
// end (rpcopyd --once), then the daemon as a service answering rpctl report in
// CSV, JSON Lines and HTML. Every exported row is compared with the store,
// read independently here (read-only): the same set of points, and for each
// the same decision, state, reason, copy job, destination and times. Usage
// errors: a bad --format exits 2 naming the flag; --out into a missing
// directory fails before anything is written.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { parse } from 'csv-parse/sync';
import t from 'tap';
import { FAILURE_REASONS } from '../../daemon/copy/failures.js';
import { tuneConfig } from '../helpers/copy.js';
import { runUntilDone, stopDaemon } from '../helpers/pipeline.js';
import { runCtlAsync, spawnDaemon } from '../helpers/process.js';
import { startSandboxProcess } from '../helpers/sandbox.js';

t.setTimeout(600_000);

interface StoreRow {
  arn: string;
  vault: string;
  resourceArn: string;
  resourceType: string;
  resourceName: string | null;
  sizeBytes: number | null;
  creationDate: number;
  state: string | null;
  skipReason: string | null;
  failureReason: string | null;
  failureKind: string | null;
  apmid: string | null;
  destinationVault: string | null;
  copyJobId: string | null;
  jobState: string | null;
  destinationPointArn: string | null;
  attempt: number | null;
  plannedAt: number | null;
  submittedAt: number | null;
  completedAt: number | null;
  verifiedAt: number | null;
  errorCode: string | null;
  errorMessage: string | null;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** The report row the store implies, written out from the rows (and the documented rules) by hand. */
function expectedRow(r: StoreRow): Record<string, string | number | null> {
  const state = r.state ?? 'discovered';
  return {
    sourcePointArn: r.arn,
    vault: r.vault,
    resourceArn: r.resourceArn,
    resourceType: r.resourceType,
    resourceName: r.resourceName,
    apmid: r.apmid,
    decision: state === 'discovered' ? null : state === 'skipped' ? 'skip' : 'copy',
    state,
    reason: state === 'skipped' ? r.skipReason : r.failureReason,
    failureKind: r.failureKind,
    copyJobId: r.copyJobId,
    jobState: r.jobState,
    destinationVault: r.destinationVault,
    destinationPointArn: r.destinationPointArn,
    attempt: r.attempt ?? 0,
    sizeBytes: r.sizeBytes,
    creationDate: iso(r.creationDate),
    plannedAt: iso(r.plannedAt),
    submittedAt: iso(r.submittedAt),
    completedAt: iso(r.completedAt),
    verifiedAt: iso(r.verifiedAt),
    errorCode: r.errorCode,
    errorMessage: r.errorMessage,
  };
}

t.test('rpctl report: every point, as the store has it, in CSV, JSON Lines and HTML', async (t) => {
  // Seed 2 at this size has an unshared key: failed canaries and held points next to verified copies and skips.
  const sandbox = await startSandboxProcess(t, {
    points: 1_000,
    seed: 2,
    timeFactor: 100_000,
    extraArgs: ['--no-throttling'],
  });
  tuneConfig(sandbox);
  const once = spawnDaemon(['--once'], sandbox.env, t);
  const exit = await once.exited;
  t.equal(exit.code, 0, 'rpcopyd --once copies everything and exits 0');
  if (exit.code !== 0) t.comment(once.output().slice(-3000));

  const daemon = await runUntilDone(t, sandbox);
  const env = sandbox.env;
  const csvFile = join(sandbox.dir, 'report.csv');
  const jsonFile = join(sandbox.dir, 'report.jsonl');
  const htmlFile = join(sandbox.dir, 'report.html');
  const csv = await runCtlAsync(['report', '--format', 'csv', '--out', csvFile], env);
  const jsonStdout = await runCtlAsync(['report', '--format', 'json'], env);
  const jsonOut = await runCtlAsync(['report', '--json', '--out', jsonFile], env);
  const html = await runCtlAsync(['report', '--format', 'html', '--out', htmlFile], env);
  const csvStdout = await runCtlAsync(['report'], env);
  const badFormat = await runCtlAsync(['report', '--format', 'xml'], env);
  const missingDir = await runCtlAsync(['report', '--out', join(sandbox.dir, 'no', 'such', 'report.csv')], env);
  await stopDaemon(daemon, env);
  const stopped = await runCtlAsync(['report'], env);

  t.equal(badFormat.code, 2, 'a bad --format is a usage error');
  t.match(badFormat.stderr, /--format: expected csv, json or html, got "xml"/, 'naming the flag and the choices');
  t.equal(missingDir.code, 2, '--out into a missing directory is refused');
  t.match(missingDir.stderr, /--out .*report\.csv: the directory .*\/no\/such does not exist/);
  t.equal(stopped.code, 4, 'no daemon: exit 4');
  t.same(
    readdirSync(sandbox.dir).filter((f) => f.includes('.partial-')),
    [],
    'no partial file is left behind',
  );

  for (const [name, run] of Object.entries({ csv, jsonStdout, jsonOut, html, csvStdout })) {
    t.equal(run.code, 0, `${name}: exit 0 ${run.stderr}`);
  }

  const db = new Database(join(sandbox.stateDir, 'rpcopy.db'), { readonly: true, fileMustExist: true });
  t.teardown(() => db.close());
  const rows = db
    .prepare(
      `SELECT p.arn, p.vault_name AS vault, p.resource_arn AS resourceArn, p.resource_type AS resourceType,
         p.resource_name AS resourceName, p.size_bytes AS sizeBytes, p.creation_date AS creationDate, i.state,
         i.skip_reason AS skipReason, i.failure_reason AS failureReason, i.failure_kind AS failureKind, i.apmid,
         i.destination_vault_name AS destinationVault, i.copy_job_id AS copyJobId, i.job_state AS jobState,
         i.destination_point_arn AS destinationPointArn, i.attempt, i.planned_at AS plannedAt,
         i.submitted_at AS submittedAt, i.completed_at AS completedAt, i.verified_at AS verifiedAt,
         i.error_code AS errorCode, i.error_message AS errorMessage
       FROM recovery_points p LEFT JOIN copy_items i ON i.point_id = p.id`,
    )
    .all() as StoreRow[];
  const byArn = new Map(rows.map((r) => [r.arn, expectedRow(r)]));
  const states = new Set(rows.map((r) => r.state));
  t.ok(
    ['verified', 'failed', 'skipped'].every((s) => states.has(s)),
    `the run left verified, failed and skipped points (${[...states].join(', ')})`,
  );

  // CSV: a header, then one record per point; empty cells are nulls, numbers are written as numbers.
  t.match(csv.stdout, /^wrote the CSV report of [\d,]+ recovery points to .*report\.csv\n$/);
  const csvText = readFileSync(csvFile, 'utf8');
  t.equal(csvStdout.stdout, csvText, 'stdout and --out carry the same CSV');
  const header = csvText.slice(0, csvText.indexOf('\n')).split(',');
  t.ok(header.includes('sourcePointArn') && header.includes('verifiedAt'), 'a header row names the columns');
  const records = parse(csvText, { columns: true }) as Record<string, string>[];
  t.equal(records.length, rows.length, 'one CSV record per recovery point');
  t.same(new Set(records.map((r) => r.sourcePointArn)), new Set(byArn.keys()), 'the same set of points');
  let csvMismatches = 0;
  for (const record of records) {
    const want = byArn.get(record.sourcePointArn ?? '');
    const asText = Object.fromEntries(Object.entries(want ?? {}).map(([k, v]) => [k, v === null ? '' : String(v)]));
    if (JSON.stringify(record) !== JSON.stringify(asText)) {
      csvMismatches += 1;
      if (csvMismatches <= 3) t.same(record, asText, `CSV row of ${record.sourcePointArn}`);
    }
  }
  t.equal(csvMismatches, 0, 'every CSV row matches its store rows, field by field');

  // JSON Lines: one object per line, the same fields.
  const lines = jsonStdout.stdout.trimEnd().split('\n');
  t.equal(lines.length, rows.length, 'one JSON line per recovery point');
  let jsonMismatches = 0;
  for (const line of lines) {
    const object = JSON.parse(line) as Record<string, unknown>;
    const want = byArn.get(String(object.sourcePointArn));
    if (JSON.stringify(object) !== JSON.stringify(want)) {
      jsonMismatches += 1;
      if (jsonMismatches <= 3) t.same(object, want, `JSON line of ${object.sourcePointArn}`);
    }
  }
  t.equal(jsonMismatches, 0, 'every JSON line matches its store rows, field by field');
  t.equal(readFileSync(jsonFile, 'utf8'), jsonStdout.stdout, '--json alone means JSON Lines, the same to a file');
  t.same(
    JSON.parse(jsonOut.stdout),
    { format: 'json', out: jsonFile, points: rows.length },
    'with --out, --json reports what was written',
  );

  // HTML: the aggregates agree with the store and the page is self-contained.
  const page = readFileSync(htmlFile, 'utf8');
  t.notMatch(
    page,
    /<script|<link|<img|\bsrc=|\bhref=|url\((?!#)|https?:\/\//i,
    'no script, no external resource, no URL',
  );
  t.match(page, `content="default-src 'none'`, 'a CSP that forbids fetching');
  const failed = new Map<string, number>();
  for (const r of rows) {
    if (r.state === 'failed')
      failed.set(r.failureReason ?? 'unknown', (failed.get(r.failureReason ?? 'unknown') ?? 0) + 1);
  }
  t.ok(failed.size > 0);
  for (const [reason, n] of failed) {
    t.match(
      page,
      `<code>${reason}</code></td><td>permanent</td><td class="num">${n.toLocaleString('en-US')}</td>`,
      `${reason}: ${n}`,
    );
    t.match(page, FAILURE_REASONS[reason as keyof typeof FAILURE_REASONS], `${reason} is explained`);
  }
  for (const vault of new Set(rows.map((r) => r.vault))) {
    const escaped = vault.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    t.match(page, `<td>${escaped}</td>`, `vault ${vault} has a row`);
  }
  const verified = rows.filter((r) => r.state === 'verified').length;
  t.match(page, `<b>${verified.toLocaleString('en-US')}</b>`, 'the verified total');
  t.match(html.stdout, /^wrote the HTML report of [\d,]+ recovery points to .*report\.html\n$/);
});
