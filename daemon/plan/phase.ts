// Plan: one decision for every inventoried recovery point — copy (into which
// destination vault) or skip with exactly one named reason (reasons.ts).
//
// Guarantees:
// - Deterministic: the same inventory, CSV, config and moment give the same
//   plan (expiry within copy.expiry_margin and cold storage are judged at the
//   start of run()).
// - Every run re-decides, with every reason, each item in discovered, skipped
//   or queued: the inventory's refreshes (inventory/refresh.ts) bring the
//   source's changes, so a queued point now gone, DELETING, EXPIRED, cold or
//   expiring is skipped, and a skipped one whose reason lapsed is queued.
//   Submitting, submitted, completed, verified and failed items belong to the
//   copy engine and keep their state, and so does an item the copy engine
//   skipped as already_copied: its copy exists whatever the source does now.
// - Sliced: the plan is written in id ranges sized to about PLAN_SLICE.budgetMs
//   of work each (store/slice-sizer.ts), with a yield between them, so the
//   control API answers while a million points are planned. A crash
//   mid-plan leaves some items decided and the rest undecided; the next run
//   plans them all again (idempotent upsert).
// - Ahead of time (start): while the inventory lists, the points already
//   stored are decided in id ranges right behind it, once the metadata CSV is
//   loaded. These are drafts: run() still decides every point from scratch
//   with the final inputs (the whole inventory, the KMS keys, the vaults'
//   locks, its own moment), and its upsert writes only the items whose
//   decision differs, so the plan after run() is the one a run without drafts
//   gives, and a crash at any moment leaves items that the next run() decides
//   again. planned_at is when an item's current decision was first made.
// The decision is computed in SQL over temporary lookup tables (allowed APMIDs,
// the enrich module's resolved APMID per resource, vault mapping): one pass, no per-row JS.
// copy/repo.ts records the decisions in copy_items, and the consent settlement's requeues and skips.

import { readFileSync } from 'node:fs';
import { setTimeout as sleep, setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Config } from '../../shared/config.js';
import { planDecisionRecorder, queueConsentedPoints, skipPointsAwaitingConsent } from '../copy/repo.js';
import { currentSource } from '../enrich/repo.js';
import { materializeResolvedApmids, RESOLVED_APMIDS_TABLE } from '../enrich/resolution.js';
import type { EventJournal } from '../events.js';
import type { Logger } from '../log.js';
import type { PhaseContext, PipelinePhase } from '../pipeline.js';
import { planTotals } from '../read-model.js';
import { SliceSizer } from '../store/slice-sizer.js';
import type { Store } from '../store/store.js';
import { consentNeeded } from '../vaults/consent.js';
import { CROSS_ACCOUNT_TYPES, type SkipReason, SOURCE_KEY_TYPES } from './reasons.js';
import { destinationVaultName } from './vault-names.js';

// How long one plan transaction may hold the main thread, and so `rpctl status`: the id ranges are sized to it.
// At 1,000,000 points, fixed ranges of 2,000 held it for 55 ms each when quiet and up to 467 ms while the
// inventory competed for the core (bench/results/inventory.md). A range is at least `min` ids, so the cost of a
// statement and a turn of the loop stays small beside the work.
const PLAN_SLICE = { budgetMs: 10, min: 100, max: 2_000 };
// How often the drafts look for points the inventory stored since their last round.
const DRAFT_POLL_MS = 250;
const DAY_MS = 86_400_000;

export interface PlanOptions {
  store: Store;
  config: Config;
  journal: EventJournal;
  log: Logger;
  now?: () => number;
}

/** The allowed APMIDs from config: the list, or the file (one per line, # comments and blank lines ignored). */
function allowedApmids(config: Config): string[] {
  if (config.filter.allowedApmids) return config.filter.allowedApmids;
  const file = config.filter.allowedApmidsFile;
  if (!file) return [];
  return readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .map((line) => line.replace(/#.*/, '').trim())
    .filter(Boolean);
}

interface LookupVaultRow {
  name: string;
  selected: number;
  minRetentionDays: number | null;
  maxRetentionDays: number | null;
  vaultType: string;
  destinationExists: number | null;
}

const sqlList = (values: readonly string[]) => values.map((v) => `'${v.replace(/'/g, "''")}'`).join(', ');

export class PlanPhase implements PipelinePhase {
  readonly name = 'plan' as const;
  private readonly now: () => number;
  /** The drafts started with this pass of the pipeline; run() stops them before it decides. */
  private drafts: { stop: AbortController; done: Promise<void> } | undefined;
  /** The metadata load the resolved-APMID temp table holds completely; undefined when it holds none whole. */
  private resolvedSource: number | null | undefined;

  constructor(private readonly options: PlanOptions) {
    this.now = options.now ?? Date.now;
  }

  start(context: PhaseContext): void {
    this.drafts?.stop.abort();
    const stop = new AbortController();
    const signal = AbortSignal.any([context.signal, stop.signal]);
    // A failed draft costs only time: run() decides every point anyway.
    const done = context.track(this.draft(signal)).catch((err: unknown) => {
      this.options.log.warn('deciding points ahead of the plan failed; the plan decides them all', {
        error: err instanceof Error ? err.message : String(err),
      });
    });
    this.drafts = { stop, done };
  }

  async run(context: PhaseContext): Promise<'done' | 'stopped'> {
    const { store, journal } = this.options;
    const { sqlite } = store;
    const drafts = this.drafts;
    this.drafts = undefined;
    if (drafts) {
      drafts.stop.abort();
      await drafts.done;
    }
    const started = this.now();
    if ((await this.resolve(context.signal)) === 'stopped') return 'stopped';
    this.prepareLookups();
    const maxId = sqlite.prepare<[], number>('SELECT coalesce(max(id), 0) FROM recovery_points').pluck().get() ?? 0;
    const decide = planDecisionRecorder(store, this.decisionSql());
    const parameters = {
      now: started,
      expiryHorizon: started + this.options.config.copy.expiryMarginMs,
    };
    const slices = new SliceSizer(PLAN_SLICE);
    for (const range of slices.ranges(1, maxId)) {
      if (context.signal.aborted) return 'stopped';
      slices.measure(range, () => decide({ ...parameters, ...range }));
      await yieldToEventLoop();
    }
    const summary = planTotals(store);
    journal.record('info', 'plan.done', 'plan written', {
      points: summary.points,
      toCopy: summary.toCopy,
      skipped: summary.skipped,
      ms: this.now() - started,
    });
    return 'done';
  }

  /** The enrich module's resolved APMID per resource, for the current load: kept from the drafts if still current. */
  private async resolve(signal: AbortSignal): Promise<'done' | 'stopped'> {
    const { store } = this.options;
    if (this.resolvedSource !== undefined && this.resolvedSource === (currentSource(store)?.id ?? null)) return 'done';
    this.resolvedSource = undefined;
    // Serialized with the metadata loads: this waits for the load under way, so it never reads a partial one.
    const resolved = await materializeResolvedApmids(store, { signal });
    if (resolved.outcome === 'stopped') return 'stopped';
    this.resolvedSource = resolved.sourceId;
    return 'done';
  }

  /**
   * Drafts: the points stored so far, in id ranges right behind the inventory, decided like run() does, until
   * `signal` aborts or no vault is left to list. Each range is decided once; run() corrects what the rest of the
   * inventory changes. They only use the time the listing waits on AWS: once it is over they would just compete
   * with the enrich phase for the main thread, and run() decides what they left.
   */
  private async draft(signal: AbortSignal): Promise<void> {
    const { store, config } = this.options;
    const { sqlite } = store;
    if ((await this.resolve(signal)) === 'stopped') return;
    const lastId = sqlite.prepare<[], number>('SELECT coalesce(max(id), 0) FROM recovery_points').pluck();
    const listing = sqlite
      .prepare(`SELECT EXISTS (SELECT 1 FROM source_vaults WHERE selected = 1 AND inventory_state != 'done')`)
      .pluck();
    let decide: ReturnType<typeof planDecisionRecorder> | undefined;
    let decidedTo = 0;
    const slices = new SliceSizer(PLAN_SLICE);
    // The vaults to list are marked when the inventory begins, which may come after the CSV load.
    let listed = false;
    while (!signal.aborted) {
      const listingNow = listing.get() === 1;
      if (listed && !listingNow) return;
      listed ||= listingNow;
      const maxId = lastId.get() ?? 0;
      if (listingNow && maxId > decidedTo) {
        // The vaults' lock details and consent arrive while the inventory lists: the lookups are rebuilt per round.
        this.prepareLookups();
        decide ??= planDecisionRecorder(store, this.decisionSql());
        const decideRange = decide;
        const at = this.now();
        const parameters = { now: at, expiryHorizon: at + config.copy.expiryMarginMs };
        for (const range of slices.ranges(decidedTo + 1, maxId)) {
          if (signal.aborted || listing.get() !== 1) return;
          slices.measure(range, () => decideRange({ ...parameters, ...range }));
          decidedTo = range.to;
          await yieldToEventLoop();
        }
      }
      await sleep(DRAFT_POLL_MS, undefined, { signal }).catch(() => undefined);
    }
  }

  /** Small temporary tables the decision joins against; rebuilt at every plan. */
  private prepareLookups(): void {
    const { store, config } = this.options;
    const { sqlite } = store;
    store.write(() => {
      sqlite.exec(`
        DROP TABLE IF EXISTS temp.plan_allowed;
        DROP TABLE IF EXISTS temp.plan_vaults;
        CREATE TEMP TABLE plan_allowed (apmid TEXT PRIMARY KEY) WITHOUT ROWID;
        CREATE TEMP TABLE plan_vaults (source_name TEXT PRIMARY KEY, destination_name TEXT, selected INTEGER,
          min_retention_days INTEGER, max_retention_days INTEGER, needs_consent INTEGER) WITHOUT ROWID;
      `);
      const allow = sqlite.prepare('INSERT OR IGNORE INTO plan_allowed (apmid) VALUES (?)');
      for (const apmid of allowedApmids(config)) allow.run(apmid);
      const vaults = sqlite
        .prepare<[], LookupVaultRow>(
          `SELECT v.name, v.selected, coalesce(d.min_retention_days, v.min_retention_days) AS minRetentionDays,
             coalesce(d.max_retention_days, v.max_retention_days) AS maxRetentionDays, v.vault_type AS vaultType,
             (d.arn IS NOT NULL AND d.state IN ('created', 'existing')) AS destinationExists
           FROM source_vaults v LEFT JOIN destination_vaults d ON d.source_vault_name = v.name`,
        )
        .all();
      const addVault = sqlite.prepare('INSERT INTO plan_vaults VALUES (?, ?, ?, ?, ?, ?)');
      for (const v of vaults) {
        addVault.run(
          v.name,
          destinationVaultName(v.name, config.destination.vaultNames) ?? null,
          v.selected,
          v.minRetentionDays,
          v.maxRetentionDays,
          consentNeeded(v, v.destinationExists === 1, config.vaults.confirmComplianceLock) ? 1 : 0,
        );
      }
    });
  }

  private decisionSql(): string {
    const reason = (name: SkipReason) => `'${name}'`;
    // Retention of the copy in days: the source's DeleteAfterDays, else what its calculated delete date implies.
    const retentionDays = `coalesce(p.lifecycle_delete_after_days,
      CASE WHEN p.delete_at IS NOT NULL THEN (p.delete_at - p.creation_date) / ${DAY_MS} END)`;
    return `
        SELECT p.id, p.resource_arn, p.creation_date, p.lifecycle_delete_after_days, p.lifecycle_cold_after_days,
          a.apmid, v.destination_name,
          CASE
            WHEN p.gone_at IS NOT NULL THEN ${reason('point_gone')}
            WHEN v.selected IS NOT 1 THEN ${reason('vault_not_selected')}
            WHEN v.destination_name IS NULL THEN ${reason('vault_needs_mapping')}
            WHEN a.resource_arn IS NULL THEN ${reason('apmid_missing')}
            WHEN a.reason = 'conflict' THEN ${reason('apmid_conflict')}
            WHEN a.reason = 'empty' THEN ${reason('apmid_empty')}
            WHEN a.apmid NOT IN (SELECT apmid FROM plan_allowed) THEN ${reason('apmid_not_allowed')}
            WHEN p.status NOT IN ('COMPLETED', 'AVAILABLE') THEN ${reason('status_not_completed')}
            WHEN p.is_continuous THEN ${reason('continuous_backup')}
            WHEN p.resource_type NOT IN (${sqlList(CROSS_ACCOUNT_TYPES)})
              OR (p.resource_type = 'DynamoDB' AND p.arn LIKE 'arn:%:dynamodb:%') THEN ${reason('resource_type_not_supported')}
            WHEN p.parent_arn IS NOT NULL
              AND EXISTS (SELECT 1 FROM recovery_points parent WHERE parent.arn = p.parent_arn)
              THEN ${reason('composite_member')}
            WHEN p.storage_class IN ('COLD', 'DELETED')
              OR (p.move_to_cold_at IS NOT NULL AND p.move_to_cold_at <= @now) THEN ${reason('cold_storage')}
            WHEN p.resource_type IN (${sqlList(SOURCE_KEY_TYPES)})
              AND (SELECT manager FROM kms_keys k WHERE k.arn = p.encryption_key_arn) = 'AWS'
              THEN ${reason('aws_managed_key')}
            WHEN (v.min_retention_days IS NOT NULL AND ${retentionDays} < v.min_retention_days)
              OR (v.max_retention_days IS NOT NULL AND coalesce(${retentionDays}, 1e18) > v.max_retention_days)
              THEN ${reason('lifecycle_outside_lock')}
            WHEN p.delete_at IS NOT NULL AND p.delete_at < @expiryHorizon THEN ${reason('expiring_before_copy')}
            WHEN v.needs_consent = 1 THEN ${reason('vault_needs_consent')}
          END AS reason
        FROM recovery_points p
        LEFT JOIN plan_vaults v ON v.source_name = p.vault_name
        LEFT JOIN ${RESOLVED_APMIDS_TABLE} a ON a.resource_arn = p.resource_arn
        WHERE p.id BETWEEN @from AND @to`;
  }
}

/**
 * After the vaults phase: the points of a vault whose consent verdict changed since the plan (consent.ts) are
 * decided again, each in one statement. Skipped `vault_needs_consent` points whose destination vault now exists
 * (made by the operator) are queued; queued points whose air-gapped destination was not created for want of
 * consent are skipped with that reason instead of failing in the copy phase.
 */
export function settleVaultConsent(
  store: Store,
  config: Config,
  now = Date.now(),
): { queued: number; skipped: number } {
  const queued = queueConsentedPoints(store, now);
  const waiting = store.sqlite
    .prepare<[], { name: string; vaultType: string }>(
      `SELECT v.name, v.vault_type AS vaultType FROM source_vaults v
         JOIN destination_vaults d ON d.source_vault_name = v.name WHERE d.state = 'proposed'`,
    )
    .all()
    .filter((v) => consentNeeded(v, false, config.vaults.confirmComplianceLock));
  const skipped = skipPointsAwaitingConsent(
    store,
    waiting.map((v) => v.name),
    now,
  );
  return { queued, skipped };
}

/** Points skipped for want of consent to their destination vault, and those vaults (one pass over them). */
export function consentWaiting(store: Store): { points: number; vaults: string[] } {
  const rows = store.sqlite
    .prepare<[], { vault: string; n: number }>(
      `SELECT p.vault_name AS vault, count(*) AS n FROM copy_items i INDEXED BY copy_items_skip_idx
       JOIN recovery_points p ON p.id = i.point_id WHERE i.skip_reason = 'vault_needs_consent'
       GROUP BY p.vault_name ORDER BY p.vault_name`,
    )
    .all();
  return { points: rows.reduce((sum, r) => sum + r.n, 0), vaults: rows.map((r) => r.vault) };
}

export interface PlanPointRow {
  id: number;
  arn: string;
  vault: string;
  resourceArn: string;
  resourceType: string;
  apmid: string | null;
  state: string;
  reason: string | null;
  destinationVault: string | null;
}

/**
 * One page of planned points, by id, optionally of one reason (`copy` for the
 * points to copy). Keyset pagination keeps every page cheap at any depth.
 */
export function planPoints(
  store: Store,
  filter: { reason?: string; after?: number; limit: number },
): { points: PlanPointRow[]; next: number | null } {
  const where =
    filter.reason === undefined
      ? ''
      : filter.reason === 'copy'
        ? `AND i.state NOT IN ('skipped', 'discovered')`
        : "AND i.state = 'skipped' AND i.skip_reason = @reason";
  const points = store.sqlite
    .prepare<{ after: number; limit: number; reason?: string }, PlanPointRow>(
      `SELECT p.id, p.arn, p.vault_name AS vault, p.resource_arn AS resourceArn, p.resource_type AS resourceType,
         i.apmid, i.state, i.skip_reason AS reason, i.destination_vault_name AS destinationVault
       FROM copy_items i JOIN recovery_points p ON p.id = i.point_id
       WHERE i.point_id > @after ${where} ORDER BY i.point_id LIMIT @limit`,
    )
    .all({
      after: filter.after ?? 0,
      limit: filter.limit,
      ...(filter.reason && filter.reason !== 'copy' ? { reason: filter.reason } : {}),
    });
  const last = points.at(-1);
  return { points, next: points.length === filter.limit && last ? last.id : null };
}
