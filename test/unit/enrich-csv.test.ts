// The CSV reader's line numbers and field cleaning, and the duplicate/conflict rule, without a store.

import { Readable } from 'node:stream';
import t from 'tap';
import { type CsvItem, cleanField, readCsv } from '../../daemon/enrich/csv.js';
import { judgeResource } from '../../daemon/enrich/loader.js';

async function items(text: string, chunkSize = 0): Promise<CsvItem[]> {
  const bytes = Buffer.from(text);
  const chunks: Buffer[] = [];
  if (chunkSize > 0) for (let i = 0; i < bytes.length; i += chunkSize) chunks.push(bytes.subarray(i, i + chunkSize));
  else chunks.push(bytes);
  const out: CsvItem[] = [];
  for await (const item of readCsv(Readable.from(chunks))) out.push(item);
  return out;
}

const brief = (list: CsvItem[]) =>
  list.map((i) => (i.kind === 'record' ? [i.line, i.endLine, i.fields.join('|')] : [i.line, i.code]));

t.test('line numbers with CRLF, LF and CR line ends, quoted line breaks and empty lines', async (t) => {
  const text =
    '\uFEFFa,b\r\n' + // 1
    '1,"x\r\ny"\r\n' + // 2-3
    '2,"p\nq\rr"\n' + // 4-6
    '\r\n\n' + // 7, 8 empty
    '3,4\r' + // 9 (CR line end)
    '5,6'; // 10, no final line end
  const expected = [
    [1, 1, 'a|b'],
    [2, 3, '1|x\r\ny'],
    [4, 6, '2|p\nq\rr'],
    [9, 9, '3|4'],
    [10, 10, '5|6'],
  ];
  t.same(brief(await items(text)), expected, 'one chunk');
  t.same(brief(await items(text, 3)), expected, 'three-byte chunks (BOM and CRLF split across chunks)');
});

t.test('a quote never closed is one broken item at the line it opens, after the records before it', async (t) => {
  const list = await items('a,b\n1,2\n\n3,"4\n5,6\n7,8\n');
  t.same(brief(list), [
    [1, 1, 'a|b'],
    [2, 2, '1|2'],
    [4, 'CSV_QUOTE_NOT_CLOSED'],
  ]);
});

t.test('stray quotes stay in the value (relax_quotes) and parsing carries on', async (t) => {
  const list = await items('a,b\n1,x"y\n2,"z"w\n3,ok\n');
  t.same(brief(list), [
    [1, 1, 'a|b'],
    [2, 2, '1|x"y'],
    [3, 3, '2|"z"w'],
    [4, 4, '3|ok'],
  ]);
});

t.test('cleanField trims and unquotes a quoted value padded with spaces', async (t) => {
  t.equal(cleanField('  APM1  '), 'APM1');
  t.equal(cleanField('"APM1" '), 'APM1');
  t.equal(cleanField('"say ""hi""" '), 'say "hi"');
  t.equal(cleanField('"A"7"'), '"A"7"', 'an undoubled inner quote is left for the caller to report');
  t.equal(cleanField('x"y'), 'x"y');
  t.equal(cleanField(''), '');
});

t.test('judgeResource: conflicts, duplicates and empties', async (t) => {
  t.match(
    judgeResource([
      { apmid: 'A', line: 3 },
      { apmid: '', line: 4 },
      { apmid: 'B', line: 9 },
      { apmid: 'A', line: 12 },
    ]),
    { kind: 'conflicting_apmid', line: 3, detail: /A \(lines 3, 12\), B \(line 9\)/ },
  );
  t.match(
    judgeResource([
      { apmid: 'A', line: 3 },
      { apmid: 'A', line: 7 },
    ]),
    { kind: 'duplicate_row', line: 7, detail: 'APMID A repeated on lines 3, 7' },
  );
  t.equal(
    judgeResource([
      { apmid: 'A', line: 3 },
      { apmid: '', line: 7 },
    ]),
    undefined,
    'an empty APMID next to one value is neither (it is reported as empty_apmid)',
  );
  t.equal(
    judgeResource([
      { apmid: '', line: 3 },
      { apmid: '', line: 7 },
    ]),
    undefined,
  );
});
