// The enrich phase of the pipeline (inventory → enrich → plan → ...).
//
// Guarantees: every run loads the configured metadata CSV (a no-op when the
// file matches the current load, see loader.ts) and then recomputes the
// problems that need the inventory (unmatched_row, point_without_row; see
// reconcile.ts). Reconciliation runs every time, not only after a new load:
// the inventory may have changed since. Both steps are chunked and stop at
// the next chunk when the context's signal aborts; the phase then returns
// 'stopped' and the next run starts over from the store (a partial load is
// deleted, reconciliation is recomputed from scratch).
//
// Overlap: the load needs nothing from the inventory, so the pipeline starts
// it when a pass begins (start) and it runs while the inventory lists; run()
// waits for that load, then loads again (a no-op unless the file changed in
// the meantime) and reconciles. A load stopped or killed part-way is the same
// as one stopped inside run(): the next load deletes it and starts over, and
// the plan waits for run(), so it never sees a partial load. Once that load
// is done, the resource ARNs of the points stored so far are gathered for the
// reconciliation right behind the inventory (collectResourcesAhead); run()
// stops that first, and the reconciliation adds only the rest.
//
// Failure: a CSV that cannot be used (unreadable, empty, a header without the
// configured columns, a read error part-way) throws MetadataError, whose
// message names the file and the line; the daemon records it as the pipeline's
// failure. The previous complete load, if any, stays current.

import { setTimeout as sleep } from 'node:timers/promises';
import type { EventJournal } from '../events.js';
import type { Logger } from '../log.js';
import type { PhaseContext, PipelinePhase } from '../pipeline.js';
import type { Store } from '../store/store.js';
import type { MetadataConfig } from './fingerprint.js';
import { gateDetail, metadataVerdict } from './gate.js';
import { type LoadResult, loadMetadata } from './loader.js';
import { collectResourcesAhead, reconcileMetadataWithPoints } from './reconcile.js';
import { countProblems } from './repo.js';

export interface EnrichOptions {
  store: Store;
  /** The daemon's Config; only its [metadata] table is read. */
  config: MetadataConfig;
  journal: EventJournal;
  log: Logger;
}

// How often the resources of newly stored points are gathered while the inventory lists.
const AHEAD_POLL_MS = 250;

export class EnrichPhase implements PipelinePhase {
  readonly name = 'enrich' as const;
  /** The load started with this pass of the pipeline, while the inventory lists. */
  private early: Promise<LoadResult> | undefined;
  /** Gathering resource ARNs behind the inventory; run() stops it before it reconciles. */
  private ahead: { stop: AbortController; done: Promise<void> } | undefined;

  constructor(private readonly options: EnrichOptions) {}

  start(context: PhaseContext): void {
    const { store, config, log } = this.options;
    const early = context.track(loadMetadata(store, config, { signal: context.signal, log }));
    // Its failure (a CSV that cannot be used) is the enrich phase's, reported when run() takes the result.
    early.catch(() => undefined);
    this.early = early;
    this.ahead?.stop.abort();
    const stop = new AbortController();
    const signal = AbortSignal.any([context.signal, stop.signal]);
    const done = context.track(this.collectAhead(early, signal)).catch((err: unknown) => {
      // Only time is lost: the reconciliation collects what is missing itself.
      log.warn('gathering resources ahead of the reconciliation failed', {
        error: err instanceof Error ? err.message : String(err),
      });
    });
    this.ahead = { stop, done };
  }

  private async collectAhead(early: Promise<LoadResult>, signal: AbortSignal): Promise<void> {
    // After the load: both are on the main thread, and the load is what the plan's drafts wait for.
    await early.catch(() => undefined);
    while (!signal.aborted) {
      await collectResourcesAhead(this.options.store, { signal });
      await sleep(AHEAD_POLL_MS, undefined, { signal }).catch(() => undefined);
    }
  }

  run(context: PhaseContext): Promise<'done' | 'stopped'> {
    // Tracked: a shutdown waits (bounded) for the current chunk instead of closing the store under it.
    return context.track(this.enrich(context.signal));
  }

  private async enrich(signal: AbortSignal): Promise<'done' | 'stopped'> {
    const { store, config, journal, log } = this.options;
    const early = this.early;
    this.early = undefined;
    const ahead = this.ahead;
    this.ahead = undefined;
    if (ahead) {
      ahead.stop.abort();
      await ahead.done;
    }
    const first = early ? await early : undefined;
    if (signal.aborted) return 'stopped';
    // Loads again only if the file changed since the early load (or that load was stopped).
    const again = await loadMetadata(store, config, { signal, log });
    if (again.outcome === 'stopped' || signal.aborted) return 'stopped';
    const loaded = again.outcome === 'unchanged' && first?.outcome === 'loaded' ? first : again;
    const reconciled = await reconcileMetadataWithPoints(store, { signal, log });
    if (reconciled.outcome === 'stopped' || signal.aborted) return 'stopped';
    const problems = countProblems(store, reconciled.sourceId ?? undefined);
    journal.record(
      'info',
      'enrich.done',
      loaded.outcome === 'loaded' ? 'metadata CSV loaded' : 'metadata CSV unchanged',
      {
        file: config.metadata.csv,
        outcome: loaded.outcome,
        sourceId: loaded.sourceId,
        rows: loaded.rows,
        problems,
      },
    );
    const verdict = metadataVerdict(store, config);
    if (verdict?.gated) {
      // Loud: the operator's word is needed before copying (the preflight phase waits for it).
      journal.record(
        verdict.confirmed ? 'warn' : 'error',
        'enrich.csv_unusable',
        verdict.confirmed
          ? `${verdict.summary}; the operator confirmed this file as loaded`
          : gateDetail(store, verdict),
        {
          file: verdict.file,
          dataLines: verdict.dataLines,
          unusableLines: verdict.unusableLines,
          share: verdict.share,
          threshold: verdict.threshold,
          cuts: verdict.cuts,
          confirmed: verdict.confirmed,
        },
      );
    }
    return 'done';
  }
}
