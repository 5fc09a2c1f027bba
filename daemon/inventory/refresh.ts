// The inventory's refresh schedule: a full pass of every selected vault once per
// inventory.full_refresh_interval (phase.ts decides full or incremental per
// vault). The pipeline stops a long phase (copy) when the next one is due and
// starts again at the inventory; a service whose pipeline is done is woken then.
// Source of truth: source_vaults.inventory_full_pass_at, so a restart keeps the schedule.

import type { Phase } from '../../shared/api.js';
import type { EventJournal } from '../events.js';
import type { PipelineRefresh } from '../pipeline.js';
import type { Store } from '../store/store.js';
import { refreshDueAt } from './phase.js';

/** setTimeout's largest delay; a longer wait is made of several. */
const MAX_TIMER_MS = 2_147_483_647;
/** How soon a wake-up that found the daemon busy (a retry being copied) looks again. */
const BUSY_RETRY_MS = 1_000;

/** The pipeline's view of the schedule. */
export function inventoryRefresh(store: Store, intervalMs: number, journal: EventJournal): PipelineRefresh {
  return {
    intervalMs,
    dueAt: () => refreshDueAt(store, intervalMs),
    onRefresh: (phase: Phase) =>
      journal.record(
        'info',
        'inventory.refresh_due',
        'the inventory is due for a full pass: listing the source again',
        {
          stopped: phase,
        },
      ),
  };
}

/**
 * Calls `start` when the next full pass is due; `start` returns false when the daemon cannot run the pipeline
 * yet (it is asked again shortly). Returns the cancel.
 */
export function wakeForRefresh(store: Store, intervalMs: number, start: () => boolean): () => void {
  let timer: NodeJS.Timeout | undefined;
  const doneAt = Date.now();
  // Due already (the listing took longer than the interval): the service rests one interval first.
  const dueAt = () => {
    const due = refreshDueAt(store, intervalMs);
    return due === undefined ? undefined : due > doneAt ? due : doneAt + intervalMs;
  };
  const arm = () => {
    const due = dueAt();
    if (due === undefined) return;
    const left = due - Date.now();
    timer = setTimeout(
      () => {
        if (Date.now() < due) arm();
        else if (!start()) timer = setTimeout(arm, BUSY_RETRY_MS);
      },
      Math.min(Math.max(left, 0), MAX_TIMER_MS),
    );
  };
  arm();
  return () => clearTimeout(timer);
}
