// The progress line at a steady interval (the terminal in the foreground, journald as a service): state,
// phase, done/total, the rate over the last interval and the ETA at that rate (rpctl forecast knows better).
// Reads the status counters only (constant time); writes nothing.

import type { DaemonState } from '../shared/api.js';
import { formatDuration } from '../shared/duration.js';
import type { Logger } from './log.js';
import type { Pipeline } from './pipeline.js';
import { readCounts } from './status.js';
import type { Store } from './store/store.js';

export interface ProgressLogOptions {
  store: Store;
  log: Logger;
  intervalMs: number;
  state(): DaemonState;
  pipeline: Pick<Pipeline, 'phase'>;
}

/** Start logging progress every `intervalMs`; returns the stop. The timer never keeps the process alive. */
export function startProgressLog({ store, log, intervalMs, state, pipeline }: ProgressLogOptions): () => void {
  let lastDone: number | undefined;
  const timer = setInterval(() => {
    const c = readCounts(store);
    const total = c.queued + c.inFlight + c.completed + c.failed;
    const done = c.completed + c.failed;
    const perMinute = lastDone === undefined ? undefined : ((done - lastDone) * 60_000) / intervalMs;
    lastDone = done;
    const etaMs = perMinute && perMinute > 0 ? ((total - done) / perMinute) * 60_000 : undefined;
    log.info(
      `progress: ${state()}, phase ${pipeline.phase}, ${done}/${total} copies final` +
        `${perMinute !== undefined ? `, ${perMinute.toFixed(1)}/min` : ''}` +
        `${etaMs !== undefined ? `, ETA ${formatDuration(etaMs)} at this rate` : ''}`,
      { event: 'progress', phase: pipeline.phase, done, total, perMinute: perMinute ?? null, etaMs: etaMs ?? null },
    );
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
