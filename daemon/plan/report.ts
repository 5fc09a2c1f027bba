// What `rpctl plan` shows: the plan's counts, the vault name mappings that
// need the operator, the metadata CSV's problems and inventory progress.
// Cheap aggregate reads on the main thread; the scans of the whole plan run on
// a read worker (read-model.ts, cached until the next commit), so it answers
// while the pipeline runs without holding it.

import type { PlanResponse } from '../../shared/api.js';
import type { Config } from '../../shared/config.js';
import { csvProblemsPage, metadataVerdict } from '../enrich/gate.js';
import { metadataReport } from '../enrich/repo.js';
import { cachedOnStore, planCounts } from '../read-model.js';
import type { ReadWorker } from '../store/read-worker.js';
import type { Store } from '../store/store.js';
import { SKIP_REASONS } from './reasons.js';
import { destinationVaultName, proposeVaultName } from './vault-names.js';
import { operatorWarnings, warningsOf } from './warnings.js';

export async function planReport(
  store: Store,
  reader: Pick<ReadWorker, 'cached'>,
  config: Config,
  exampleLimit = 5,
): Promise<PlanResponse> {
  const summary = await planCounts(store, reader);
  const vaults = store.sqlite
    .prepare<[], { name: string; selected: number; inventoryState: string }>(
      `SELECT name, selected, inventory_state AS inventoryState FROM source_vaults ORDER BY name`,
    )
    .all();
  const selected = vaults.filter((v) => v.selected === 1);
  // Scans of the CSV's problems (a million rows at most): kept until the store changes.
  const { metadata, firstByLine } = cachedOnStore(store, `plan report metadata ${exampleLimit}`, () => ({
    metadata: metadataReport(store, { limit: exampleLimit }),
    // The first problems in line order, whatever their kind; rpctl plan --list csv-problems pages through all.
    firstByLine: csvProblemsPage(store, { limit: 10 }).problems,
  }));
  const verdict = metadataVerdict(store, config);
  return {
    ...summary,
    reasons: { ...SKIP_REASONS },
    vaultMappings: selected.map((v) => {
      const destination = destinationVaultName(v.name, config.destination.vaultNames) ?? null;
      return { source: v.name, destination, ...(destination === null ? { proposed: proposeVaultName(v.name) } : {}) };
    }),
    metadata: {
      problems: metadata.counts,
      examples: [...firstByLine, ...Object.values(metadata.problems).flat()]
        .filter((p, i, all) => all.findIndex((q) => q.id === p.id) === i)
        .map((p) => ({ kind: p.kind, line: p.line, resourceArn: p.resourceArn, detail: p.detail })),
      ...(verdict
        ? {
            gate: {
              gated: verdict.gated,
              confirmed: verdict.confirmed,
              dataLines: verdict.dataLines,
              unusableLines: verdict.unusableLines,
              share: verdict.share,
              threshold: verdict.threshold,
              summary: verdict.summary,
            },
          }
        : {}),
    },
    inventory: {
      vaultsSelected: selected.length,
      vaultsDone: selected.filter((v) => v.inventoryState === 'done').length,
    },
    ...warningsOf(operatorWarnings(store, config)),
  };
}
