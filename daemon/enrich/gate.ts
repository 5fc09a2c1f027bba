// The broken-CSV gate: rpcopy does not start copying on a metadata CSV that
// lost more than a small share of its lines, or that a runaway quote cut,
// without the operator's word.
//
// Guarantees:
// - The verdict is a function of the store: the current load's statistics
//   (saved in the same transaction that makes the load current, see
//   loader.ts), its problems and the operator's confirmation. It reads a few
//   index entries and two settings rows, so `rpctl status` can show it.
// - Unusable lines are every physical line of a malformed record and every
//   line an unclosed quote swallowed. The gate closes when they exceed both
//   metadata.max_unusable_share of the data lines and MIN_UNUSABLE_LINES (a
//   small file's few bad rows are reported, not a reason to stop), or when a
//   runaway quote cut the file: an unclosed quote swallowed the rest of it, or
//   one record swallowed MIN_UNUSABLE_LINES lines or more. A malformed record
//   over two or three lines is a bad row like any other: it counts in the share.
// - The daemon pauses (reason `metadata_csv`) before its first write to the
//   destination; `rpctl resume` confirms the CSV as loaded. The confirmation
//   names the load's sha256 and columns: a restart does not ask again, a
//   changed file does. A dry run never pauses (it copies nothing); status and
//   plan warn all the same.
// - Crash: the confirmation is one row written after the resume; a crash before
//   it asks again at the next start, never copies unconfirmed.

import type { Config } from '../../shared/config.js';
import type { EventJournal } from '../events.js';
import { readSettingRow, writeSettingRow } from '../settings.js';
import type { Store } from '../store/store.js';
import type { MetadataConfig } from './fingerprint.js';
import { countProblems, currentSource, malformedRowsByLine, type ProblemEntry, problemsByLine } from './repo.js';

/** What a load found about its file's lines (saved with the load, see loader.ts). */
export interface LoadStats {
  /** Physical lines after the header. */
  dataLines: number;
  /** Lines of malformed records and lines an unclosed quote swallowed. */
  unusableLines: number;
  /** Records that swallowed the lines after them (a runaway or unclosed quote), the first few by line. */
  cuts: { line: number; endLine: number }[];
  cutCount: number;
  /** An unclosed quote swallowed every line after its own (absent in stats saved before it was kept). */
  cutsFile?: boolean;
  /** Lines of the longest record that swallowed the lines after it. */
  longestCut?: number;
}

export interface MetadataVerdict {
  sourceId: number;
  file: string;
  sha256: string;
  dataLines: number;
  unusableLines: number;
  /** unusableLines / dataLines (0 for an empty file). */
  share: number;
  threshold: number;
  cuts: LoadStats['cuts'];
  cutCount: number;
  /** The operator must decide before copying starts. */
  gated: boolean;
  /** The operator confirmed this very load (same sha256 and columns). */
  confirmed: boolean;
  /** One line: what is wrong. */
  summary: string;
}

const STATS_KEY = 'metadata-load';
const CONFIRMED_KEY = 'metadata-confirmed';
/** The default of metadata.max_unusable_share, for callers whose config predates it. */
const DEFAULT_THRESHOLD = 0.2;
/** Below this many unusable lines the share alone never closes the gate. */
const MIN_UNUSABLE_LINES = 10;
/** Problems named in a pause detail or a warning before "and N more". */
const SHOWN = 5;

/** Called inside the transaction that makes load `sourceId` current. */
export function saveLoadStats(store: Store, sourceId: number, stats: LoadStats): void {
  writeSettingRow(store, STATS_KEY, { sourceId, ...stats }, Date.now());
}

const percent = (share: number) => `${(share * 100).toFixed(share < 0.01 ? 2 : 1)}%`;

/** The current load's verdict; undefined when nothing is loaded. */
export function metadataVerdict(store: Store, config: MetadataConfig): MetadataVerdict | undefined {
  const source = currentSource(store);
  if (!source?.fingerprint) return undefined;
  let stats = readSettingRow<LoadStats & { sourceId: number }>(store, STATS_KEY);
  if (stats?.sourceId !== source.id) {
    // A load by a version that kept no statistics: each malformed row stands for one line.
    const malformed = countProblems(store, source.id).malformed_row;
    stats = {
      sourceId: source.id,
      dataLines: source.rows + malformed,
      unusableLines: malformed,
      cuts: [],
      cutCount: 0,
    };
  }
  const threshold = config.metadata.maxUnusableShare ?? DEFAULT_THRESHOLD;
  const share = stats.dataLines > 0 ? stats.unusableLines / stats.dataLines : 0;
  const runaway =
    stats.cutsFile === undefined ? stats.cutCount > 0 : stats.cutsFile || (stats.longestCut ?? 0) >= MIN_UNUSABLE_LINES;
  const gated = (share > threshold && stats.unusableLines >= MIN_UNUSABLE_LINES) || runaway;
  const confirmedAs = readSettingRow<{ sha256: string; keyColumn: string; apmidColumn: string }>(store, CONFIRMED_KEY);
  const fp = source.fingerprint;
  const confirmed =
    confirmedAs?.sha256 === fp.sha256 &&
    confirmedAs.keyColumn === fp.keyColumn &&
    confirmedAs.apmidColumn === fp.apmidColumn;
  const parts = [
    `${stats.unusableLines} of ${stats.dataLines} data lines unusable (${percent(share)}; ` +
      `metadata.max_unusable_share is ${percent(threshold)})`,
  ];
  for (const cut of stats.cuts.slice(0, SHOWN)) {
    parts.push(`a quote opened on line ${cut.line} swallowed lines ${cut.line}-${cut.endLine}`);
  }
  if (stats.cutCount > SHOWN) parts.push(`and ${stats.cutCount - SHOWN} more runaway quotes`);
  return {
    sourceId: source.id,
    file: source.path,
    sha256: fp.sha256,
    dataLines: stats.dataLines,
    unusableLines: stats.unusableLines,
    share,
    threshold,
    cuts: stats.cuts,
    cutCount: stats.cutCount,
    gated,
    confirmed,
    summary: `metadata CSV ${source.path}: ${parts.join('; ')}`,
  };
}

/** Remember that the operator chose to copy on this load as it is. */
function confirmMetadata(store: Store, verdict: MetadataVerdict, now = Date.now()): void {
  const source = currentSource(store);
  if (source?.id !== verdict.sourceId || !source.fingerprint) return;
  const { sha256, keyColumn, apmidColumn } = source.fingerprint;
  store.write(() =>
    writeSettingRow(store, CONFIRMED_KEY, { sha256, keyColumn, apmidColumn, path: source.path, confirmedAt: now }, now),
  );
}

/**
 * One page of the current load's problems in line order. `after` is the last
 * entry's position (its line, or none, and its id); scans the load's problems,
 * so pages are large.
 */
export function csvProblemsPage(
  store: Store,
  page: { afterLine?: number; afterId?: number; limit: number },
): { problems: ProblemEntry[]; next: { afterLine: number; afterId: number } | null } {
  const source = currentSource(store);
  if (!source) return { problems: [], next: null };
  const problems = problemsByLine(store, source.id, {
    afterLine: page.afterLine ?? -1,
    afterId: page.afterId ?? 0,
    limit: page.limit,
  });
  const last = problems.at(-1);
  return {
    problems,
    next:
      problems.length === page.limit && last
        ? { afterLine: last.line ?? Number.MAX_SAFE_INTEGER, afterId: last.id }
        : null,
  };
}

/** The first unusable rows by line, with "and N more" and where the full list is. */
function unusableRows(store: Store, sourceId: number): string {
  const rows = malformedRowsByLine(store, sourceId, SHOWN);
  if (rows.length === 0) return '';
  const total = countProblems(store, sourceId).malformed_row;
  const listed = rows.map((r) => `${r.line !== null ? `line ${r.line}: ` : ''}${r.detail}`).join('; ');
  return (
    `. Unusable rows by line: ${listed}${total > rows.length ? `; and ${total - rows.length} more` : ''} ` +
    '(rpctl plan --list csv-problems lists every problem)'
  );
}

const HOW_TO_GO_ON =
  'Fix the CSV and restart rpcopyd (it loads the file again), or run rpctl resume to copy on the CSV as loaded ' +
  '(remembered for this file; a changed file asks again)';

/** The pause's detail: what is wrong, the first problems by line, where the rest are, how to go on. */
export function gateDetail(store: Store, verdict: MetadataVerdict): string {
  return `${verdict.summary}${unusableRows(store, verdict.sourceId)}. ${HOW_TO_GO_ON}`;
}

/** For `rpctl status`: a warning while the current load needs (or got) the operator's word. */
export function metadataWarnings(store: Store, config: MetadataConfig): string[] {
  const verdict = metadataVerdict(store, config);
  if (!verdict?.gated) return [];
  return [
    verdict.confirmed
      ? `${verdict.summary}; copying on it as loaded, as the operator confirmed (rpctl plan --list csv-problems)`
      : `${verdict.summary}; no copying starts on it until the operator decides: fix the CSV and restart rpcopyd, ` +
        'or rpctl resume to copy on it as loaded (rpctl plan --list csv-problems lists every problem)',
  ];
}

/** Pause for the operator; false when another pause held the gate already (its resume says nothing about ours). */
export type GatePause = (reason: string, detail: string, data?: Record<string, unknown>) => Promise<boolean>;

/**
 * Before the first write to the destination: wait for the operator's word on
 * a gated, unconfirmed CSV. Resolves once it may go on; rejects when the daemon
 * stops while paused (the caller turns that into 'stopped').
 */
export async function metadataGate(options: {
  store: Store;
  config: Pick<Config, 'metadata'>;
  journal: EventJournal;
  pause: GatePause;
}): Promise<void> {
  const { store, config, journal, pause } = options;
  for (;;) {
    const verdict = metadataVerdict(store, config);
    if (!verdict?.gated || verdict.confirmed) return;
    const detail = gateDetail(store, verdict);
    const data = {
      file: verdict.file,
      sha256: verdict.sha256,
      dataLines: verdict.dataLines,
      unusableLines: verdict.unusableLines,
      share: verdict.share,
      threshold: verdict.threshold,
      cuts: verdict.cuts,
    };
    const ours = await pause('metadata_csv', detail, data);
    // Released by the end of another pause: ours was never shown, so ask again.
    if (ours === false) continue;
    confirmMetadata(store, verdict);
    journal.record('warn', 'enrich.csv_confirmed', 'the operator chose to copy on the metadata CSV as loaded', data);
    return;
  }
}
