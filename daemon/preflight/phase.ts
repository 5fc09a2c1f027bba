// The preflight phase: the checks of checks.ts, run by the daemon before it
// writes anything to the destination (the vaults phase) or copies.
//
// Guarantees:
// - First the metadata CSV's gate (enrich/gate.ts): a CSV that lost more
//   than metadata.max_unusable_share of its lines, or that a runaway quote
//   cut, pauses with reason `metadata_csv` until the operator confirms it.
// - Nothing is written to AWS or the store before every check passes (or is
//   unknown). A failure pauses the daemon with reason `preflight` and tells
//   the operator what to fix; `rpctl resume` runs the checks again, and the
//   phase goes on only once they pass. With --once the daemon exits with the
//   paused code instead of waiting.
// - Crash behaviour: nothing to recover; the checks run again at the next start.

import type { Config } from '../../shared/config.js';
import type { AwsPort } from '../aws/port.js';
import { metadataGate } from '../enrich/gate.js';
import type { EventJournal } from '../events.js';
import type { Logger } from '../log.js';
import type { PhaseContext, PipelinePhase } from '../pipeline.js';
import type { Store } from '../store/store.js';
import { type CheckResult, runPreflight } from './checks.js';

/**
 * Pause for the operator; resolves when resumed (false when another pause held the gate already, so this one was
 * never shown), rejects when the daemon stops first.
 */
export type OperatorPause = (reason: string, detail: string, data?: Record<string, unknown>) => Promise<boolean>;

export interface PreflightPhaseOptions {
  store: Store;
  port: AwsPort;
  config: Config;
  journal: EventJournal;
  log: Logger;
  pause: OperatorPause;
  /** Receives every result, for the control API's last-known answer. */
  onResult?: (checks: CheckResult[]) => void;
}

export class PreflightPhase implements PipelinePhase {
  readonly name = 'preflight' as const;

  constructor(private readonly options: PreflightPhaseOptions) {}

  async run(context: PhaseContext): Promise<'done' | 'stopped'> {
    const { store, port, config, journal } = this.options;
    try {
      await metadataGate({ store, config, journal, pause: this.options.pause });
    } catch (err) {
      if (context.signal.aborted) return 'stopped';
      throw err;
    }
    for (;;) {
      if (context.signal.aborted) return 'stopped';
      let checks: CheckResult[];
      try {
        checks = await context.track(
          runPreflight({ port, store, config, signal: context.signal, vaultPolicies: 'before-vaults' }),
        );
      } catch (err) {
        if (context.signal.aborted) return 'stopped';
        throw err;
      }
      this.options.onResult?.(checks);
      const failed = checks.filter((c) => c.status === 'fail');
      const unknown = checks.filter((c) => c.status === 'unknown');
      journal.record(failed.length > 0 ? 'error' : 'info', 'preflight.done', 'preflight checks', {
        pass: checks.length - failed.length - unknown.length,
        fail: failed.length,
        unknown: unknown.length,
        failed: failed.map((c) => ({ check: c.check, detail: c.detail, fix: c.fix })),
        unknownChecks: unknown.map((c) => c.check),
      });
      if (failed.length === 0) return 'done';
      const detail =
        `preflight failed: ${failed.map((c) => `${c.check}: ${c.detail}${c.fix ? ` (fix: ${c.fix})` : ''}`).join('; ')}` +
        '. Fix it, then rpctl resume (rpctl preflight shows the checks)';
      try {
        await this.options.pause('preflight', detail, { failed: failed.map((c) => c.check) });
      } catch (err) {
        if (context.signal.aborted) return 'stopped';
        throw err;
      }
    }
  }
}
