// What the operator should know or decide before (or while) copying, for
// `rpctl status` and `rpctl plan`: a metadata CSV that lost rows (enrich/gate.ts)
// and points that wait for the operator's consent to a destination vault.
// Cheap reads only (a few index entries and settings rows): status calls it.

import type { Config } from '../../shared/config.js';
import { metadataWarnings } from '../enrich/gate.js';
import type { Store } from '../store/store.js';
import { CONSENT_FIX } from '../vaults/consent.js';

export function operatorWarnings(store: Store, config: Pick<Config, 'metadata'>): string[] {
  const warnings = metadataWarnings(store, config);
  // An index-only count of the skip index: cheap at any scale.
  const waiting = store.sqlite
    .prepare<[], number>(
      `SELECT count(*) FROM copy_items INDEXED BY copy_items_skip_idx WHERE skip_reason = 'vault_needs_consent'`,
    )
    .pluck()
    .get()!;
  if (waiting > 0) {
    warnings.push(
      `${waiting} points are skipped as vault_needs_consent (rpctl plan --list vault_needs_consent): ${CONSENT_FIX}`,
    );
  }
  return warnings;
}

/** The optional `warnings` field: absent when there is nothing to say. */
export function warningsOf(warnings: string[]): { warnings?: string[] } {
  return warnings.length > 0 ? { warnings } : {};
}
