// The generator: determinism, ARN formats, reverse lookup, the CSV's traps,
// the truth, and that 1,000,000 points cost no per-point memory.
import t from 'tap';
import { ALLOWED_APMIDS, Dataset, VAULT_SPECS } from './generator.js';
import { RESOURCE_TYPES } from './model.js';
import { decodeId, encodeId, fmix32, unfmix32 } from './rng.js';
import { computeTruth } from './truth.js';
import { World } from './world.js';

const anchor = Date.parse('2026-11-01T12:00:00Z');
const world = (points: number, seed = 42) =>
  new World({ seed, points, region: 'eu-west-2', sourceAccount: '111111111111', destAccount: '222222222222', anchor });

t.test('id encoding is a bijection', async (t) => {
  for (const x of [0, 1, 0x7fffffff, 0xffffffff, 123456789]) t.equal(unfmix32(fmix32(x)), x >>> 0);
  for (const [v, i] of [
    [0, 0],
    [11, 0xffffff],
    [5, 123456],
  ] as const)
    t.same(decodeId(99, encodeId(99, v, i)), { vault: v, index: i });
});

t.test('same seed, same data; another seed, other data', async (t) => {
  const a = world(600).dataset;
  const b = world(600).dataset;
  const c = world(600, 43).dataset;
  t.same(a.point(3, 17), b.point(3, 17));
  t.not(a.point(3, 17).arn, c.point(3, 17).arn);
  t.same(a.csv().text, b.csv().text);
});

t.test('ARN formats, types, lookups', async (t) => {
  const w = world(2000);
  const ds = w.dataset;
  t.equal(
    ds.counts.reduce((x, y) => x + y, 0),
    2000,
  );
  t.equal(ds.vaultCount, 12);
  const seen = new Set<string>();
  const patterns: Record<string, RegExp> = {
    EBS: /^arn:aws:ec2:eu-west-2::snapshot\/snap-0[0-9a-f]{16}$/,
    EC2: /^arn:aws:ec2:eu-west-2::image\/ami-0[0-9a-f]{16}$/,
    RDS: /^arn:aws:rds:eu-west-2:111111111111:snapshot:awsbackup:job-[0-9a-f-]{36}$/,
    Aurora: /^arn:aws:rds:eu-west-2:111111111111:cluster-snapshot:awsbackup:job-[0-9a-f-]{36}$/,
    FSx: /^arn:aws:fsx:eu-west-2:111111111111:backup\/backup-0[0-9a-f]{16}$/,
  };
  const backupArn = /^arn:aws:backup:eu-west-2:111111111111:recovery-point:(continuous:.+-[0-9a-f]{8}|[0-9a-f-]{36})$/;
  for (let v = 0; v < ds.vaultCount; v++) {
    const lag = VAULT_SPECS[v]?.type === 'LOGICALLY_AIR_GAPPED_BACKUP_VAULT';
    for (let i = 0; i < (ds.counts[v] ?? 0); i++) {
      const p = ds.point(v, i);
      seen.add(p.resourceType);
      const re = lag || p.continuous ? backupArn : (patterns[p.resourceType] ?? backupArn);
      if (p.resourceType === 'DynamoDB' && p.arn.startsWith('arn:aws:dynamodb:')) {
        t.match(p.arn, /^arn:aws:dynamodb:eu-west-2:111111111111:table\/.+\/backup\/\d{13}-[0-9a-f]{8}$/);
      } else if (!re.test(p.arn)) t.fail(`${p.resourceType} ${p.arn}`);
      const found = ds.findPoint(p.arn);
      if (found?.vault !== v || found.index !== i) t.fail(`lookup of ${p.arn}`);
    }
  }
  t.same([...seen].sort(), [...RESOURCE_TYPES].sort(), 'all 8 resource types');
  t.equal(
    ds.findPoint('arn:aws:ec2:eu-west-2::snapshot/snap-0123456789abcdef0'),
    undefined,
    'a foreign ARN is not found',
  );
  const res = ds.resource(2, 0);
  t.equal(ds.findResource(2, res.arn)?.index, 0);
  t.ok(res.chainLength >= 1);
  const chain = Array.from({ length: res.chainLength }, (_, k) => ds.pointOf(res, res.chainStart + k));
  t.ok(
    chain.every((p) => p.resourceArn === res.arn),
    'a chain of points per resource',
  );
  t.ok(
    chain.every((p, k) => k === 0 || p.creationDate > (chain[k - 1]?.creationDate ?? 0)),
    'chain points are in date order',
  );
});

t.test('the CSV has every trap the enrich phase must survive', async (t) => {
  const ds = world(3000).dataset;
  const { text, truth } = ds.csv();
  t.ok(text.startsWith('\uFEFFresourceArn,APMID,appName,owner\r\n'), 'UTF-8 BOM and header');
  t.notOk(/[^\r]\n/.test(text), 'CRLF line ends only');
  t.match(text, /"Payments, EU"/, 'quoted comma');
  t.match(text, /"CRM ""Classic"""/, 'escaped quotes');
  t.match(text, /Entrepôt/, 'UTF-8 text');
  const lines = text.slice(1).split('\r\n');
  for (const n of truth.malformedLines) t.ok(lines[n - 1], `malformed line ${n} exists`);
  t.ok(truth.malformedLines.length >= 2);
  t.match(lines[(truth.malformedLines.at(-1) ?? 1) - 1], /,"[^"]*$/, 'the last data line has an unbalanced quote');
  t.ok(
    truth.resources.empty > 0 &&
      truth.resources.absent > 0 &&
      truth.resources.notAllowed > 0 &&
      truth.resources.conflict > 0,
  );
  t.ok(truth.orphanRows >= 3, 'rows for resources that do not exist');
  t.equal(truth.conflictingResources.length, truth.resources.conflict);
  t.ok(text.includes('APM0002001'), 'an APMID outside the allowed set');
  t.notOk(ALLOWED_APMIDS.includes('APM0002001'));
});

t.test('truth is consistent', async (t) => {
  const w = world(3000);
  const truth = computeTruth(w.dataset, anchor, w.dataset.csv().truth, ALLOWED_APMIDS);
  t.equal(
    truth.vaults.reduce((a, v) => a + v.points, 0),
    3000,
  );
  const skipped = Object.values(truth.plan.skipped).reduce((a, b) => a + (b ?? 0), 0);
  t.equal(truth.plan.toCopy + skipped, 3000);
  t.ok(
    truth.flags.continuous > 0 && truth.flags.cold > 0 && truth.flags.awsManagedKey > 0,
    JSON.stringify(truth.flags),
  );
  t.ok((truth.byStatus.COMPLETED ?? 0) > 2400);
  t.ok(Object.keys(truth.byStatus).length >= 4, `statuses: ${Object.keys(truth.byStatus).join(',')}`);
});

t.test('1,000,000 points start fast and are derived, not stored', async (t) => {
  const before = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  const ds = world(1_000_000).dataset;
  // Reported, not asserted: a wall-clock limit would fail on a loaded CI machine. The heap bound below is what
  // shows the points are derived rather than stored.
  t.comment(`built in ${(performance.now() - t0).toFixed(0)} ms`);
  t.ok(process.memoryUsage().heapUsed - before < 50 * 1024 * 1024, 'well under 50 MB of heap');
  const v = 2;
  const last = (ds.counts[v] ?? 1) - 1;
  const p = ds.point(v, last);
  t.equal(ds.findPoint(p.arn)?.index, last);
  t.ok(ds.total === 1_000_000 && Dataset.name === 'Dataset');
});
