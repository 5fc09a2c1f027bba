// The per-vault progress that `rpctl watch` shows, recomputed at most every `everyMs` while someone watches and
// single-flight. A computation that took long is repeated less often: it may take at most VAULTS_MAX_SHARE of the
// time, since its cost grows with the points the copy phase has not grouped yet.

import type { WatchVaults } from '../shared/api.js';
import type { Logger } from './log.js';

/** The per-vault computation may take at most this share of the worker's time. */
const VAULTS_MAX_SHARE = 0.1;

export interface VaultProgressPollerOptions {
  compute: () => Promise<Omit<WatchVaults, 'at'>>;
  everyMs: number;
  now: () => number;
  log: Logger;
  /** Whether anyone still watches: a failure nobody would see is not logged. */
  watched: () => boolean;
}

export class VaultProgressPoller {
  /** The last computed figures; null until one computation has finished. */
  latest: WatchVaults | null = null;
  private startedAt = Number.NEGATIVE_INFINITY;
  private tookMs = 0;
  private running = false;
  private stopped = false;

  constructor(private readonly options: VaultProgressPollerOptions) {}

  /** Start a computation if none runs and the last one is old enough; the result lands in `latest`. */
  refresh(): void {
    const { now, log } = this.options;
    const every = Math.max(this.options.everyMs, this.tookMs / VAULTS_MAX_SHARE);
    if (this.running || this.stopped || now() - this.startedAt < every) return;
    this.running = true;
    this.startedAt = now();
    this.options.compute().then(
      (result) => {
        this.running = false;
        this.tookMs = now() - this.startedAt;
        this.latest = { at: new Date(now()).toISOString(), ...result };
      },
      (err: unknown) => {
        this.running = false;
        if (!this.stopped && this.options.watched())
          log.warn('computing per-vault progress for rpctl watch failed', { error: err });
      },
    );
  }

  /** No computation starts after this. */
  stop(): void {
    this.stopped = true;
  }
}
