// Enrichment, step 2 of the pipeline: load the metadata CSV into the store and
// record what is wrong with it.
//
// Guarantees:
// - The CSV is streamed (csv-parse), never read whole; memory is bounded by a
//   batch of rows, the merge pages of the staging sort and the largest record.
// - Rows are written by the main thread in IMMEDIATE transactions of about
//   `batchSize` rows; no transaction spans an `await`; the event loop gets a
//   turn between batches (and between the staging sort's runs) so the control
//   API stays prompt.
// - Readers always see one complete load: a new load writes its rows and
//   problems under a new metadata_sources row in state 'loading' (see repo.ts)
//   and becomes current in one short transaction (state 'complete', with its
//   fingerprint and row count) once every row and every duplicate/conflict
//   problem is written. The old load's rows are deleted afterwards, in chunks.
// - A load whose fingerprint (sha256, size, mtime, column names, path) matches
//   the current load is a no-op (apart from deleting what an earlier load left).
// - AbortSignal: checked between batches; a stopped load leaves the previous
//   complete load current and returns 'stopped'.
// - Crash at any point: the previous complete load stays current (the switch
//   is one transaction); the next loadMetadata first deletes every source that
//   is not the current load (the abandoned 'loading' one, or an old load whose
//   deletion was interrupted) with its rows and problems, then loads from the
//   start. No duplicates, no mix.
// - A file that cannot be used at all (unreadable, empty, header without the
//   configured columns) throws MetadataError, whose message names the file and
//   the line, and writes nothing. A read error part-way through the file also
//   throws MetadataError (naming the last line read); that load stays
//   'loading' and the next load deletes it.
//
// Problems recorded per load (metadata_problems, with 1-based CSV lines):
// malformed_row (wrong field count, a stray or unbalanced quote in the key or
// APMID field, an empty key, a quote never closed), empty_apmid (one per row),
// duplicate_row (one per resource whose rows all repeat the same APMID; info),
// conflicting_apmid (one per resource with two or more different non-empty
// APMIDs: such a resource resolves to no APMID and is never copied). Its rows
// all stay in metadata_rows. unmatched_row and point_without_row need the
// inventory: see reconcile.ts.

import { createHash } from 'node:crypto';
import { createReadStream, type ReadStream, type Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Logger } from '../log.js';
import type { Store } from '../store/store.js';
import { type CsvBroken, type CsvItem, type CsvRecord, cleanField, readCsv } from './csv.js';
import { MetadataError } from './errors.js';
import { differsFromLoaded, fingerprintOf, type MetadataConfig, sameWithoutHashing, statCsv } from './fingerprint.js';
import { type LoadStats, saveLoadStats } from './gate.js';
import {
  completeSource,
  countProblems,
  currentSource,
  deleteProblemsChunk,
  deleteRowsChunk,
  deleteSource,
  type Fingerprint,
  hasUnfinishedLoad,
  otherSources,
  type ProblemKind,
  type ProblemTuple,
  recordProblems,
  recordRows,
  startSource,
  updateMtime,
} from './repo.js';
import { SortedStaging, type StagedRow } from './staging.js';

const DEFAULT_BATCH_SIZE = 1_000;
/** Bytes read from the CSV at a time: csv-parse parses a chunk in one synchronous call. */
const READ_CHUNK = 32 * 1024;
/** Runaway quotes remembered per load (the gate names the first few). */
const CUTS_KEPT = 10;
/** Lines and APMIDs listed in one problem's detail before "and N more". */
const DETAIL_LIMIT = 10;

export interface LoadProgress {
  phase: 'cleanup' | 'parse' | 'copy' | 'prune';
  /** Physical CSV lines read so far. */
  lines: number;
  /** Rows stored so far. */
  rows: number;
  bytes: number;
  size: number;
}

export interface LoadOptions {
  signal?: AbortSignal;
  log?: Logger;
  /** Epoch milliseconds; stamps metadata_sources.loaded_at. */
  now?: () => number;
  /** Rows (and problems) per write transaction. */
  batchSize?: number;
  /** Called after every batch; for `rpctl status`. Must not throw. */
  onProgress?: (progress: LoadProgress) => void;
}

export interface LoadResult {
  /** loaded: a new load is current; unchanged: the file matches the current load; stopped: aborted, the previous load is current. */
  outcome: 'loaded' | 'unchanged' | 'stopped';
  /** The current load afterwards (null when none has ever completed). */
  sourceId: number | null;
  rows: number;
  problems: Record<ProblemKind, number>;
}

export interface MetadataState {
  /** A complete load exists. */
  loaded: boolean;
  /** The file on disk differs from the loaded one (or nothing is loaded, or the file cannot be read). */
  stale: boolean;
  /** An unfinished load (running now, stopped, or abandoned by a crash) left rows that the next load deletes. */
  unfinished: boolean;
  sourceId: number | null;
  path: string | null;
  loadedAt: number | null;
  fingerprint: Fingerprint | null;
  rows: number;
  problemsByKind: Record<ProblemKind, number>;
  /** Why the file could not be checked, when it could not. */
  fileError?: string;
}

// Loads and reconciliations of one store run one at a time, in call order.
const queues = new WeakMap<Store, Promise<unknown>>();

/** Run fn after every earlier serialized call on this store has settled. */
export function serialized<T>(store: Store, fn: () => Promise<T>): Promise<T> {
  const previous = queues.get(store) ?? Promise.resolve();
  const next = previous.then(fn, fn);
  queues.set(
    store,
    next.catch(() => undefined),
  );
  return next;
}

/**
 * Load the configured CSV, replacing the current load once the new one is
 * complete. No-op when the file matches the current load. Throws
 * MetadataError when the file cannot be used at all.
 */
export function loadMetadata(store: Store, config: MetadataConfig, options: LoadOptions = {}): Promise<LoadResult> {
  return serialized(store, () => load(store, config, options));
}

/** What is loaded, whether the file changed since, and the problem counts. Hashes the file only when needed. */
export async function metadataState(
  store: Store,
  config: MetadataConfig,
  options: { hash?: boolean } = {},
): Promise<MetadataState> {
  const source = currentSource(store);
  const state: MetadataState = {
    loaded: source !== undefined,
    stale: true,
    unfinished: hasUnfinishedLoad(store),
    sourceId: source?.id ?? null,
    path: source?.path ?? null,
    loadedAt: source?.loadedAt ?? null,
    fingerprint: source?.fingerprint ?? null,
    rows: source?.rows ?? 0,
    problemsByKind: countProblems(store, source?.id),
  };
  try {
    const stats = await statCsv(config.metadata.csv);
    state.stale = (await differsFromLoaded(source, stats, config, options)).changed;
  } catch (err) {
    state.fileError = (err as Error).message;
  }
  return state;
}

function result(store: Store, outcome: LoadResult['outcome']): LoadResult {
  const source = currentSource(store);
  return {
    outcome,
    sourceId: source?.id ?? null,
    rows: source?.rows ?? 0,
    problems: countProblems(store, source?.id),
  };
}

interface Header {
  names: string[];
  key: number;
  apmid: number;
  /** Index and (unique) name of every other column. */
  extra: [number, string][];
}

function quoteList(names: readonly string[]): string {
  return names.length === 0 ? '(none)' : names.map((n) => JSON.stringify(n)).join(', ');
}

function readHeader(file: string, line: number, fields: string[], config: MetadataConfig): Header {
  const names = fields.map(cleanField);
  const { keyColumn, apmidColumn } = config.metadata;
  const missing: string[] = [];
  const hints: string[] = [];
  for (const [setting, wanted] of [
    ['metadata.key_column', keyColumn],
    ['metadata.apmid_column', apmidColumn],
  ] as const) {
    if (names.includes(wanted)) continue;
    missing.push(`${JSON.stringify(wanted)} (${setting})`);
    const near = names.find((n) => n.toLowerCase() === wanted.toLowerCase());
    if (near !== undefined) hints.push(`${JSON.stringify(near)} differs from ${JSON.stringify(wanted)} only in case`);
  }
  if (missing.length > 0) {
    throw new MetadataError(
      file,
      line,
      `the header lacks the column${missing.length > 1 ? 's' : ''} ${missing.join(' and ')}; ` +
        `columns found: ${quoteList(names)}${hints.length > 0 ? ` (${hints.join('; ')})` : ''}`,
      names,
    );
  }
  if (keyColumn === apmidColumn) {
    throw new MetadataError(file, line, `metadata.key_column and metadata.apmid_column are both ${keyColumn}`, names);
  }
  for (const wanted of [keyColumn, apmidColumn]) {
    if (names.indexOf(wanted) !== names.lastIndexOf(wanted)) {
      throw new MetadataError(file, line, `the header names the column ${JSON.stringify(wanted)} twice`, names);
    }
  }
  const key = names.indexOf(keyColumn);
  const apmid = names.indexOf(apmidColumn);
  const used = new Set<string>();
  const extra: [number, string][] = [];
  names.forEach((name, index) => {
    if (index === key || index === apmid) return;
    let unique = name === '' ? `column${index + 1}` : name;
    for (let n = 2; used.has(unique); n++) unique = `${name}#${n}`;
    used.add(unique);
    extra.push([index, unique]);
  });
  return { names, key, apmid, extra };
}

const hasQuoteOrBreak = /["\r\n]/;

function linesOf(line: number, endLine: number): string {
  return endLine > line ? `lines ${line}-${endLine}` : `line ${line}`;
}

async function load(store: Store, config: MetadataConfig, options: LoadOptions): Promise<LoadResult> {
  const file = config.metadata.csv;
  const { signal, log } = options;
  const now = options.now ?? Date.now;
  const stats = await statCsv(file);

  const current = currentSource(store);
  const diff = await differsFromLoaded(current, stats, config);
  const progress: LoadProgress = { phase: 'cleanup', lines: 0, rows: 0, bytes: 0, size: stats.size };
  if (current && !diff.changed) {
    if (current.fingerprint && !sameWithoutHashing(current, stats, config)) {
      // Same bytes, new mtime: remember it so that the next check need not hash.
      updateMtime(store, current.id, Math.trunc(stats.mtimeMs));
    }
    log?.debug('metadata unchanged', { file, sourceId: current.id });
    // What an earlier load left (a stopped load, an interrupted deletion) goes even when the file is unchanged.
    if ((await deleteOtherSources(store, current.id, options, progress)) === 'stopped') {
      return result(store, 'stopped');
    }
    return result(store, 'unchanged');
  }
  if (signal?.aborted) return result(store, 'stopped');

  if (hasUnfinishedLoad(store)) log?.warn('metadata: removing an unfinished earlier load', { file });
  if ((await deleteOtherSources(store, current?.id, options, progress)) === 'stopped') return result(store, 'stopped');

  log?.info('metadata load started', { file, size: stats.size, previousSourceId: current?.id ?? null });
  const staging = new SortedStaging(store, Math.max(1, options.batchSize ?? DEFAULT_BATCH_SIZE));
  try {
    const parsed = await parseIntoStaging(store, config, stats, staging, options, progress);
    if (parsed === 'stopped') return result(store, 'stopped');
    const { sourceId, fingerprint, stats: loadStats } = parsed;

    progress.phase = 'copy';
    const copied = await copyFromStaging(store, staging, sourceId, options, progress);
    if (copied === 'stopped') return result(store, 'stopped');

    // The switch: one short transaction makes the new load current.
    completeSource(store, sourceId, { fingerprint, rows: copied.rows, loadedAt: now() }, () =>
      saveLoadStats(store, sourceId, loadStats),
    );
  } finally {
    staging.drop();
  }
  const after = result(store, 'loaded');
  log?.info('metadata loaded', {
    file,
    sourceId: after.sourceId,
    rows: after.rows,
    lines: progress.lines,
    problems: after.problems,
  });

  // The old load: invisible now, deleted in chunks (or by the next load if stopped here).
  progress.phase = 'prune';
  await deleteOtherSources(store, after.sourceId ?? undefined, options, progress);
  return after;
}

interface Parsed {
  sourceId: number;
  fingerprint: Fingerprint;
  stats: LoadStats;
}

/** The bytes, hash and physical lines of the file as it streams past. */
class ReadTally {
  readonly hash = createHash('sha256');
  bytes = 0;
  // LF and CR counted apart: a CRLF file has as many of each.
  private lf = 0;
  private cr = 0;
  private lastByte = -1;

  count(chunk: Buffer): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) this.lf++;
    for (let i = chunk.indexOf(13); i !== -1; i = chunk.indexOf(13, i + 1)) this.cr++;
    if (chunk.length > 0) this.lastByte = chunk[chunk.length - 1] as number;
  }

  /** The file's physical lines, for the share of them lost (a last line without a line end counts). */
  get lines(): number {
    const unterminated = this.lastByte !== 10 && this.lastByte !== 13 && this.bytes > 0;
    return Math.max(this.lf, this.cr) + (unterminated ? 1 : 0);
  }
}

/** The CSV as a stream that feeds `tally`; a read error part-way is a MetadataError naming the last line read. */
function openTallied(file: string, tally: ReadTally, progress: LoadProgress): { input: ReadStream; tap: Transform } {
  const input = createReadStream(file, { highWaterMark: READ_CHUNK });
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      tally.count(chunk);
      callback(null, chunk);
    },
  });
  input.on('error', (err) => {
    const reason = (err as NodeJS.ErrnoException).code ?? err.message;
    const read = progress.lines;
    tap.destroy(
      read === 0
        ? new MetadataError(file, undefined, `cannot read the metadata CSV (${reason}); check metadata.csv`)
        : new MetadataError(file, read, `the metadata CSV could not be read past this line (${reason})`),
    );
  });
  input.pipe(tap);
  return { input, tap };
}

/** Data lines lost: every line of a malformed record, and everything an unclosed quote swallowed. */
class UnusableLines {
  private count = 0;
  private unclosedFrom: number | undefined;
  private readonly cuts: LoadStats['cuts'] = [];

  /** A malformed record over lines line..endLine. */
  lost(line: number, endLine: number): void {
    this.count += endLine - line + 1;
    if (endLine > line) this.cuts.push({ line, endLine });
  }

  /** A record that cannot be parsed: one line, or (a quote never closed) everything to the end of the file. */
  broken(line: number, code: string): void {
    if (code === 'CSV_QUOTE_NOT_CLOSED') this.unclosedFrom ??= line;
    else this.count++;
  }

  /** The load's line statistics, once the file's last line is known. */
  stats(totalLines: number, headerLine: number): LoadStats {
    const { cuts, unclosedFrom } = this;
    let unusableLines = this.count;
    if (unclosedFrom !== undefined) {
      const endLine = Math.max(unclosedFrom, totalLines);
      unusableLines += endLine - unclosedFrom + 1;
      if (endLine > unclosedFrom) cuts.push({ line: unclosedFrom, endLine });
    }
    const cutsFile = unclosedFrom !== undefined && Math.max(unclosedFrom, totalLines) > unclosedFrom;
    const longestCut = cuts.reduce((most, c) => Math.max(most, c.endLine - c.line + 1), 0);
    cuts.sort((a, b) => a.line - b.line);
    return {
      dataLines: Math.max(0, totalLines - headerLine),
      unusableLines,
      cuts: cuts.slice(0, CUTS_KEPT),
      cutsFile,
      longestCut,
      cutCount: cuts.length,
    };
  }
}

/** Where pass 1 puts what it reads: staged rows, the problems found, the lines lost. */
class ParseBatch {
  /** Rows staged since the last flush. */
  private pending = 0;
  private problems: ProblemTuple[] = [];
  readonly unusable = new UnusableLines();

  constructor(
    private readonly store: Store,
    private readonly staging: SortedStaging,
    readonly sourceId: number,
  ) {}

  get size(): number {
    return this.pending + this.problems.length;
  }

  stage(row: StagedRow): void {
    this.staging.add(row);
    this.pending++;
  }

  problem(kind: ProblemKind, line: number | null, resourceArn: string | null, detail: string): void {
    this.problems.push([this.sourceId, kind, line, resourceArn, detail]);
  }

  /** Write the pending problems and rows (a staging run is sorted when full, or at the end). */
  flush(end: boolean): void {
    const problems = this.problems;
    this.problems = [];
    this.pending = 0;
    recordProblems(this.store, problems);
    this.staging.flush(end);
  }
}

/** The problem of a record csv-parse could not parse (a quote never closed, or another parse error). */
function takeBroken(item: CsvBroken, batch: ParseBatch): void {
  batch.unusable.broken(item.line, item.code);
  batch.problem(
    'malformed_row',
    item.line,
    null,
    item.code === 'CSV_QUOTE_NOT_CLOSED'
      ? `a quote opened on line ${item.line} is never closed: everything from line ${item.line} to the end of the file was ignored`
      : `the record starting on line ${item.line} cannot be parsed (${item.code}) and was ignored`,
  );
}

/** A record with the wrong number of fields: malformed, unless every field is empty (a blank line). */
function takeMisshapen(item: CsvRecord, header: Header, batch: ParseBatch): void {
  const { fields, line, endLine } = item;
  if (fields.every((f) => f.trim() === '')) return;
  batch.unusable.lost(line, endLine);
  const rawKey = fields[header.key];
  const keyGuess = rawKey === undefined ? '' : cleanField(rawKey);
  batch.problem(
    'malformed_row',
    line,
    keyGuess !== '' && !hasQuoteOrBreak.test(keyGuess) ? keyGuess : null,
    `expected ${header.names.length} fields (as in the header), found ${fields.length} on ${linesOf(line, endLine)}` +
      (endLine > line ? ' (an unbalanced quote?)' : ''),
  );
}

/** A record as wide as the header: staged as a row, or recorded as malformed (an empty key, a stray quote). */
function takeRecord(item: CsvRecord, header: Header, config: MetadataConfig, batch: ParseBatch): void {
  const { fields, line, endLine } = item;
  if (fields.length !== header.names.length) {
    takeMisshapen(item, header, batch);
    return;
  }
  const { keyColumn, apmidColumn } = config.metadata;
  const resourceArn = cleanField(fields[header.key] ?? '');
  const apmid = cleanField(fields[header.apmid] ?? '');
  if (resourceArn === '' && apmid === '' && fields.every((f) => f.trim() === '')) {
    // A line of empty fields: nothing to load, nothing wrong.
  } else if (resourceArn === '') {
    batch.unusable.lost(line, endLine);
    batch.problem('malformed_row', line, null, `the ${keyColumn} field is empty`);
  } else if (hasQuoteOrBreak.test(resourceArn) || hasQuoteOrBreak.test(apmid)) {
    batch.unusable.lost(line, endLine);
    const keyBad = hasQuoteOrBreak.test(resourceArn);
    const which = keyBad ? keyColumn : apmidColumn;
    batch.problem(
      'malformed_row',
      line,
      keyBad ? null : resourceArn,
      endLine > line
        ? `the ${which} field runs over ${linesOf(line, endLine)} (an unbalanced quote?)`
        : `the ${which} field holds a stray quote`,
    );
  } else {
    let extra: string | null = null;
    if (header.extra.length > 0) {
      const values: Record<string, string> = {};
      for (const [index, name] of header.extra) values[name] = cleanField(fields[index] ?? '');
      extra = JSON.stringify(values);
    }
    batch.stage([resourceArn, line, apmid, extra]);
    if (apmid === '') batch.problem('empty_apmid', line, resourceArn, `the ${apmidColumn} field is empty`);
  }
}

/** The header: checked against the configured columns, then the load in progress starts (state 'loading'). */
function startLoad(
  store: Store,
  config: MetadataConfig,
  item: CsvItem,
  options: LoadOptions,
): { header: Header; sourceId: number } {
  const file = config.metadata.csv;
  if (item.kind === 'broken') {
    throw new MetadataError(file, item.line, 'cannot read the header line: a quote is opened and never closed');
  }
  const header = readHeader(file, item.line, item.fields, config);
  // The load in progress: state 'loading' until the switch (see repo.ts).
  const sourceId = startSource(store, {
    path: file,
    keyColumn: config.metadata.keyColumn,
    apmidColumn: config.metadata.apmidColumn,
    loadedAt: (options.now ?? Date.now)(),
  });
  options.log?.debug('metadata header', { file, columns: header.names, sourceId });
  return { header, sourceId };
}

/**
 * The fingerprint of the bytes actually read. A file that changed while it was read gets mtime -1, so the next
 * check hashes it again (and finds it changed).
 */
async function fingerprintOfRead(
  config: MetadataConfig,
  stats: Stats,
  tally: ReadTally,
  log: Logger | undefined,
): Promise<Fingerprint> {
  const file = config.metadata.csv;
  const after = await stat(file).catch(() => undefined);
  const changedWhileRead =
    !after || after.size !== tally.bytes || Math.trunc(after.mtimeMs) !== Math.trunc(stats.mtimeMs);
  if (changedWhileRead) log?.warn('metadata CSV changed while it was being read', { file });
  const fingerprint = { ...fingerprintOf(tally.hash.digest('hex'), stats, config), size: tally.bytes };
  if (changedWhileRead) fingerprint.mtimeMs = -1;
  return fingerprint;
}

/**
 * Pass 1: stream the CSV into the staging sort (see staging.ts) and record the
 * row-level problems (malformed_row, empty_apmid) under the new source. The
 * staging is connection-local: a crash takes it away, and the next load starts over.
 */
async function parseIntoStaging(
  store: Store,
  config: MetadataConfig,
  stats: Stats,
  staging: SortedStaging,
  options: LoadOptions,
  progress: LoadProgress,
): Promise<Parsed | 'stopped'> {
  const file = config.metadata.csv;
  const { signal, log, onProgress } = options;
  const batchSize = Math.max(1, options.batchSize ?? DEFAULT_BATCH_SIZE);
  const tally = new ReadTally();
  const { input, tap } = openTallied(file, tally, progress);
  let headerLine = 0;
  let started: { header: Header; batch: ParseBatch } | undefined;
  const flush = (batch: ParseBatch, end: boolean): 'done' | 'stopped' => {
    batch.flush(end);
    progress.rows = staging.size;
    progress.bytes = tally.bytes;
    onProgress?.({ ...progress });
    return signal?.aborted ? 'stopped' : 'done';
  };

  try {
    for await (const item of readCsv(tap)) {
      progress.lines = item.kind === 'record' ? item.endLine : item.line;
      if (started === undefined) {
        const { header, sourceId } = startLoad(store, config, item, options);
        started = { header, batch: new ParseBatch(store, staging, sourceId) };
        headerLine = item.line;
        progress.phase = 'parse';
        continue;
      }
      const { header, batch } = started;
      if (item.kind === 'broken') takeBroken(item, batch);
      else takeRecord(item, header, config, batch);
      if (batch.size >= batchSize) {
        if (flush(batch, false) === 'stopped') {
          log?.info('metadata load stopped', { file, sourceId: batch.sourceId, lines: progress.lines });
          return 'stopped';
        }
        await yieldToEventLoop();
      }
    }
    if (started === undefined) {
      throw new MetadataError(
        file,
        1,
        `the file is empty: expected a header line naming the columns ${JSON.stringify(config.metadata.keyColumn)} and ${JSON.stringify(config.metadata.apmidColumn)}`,
      );
    }
    if (flush(started.batch, true) === 'stopped') return 'stopped';
  } finally {
    input.destroy();
  }

  const fingerprint = await fingerprintOfRead(config, stats, tally, log);
  if (signal?.aborted) return 'stopped';
  const { batch } = started;
  return { sourceId: batch.sourceId, fingerprint, stats: batch.unusable.stats(tally.lines, headerLine) };
}

interface GroupEntry {
  apmid: string;
  line: number;
}

function listLines(lines: number[]): string {
  const shown = lines.slice(0, DETAIL_LIMIT).join(', ');
  const more = lines.length > DETAIL_LIMIT ? ` and ${lines.length - DETAIL_LIMIT} more` : '';
  return `${lines.length > 1 ? 'lines' : 'line'} ${shown}${more}`;
}

/** The duplicate or conflict problem of one resource's rows (in line order), if any. */
export function judgeResource(entries: GroupEntry[]): { kind: ProblemKind; line: number; detail: string } | undefined {
  const byApmid = new Map<string, number[]>();
  for (const { apmid, line } of entries) {
    if (apmid === '') continue;
    const lines = byApmid.get(apmid);
    if (lines) lines.push(line);
    else byApmid.set(apmid, [line]);
  }
  if (byApmid.size >= 2) {
    const parts = [...byApmid].slice(0, DETAIL_LIMIT).map(([apmid, lines]) => `${apmid} (${listLines(lines)})`);
    const more = byApmid.size > DETAIL_LIMIT ? ` and ${byApmid.size - DETAIL_LIMIT} more` : '';
    const first = Math.min(...[...byApmid.values()].map((lines) => lines[0] ?? Number.MAX_SAFE_INTEGER));
    return {
      kind: 'conflicting_apmid',
      line: first,
      detail: `conflicting APMIDs ${parts.join(', ')}${more}: this resource is never copied`,
    };
  }
  const [only] = byApmid;
  if (only && only[1].length > 1) {
    const [apmid, lines] = only;
    return {
      kind: 'duplicate_row',
      line: lines[1] ?? lines[0] ?? 0,
      detail: `APMID ${apmid} repeated on ${listLines(lines)}`,
    };
  }
  return undefined;
}

/**
 * Pass 2: copy the staged rows into metadata_rows in (resource ARN, line)
 * order, so the table and its (source_id, resource_arn) index grow at their
 * end, and judge each resource's rows (duplicate_row, conflicting_apmid) on
 * the way. One transaction per batch; a resource's rows may straddle two
 * batches (its problem is written with the batch that completes it).
 */
async function copyFromStaging(
  store: Store,
  staging: SortedStaging,
  sourceId: number,
  options: LoadOptions,
  progress: LoadProgress,
): Promise<{ rows: number } | 'stopped'> {
  let rows = 0;
  let groupArn: string | undefined;
  let group: GroupEntry[] = [];
  let found: ProblemTuple[] = [];
  const closeGroup = () => {
    if (groupArn !== undefined && group.length > 1) {
      const judged = judgeResource(group);
      if (judged) found.push([sourceId, judged.kind, judged.line, groupArn, judged.detail]);
    }
  };
  for (const batch of staging.merged()) {
    for (const [arn, line, apmid] of batch) {
      if (arn !== groupArn) {
        closeGroup();
        groupArn = arn;
        group = [];
      }
      group.push({ apmid, line });
    }
    const problems = found;
    found = [];
    // An empty batch: the merge ran out of its time budget reading pages; only yield.
    if (batch.length === 0 && problems.length === 0) {
      if (options.signal?.aborted) return 'stopped';
      await yieldToEventLoop();
      continue;
    }
    recordRows(store, sourceId, batch, problems);
    rows += batch.length;
    progress.rows = rows;
    options.onProgress?.({ ...progress });
    if (options.signal?.aborted) return 'stopped';
    await yieldToEventLoop();
  }
  closeGroup();
  recordProblems(store, found);
  return { rows };
}

/**
 * Delete every metadata source but `keep` (the current load) with its rows and
 * problems, a chunk per transaction and rows before their source (the foreign
 * keys). Used before a load (an abandoned 'loading' source, an interrupted
 * deletion) and after the switch (the superseded load). Readers never see any
 * of it, so a stop or a crash part-way only leaves work for the next call.
 */
async function deleteOtherSources(
  store: Store,
  keep: number | undefined,
  options: LoadOptions,
  progress: LoadProgress,
): Promise<'done' | 'stopped'> {
  for (const id of otherSources(store, keep)) {
    for (const deleteChunk of [deleteRowsChunk, deleteProblemsChunk]) {
      while (deleteChunk(store, id) > 0) {
        options.onProgress?.({ ...progress });
        if (options.signal?.aborted) return 'stopped';
        await yieldToEventLoop();
      }
    }
    deleteSource(store, id);
  }
  return 'done';
}
