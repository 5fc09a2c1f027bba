// `rpctl compliance`: every destination vault rpcopy copies into, read live
// from both accounts and compared with its source vault and with the
// [compliance] expectations (compare.ts). Read-only; runs on demand.

import type { Config } from '../../shared/config.js';
import { AwsCallError, type AwsPort, type CallOptions } from '../aws/port.js';
import type { Store } from '../store/store.js';
import { describeLock } from '../vaults/lock.js';
import { organizationOf, readVault } from '../vaults/phase.js';
import { destinationVaultRows, vaultTargets } from '../vaults/repo.js';
import { compareVault, type DriftKind } from './compare.js';

export interface ComplianceVault {
  source: string;
  destination: string;
  status: 'ok' | 'drift';
  sourceLock: string;
  destinationLock: string | null;
  notes: string[];
}

export interface ComplianceDrift {
  vault: string;
  destination: string;
  kind: DriftKind;
  detail: string;
}

export interface ComplianceResult {
  vaults: ComplianceVault[];
  drift: ComplianceDrift[];
}

export async function checkCompliance(options: {
  port: AwsPort;
  store: Store;
  config: Config;
  signal?: AbortSignal;
  callOptions?: CallOptions;
}): Promise<ComplianceResult> {
  const { port, store, config, signal, callOptions } = options;
  const result: ComplianceResult = { vaults: [], drift: [] };
  const organizationId = await organizationOf(port, 'source', signal, callOptions);
  const pending = new Map(destinationVaultRows(store).map((r) => [r.source, r.detail?.pendingCompliance]));
  for (const target of vaultTargets(store, config)) {
    let source: Awaited<ReturnType<typeof readVault>>;
    let dest: Awaited<ReturnType<typeof readVault>>;
    try {
      source = await readVault(port, 'source', target.source, signal, callOptions);
      dest = source && (await readVault(port, 'destination', target.destination, signal, callOptions));
    } catch (err) {
      if (!(err instanceof AwsCallError)) throw err;
      result.vaults.push({
        source: target.source,
        destination: target.destination,
        status: 'drift',
        sourceLock: 'unknown',
        destinationLock: null,
        notes: [],
      });
      result.drift.push({
        vault: target.source,
        destination: target.destination,
        kind: 'unreadable',
        detail: `cannot read the ${err.account} vault: ${err.operation}: ${err.failure.name}: ${err.failure.message}`,
      });
      continue;
    }
    if (!source) continue; // gone since the inventory: nothing to copy into a replica of it
    const comparison = compareVault(source, dest, {
      config,
      destinationName: target.destination,
      organizationId,
    });
    const waiting = pending.get(target.source);
    const notes = [...comparison.notes];
    if (waiting) {
      notes.push(
        `would lock in compliance mode once confirmed: min ${waiting.minRetentionDays ?? '-'} / max ` +
          `${waiting.maxRetentionDays ?? '-'} days, immutable after ${waiting.changeableForDays} days`,
      );
    }
    result.vaults.push({
      source: target.source,
      destination: target.destination,
      status: comparison.drift.length > 0 ? 'drift' : 'ok',
      sourceLock: describeLock(source.lock),
      destinationLock: dest ? describeLock(dest.lock) : null,
      notes,
    });
    for (const d of comparison.drift) {
      result.drift.push({ vault: target.source, destination: target.destination, kind: d.kind, detail: d.detail });
    }
  }
  return result;
}
