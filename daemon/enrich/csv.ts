// Streaming CSV records with true 1-based line numbers, on top of csv-parse.
//
// Guarantees: the input is read as a stream (memory is bounded by the largest
// record, not the file); every record comes out with the physical line it
// starts on and the line it ends on; a record csv-parse cannot finish (a quote
// still open at the end of the file) comes out as a `broken` item with the
// line it starts on, and parsing of what came before it is unaffected.
//
// Why the options are what they are (csv-parse 7.0.3, checked by experiment):
// - `relax_quotes`: without it an invalid closing quote (`"A7"x`) leaves the
//   parser inside the quote and every later row of the file is swallowed into
//   one skipped record. With it the quote is kept as a literal character, so
//   callers see it in the value and report the row as malformed.
// - `relax_column_count`: the column count is checked by the caller, which
//   knows the header and reports the row with its line.
// - no `trim`/`rtrim`: after CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE
//   (`"4" z`) csv-parse drops the rest of the chunk silently. `ltrim` is safe;
//   trailing whitespace is trimmed by the caller (see cleanField).
// - no `max_record_size`: CSV_MAX_RECORD_SIZE also drops the rest of the chunk.
//   A runaway quote ends at the next quote character (relax_quotes), or at the
//   end of the file.
// - explicit record delimiters, so a file mixing CRLF and LF lines parses.
// - line numbers: csv-parse counts every CR and every LF inside a quoted field
//   as a line, so a CRLF inside quotes counts twice. Records are numbered here
//   from csv-parse's count minus the CRLF pairs seen inside fields so far, and
//   a record's first line is its last line minus the line breaks inside it.
//   The count is read from the parser's live `info` as each record is pushed
//   (NumberingParser), not from `info: true`/`on_record`, which copy the whole
//   info object per record.

import type { Readable } from 'node:stream';
import { type CsvError, Parser } from 'csv-parse';

export interface CsvRecord {
  kind: 'record';
  /** The physical line the record starts on (1-based). */
  line: number;
  /** The physical line the record ends on (differs from `line` when a quoted field holds line breaks). */
  endLine: number;
  fields: string[];
}

export interface CsvBroken {
  kind: 'broken';
  /** The physical line the broken record starts on. */
  line: number;
  code: string;
  message: string;
}

export type CsvItem = CsvRecord | CsvBroken;

const CR = 13;
const LF = 10;

/** Line breaks inside a value (CRLF, LF or CR each count once) and how many of them are CRLF pairs. */
function countBreaks(value: string): { breaks: number; crlf: number } {
  let breaks = 0;
  let crlf = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === LF) breaks++;
    else if (c === CR) {
      breaks++;
      if (value.charCodeAt(i + 1) === LF) {
        crlf++;
        i++;
      }
    }
  }
  return { breaks, crlf };
}

/**
 * csv-parse's stream Parser, numbering each record as it is pushed: at that
 * moment `info` (a live object) describes exactly the record being pushed.
 * This replaces `on_record`/`info: true`, which copy the whole info object
 * per record (a quarter of the parse time at a million rows).
 */
class NumberingParser extends Parser {
  private crlfSoFar = 0;
  lastEndLine = 0;
  lastEmptyLines = 0;
  recordsParsed = 0;

  override push(chunk: unknown, encoding?: BufferEncoding): boolean {
    if (chunk === null) return super.push(null, encoding);
    const fields = chunk as string[];
    let breaks = 0;
    for (const field of fields) {
      if (field.indexOf('\n') === -1 && field.indexOf('\r') === -1) continue;
      const counted = countBreaks(field);
      breaks += counted.breaks;
      this.crlfSoFar += counted.crlf;
    }
    const endLine = this.info.lines - this.crlfSoFar;
    this.lastEndLine = endLine;
    this.lastEmptyLines = this.info.empty_lines;
    this.recordsParsed++;
    const record: CsvRecord = { kind: 'record', line: endLine - breaks, endLine, fields };
    return super.push(record, encoding);
  }
}

/**
 * Parse a CSV byte stream into records with line numbers. A UTF-8 BOM is
 * skipped; empty lines are skipped (they still count as lines). The caller
 * owns `input` and should destroy it if it stops iterating early.
 */
export async function* readCsv(input: Readable): AsyncGenerator<CsvItem, void, undefined> {
  // Broken records wait here, each with the number of records parsed before it, to come out in input order.
  const broken: { after: number; item: CsvBroken }[] = [];
  const parser: NumberingParser = new NumberingParser({
    bom: true,
    ltrim: true,
    relax_quotes: true,
    relax_column_count: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    record_delimiter: ['\r\n', '\n', '\r'],
    // Runs synchronously inside csv-parse, in input order relative to push().
    on_skip: (err: CsvError | undefined): undefined => {
      const emptyLines = typeof err?.empty_lines === 'number' ? err.empty_lines : parser.lastEmptyLines;
      broken.push({
        after: parser.recordsParsed,
        item: {
          kind: 'broken',
          line: parser.lastEndLine + 1 + (emptyLines - parser.lastEmptyLines),
          code: err?.code ?? 'CSV_UNKNOWN',
          message: err?.message ?? 'unparseable record',
        },
      });
      return undefined;
    },
  });

  input.on('error', (err) => parser.destroy(err));
  input.pipe(parser);
  try {
    let yielded = 0;
    for await (const item of parser as AsyncIterable<CsvRecord>) {
      while (broken.length > 0 && (broken[0]?.after ?? 0) <= yielded)
        yield (broken.shift() as { item: CsvBroken }).item;
      yield item;
      yielded++;
    }
    for (const entry of broken.splice(0)) yield entry.item;
  } finally {
    input.unpipe(parser);
    parser.destroy();
  }
}

/**
 * A field as the caller wants it: surrounding whitespace removed, and a value
 * that was quoted but padded with spaces outside the quotes (` "A5" `, which
 * csv-parse keeps literally without `rtrim`) unquoted.
 */
export function cleanField(value: string): string {
  const trimmed = value.trim();
  if (trimmed.length >= 2 && trimmed.charCodeAt(0) === 34 && trimmed.charCodeAt(trimmed.length - 1) === 34) {
    const inner = trimmed.slice(1, -1);
    // Only a well-formed quoted value: every inner quote doubled.
    if ((inner.match(/"+/g) ?? []).every((run) => run.length % 2 === 0)) return inner.replaceAll('""', '"');
  }
  return trimmed;
}
