// The one error the enrichment phase throws on purpose: the metadata CSV cannot
// be used at all (unreadable, empty, or its header lacks a configured column).
// Row-level trouble is never thrown: it is recorded in metadata_problems and
// the load goes on. The enrich phase (phase.ts) lets it through, and the daemon
// records it as the pipeline's failure (pipeline.failed, with this message).
// The message names the file, the line when there is one (`file:line: ...`)
// and what was found.

export class MetadataError extends Error {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    message: string,
    /** The header's column names, when the header was read. */
    readonly columns?: readonly string[],
  ) {
    super(`${file}${line === undefined ? '' : `:${line}`}: ${message}`);
    this.name = 'MetadataError';
  }
}
