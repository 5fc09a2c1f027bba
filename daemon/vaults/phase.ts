// Vaults: a destination vault like-for-like for every source vault the plan
// copies from (product.md, Pipeline step 4; aws-backup.md §2.5-2.8, §3.2).
//
// Guarantees:
// - Idempotent: every step reads the destination first and changes only what
//   differs; a second run changes nothing. Vaults are created with a
//   deterministic CreatorRequestId, so a create whose answer was lost returns
//   the same vault when retried, and an AlreadyExistsException is told apart
//   from a vault someone else made (DescribeBackupVault's CreatorRequestId).
// - Never weakens: nothing is deleted or removed; a lock only gets stricter
//   (lock.ts), policy statements and notification events are only added
//   (policy.ts, settings.ts), differing tag values are reported, not
//   overwritten. A compliance-mode lock (irreversible after its grace period),
//   and a logically air-gapped vault (always compliance-locked), are applied
//   only when the operator confirmed it (vaults.confirm_compliance_lock);
//   until then rpcopy applies a governance lock with the same limits (or, for
//   an air-gapped vault, creates nothing) and reports the difference as drift.
// - Crash behaviour: AWS holds the truth. A crash between two steps leaves a
//   partly configured vault; the next run reads it and finishes the job. The
//   destination_vaults row (repo.ts) records the outcome of the last run.
// - Runs only outside --dry-run (the daemon leaves the phase out).

import type { Config } from '../../shared/config.js';
import type { Account, VaultDetail, VaultNotifications } from '../aws/operations.js';
import { AwsCallError, type AwsPort, type CallOptions } from '../aws/port.js';
import type { EventJournal } from '../events.js';
import type { Logger } from '../log.js';
import type { PhaseContext, PipelinePhase } from '../pipeline.js';
import { consentWaiting, settleVaultConsent } from '../plan/phase.js';
import type { Store } from '../store/store.js';
import { AIR_GAPPED, CONSENT_FIX, consentNeeded } from './consent.js';
import { changeableForDays, describeLock, type LockSettings, lockOf, planLock } from './lock.js';
import { admission, mergePolicy, mirroredDenies, PolicyParseError, parsePolicy } from './policy.js';
import { recordOutcome, recordSourceSettings, type VaultOutcome, type VaultTarget, vaultTargets } from './repo.js';
import { creatorRequestId, planNotifications, planTags, replicableTags } from './settings.js';

const LAG = AIR_GAPPED;
/** AWS's lower bound on a logically air-gapped vault's MinRetentionDays. */
const LAG_MIN_RETENTION = 7;

/** A vault as rpcopy compares it: its description, tags, access policy and notifications. */
export interface VaultState {
  detail: VaultDetail;
  lock: LockSettings;
  tags: Record<string, string>;
  policy: string | null;
  notifications: VaultNotifications | null;
}

/** Read one vault in full; undefined when it does not exist. */
export async function readVault(
  port: AwsPort,
  account: Account,
  name: string,
  signal?: AbortSignal,
  options: CallOptions = {},
): Promise<VaultState | undefined> {
  let detail: VaultDetail;
  try {
    detail = await port.call(account, 'describeVault', { name }, signal, options);
  } catch (err) {
    if (err instanceof AwsCallError && err.failure.kind === 'not_found') return undefined;
    throw err;
  }
  const [tags, policy, notifications] = await Promise.all([
    port.call(account, 'listTags', { arn: detail.arn }, signal, options),
    port.call(account, 'getVaultAccessPolicy', { name }, signal, options),
    port.call(account, 'getVaultNotifications', { name }, signal, options),
  ]);
  return {
    detail,
    lock: lockOf(detail),
    tags: tags.tags,
    policy: policy.policy,
    notifications: notifications.notifications,
  };
}

/** The organization of an account, or null when it cannot be read (no organization, or not allowed). */
export async function organizationOf(
  port: AwsPort,
  account: Account,
  signal?: AbortSignal,
  options: CallOptions = {},
): Promise<string | null> {
  try {
    return (await port.call(account, 'describeOrganization', {}, signal, options)).id || null;
  } catch (err) {
    if (err instanceof AwsCallError) return null;
    throw err;
  }
}

/** One destination vault being brought up to its source: what each step reads and adds to. */
interface VaultStep {
  target: VaultTarget;
  source: VaultState;
  outcome: VaultOutcome;
  signal: AbortSignal;
}

export interface VaultsOptions {
  store: Store;
  port: AwsPort;
  config: Config;
  journal: EventJournal;
  log: Logger;
  now?: () => number;
}

export class VaultsPhase implements PipelinePhase {
  readonly name = 'vaults' as const;
  private readonly now: () => number;

  constructor(private readonly options: VaultsOptions) {
    this.now = options.now ?? Date.now;
  }

  async run(context: PhaseContext): Promise<'done' | 'stopped'> {
    const { store, config, journal, port } = this.options;
    const targets = vaultTargets(store, config);
    if (targets.length === 0) return 'done';
    journal.record('info', 'vaults.started', 'replicating destination vaults', {
      vaults: targets.map((t) => `${t.source} → ${t.destination}`),
      confirmComplianceLock: config.vaults.confirmComplianceLock,
    });
    let organizationId: string | null;
    try {
      organizationId = await organizationOf(port, 'source', context.signal);
    } catch (err) {
      if (context.signal.aborted) return 'stopped';
      throw err;
    }
    const counts = { created: 0, existing: 0, proposed: 0, failed: 0, changed: 0, drifted: 0 };
    for (const target of targets) {
      if (context.signal.aborted) return 'stopped';
      let outcome: VaultOutcome;
      try {
        outcome = await context.track(this.replicate(target, organizationId, context.signal));
      } catch (err) {
        if (context.signal.aborted) return 'stopped';
        if (!(err instanceof AwsCallError) && !(err instanceof VaultError)) throw err;
        outcome = {
          source: target.source,
          destination: target.destination,
          state: 'failed',
          createdByRpcopy: false,
          arn: null,
          vaultType: 'BACKUP_VAULT',
          lock: null,
          actions: [],
          drift: [],
          notes: [],
          error:
            err instanceof AwsCallError
              ? `${err.operation} (${err.account}): ${err.failure.name}: ${err.failure.message}`
              : err.message,
        };
      }
      recordOutcome(store, outcome, this.now());
      counts[outcome.state] += 1;
      if (outcome.actions.length > 0) counts.changed += 1;
      if (outcome.drift.length > 0) counts.drifted += 1;
      journal.record(
        outcome.state === 'failed' ? 'error' : outcome.drift.length > 0 ? 'warn' : 'info',
        'vaults.vault',
        outcome.state === 'failed'
          ? `destination vault ${outcome.destination} could not be replicated: ${outcome.error}`
          : `destination vault ${outcome.destination}: ${outcome.state}` +
              (outcome.actions.length > 0 ? `; ${outcome.actions.join('; ')}` : '; unchanged') +
              (outcome.drift.length > 0 ? `; drift: ${outcome.drift.join('; ')}` : ''),
        {
          source: outcome.source,
          destination: outcome.destination,
          state: outcome.state,
          actions: outcome.actions,
          drift: outcome.drift,
          notes: outcome.notes,
          ...(outcome.pendingCompliance ? { pendingCompliance: outcome.pendingCompliance } : {}),
        },
      );
    }
    // The plan decided with what it knew before this phase looked: settle the points of vaults whose verdict is
    // known now (an air-gapped destination the operator made by hand, one that needs consent after all).
    const settled = settleVaultConsent(store, config);
    const waiting = consentWaiting(store);
    if (settled.skipped + settled.queued > 0 || waiting.points > 0) {
      journal.record(
        waiting.points > 0 ? 'warn' : 'info',
        'vaults.consent_needed',
        waiting.points > 0
          ? `${waiting.points} points of ${waiting.vaults.join(', ')} are skipped as vault_needs_consent: ${CONSENT_FIX}`
          : 'every destination vault that needed consent is usable now',
        { ...settled, waiting: waiting.points, vaults: waiting.vaults },
      );
    }
    journal.record('info', 'vaults.done', 'destination vaults replicated', counts);
    return 'done';
  }

  /** Bring one destination vault up to its source. Throws AwsCallError when AWS refuses a step. */
  private async replicate(target: VaultTarget, organizationId: string | null, signal: AbortSignal) {
    const { port, store } = this.options;
    const source = await readVault(port, 'source', target.source, signal);
    if (!source) throw new VaultError(`source vault ${target.source} no longer exists`);
    recordSourceSettings(store, target.source, {
      tags: source.tags,
      policy: source.policy,
      notifications: source.notifications,
    });

    const outcome: VaultOutcome = {
      source: target.source,
      destination: target.destination,
      state: 'existing',
      createdByRpcopy: false,
      arn: null,
      vaultType: source.detail.vaultType,
      lock: null,
      actions: [],
      drift: [],
      notes: [],
    };
    const tags = replicableTags(source.tags);
    const reserved = Object.keys(source.tags).filter((k) => !(k in tags));
    if (reserved.length > 0) outcome.notes.push(`tags reserved by AWS are not replicated: ${reserved.join(', ')}`);

    const step = { target, source, outcome, signal };
    const dest = await this.ensureDestination(step, tags);
    if (!dest) return outcome;
    this.compareFixed(step, dest);
    await this.applyLock(step, dest);
    await this.applyTags(step, dest, tags);
    await this.applyPolicy(step, dest, organizationId);
    await this.applyNotifications(step, dest);
    await this.checkAdmission(step, dest, organizationId);
    return outcome;
  }

  /**
   * The destination vault, created when missing and read back; undefined when it is an air-gapped vault that
   * needs the operator's consent (the outcome then shows what would be made).
   */
  private async ensureDestination(step: VaultStep, tags: Record<string, string>): Promise<VaultState | undefined> {
    const { port, config } = this.options;
    const { target, source, outcome, signal } = step;
    const crid = creatorRequestId(config.destination.accountId, config.region, target.destination);
    let dest = await readVault(port, 'destination', target.destination, signal);
    if (!dest) {
      const consent = consentNeeded(
        { name: target.source, vaultType: source.detail.vaultType },
        false,
        config.vaults.confirmComplianceLock,
      );
      if (consent) {
        // An air-gapped vault is compliance-locked from its creation: show what would be made, make nothing.
        outcome.state = 'proposed';
        outcome.pendingCompliance = {
          minRetentionDays: Math.max(LAG_MIN_RETENTION, source.lock.minRetentionDays ?? LAG_MIN_RETENTION),
          maxRetentionDays: source.lock.maxRetentionDays,
          changeableForDays: changeableForDays(source.lock, this.now()),
        };
        outcome.drift.push(
          `not created: the source is a logically air-gapped vault, always compliance-locked ` +
            `(${describeLock(source.lock)}); confirm with vaults.confirm_compliance_lock = true`,
        );
        outcome.notes.push(consent.detail);
        return undefined;
      }
      const created = await this.create(target.destination, source, tags, crid, signal);
      if (created) outcome.actions.push(created);
      dest = await readVault(port, 'destination', target.destination, signal);
      if (!dest) throw new VaultError(`destination vault ${target.destination} was created but cannot be described`);
    }
    outcome.arn = dest.detail.arn;
    outcome.vaultType = dest.detail.vaultType;
    // Ours if it carries our CreatorRequestId (made by this run or an earlier one), else it was there before.
    outcome.createdByRpcopy = dest.detail.creatorRequestId === crid;
    outcome.state = outcome.createdByRpcopy ? 'created' : 'existing';
    return dest;
  }

  /** What a vault cannot change after its creation: its type and its key; a difference is drift. */
  private compareFixed({ source, outcome }: VaultStep, dest: VaultState): void {
    const { config } = this.options;
    if ((source.detail.vaultType === LAG) !== (dest.detail.vaultType === LAG)) {
      outcome.drift.push(
        `the destination is a ${dest.detail.vaultType}, the source a ${source.detail.vaultType}: ` +
          'a vault cannot be converted; rename or map it in destination.vault_names',
      );
    }
    if (dest.detail.encryptionKeyArn !== config.destination.encryptionKeyArn) {
      outcome.drift.push(
        `encrypted with ${dest.detail.encryptionKeyArn ?? 'an AWS-owned key'}, not destination.encryption_key_arn ` +
          '(a vault key cannot be changed)',
      );
    }
  }

  /** The lock: only ever made stricter (lock.ts). */
  private async applyLock({ target, source, outcome, signal }: VaultStep, dest: VaultState): Promise<void> {
    const { port, config } = this.options;
    const lockPlan = planLock(source.lock, dest.lock, {
      confirmCompliance: config.vaults.confirmComplianceLock,
      now: this.now(),
    });
    outcome.drift.push(...lockPlan.drift);
    outcome.notes.push(...lockPlan.notes);
    if (lockPlan.pendingCompliance) outcome.pendingCompliance = lockPlan.pendingCompliance;
    if (lockPlan.put && dest.detail.vaultType !== LAG) {
      await port.call('destination', 'putVaultLock', { name: target.destination, ...lockPlan.put }, signal);
      outcome.actions.push(
        `lock ${describeLock(dest.lock)} → ${lockPlan.put.changeableForDays !== undefined ? 'compliance' : 'governance'} ` +
          `min ${lockPlan.put.minRetentionDays ?? '-'} / max ${lockPlan.put.maxRetentionDays ?? '-'} days` +
          (lockPlan.put.changeableForDays !== undefined
            ? `, immutable after ${lockPlan.put.changeableForDays} days`
            : ''),
      );
    }
  }

  /** Tags: add what is missing; report differing values. */
  private async applyTags({ outcome, signal }: VaultStep, dest: VaultState, tags: Record<string, string>) {
    const tagPlan = planTags(tags, dest.tags);
    if (Object.keys(tagPlan.add).length > 0) {
      await this.options.port.call('destination', 'tagResource', { arn: dest.detail.arn, tags: tagPlan.add }, signal);
      outcome.actions.push(`tagged ${Object.keys(tagPlan.add).join(', ')}`);
    }
    for (const key of tagPlan.differing) {
      outcome.drift.push(`tag ${key} is ${JSON.stringify(dest.tags[key])}, the source's ${JSON.stringify(tags[key])}`);
    }
  }

  /** Access policy: merged, never replaced. */
  private async applyPolicy(step: VaultStep, dest: VaultState, organizationId: string | null): Promise<void> {
    const { port, config } = this.options;
    const { target, source, outcome, signal } = step;
    const sourceAccount = config.source.accountId;
    try {
      const merge = mergePolicy(parsePolicy(dest.policy), {
        sourceAccount,
        organizationId,
        mirror: mirroredDenies(parsePolicy(source.policy), sourceAccount, config.destination.accountId),
      });
      if (merge.policy) {
        await port.call(
          'destination',
          'putVaultAccessPolicy',
          { name: target.destination, policy: JSON.stringify(merge.policy) },
          signal,
        );
        outcome.actions.push(`access policy: added ${merge.added.join(', ')}`);
      }
      outcome.drift.push(...merge.conflicts);
    } catch (err) {
      if (!(err instanceof PolicyParseError)) throw err;
      outcome.drift.push(`access policy left unchanged: ${err.message}`);
    }
  }

  /** Notifications: events only added. */
  private async applyNotifications({ target, source, outcome, signal }: VaultStep, dest: VaultState): Promise<void> {
    const { port, config } = this.options;
    const notificationPlan = planNotifications(source.notifications, dest.notifications, config.destination.accountId);
    if (notificationPlan.put) {
      await port.call(
        'destination',
        'putVaultNotifications',
        { name: target.destination, ...notificationPlan.put },
        signal,
      );
      outcome.actions.push(
        `notifications to ${notificationPlan.put.topicArn}: ${notificationPlan.put.events.join(', ')}`,
      );
    }
    outcome.drift.push(...notificationPlan.drift);
  }

  /** Read back what AWS now holds: the record and the plan's lock limits come from it, not from intent. */
  private async checkAdmission(step: VaultStep, dest: VaultState, organizationId: string | null): Promise<void> {
    const { port, config } = this.options;
    const { target, outcome, signal } = step;
    const sourceAccount = config.source.accountId;
    const after = outcome.actions.length > 0 ? await readVault(port, 'destination', target.destination, signal) : dest;
    if (!after) throw new VaultError(`destination vault ${target.destination} disappeared while being configured`);
    outcome.lock = after.lock;
    const admitted = admission(safeParse(after.policy), sourceAccount, organizationId);
    if (!admitted.admitted) {
      outcome.drift.push(
        `the access policy does not admit the source account ${sourceAccount} to backup:CopyIntoBackupVault` +
          (admitted.deniedBy.length > 0 ? ` (denied by ${admitted.deniedBy.join(', ')})` : ''),
      );
    }
  }

  private async create(
    name: string,
    source: VaultState,
    tags: Record<string, string>,
    crid: string,
    signal: AbortSignal,
  ): Promise<string | undefined> {
    const { port, config } = this.options;
    try {
      if (source.detail.vaultType === LAG) {
        const min = Math.max(LAG_MIN_RETENTION, source.lock.minRetentionDays ?? LAG_MIN_RETENTION);
        const max = source.lock.maxRetentionDays ?? 36_500;
        await port.call(
          'destination',
          'createLogicallyAirGappedBackupVault',
          {
            name,
            tags,
            encryptionKeyArn: config.destination.encryptionKeyArn,
            creatorRequestId: crid,
            minRetentionDays: min,
            maxRetentionDays: max,
          },
          signal,
        );
        return `created logically air-gapped vault (compliance lock min ${min} / max ${max} days)`;
      }
      await port.call(
        'destination',
        'createBackupVault',
        { name, tags, encryptionKeyArn: config.destination.encryptionKeyArn, creatorRequestId: crid },
        signal,
      );
      return `created vault with key ${config.destination.encryptionKeyArn}`;
    } catch (err) {
      // Someone (or a lost answer to our own create) made it in between: the read-back decides whose it is.
      if (err instanceof AwsCallError && err.failure.name === 'AlreadyExistsException') return undefined;
      throw err;
    }
  }
}

/** A vault that cannot be replicated for a reason other than an AWS error. */
class VaultError extends Error {}

function safeParse(policy: string | null) {
  try {
    return parsePolicy(policy);
  } catch {
    return null;
  }
}
