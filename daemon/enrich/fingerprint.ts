// Whether the CSV on disk is the one that was loaded.
//
// A fingerprint is the sha256 of the file's bytes, its size and mtime, and the
// two configured column names (other columns would give other rows). Same
// path, columns, size and mtime: unchanged without reading the file. Same
// size, other mtime (a `touch`, a copy that kept the bytes): the file is hashed
// and only a different hash counts as a change. Another size: changed.

import { createHash } from 'node:crypto';
import { createReadStream, type Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Config } from '../../shared/config.js';
import { MetadataError } from './errors.js';
import type { Fingerprint, SourceRow } from './repo.js';

/** The [metadata] table; the gate's threshold is optional for callers that only load (its default applies). */
export type MetadataConfig = {
  metadata: Omit<Config['metadata'], 'maxUnusableShare'> & Partial<Pick<Config['metadata'], 'maxUnusableShare'>>;
};

/** sha256 of a file, read as a stream. */
async function hashFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export async function statCsv(file: string): Promise<Stats> {
  try {
    const stats = await stat(file);
    if (!stats.isFile()) throw new MetadataError(file, undefined, 'metadata.csv is not a regular file');
    return stats;
  } catch (err) {
    if (err instanceof MetadataError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(err);
    throw new MetadataError(file, undefined, `cannot read the metadata CSV (${reason}); check metadata.csv`);
  }
}

/** Unchanged without reading the file: same path, columns, size and mtime. */
export function sameWithoutHashing(source: SourceRow, stats: Stats, config: MetadataConfig): boolean {
  const fp = source.fingerprint;
  return (
    fp !== undefined && sameSetup(source, config) && fp.size === stats.size && fp.mtimeMs === Math.trunc(stats.mtimeMs)
  );
}

/** Same path and column names: only then can the loaded rows stand for the file. */
function sameSetup(source: SourceRow, config: MetadataConfig): boolean {
  const fp = source.fingerprint;
  return (
    fp !== undefined &&
    source.path === config.metadata.csv &&
    fp.keyColumn === config.metadata.keyColumn &&
    fp.apmidColumn === config.metadata.apmidColumn
  );
}

/**
 * Whether the file differs from the loaded one. Hashes the file only when the
 * size matches and the mtime does not (pass hash: false to skip that and call
 * such a file changed).
 */
export async function differsFromLoaded(
  source: SourceRow | undefined,
  stats: Stats,
  config: MetadataConfig,
  options: { hash?: boolean } = {},
): Promise<{ changed: boolean; sha256?: string }> {
  if (!source?.fingerprint || !sameSetup(source, config)) return { changed: true };
  if (sameWithoutHashing(source, stats, config)) return { changed: false };
  if (source.fingerprint.size !== stats.size || options.hash === false) return { changed: true };
  const sha256 = await hashFile(config.metadata.csv);
  return { changed: sha256 !== source.fingerprint.sha256, sha256 };
}

export function fingerprintOf(sha256: string, stats: Stats, config: MetadataConfig): Fingerprint {
  return {
    sha256,
    size: stats.size,
    mtimeMs: Math.trunc(stats.mtimeMs),
    keyColumn: config.metadata.keyColumn,
    apmidColumn: config.metadata.apmidColumn,
  };
}
