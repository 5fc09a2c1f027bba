// What the operator should know or decide before (or while) copying, for
// `rpctl status` and `rpctl plan`: a metadata CSV that lost rows (enrich/gate.ts)
// and points that wait for the operator's consent to a destination vault.
// Cheap reads only (a few index entries and settings rows): status calls it.

import type { Config } from '../../shared/config.js';
import { metadataWarnings } from '../enrich/gate.js';
import type { Store } from '../store/store.js';

export function operatorWarnings(store: Store, config: Pick<Config, 'metadata'>): string[] {
  return [...metadataWarnings(store, config)];
}

/** The optional `warnings` field: absent when there is nothing to say. */
export function warningsOf(warnings: string[]): { warnings?: string[] } {
  return warnings.length > 0 ? { warnings } : {};
}
