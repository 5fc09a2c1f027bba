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
import { createReadStream, type Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Logger } from '../log.js';
import type { Store } from '../store/store.js';
import { cleanField, readCsv } from './csv.js';
import { MetadataError } from './errors.js';
import { differsFromLoaded, fingerprintOf, type MetadataConfig, sameWithoutHashing, statCsv } from './fingerprint.js';
import { type LoadStats, saveLoadStats } from './gate.js';
import {
  completeSource,
  countProblems,
  currentSource,
  DELETE_CHUNK,
  type Fingerprint,
  hasUnfinishedLoad,
  otherSources,
  type ProblemKind,
  startSource,
  updateMtime,
} from './repo.js';
import { SortedStaging, type StagedRow } from './staging.js';

const DEFAULT_BATCH_SIZE = 1_000;
/** Rows per multi-row INSERT into metadata_rows (a prepared statement per row costs twice as much). */
const MULTI_ROW = 50;
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

type ProblemTuple = [
  sourceId: number,
  kind: ProblemKind,
  line: number | null,
  resourceArn: string | null,
  detail: string,
];

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
  const now = options.now ?? Date.now;
  const batchSize = Math.max(1, options.batchSize ?? DEFAULT_BATCH_SIZE);
  const insertProblem = store.sqlite.prepare(
    'INSERT INTO metadata_problems (source_id, kind, line, resource_arn, detail) VALUES (?, ?, ?, ?, ?)',
  );

  const hash = createHash('sha256');
  let bytes = 0;
  // The file's physical lines, for the share of them lost: LF and CR counted apart (a CRLF file has as many of
  // each), plus a last line without a line end.
  let lf = 0;
  let cr = 0;
  let lastByte = -1;
  const input = createReadStream(file, { highWaterMark: READ_CHUNK });
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      bytes += chunk.length;
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lf++;
      for (let i = chunk.indexOf(13); i !== -1; i = chunk.indexOf(13, i + 1)) cr++;
      if (chunk.length > 0) lastByte = chunk[chunk.length - 1] as number;
      callback(null, chunk);
    },
  });
  // A read error part-way (the file vanished, an I/O error) is a MetadataError naming the last line read.
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

  let header: Header | undefined;
  let headerLine = 0;
  let sourceId = 0;
  // Data lines lost: every line of a malformed record, and everything an unclosed quote swallowed (counted at the end).
  let unusableLines = 0;
  let unclosedFrom: number | undefined;
  const cuts: LoadStats['cuts'] = [];
  let pending = 0;
  let problemBatch: ProblemTuple[] = [];
  const lost = (line: number, endLine: number) => {
    unusableLines += endLine - line + 1;
    if (endLine > line) cuts.push({ line, endLine });
  };
  const problem = (kind: ProblemKind, line: number | null, resourceArn: string | null, detail: string) => {
    problemBatch.push([sourceId, kind, line, resourceArn, detail]);
  };
  /** Write the pending problems and rows (a staging run is sorted when full, or at the end). */
  const flush = (end: boolean): 'done' | 'stopped' => {
    const problems = problemBatch;
    problemBatch = [];
    pending = 0;
    if (problems.length > 0) {
      store.write(() => {
        for (const p of problems) insertProblem.run(p);
      });
    }
    staging.flush(end);
    progress.rows = staging.size;
    progress.bytes = bytes;
    onProgress?.({ ...progress });
    return signal?.aborted ? 'stopped' : 'done';
  };

  try {
    for await (const item of readCsv(tap)) {
      progress.lines = item.kind === 'record' ? item.endLine : item.line;
      if (header === undefined) {
        if (item.kind === 'broken') {
          throw new MetadataError(file, item.line, 'cannot read the header line: a quote is opened and never closed');
        }
        header = readHeader(file, item.line, item.fields, config);
        headerLine = item.line;
        // The load in progress: state 'loading' until the switch (see repo.ts).
        sourceId = startSource(store, {
          path: file,
          keyColumn: config.metadata.keyColumn,
          apmidColumn: config.metadata.apmidColumn,
          loadedAt: now(),
        });
        progress.phase = 'parse';
        log?.debug('metadata header', { file, columns: header.names, sourceId });
        continue;
      }
      if (item.kind === 'broken') {
        if (item.code === 'CSV_QUOTE_NOT_CLOSED') unclosedFrom ??= item.line;
        else unusableLines++;
        problem(
          'malformed_row',
          item.line,
          null,
          item.code === 'CSV_QUOTE_NOT_CLOSED'
            ? `a quote opened on line ${item.line} is never closed: everything from line ${item.line} to the end of the file was ignored`
            : `the record starting on line ${item.line} cannot be parsed (${item.code}) and was ignored`,
        );
      } else {
        const { fields, line, endLine } = item;
        const rawKey = fields[header.key];
        if (fields.length !== header.names.length) {
          if (!fields.every((f) => f.trim() === '')) {
            lost(line, endLine);
            const keyGuess = rawKey === undefined ? '' : cleanField(rawKey);
            problem(
              'malformed_row',
              line,
              keyGuess !== '' && !hasQuoteOrBreak.test(keyGuess) ? keyGuess : null,
              `expected ${header.names.length} fields (as in the header), found ${fields.length} on ${linesOf(line, endLine)}` +
                (endLine > line ? ' (an unbalanced quote?)' : ''),
            );
          }
        } else {
          const resourceArn = cleanField(rawKey ?? '');
          const apmid = cleanField(fields[header.apmid] ?? '');
          if (resourceArn === '' && apmid === '' && fields.every((f) => f.trim() === '')) {
            // A line of empty fields: nothing to load, nothing wrong.
          } else if (resourceArn === '') {
            lost(line, endLine);
            problem('malformed_row', line, null, `the ${config.metadata.keyColumn} field is empty`);
          } else if (hasQuoteOrBreak.test(resourceArn) || hasQuoteOrBreak.test(apmid)) {
            lost(line, endLine);
            const keyBad = hasQuoteOrBreak.test(resourceArn);
            const which = keyBad ? config.metadata.keyColumn : config.metadata.apmidColumn;
            problem(
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
            staging.add([resourceArn, line, apmid, extra]);
            pending++;
            if (apmid === '') {
              problem('empty_apmid', line, resourceArn, `the ${config.metadata.apmidColumn} field is empty`);
            }
          }
        }
      }

      if (pending + problemBatch.length >= batchSize) {
        if (flush(false) === 'stopped') {
          log?.info('metadata load stopped', { file, sourceId, lines: progress.lines });
          return 'stopped';
        }
        await yieldToEventLoop();
      }
    }
    if (header === undefined) {
      throw new MetadataError(
        file,
        1,
        `the file is empty: expected a header line naming the columns ${JSON.stringify(config.metadata.keyColumn)} and ${JSON.stringify(config.metadata.apmidColumn)}`,
      );
    }
    if (flush(true) === 'stopped') return 'stopped';
  } finally {
    input.destroy();
  }

  // The fingerprint describes the bytes actually read. A file that changed while it was read gets mtime -1,
  // so the next check hashes it again (and finds it changed).
  const after = await stat(file).catch(() => undefined);
  const changedWhileRead = !after || after.size !== bytes || Math.trunc(after.mtimeMs) !== Math.trunc(stats.mtimeMs);
  if (changedWhileRead) log?.warn('metadata CSV changed while it was being read', { file });
  const fingerprint = { ...fingerprintOf(hash.digest('hex'), stats, config), size: bytes };
  if (changedWhileRead) fingerprint.mtimeMs = -1;
  if (signal?.aborted) return 'stopped';
  const totalLines = Math.max(lf, cr) + (lastByte !== 10 && lastByte !== 13 && bytes > 0 ? 1 : 0);
  if (unclosedFrom !== undefined) {
    const endLine = Math.max(unclosedFrom, totalLines);
    unusableLines += endLine - unclosedFrom + 1;
    if (endLine > unclosedFrom) cuts.push({ line: unclosedFrom, endLine });
  }
  const cutsFile = unclosedFrom !== undefined && Math.max(unclosedFrom, totalLines) > unclosedFrom;
  const longestCut = cuts.reduce((most, c) => Math.max(most, c.endLine - c.line + 1), 0);
  cuts.sort((a, b) => a.line - b.line);
  const lineStats: LoadStats = {
    dataLines: Math.max(0, totalLines - headerLine),
    unusableLines,
    cuts: cuts.slice(0, CUTS_KEPT),
    cutsFile,
    longestCut,
    cutCount: cuts.length,
  };
  return { sourceId, fingerprint, stats: lineStats };
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
  const insert = 'INSERT INTO metadata_rows (source_id, line, resource_arn, apmid, extra) VALUES ';
  const insertMany = store.sqlite.prepare(insert + Array(MULTI_ROW).fill('(?, ?, ?, ?, ?)').join(', '));
  const insertRow = store.sqlite.prepare(`${insert}(?, ?, ?, ?, ?)`);
  const insertProblem = store.sqlite.prepare(
    'INSERT INTO metadata_problems (source_id, kind, line, resource_arn, detail) VALUES (?, ?, ?, ?, ?)',
  );
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
    store.write(() => {
      let i = 0;
      for (; i + MULTI_ROW <= batch.length; i += MULTI_ROW) {
        const args: unknown[] = [];
        for (let j = i; j < i + MULTI_ROW; j++) {
          const [arn, line, apmid, extra] = batch[j] as StagedRow;
          args.push(sourceId, line, arn, apmid, extra);
        }
        insertMany.run(args);
      }
      for (; i < batch.length; i++) {
        const [arn, line, apmid, extra] = batch[i] as StagedRow;
        insertRow.run(sourceId, line, arn, apmid, extra);
      }
      for (const p of problems) insertProblem.run(p);
    });
    rows += batch.length;
    progress.rows = rows;
    options.onProgress?.({ ...progress });
    if (options.signal?.aborted) return 'stopped';
    await yieldToEventLoop();
  }
  closeGroup();
  if (found.length > 0) {
    const problems = found;
    store.write(() => {
      for (const p of problems) insertProblem.run(p);
    });
  }
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
  const sql = store.sqlite;
  const deleteChunk = {
    metadata_rows: sql.prepare(
      `DELETE FROM metadata_rows WHERE id IN (SELECT id FROM metadata_rows WHERE source_id = ? LIMIT ${DELETE_CHUNK})`,
    ),
    metadata_problems: sql.prepare(
      `DELETE FROM metadata_problems WHERE id IN
         (SELECT id FROM metadata_problems WHERE source_id = ? LIMIT ${DELETE_CHUNK})`,
    ),
  };
  const deleteSource = sql.prepare('DELETE FROM metadata_sources WHERE id = ?');
  for (const id of otherSources(store, keep)) {
    for (const stmt of [deleteChunk.metadata_rows, deleteChunk.metadata_problems]) {
      for (;;) {
        const deleted = store.write(() => stmt.run(id).changes);
        if (deleted === 0) break;
        options.onProgress?.({ ...progress });
        if (options.signal?.aborted) return 'stopped';
        await yieldToEventLoop();
      }
    }
    store.write(() => deleteSource.run(id));
  }
  return 'done';
}
