// Enrichment against a real store: the CSV's edge cases, the problems and their
// lines, reconciliation with the inventory, fingerprints, stops and crashes.

import { utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { MetadataError } from '../../daemon/enrich/errors.js';
import { loadMetadata, metadataState } from '../../daemon/enrich/loader.js';
import { EnrichPhase } from '../../daemon/enrich/phase.js';
import { reconcileMetadataWithPoints } from '../../daemon/enrich/reconcile.js';
import { listProblems, metadataReport } from '../../daemon/enrich/repo.js';
import { materializeResolvedApmids, resolvedApmidSql } from '../../daemon/enrich/resolution.js';
import type { EventJournal } from '../../daemon/events.js';
import { createLogger } from '../../daemon/log.js';
import { resetState } from '../../daemon/reset.js';
import { openStore, type Store } from '../../daemon/store/store.js';
import { shortTempDir } from '../helpers/process.js';

const identity = { sourceAccountId: '111111111111', destinationAccountId: '222222222222', region: 'eu-west-2' };

interface Setup {
  dir: string;
  store: Store;
  csv: string;
  config: { metadata: { csv: string; keyColumn: string; apmidColumn: string } };
}

function setup(t: Test, text?: string, columns = { keyColumn: 'resourceArn', apmidColumn: 'APMID' }): Setup {
  const dir = shortTempDir(t);
  const store = openStore(join(dir, 'rpcopy.db'), identity, { version: 'test' });
  t.teardown(() => store.close());
  const csv = join(dir, 'metadata.csv');
  if (text !== undefined) writeFileSync(csv, text);
  return { dir, store, csv, config: { metadata: { csv, ...columns } } };
}

const arn = (n: number | string) => `arn:aws:ec2:eu-west-2:111111111111:volume/vol-${n}`;

function rows(store: Store): { line: number; resourceArn: string; apmid: string; extra: unknown }[] {
  return (
    store.sqlite
      .prepare('SELECT line, resource_arn AS resourceArn, apmid, extra FROM metadata_rows ORDER BY line')
      .all() as { line: number; resourceArn: string; apmid: string; extra: string | null }[]
  ).map((r) => ({ ...r, extra: r.extra === null ? null : JSON.parse(r.extra) }));
}

function problems(store: Store, kind?: string): { kind: string; line: number | null; resourceArn: string | null }[] {
  return store.sqlite
    .prepare(
      `SELECT kind, line, resource_arn AS resourceArn FROM metadata_problems
       ${kind ? 'WHERE kind = ?' : ''} ORDER BY kind, line, resource_arn`,
    )
    .all(...(kind ? [kind] : [])) as { kind: string; line: number | null; resourceArn: string | null }[];
}

function addPoint(store: Store, id: number, resourceArn: string, extra: { vault?: string; goneAt?: number } = {}) {
  store.sqlite
    .prepare(
      `INSERT INTO recovery_points (arn, vault_name, resource_arn, resource_type, status, creation_date, gone_at)
       VALUES (?, ?, ?, 'EBS', 'COMPLETED', ?, ?)`,
    )
    .run(
      `arn:aws:ec2:eu-west-2::snapshot/snap-${id}`,
      extra.vault ?? 'main',
      resourceArn,
      1_700_000_000_000 + id,
      extra.goneAt ?? null,
    );
}

t.test('BOM, CRLF, quoted commas and line breaks, trailing whitespace, other columns kept as extra', async (t) => {
  const text =
    '\uFEFFresourceArn,APMID,Application Name,notes \r\n' +
    `${arn(1)},APM0000001,billing,"retained, per ""policy"""\r\n` +
    `${arn(2)} , APM0000002 ,"web, front","two\r\nlines"\r\n` +
    `${arn(3)},"APM0000003" ,batch,\r\n`;
  const { store, config } = setup(t, text);
  const loaded = await loadMetadata(store, config, { now: () => 42 });
  t.equal(loaded.outcome, 'loaded');
  t.equal(loaded.rows, 3);
  t.same(rows(store), [
    {
      line: 2,
      resourceArn: arn(1),
      apmid: 'APM0000001',
      extra: { 'Application Name': 'billing', notes: 'retained, per "policy"' },
    },
    {
      line: 3,
      resourceArn: arn(2),
      apmid: 'APM0000002',
      extra: { 'Application Name': 'web, front', notes: 'two\r\nlines' },
    },
    { line: 5, resourceArn: arn(3), apmid: 'APM0000003', extra: { 'Application Name': 'batch', notes: '' } },
  ]);
  t.same(problems(store), [], 'no problems');
  const state = await metadataState(store, config);
  t.match(state, { loaded: true, stale: false, unfinished: false, rows: 3, loadedAt: 42, path: config.metadata.csv });
  t.match(state.fingerprint, { size: Buffer.byteLength(text), keyColumn: 'resourceArn', apmidColumn: 'APMID' });
  t.match(state.fingerprint?.sha256, /^[0-9a-f]{64}$/);
});

t.test('custom column names; no other columns means no extra', async (t) => {
  const { store, config } = setup(t, `APP_ID;ignored\nAPM1,${arn(1)}\n`.replace(';ignored', ',arn'), {
    keyColumn: 'arn',
    apmidColumn: 'APP_ID',
  });
  await loadMetadata(store, config);
  t.same(rows(store), [{ line: 2, resourceArn: arn(1), apmid: 'APM1', extra: null }]);
});

t.test(
  'a header without the key or APMID column is fatal, names the file and the columns, writes nothing',
  async (t) => {
    const { store, config, csv } = setup(t, `ResourceArn,apm_id,owner\n${arn(1)},APM1,me\n`);
    const error = await loadMetadata(store, config).then(
      () => undefined,
      (err: unknown) => err,
    );
    t.ok(error instanceof MetadataError, 'a MetadataError');
    const e = error as MetadataError;
    t.equal(e.file, csv);
    t.equal(e.line, 1);
    t.same(e.columns, ['ResourceArn', 'apm_id', 'owner']);
    t.match(e.message, csv);
    t.match(
      e.message,
      /lacks the columns "resourceArn" \(metadata\.key_column\) and "APMID" \(metadata\.apmid_column\)/,
    );
    t.match(e.message, /columns found: "ResourceArn", "apm_id", "owner"/);
    t.match(e.message, /"ResourceArn" differs from "resourceArn" only in case/);
    t.equal(store.sqlite.prepare('SELECT count(*) FROM metadata_sources').pluck().get(), 0);
    t.equal(store.sqlite.prepare('SELECT count(*) FROM metadata_rows').pluck().get(), 0);

    writeFileSync(csv, '');
    await t.rejects(loadMetadata(store, config), { name: 'MetadataError', message: /the file is empty/ });
    await t.rejects(loadMetadata(store, { metadata: { ...config.metadata, csv: `${csv}.missing` } }), {
      name: 'MetadataError',
      message: /no such file/,
    });
  },
);

t.test('malformed rows are reported with their lines and the good rows after them still load', async (t) => {
  const text = [
    'resourceArn,APMID,notes', // 1
    `${arn(1)},A1,"a\r\nb"`, // 2-3 (CRLF inside quotes: csv-parse would count it twice)
    `${arn(2)},A2`, // 4: too few fields
    `${arn(3)},A3,x,y`, // 5: too many
    `${arn(4)},A"4,z`, // 6: stray quote in the APMID
    `${arn(5)},"A5"x,z`, // 7: invalid closing quote
    `,A6,z`, // 8: empty key
    ',,', // 9: a line of empty fields: ignored
    '', // 10: empty line: ignored
    `${arn(7)},"A7,z`, // 11: a quote that closes only on line 12
    `${arn(8)},A8,"q"`, // 12
    `${arn(9)},A9,ok`, // 13
    `${arn(10)},A10,"never closed`, // 14 to the end
    `${arn(11)},A11,lost`, // 15
  ].join('\n');
  const { store, config } = setup(t, text);
  const loaded = await loadMetadata(store, config);
  t.same(
    rows(store).map((r) => [r.line, r.resourceArn]),
    [
      [2, arn(1)],
      [13, arn(9)],
    ],
  );
  t.same(
    problems(store, 'malformed_row').map((p) => [p.line, p.resourceArn]),
    [
      [4, arn(2)],
      [5, arn(3)],
      [6, arn(4)],
      [7, arn(5)],
      [8, null],
      [11, arn(7)],
      [14, null],
    ],
  );
  t.equal(loaded.problems.malformed_row, 7);
  const report = metadataReport(store, { limit: 10 });
  t.match(report.problems.malformed_row, [
    { line: 4, detail: /expected 3 fields \(as in the header\), found 2 on line 4/ },
    { line: 5, detail: /found 4/ },
    { line: 6, detail: /APMID field holds a stray quote/ },
    { line: 7, detail: /APMID field holds a stray quote/ },
    { line: 8, detail: /resourceArn field is empty/ },
    { line: 11, detail: /lines 11-12 \(an unbalanced quote\?\)/ },
    { line: 14, detail: /a quote opened on line 14 is never closed/ },
  ]);
});

t.test('conflicts, duplicates and empty APMIDs; the resolved APMID per resource', async (t) => {
  const text = [
    'resourceArn,APMID',
    `${arn('dup')},A1`, // 2
    `${arn('conflict')},A1`, // 3
    `${arn('ok')},B1`, // 4
    `${arn('dup')},A1`, // 5
    `${arn('conflict')},A2`, // 6
    `${arn('empty')},`, // 7
    `${arn('conflict')},A1`, // 8
    `${arn('mixed')},`, // 9
    `${arn('mixed')},C1`, // 10
    `${arn('empty')},  `, // 11
  ].join('\r\n');
  const { store, config } = setup(t, text);
  await loadMetadata(store, config, { batchSize: 2 });
  t.equal(rows(store).length, 10, 'every row is kept, conflicting ones included');
  t.same(problems(store), [
    { kind: 'conflicting_apmid', line: 3, resourceArn: arn('conflict') },
    { kind: 'duplicate_row', line: 5, resourceArn: arn('dup') },
    { kind: 'empty_apmid', line: 7, resourceArn: arn('empty') },
    { kind: 'empty_apmid', line: 9, resourceArn: arn('mixed') },
    { kind: 'empty_apmid', line: 11, resourceArn: arn('empty') },
  ]);
  t.match(listProblems(store, 'conflicting_apmid'), [
    { detail: 'conflicting APMIDs A1 (lines 3, 8), A2 (line 6): this resource is never copied' },
  ]);

  const expected = [
    { resource_arn: arn('conflict'), apmid: null, reason: 'conflict' },
    { resource_arn: arn('dup'), apmid: 'A1', reason: null },
    { resource_arn: arn('empty'), apmid: null, reason: 'empty' },
    { resource_arn: arn('mixed'), apmid: 'C1', reason: null },
    { resource_arn: arn('ok'), apmid: 'B1', reason: null },
  ];
  t.same(store.sqlite.prepare(`SELECT * FROM ${resolvedApmidSql()} ORDER BY resource_arn`).all(), expected);
  const resolved = await materializeResolvedApmids(store);
  t.match(resolved, { outcome: 'done', resources: 5, table: 'temp.metadata_resolved_apmids' });
  t.same(store.sqlite.prepare(`SELECT * FROM ${resolved.table} ORDER BY resource_arn`).all(), expected);

  // The plan's lookup: a point whose resource has no row at all is 'missing'.
  addPoint(store, 1, arn('conflict'));
  addPoint(store, 2, arn('nobody'));
  t.same(
    store.sqlite
      .prepare(
        `SELECT p.resource_arn AS arn, r.apmid, CASE WHEN r.resource_arn IS NULL THEN 'missing' ELSE r.reason END AS reason
         FROM recovery_points p LEFT JOIN ${resolved.table} r ON r.resource_arn = p.resource_arn ORDER BY p.id`,
      )
      .all(),
    [
      { arn: arn('conflict'), apmid: null, reason: 'conflict' },
      { arn: arn('nobody'), apmid: null, reason: 'missing' },
    ],
  );
});

t.test('reconciliation: unmatched rows and points without rows, recomputed each time', async (t) => {
  const text = ['resourceArn,APMID', `${arn(1)},A`, `${arn(2)},B`, `${arn(3)},C`, `${arn(2)},B`].join('\n');
  const { store, config } = setup(t, text);
  t.same(await reconcileMetadataWithPoints(store), {
    outcome: 'done',
    sourceId: null,
    unmatchedRows: 0,
    pointsWithoutRow: 0,
  });
  await loadMetadata(store, config);
  addPoint(store, 1, arn(1));
  addPoint(store, 2, arn(1));
  addPoint(store, 3, arn(4)); // no row
  addPoint(store, 4, arn(3), { goneAt: 5 }); // gone: row 4 matches nothing live, and the point is not counted
  addPoint(store, 5, arn(5), { vault: 'other' }); // in a deselected vault: not counted
  addPoint(store, 6, arn(6), { vault: 'unknown' }); // a vault with no source_vaults row: counted
  store.sqlite
    .prepare(`INSERT INTO source_vaults (name, arn, selected) VALUES ('other', 'arn:aws:backup:v/other', 0)`)
    .run();

  const first = await reconcileMetadataWithPoints(store);
  t.match(first, { outcome: 'done', unmatchedRows: 3, pointsWithoutRow: 2 });
  t.same(
    problems(store, 'unmatched_row').map((p) => [p.line, p.resourceArn]),
    [
      [3, arn(2)],
      [4, arn(3)],
      [5, arn(2)],
    ],
  );
  t.same(
    problems(store, 'point_without_row').map((p) => [p.line, p.resourceArn]),
    [
      [null, arn(4)],
      [null, arn(6)],
    ],
  );
  t.match(listProblems(store, 'point_without_row')[0]?.detail, /snap-3 in vault main has no row in the metadata CSV/);

  addPoint(store, 7, arn(2));
  const second = await reconcileMetadataWithPoints(store);
  t.match(second, { unmatchedRows: 1, pointsWithoutRow: 2 }, 'the old problems of these kinds are replaced');
  t.equal(problems(store, 'unmatched_row').length, 1);
  t.equal(problems(store, 'duplicate_row').length, 1, 'problems of other kinds are untouched');
  const report = metadataReport(store, { limit: 1 });
  t.match(report.counts, { unmatched_row: 1, point_without_row: 2, duplicate_row: 1 });
  t.equal(report.total, 4);
  t.equal(report.problems.point_without_row.length, 1, 'the report lists at most `limit` of each kind');
});

t.test(
  'fingerprint: unchanged is a no-op, touched with the same bytes too, a change reloads and replaces',
  async (t) => {
    const { store, config, csv } = setup(t, ['resourceArn,APMID', `${arn(1)},A`, `${arn(1)},B`].join('\n'));
    const first = await loadMetadata(store, config);
    t.equal(first.outcome, 'loaded');
    const again = await loadMetadata(store, config);
    t.match(again, { outcome: 'unchanged', sourceId: first.sourceId, rows: 2 });

    utimesSync(csv, new Date(), new Date(Date.now() + 5_000));
    t.equal(
      (await metadataState(store, config, { hash: false })).stale,
      true,
      'without hashing a new mtime looks changed',
    );
    t.equal((await metadataState(store, config)).stale, false, 'same bytes: not stale');
    t.match(await loadMetadata(store, config), { outcome: 'unchanged', sourceId: first.sourceId });

    writeFileSync(csv, ['resourceArn,APMID', `${arn(2)},C`, `${arn(3)},`].join('\n'));
    t.equal((await metadataState(store, config)).stale, true);
    const reloaded = await loadMetadata(store, config);
    t.equal(reloaded.outcome, 'loaded');
    t.not(reloaded.sourceId, first.sourceId);
    t.same(
      rows(store).map((r) => [r.line, r.resourceArn, r.apmid]),
      [
        [2, arn(2), 'C'],
        [3, arn(3), ''],
      ],
      'the old rows are gone',
    );
    t.same(problems(store), [{ kind: 'empty_apmid', line: 3, resourceArn: arn(3) }], 'the old conflict is gone');
    t.equal(store.sqlite.prepare('SELECT count(*) FROM metadata_sources').pluck().get(), 1);
    t.equal((await metadataState(store, config)).stale, false);

    const renamed = { metadata: { ...config.metadata, apmidColumn: 'resourceArn', keyColumn: 'APMID' } };
    t.equal((await metadataState(store, renamed)).stale, true, 'other column names: stale');
  },
);

t.test('rpctl reset metadata: the next load reads the unchanged file again', async (t) => {
  const { store, config } = setup(t, ['resourceArn,APMID', `${arn(1)},A`].join('\n'));
  const first = await loadMetadata(store, config);
  t.equal(first.outcome, 'loaded');
  t.match(resetState(store, 'metadata', null), { metadataLoads: 1 });
  t.equal((await metadataState(store, config)).stale, true, 'the reset fingerprint matches no file');
  const again = await loadMetadata(store, config);
  t.equal(again.outcome, 'loaded');
  t.not(again.sourceId, first.sourceId);
  t.match(await loadMetadata(store, config), { outcome: 'unchanged', sourceId: again.sourceId });
});

function bigCsv(n: number, apmid: string): string {
  const lines = ['resourceArn,APMID'];
  for (let i = 0; i < n; i++) lines.push(`${arn(i)},${apmid}`);
  return lines.join('\n');
}

function assertClean(t: Test, store: Store, sourceId: number | null, expectedRows: number) {
  t.equal(store.sqlite.prepare('SELECT count(*) FROM metadata_rows').pluck().get(), expectedRows, 'no extra rows');
  t.equal(
    store.sqlite.prepare('SELECT count(*) FROM metadata_rows WHERE source_id IS NOT ?').pluck().get(sourceId),
    0,
    'every row belongs to the current load',
  );
  t.equal(
    store.sqlite.prepare('SELECT count(*) FROM metadata_problems WHERE source_id IS NOT ?').pluck().get(sourceId),
    0,
    'every problem belongs to the current load',
  );
  t.equal(
    store.sqlite
      .prepare('SELECT count(*) FROM (SELECT line FROM metadata_rows GROUP BY line HAVING count(*) > 1)')
      .pluck()
      .get(),
    0,
    'no line twice',
  );
  t.same(
    store.sqlite.prepare('SELECT id, state FROM metadata_sources').all(),
    [{ id: sourceId, state: 'complete' }],
    'one source: the current load, complete',
  );
}

t.test('an abort mid-load leaves the previous load intact and returns stopped', async (t) => {
  const { store, config, csv } = setup(t, bigCsv(300, 'OLD'));
  const first = await loadMetadata(store, config);
  writeFileSync(csv, bigCsv(2_000, 'NEW'));
  const controller = new AbortController();
  let batches = 0;
  const stopped = await loadMetadata(store, config, {
    batchSize: 100,
    signal: controller.signal,
    onProgress: () => {
      if (++batches === 3) controller.abort();
    },
  });
  t.match(stopped, { outcome: 'stopped', sourceId: first.sourceId, rows: 300 });
  const state = await metadataState(store, config);
  t.match(state, { loaded: true, stale: true, unfinished: true, sourceId: first.sourceId, rows: 300 });
  const resolved = await materializeResolvedApmids(store);
  t.equal(resolved.resources, 300, 'readers see the previous load only');
  t.same(
    store.sqlite.prepare(`SELECT DISTINCT apmid FROM ${resolved.table}`).pluck().all(),
    ['OLD'],
    'and nothing of the stopped one',
  );

  const done = await loadMetadata(store, config);
  t.match(done, { outcome: 'loaded', rows: 2_000 });
  assertClean(t, store, done.sourceId, 2_000);
  t.equal((await metadataState(store, config)).unfinished, false);
});

t.test('a crash mid-load: the partial rows are invisible, the next call cleans them up, no duplicates', async (t) => {
  const { store, config, csv } = setup(t, bigCsv(300, 'OLD'));
  const first = await loadMetadata(store, config);
  writeFileSync(csv, bigCsv(3_000, 'NEW'));
  let batches = 0;
  // The process "dies" after some batches: the exception unwinds without any cleanup, as a kill would.
  await t.rejects(
    loadMetadata(store, config, {
      batchSize: 200,
      onProgress: (p) => {
        if (p.phase === 'copy' && ++batches === 4) throw new Error('simulated crash');
      },
    }),
    /simulated crash/,
  );
  const total = store.sqlite.prepare('SELECT count(*) FROM metadata_rows').pluck().get() as number;
  t.ok(total > 300, `the partial load left rows behind (${total - 300})`);
  t.match(await metadataState(store, config), { sourceId: first.sourceId, rows: 300, unfinished: true });
  t.same(
    store.sqlite.prepare(`SELECT DISTINCT apmid FROM ${resolvedApmidSql()}`).pluck().all(),
    ['OLD'],
    'readers see only the complete load',
  );

  // The crash also took the connection (and its temp tables) away: reopen, as a restart would.
  store.close();
  const reopened = openStore(store.file, identity, { version: 'test' });
  t.teardown(() => reopened.close());
  const done = await loadMetadata(reopened, config);
  t.match(done, { outcome: 'loaded', rows: 3_000 });
  assertClean(t, reopened, done.sourceId, 3_000);
  t.same(reopened.sqlite.prepare(`SELECT DISTINCT apmid FROM ${resolvedApmidSql()}`).pluck().all(), ['NEW']);
});

t.test(
  'a stop while the old load is deleted: the new load is current, the next call finishes the deletion',
  async (t) => {
    const { store, config, csv } = setup(t, bigCsv(3_000, 'OLD'));
    const first = await loadMetadata(store, config);
    writeFileSync(csv, bigCsv(500, 'NEW'));
    const controller = new AbortController();
    const loaded = await loadMetadata(store, config, {
      signal: controller.signal,
      onProgress: (p) => {
        if (p.phase === 'prune') controller.abort();
      },
    });
    t.match(loaded, { outcome: 'loaded', rows: 500 });
    t.not(loaded.sourceId, first.sourceId);
    const left = store.sqlite
      .prepare('SELECT count(*) FROM metadata_rows WHERE source_id = ?')
      .pluck()
      .get(first.sourceId) as number;
    t.ok(left > 0 && left < 3_000, `the old load is partly deleted (${left} rows left)`);
    t.match(await metadataState(store, config), {
      sourceId: loaded.sourceId,
      rows: 500,
      unfinished: false,
      stale: false,
    });
    t.same(store.sqlite.prepare(`SELECT DISTINCT apmid FROM ${resolvedApmidSql()}`).pluck().all(), ['NEW']);
    t.equal(metadataReport(store).source?.id, loaded.sourceId);

    t.match(await loadMetadata(store, config), { outcome: 'unchanged', sourceId: loaded.sourceId });
    assertClean(t, store, loaded.sourceId, 500);
  },
);

t.test('loads on one store run one at a time', async (t) => {
  const { store, config } = setup(t, bigCsv(500, 'A'));
  const [a, b] = await Promise.all([loadMetadata(store, config, { batchSize: 50 }), loadMetadata(store, config)]);
  t.equal(a.outcome, 'loaded');
  t.equal(b.outcome, 'unchanged');
  assertClean(t, store, a.sourceId, 500);
});

function phaseFor(setup: Setup): { phase: EnrichPhase; events: { level: string; kind: string; data: unknown }[] } {
  const events: { level: string; kind: string; data: unknown }[] = [];
  const journal: EventJournal = { record: (level, kind, _message, data) => events.push({ level, kind, data }) };
  const log = createLogger({ level: 'error', write: () => {} });
  return { phase: new EnrichPhase({ store: setup.store, config: setup.config, journal, log }), events };
}

const context = (signal = new AbortController().signal) => ({ signal, track: <T>(work: Promise<T>) => work });

t.test('the enrich phase: loads, reconciles every run, records enrich.done', async (t) => {
  const s = setup(t, ['resourceArn,APMID', `${arn(1)},A`, `${arn(2)},`].join('\n'));
  const { phase, events } = phaseFor(s);
  t.equal(phase.name, 'enrich');
  addPoint(s.store, 1, arn(1));
  t.equal(await phase.run(context()), 'done');
  t.match(events, [
    {
      level: 'info',
      kind: 'enrich.done',
      data: { outcome: 'loaded', rows: 2, problems: { empty_apmid: 1, unmatched_row: 1, point_without_row: 0 } },
    },
  ]);

  // The file is unchanged but the inventory changed: reconciliation runs again.
  addPoint(s.store, 2, arn(3));
  t.equal(await phase.run(context()), 'done');
  t.match(events[1], {
    kind: 'enrich.done',
    data: { outcome: 'unchanged', rows: 2, problems: { unmatched_row: 1, point_without_row: 1 } },
  });
});

t.test('the enrich phase: stopped when aborted; a MetadataError names the file and the line', async (t) => {
  const s = setup(t, ['resourceArn,APMID', `${arn(1)},A`].join('\n'));
  const { phase, events } = phaseFor(s);
  const controller = new AbortController();
  controller.abort();
  t.equal(await phase.run(context(controller.signal)), 'stopped');
  t.same(events, [], 'nothing recorded');

  writeFileSync(s.csv, `arn,apmid\n${arn(1)},A\n`);
  await t.rejects(phase.run(context()), {
    name: 'MetadataError',
    message: new RegExp(`^${s.csv.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:1: the header lacks the columns`),
  });
  writeFileSync(s.csv, '');
  await t.rejects(phase.run(context()), { name: 'MetadataError', message: `${s.csv}:1: the file is empty` });
});
