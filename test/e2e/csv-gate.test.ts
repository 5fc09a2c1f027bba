// The broken-CSV gate, through the built daemon, rpctl and the sandbox: a metadata CSV whose unclosed quote
// swallows the rest of the file pauses the daemon (reason metadata_csv) before anything is written to the
// destination; rpctl status and rpctl plan warn; rpctl plan --list csv-problems lists every problem by line;
// rpctl resume copies on the CSV as loaded; a restart remembers that; a changed CSV asks again.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { copySandbox, runOnce } from '../helpers/copy.js';
import { runCtlAsync, spawnDaemon, waitFor } from '../helpers/process.js';
import { DESTINATION_WRITES, type RunningSandbox } from '../helpers/sandbox.js';

interface Status {
  state: string;
  pauseReason?: string;
  pauseDetail?: string;
  warnings?: string[];
  counts: { completed: number };
}

async function status(sandbox: RunningSandbox): Promise<Status | undefined> {
  const s = await runCtlAsync(['status', '--json'], sandbox.env);
  return s.code === 0 ? (JSON.parse(s.stdout) as Status) : undefined;
}

async function writeCalls(sandbox: RunningSandbox): Promise<number> {
  const counters = await sandbox.admin.counters();
  return [...DESTINATION_WRITES, 'backup:StartCopyJob'].reduce((sum, w) => sum + (counters[w]?.calls ?? 0), 0);
}

function csvPath(sandbox: RunningSandbox): string {
  const match = /^csv = "(.*)"$/m.exec(readFileSync(sandbox.config, 'utf8'));
  if (!match?.[1]) throw new Error('no metadata.csv in the sandbox config');
  return match[1];
}

function pausesFor(sandbox: RunningSandbox, reason: string): number {
  const db = new Database(join(sandbox.stateDir, 'rpcopy.db'), { readonly: true });
  try {
    return (
      db
        .prepare(`SELECT count(*) AS n FROM events WHERE kind = 'daemon.paused' AND json_extract(data, '$.reason') = ?`)
        .get(reason) as { n: number }
    ).n;
  } finally {
    db.close();
  }
}

t.test('an unclosed quote: pause, warnings, the full problem list, resume, remembered, asked again', async (t) => {
  const sandbox = await copySandbox(t, 300, {}, 3);
  const file = csvPath(sandbox);
  const original = readFileSync(file, 'utf8').split('\r\n');
  // A quote opened in the middle of the file and never closed (no quote after it to end it): the rest is lost.
  const brokenAt = Math.floor(original.length / 2);
  const lines = [
    ...original.slice(0, brokenAt),
    'arn:aws:ec2:eu-west-2:111111111111:volume/vol-0broken,APM0001001,"Billing, unclosed,team-billing@example.com',
    ...original.slice(brokenAt).filter((l) => !l.includes('"')),
  ];
  writeFileSync(file, lines.join('\r\n'));
  const brokenLine = brokenAt + 1;

  const daemon = spawnDaemon([], sandbox.env, t);
  await waitFor(
    async () => {
      if (daemon.child.exitCode !== null) throw new Error(`daemon exited:\n${daemon.output()}`);
      return (await status(sandbox))?.state === 'paused';
    },
    'the metadata_csv pause',
    120_000,
    200,
  );
  const paused = (await status(sandbox)) as Status;
  t.equal(paused.pauseReason, 'metadata_csv', 'paused for the CSV');
  t.match(paused.pauseDetail, `a quote opened on line ${brokenLine} swallowed lines ${brokenLine}-`);
  t.match(paused.pauseDetail, 'rpctl plan --list csv-problems', 'says where the full list is');
  t.match(paused.pauseDetail, /rpctl resume to copy on the CSV as loaded/, 'says how to go on');
  t.match(paused.warnings?.join('\n'), /metadata CSV .* data lines unusable/, 'status --json carries the warning');
  t.equal(await writeCalls(sandbox), 0, 'nothing was written to the destination, no copy job started');

  const human = await runCtlAsync(['status'], sandbox.env);
  t.match(human.stdout, /WARNING\s+metadata CSV/, 'rpctl status warns');
  t.match(human.stdout, /paused \(metadata_csv\)/);

  const plan = await runCtlAsync(['plan'], sandbox.env);
  t.equal(plan.code, 0, plan.stderr);
  t.match(plan.stdout, /^WARNING: metadata CSV/m, 'rpctl plan warns first');
  t.match(plan.stdout, /every problem, by line: rpctl plan --list csv-problems/);
  const planJson = JSON.parse((await runCtlAsync(['plan', '--json'], sandbox.env)).stdout) as {
    metadata: { problems: Record<string, number>; gate?: { gated: boolean; confirmed: boolean } };
  };
  t.equal(planJson.metadata.gate?.gated, true, 'plan --json: the gate is closed');
  t.equal(planJson.metadata.gate?.confirmed, false);
  const problemTotal = Object.values(planJson.metadata.problems).reduce((a, b) => a + b, 0);

  const list = await runCtlAsync(['plan', '--list', 'csv-problems'], sandbox.env);
  t.equal(list.code, 0, list.stderr);
  const rows = list.stdout.trimEnd().split('\n');
  t.equal(rows[0], 'line,kind,resourceArn,detail', 'a CSV header');
  t.equal(rows.length - 1, problemTotal, 'every problem is listed');
  const listed = (await runCtlAsync(['plan', '--list', 'csv-problems', '--json'], sandbox.env)).stdout
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as { line: number | null; kind: string; detail: string });
  t.equal(listed.length, problemTotal, '--json lists every problem too');
  const withLines = listed.filter((p) => p.line !== null).map((p) => p.line as number);
  t.same(
    withLines,
    [...withLines].sort((a, b) => a - b),
    'in line order',
  );
  const firstWithout = listed.findIndex((p) => p.line === null);
  t.ok(firstWithout === -1 || listed.slice(firstWithout).every((p) => p.line === null), 'lineless problems last');
  t.ok(
    listed.some((p) => p.line === brokenLine && p.kind === 'malformed_row'),
    'the broken line is listed with its reason',
  );

  const resumed = await runCtlAsync(['resume'], sandbox.env);
  t.equal(resumed.code, 0, resumed.stderr);
  await waitFor(
    async () => {
      if (daemon.child.exitCode !== null) throw new Error(`daemon exited:\n${daemon.output()}`);
      return (await status(sandbox))?.state === 'done';
    },
    'the copies after the confirmation',
    180_000,
    200,
  );
  const done = (await status(sandbox)) as Status;
  t.ok(done.counts.completed > 0, `copies were made on the CSV as loaded (${done.counts.completed})`);
  t.match(done.warnings?.join('\n'), /as the operator confirmed/, 'the warning stays, saying it was confirmed');
  await runCtlAsync(['stop'], sandbox.env);
  await daemon.exited;

  // A restart: the same file is not asked about again.
  const again = await runOnce(t, sandbox);
  t.equal(again.code, 0, 'the restarted run finishes without a pause');
  t.equal(pausesFor(sandbox, 'metadata_csv'), 1, 'asked once for this file');

  // A changed file (another line lost at the end) asks again; --once exits with the paused code.
  writeFileSync(file, `${readFileSync(file, 'utf8')}\r\nbroken,"line`);
  const changed = await runOnce(t, sandbox);
  t.equal(changed.code, 8, 'paused: a changed CSV needs the operator again');
  t.equal(pausesFor(sandbox, 'metadata_csv'), 2);
});
