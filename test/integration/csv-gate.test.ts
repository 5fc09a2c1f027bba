// The broken-CSV gate's verdict on real loads into a real store: the share of unusable lines against
// metadata.max_unusable_share (with its 10-line floor), a runaway quote, the confirmation kept per file content,
// and the problem list in line order.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { csvProblemsPage, metadataGate, metadataVerdict } from '../../daemon/enrich/gate.js';
import { loadMetadata } from '../../daemon/enrich/loader.js';
import type { EventJournal } from '../../daemon/events.js';
import { openStore, type Store } from '../../daemon/store/store.js';
import { shortTempDir } from '../helpers/process.js';

const identity = { sourceAccountId: '111111111111', destinationAccountId: '222222222222', region: 'eu-west-2' };
const arn = (n: number) => `arn:aws:ec2:eu-west-2:111111111111:volume/vol-${n}`;
const journal = { record: () => undefined } as unknown as EventJournal;

function setup(t: Test, share = 0.2) {
  const dir = shortTempDir(t);
  const store = openStore(join(dir, 'rpcopy.db'), identity, { version: 'test' });
  t.teardown(() => store.close());
  const csv = join(dir, 'metadata.csv');
  const config = { metadata: { csv, keyColumn: 'resourceArn', apmidColumn: 'APMID', maxUnusableShare: share } };
  return { store, csv, config };
}

/** A header and `good` valid rows, then `bad` rows with a missing column. */
function csvText(good: number, bad: number, tail = ''): string {
  const lines = ['resourceArn,APMID,owner'];
  for (let i = 0; i < good; i++) lines.push(`${arn(i)},APM0001001,team`);
  for (let i = 0; i < bad; i++) lines.push(`${arn(1000 + i)},APM0001001`);
  return `${lines.join('\n')}\n${tail}`;
}

async function verdictOf(store: Store, config: ReturnType<typeof setup>['config'], text: string, csv: string) {
  writeFileSync(csv, text);
  await loadMetadata(store, config);
  return metadataVerdict(store, config);
}

t.test('the share of unusable lines, with its floor', async (t) => {
  const { store, csv, config } = setup(t);
  const few = await verdictOf(store, config, csvText(20, 3), csv);
  t.equal(few?.unusableLines, 3);
  t.equal(few?.gated, false, '3 of 23 lines: above the share but below the 10-line floor');
  const many = await verdictOf(store, config, csvText(100, 30), csv);
  t.equal(many?.dataLines, 130);
  t.equal(many?.gated, true, '30 of 130 lines (23%) is above the default 20%');
  const ordinary = await verdictOf(store, config, csvText(100, 12), csv);
  t.equal(ordinary?.gated, false, '12 of 112 lines (10.7%): the bad rows of an ordinary export, reported, not asked');
});

t.test('a quote that swallows the rest of the file closes the gate whatever the share', async (t) => {
  const { store, csv, config } = setup(t, 1);
  const text = csvText(5, 0).replace(`${arn(2)},APM0001001,team`, `${arn(2)},APM0001001,"team`);
  const verdict = await verdictOf(store, config, text, csv);
  t.equal(verdict?.gated, true);
  t.same(verdict?.cuts, [{ line: 4, endLine: 6 }], 'the cut from the opening line to the end');
  t.match(verdict?.summary, 'a quote opened on line 4 swallowed lines 4-6');
  const last = await verdictOf(store, config, csvText(5, 0, `${arn(9)},APM0001001,"team\n`), csv);
  t.equal(last?.gated, false, 'an unclosed quote on the last line loses only that line');
});

t.test('a malformed record over a few lines is a bad row; one that swallows ten lines cuts the file', async (t) => {
  const { store, csv, config } = setup(t, 1);
  const spanning = (lines: number) => {
    const body = csvText(40, 0).split('\n');
    // A quote opened in line 5's owner field closes on a later line, leaving a record with too many fields.
    body[4] = `${body[4]?.replace(',team', ',"team')}`;
    body[4 + lines - 1] = `${body[4 + lines - 1]}",extra`;
    return body.join('\n');
  };
  const short = await verdictOf(store, config, spanning(3), csv);
  t.equal(short?.cutCount, 1, 'the record is seen to swallow the lines after it');
  t.equal(short?.gated, false, 'three lines of 40 lost: reported, not asked');
  const long = await verdictOf(store, config, spanning(12), csv);
  t.equal(long?.gated, true, 'twelve lines swallowed by one quote: the file is cut');
});

t.test('confirmation: kept for the same content, asked again for another', async (t) => {
  const { store, csv, config } = setup(t);
  await verdictOf(store, config, csvText(50, 20), csv);
  let asked = 0;
  const pause = async () => {
    asked++;
    return true;
  };
  await metadataGate({ store, config, journal, pause });
  t.equal(asked, 1, 'asked once');
  t.equal(metadataVerdict(store, config)?.confirmed, true);
  await metadataGate({ store, config, journal, pause });
  t.equal(asked, 1, 'not asked again for the same load');
  writeFileSync(csv, csvText(50, 21));
  await loadMetadata(store, config);
  t.equal(metadataVerdict(store, config)?.confirmed, false, 'a changed file is not confirmed');

  // A pause that was not ours (another reason held the gate) confirms nothing: the gate asks again.
  const answers = [false, true];
  let calls = 0;
  await metadataGate({
    store,
    config,
    journal,
    pause: async () => {
      calls++;
      return answers.shift() ?? true;
    },
  });
  t.equal(calls, 2, 'asked again after another pause ended');
});

t.test('the problem list: line order, lineless last, paged', async (t) => {
  const { store, csv, config } = setup(t);
  await verdictOf(store, config, `${csvText(3, 4)}${arn(1)},APM0009999,team\n`, csv);
  const all: (number | null)[] = [];
  let position: { afterLine?: number; afterId?: number } = {};
  for (;;) {
    const page = csvProblemsPage(store, { ...position, limit: 2 });
    all.push(...page.problems.map((p) => p.line));
    if (!page.next) break;
    position = page.next;
  }
  const lines = all.filter((l): l is number => l !== null);
  t.same(
    lines,
    [...lines].sort((a, b) => a - b),
    'in line order across pages',
  );
  t.equal(all.length, lines.length + all.filter((l) => l === null).length);
  t.ok(all.length >= 5, `every problem listed (${all.length})`);
});
