// `rpctl reset inventory|metadata|plan|failed|all [--vault NAME]`: regenerate parts of the state. Nothing here
// deletes a recovery point, a copy attempt or a copy's record: a reset only makes a phase do its work again.
// - inventory: the vault's listing starts over (points are upserted by ARN, so nothing is duplicated; a full
//   pass marks points that disappeared);
// - metadata: the CSV is read again at the next enrich, whatever its fingerprint;
// - plan: every point not yet started is decided again;
// - failed: failed points go back to the queue with fresh attempts (new tokens) and their canaries run again;
// - all: the four together.
// Each is one transaction; the daemon then runs the pipeline again (daemon.ts).

import { RpcopyError } from '../shared/errors.js';
import { requeueFailed, resetPlanDecisions } from './copy/repo.js';
import { markLoadsForReload } from './enrich/repo.js';
import { resetListings } from './inventory/repo.js';
import type { Store } from './store/store.js';

const RESET_TARGETS = ['inventory', 'metadata', 'plan', 'failed', 'all'] as const;
export type ResetTarget = (typeof RESET_TARGETS)[number];

export interface ResetResult {
  target: ResetTarget;
  vault: string | null;
  vaults: number;
  metadataLoads: number;
  replanned: number;
  requeued: number;
}

export function parseResetTarget(target: string): ResetTarget {
  if ((RESET_TARGETS as readonly string[]).includes(target)) return target as ResetTarget;
  throw new RpcopyError(
    'BAD_REQUEST',
    `target: unknown reset target ${JSON.stringify(target)}; expected one of ${RESET_TARGETS.join(', ')}`,
  );
}

export function resetState(store: Store, target: ResetTarget, vault: string | null, now = Date.now()): ResetResult {
  const { sqlite } = store;
  if (vault !== null) {
    const known = sqlite.prepare('SELECT 1 FROM source_vaults WHERE name = ?').get(vault);
    if (!known) throw new RpcopyError('BAD_REQUEST', `vault: no source vault named ${JSON.stringify(vault)}`);
    if (target === 'metadata') {
      throw new RpcopyError(
        'BAD_REQUEST',
        'vault: the metadata CSV is one file for every vault; reset it without --vault',
      );
    }
  }
  const all = target === 'all';
  return sqlite
    .transaction((): ResetResult => {
      const result: ResetResult = { target, vault, vaults: 0, metadataLoads: 0, replanned: 0, requeued: 0 };
      if (all || target === 'inventory') {
        result.vaults = resetListings(store, vault);
      }
      if (all || target === 'metadata') {
        // A fingerprint that matches no file: the next enrich hashes the CSV and loads it again.
        result.metadataLoads = markLoadsForReload(store);
      }
      if (all || target === 'plan') {
        // already_copied is decided from the destination's listing: a new plan needs a new census.
        result.replanned = resetPlanDecisions(store, vault, now);
      }
      if (all || target === 'failed') result.requeued = requeueFailed(store, vault, now);
      return result;
    })
    .immediate();
}
