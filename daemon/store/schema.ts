// The store's tables, for the whole pipeline. Migrations in drizzle/ are
// generated from this file by drizzle-kit and applied at start-up; never edit
// a generated migration, add a new one.
//
// Source of truth: the recovery_points row says what exists in the source
// account; the copy_items row says what rpcopy decided and where the copy
// stands; copy_attempts is the append-only ledger of every StartCopyJob intent.
// Times are epoch milliseconds (integers) throughout.

import { sql } from 'drizzle-orm';
import { check, index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

const now = sql`(cast(unixepoch('subsec') * 1000 as integer))`;

/** Identity of the store: which job it belongs to. Checked before anything else is touched. */
export const storeMeta = sqliteTable('store_meta', {
  key: text('key').primaryKey(),
  value: text('value').notNull(),
});

/** One row per daemon start; the event log and attempts refer to it. */
export const runs = sqliteTable('runs', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  startedAt: integer('started_at').notNull().default(now),
  endedAt: integer('ended_at'),
  pid: integer('pid').notNull(),
  version: text('version').notNull(),
  mode: text('mode', { enum: ['service', 'once'] }).notNull(),
  endReason: text('end_reason'),
});

/** Append-only operator-visible history: pauses, resumes, settings changes, phase changes. */
export const events = sqliteTable(
  'events',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    at: integer('at').notNull().default(now),
    runId: integer('run_id').references(() => runs.id),
    level: text('level', { enum: ['debug', 'info', 'warn', 'error'] }).notNull(),
    kind: text('kind').notNull(),
    message: text('message').notNull(),
    data: text('data', { mode: 'json' }),
  },
  (t) => [index('events_kind_at_idx').on(t.kind, t.at)],
);

/**
 * Routine events older than the retention, folded into one row per UTC day, kind and level (daemon/events.ts
 * compactEvents), so the history of a months-long run stays bounded while its counts stay readable.
 */
export const eventRollups = sqliteTable(
  'event_rollups',
  {
    day: text('day').notNull(),
    kind: text('kind').notNull(),
    level: text('level', { enum: ['debug', 'info', 'warn', 'error'] }).notNull(),
    count: integer('count').notNull(),
    firstAt: integer('first_at').notNull(),
    lastAt: integer('last_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.day, t.kind, t.level] })],
);

/** Operator settings changed at run time (rpctl set ...); they outlive restarts. */
export const settings = sqliteTable('settings', {
  key: text('key').primaryKey(),
  value: text('value', { mode: 'json' }).notNull(),
  updatedAt: integer('updated_at').notNull().default(now),
});

/** Source vaults as last described, with the inventory checkpoint of each. */
export const sourceVaults = sqliteTable('source_vaults', {
  name: text('name').primaryKey(),
  arn: text('arn').notNull(),
  vaultType: text('vault_type').notNull().default('BACKUP_VAULT'),
  selected: integer('selected', { mode: 'boolean' }).notNull(),
  encryptionKeyArn: text('encryption_key_arn'),
  locked: integer('locked', { mode: 'boolean' }).notNull().default(false),
  minRetentionDays: integer('min_retention_days'),
  maxRetentionDays: integer('max_retention_days'),
  lockDate: integer('lock_date'),
  tags: text('tags', { mode: 'json' }).$type<Record<string, string>>(),
  accessPolicy: text('access_policy'),
  notifications: text('notifications', { mode: 'json' }).$type<{ topicArn: string; events: string[] }>(),
  pointCountReported: integer('point_count_reported'),
  describedAt: integer('described_at'),
  // Inventory checkpoint: the NextToken to continue from and how many points were stored so far.
  inventoryState: text('inventory_state', { enum: ['pending', 'listing', 'done'] })
    .notNull()
    .default('pending'),
  inventoryNextToken: text('inventory_next_token'),
  inventoryPages: integer('inventory_pages').notNull().default(0),
  inventoryCount: integer('inventory_count').notNull().default(0),
  inventoryStartedAt: integer('inventory_started_at'),
  inventoryCompletedAt: integer('inventory_completed_at'),
  // The listing in progress: a full pass (null) or an incremental one of points created after this time.
  inventoryCreatedAfter: integer('inventory_created_after'),
  // A refresh lists points created after this moment (the start of the last complete listing).
  inventoryHorizon: integer('inventory_horizon'),
  // The start of the last complete full pass: the next one is due a full refresh interval later.
  inventoryFullPassAt: integer('inventory_full_pass_at'),
});

/** Every source recovery point, one row per ARN. Never deleted: a vanished point gets goneAt. */
export const recoveryPoints = sqliteTable(
  'recovery_points',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    arn: text('arn').notNull(),
    vaultName: text('vault_name').notNull(),
    resourceArn: text('resource_arn').notNull(),
    resourceType: text('resource_type').notNull(),
    resourceName: text('resource_name'),
    status: text('status').notNull(),
    statusMessage: text('status_message'),
    creationDate: integer('creation_date').notNull(),
    completionDate: integer('completion_date'),
    sizeBytes: integer('size_bytes'),
    encryptionKeyArn: text('encryption_key_arn'),
    encryptionKeyType: text('encryption_key_type'),
    isEncrypted: integer('is_encrypted', { mode: 'boolean' }),
    parentArn: text('parent_arn'),
    isParent: integer('is_parent', { mode: 'boolean' }).notNull().default(false),
    compositeMemberIdentifier: text('composite_member_identifier'),
    lifecycleColdAfterDays: integer('lifecycle_cold_after_days'),
    lifecycleDeleteAfterDays: integer('lifecycle_delete_after_days'),
    moveToColdAt: integer('move_to_cold_at'),
    deleteAt: integer('delete_at'),
    vaultType: text('vault_type'),
    storageClass: text('storage_class'),
    isContinuous: integer('is_continuous', { mode: 'boolean' }).notNull().default(false),
    firstSeenAt: integer('first_seen_at').notNull().default(now),
    lastSeenAt: integer('last_seen_at').notNull().default(now),
    goneAt: integer('gone_at'),
  },
  (t) => [
    uniqueIndex('recovery_points_arn_idx').on(t.arn),
    // (vault, last seen): a vault's full pass marks the points it did not see again as gone by walking only
    // those (last_seen_at below the pass's start), not the whole vault, which held status up.
    index('recovery_points_vault_seen_idx').on(t.vaultName, t.lastSeenAt),
    // Deliberately no index on resource_arn: random text keys are costly to write at a million points
    // (bench/results/design-notes.md). Lookups by resource use copy_items' chain index or a temp table.
  ],
);

/** KMS keys seen on points: asked once per key whether AWS or the customer manages it. */
export const kmsKeys = sqliteTable('kms_keys', {
  arn: text('arn').primaryKey(),
  manager: text('manager', { enum: ['AWS', 'CUSTOMER', 'UNKNOWN'] }).notNull(),
  alias: text('alias'),
  checkedAt: integer('checked_at').notNull().default(now),
});

/**
 * One load of the metadata CSV. The current load is the `complete` row with the
 * highest id; readers see only its rows and problems. A `loading` row is a load
 * in progress, or one a stop or a crash abandoned: nothing reads it and the next
 * load deletes it with its rows. An older `complete` row is a superseded load
 * whose rows are being deleted. The fingerprint (sha256, size, mtime_ms and the
 * two column names) describes the bytes the load read; it decides whether a
 * changed file needs reloading and is known in full once the load completes.
 */
export const metadataSources = sqliteTable(
  'metadata_sources',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    path: text('path').notNull(),
    state: text('state', { enum: ['loading', 'complete'] }).notNull(),
    sha256: text('sha256'),
    size: integer('size'),
    mtimeMs: integer('mtime_ms'),
    keyColumn: text('key_column').notNull(),
    apmidColumn: text('apmid_column').notNull(),
    rows: integer('rows').notNull().default(0),
    loadedAt: integer('loaded_at').notNull().default(now),
  },
  (t) => [
    check(
      'metadata_sources_state_check',
      sql`${t.state} = 'loading' OR (${t.state} = 'complete' AND ${t.sha256} IS NOT NULL AND ${t.size} IS NOT NULL AND ${t.mtimeMs} IS NOT NULL)`,
    ),
  ],
);

/** The CSV rows of each load, keyed by (load, resource ARN); extra columns ride along as JSON. */
export const metadataRows = sqliteTable(
  'metadata_rows',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    sourceId: integer('source_id')
      .notNull()
      .references(() => metadataSources.id),
    line: integer('line').notNull(),
    resourceArn: text('resource_arn').notNull(),
    apmid: text('apmid').notNull(),
    extra: text('extra', { mode: 'json' }).$type<Record<string, string>>(),
  },
  (t) => [index('metadata_rows_source_resource_idx').on(t.sourceId, t.resourceArn)],
);

/** Problems found while enriching, per load: malformed rows, conflicts, rows and points that match nothing. */
export const metadataProblems = sqliteTable(
  'metadata_problems',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    sourceId: integer('source_id')
      .notNull()
      .references(() => metadataSources.id),
    kind: text('kind', {
      enum: [
        'malformed_row',
        'conflicting_apmid',
        'duplicate_row',
        'unmatched_row',
        'point_without_row',
        'empty_apmid',
      ],
    }).notNull(),
    line: integer('line'),
    resourceArn: text('resource_arn'),
    detail: text('detail').notNull(),
  },
  (t) => [index('metadata_problems_source_kind_idx').on(t.sourceId, t.kind)],
);

/** Destination vaults rpcopy maps to, created or found, with what it applied. */
export const destinationVaults = sqliteTable('destination_vaults', {
  sourceVaultName: text('source_vault_name').primaryKey(),
  name: text('name').notNull(),
  arn: text('arn'),
  vaultType: text('vault_type').notNull().default('BACKUP_VAULT'),
  state: text('state', { enum: ['proposed', 'confirmed', 'created', 'existing', 'failed'] }).notNull(),
  createdByRpcopy: integer('created_by_rpcopy', { mode: 'boolean' }).notNull().default(false),
  minRetentionDays: integer('min_retention_days'),
  maxRetentionDays: integer('max_retention_days'),
  lockDate: integer('lock_date'),
  lastCheckedAt: integer('last_checked_at'),
  detail: text('detail'),
});

export const ITEM_STATES = [
  'discovered',
  'skipped',
  'queued',
  'submitting',
  'submitted',
  'completed',
  'verified',
  'failed',
] as const;
export type ItemState = (typeof ITEM_STATES)[number];

/**
 * The plan's decision and the copy's progress for one recovery point.
 * discovered → skipped(reason) | queued → submitting → submitted(copyJobId) → completed → verified;
 * failed(transient, nextAttemptAt) → queued; failed(permanent, reason).
 * An item in `submitting` has an unknown outcome and is settled by reconciliation, never resubmitted blindly.
 */
export const copyItems = sqliteTable(
  'copy_items',
  {
    pointId: integer('point_id')
      .primaryKey()
      .references(() => recoveryPoints.id),
    state: text('state', { enum: ITEM_STATES }).notNull().default('discovered'),
    skipReason: text('skip_reason'),
    apmid: text('apmid'),
    destinationVaultName: text('destination_vault_name'),
    lifecycleDeleteAfterDays: integer('lifecycle_delete_after_days'),
    lifecycleColdAfterDays: integer('lifecycle_cold_after_days'),
    // The resource chain: a resource's points are copied one at a time, oldest first.
    resourceArn: text('resource_arn').notNull(),
    creationDate: integer('creation_date').notNull(),
    attempt: integer('attempt').notNull().default(0),
    /** Attempts before the operator's last `rpctl retry`: each retry gets a fresh budget and fresh tokens. */
    attemptBase: integer('attempt_base').notNull().default(0),
    idempotencyToken: text('idempotency_token'),
    copyJobId: text('copy_job_id'),
    jobState: text('job_state'),
    destinationPointArn: text('destination_point_arn'),
    leaseOwner: text('lease_owner'),
    leaseExpiresAt: integer('lease_expires_at'),
    nextAttemptAt: integer('next_attempt_at'),
    failureKind: text('failure_kind', { enum: ['transient', 'permanent'] }),
    /** The failure's class (daemon/copy/failures.ts), what `rpctl retry --reason` selects. */
    failureReason: text('failure_reason'),
    errorCode: text('error_code'),
    errorMessage: text('error_message'),
    plannedAt: integer('planned_at'),
    submittedAt: integer('submitted_at'),
    completedAt: integer('completed_at'),
    verifiedAt: integer('verified_at'),
    updatedAt: integer('updated_at').notNull().default(now),
    /** The (source vault, resource type, key) combination, gated by its canary copy (copy_combos). */
    comboId: integer('combo_id'),
    /**
     * Estimated seconds of copy work left in this point's resource chain from this point on: the queue starts
     * the heaviest chains first, so the longest chain never ends up alone at the tail of the run.
     */
    chainWeight: integer('chain_weight'),
  },
  (t) => [
    index('copy_items_state_idx').on(t.state, t.nextAttemptAt),
    // The indexes below hold only the rows their queries look for, so that planning a million points (inserts,
    // half of them skipped, none with a job, failure or chain weight yet) maintains as few of them as possible.
    // A partial index is used only when the query implies its WHERE: `state = 'queued'`, `x = ?` or
    // `x IS NOT NULL`, as the queries in daemon/copy/repo.ts, forecast.ts and plan/phase.ts say it.
    // bench/plan.ts compares whole and partial indexes on one store (bench/results/design-notes.md).
    // chain_weight DESC, then the rowid (point_id) ascending, is the claim's exact ORDER BY: SQLite walks the
    // index and stops at LIMIT. In ascending order SQLite would sort every queued row of the top weight per claim.
    index('copy_items_claim_idx').on(t.state, sql`${t.chainWeight} DESC`).where(sql`${t.state} = 'queued'`),
    index('copy_items_combo_idx').on(t.comboId, t.state),
    // rpctl status's failure summary reads only the rows that carry a failure, at any scale.
    index('copy_items_failure_idx').on(t.failureReason, t.state).where(sql`${t.failureReason} IS NOT NULL`),
    // Only the items a chain still waits on: the plan's skipped half of a million points (and every finished
    // item) stays out of an index whose random keys cost a page write each.
    // Queries must carry this WHERE term verbatim for SQLite to use it (daemon/copy/repo.ts).
    index('copy_items_chain_idx')
      .on(t.resourceArn, t.creationDate)
      .where(sql`${t.state} IN ('queued', 'submitting', 'submitted')`),
    index('copy_items_job_idx').on(t.copyJobId).where(sql`${t.copyJobId} IS NOT NULL`),
    index('copy_items_skip_idx').on(t.skipReason).where(sql`${t.skipReason} IS NOT NULL`),
  ],
);

/** Append-only ledger of every StartCopyJob intent and what became of it. */
export const copyAttempts = sqliteTable(
  'copy_attempts',
  {
    pointId: integer('point_id')
      .notNull()
      .references(() => recoveryPoints.id),
    attempt: integer('attempt').notNull(),
    runId: integer('run_id').references(() => runs.id),
    idempotencyToken: text('idempotency_token').notNull(),
    destinationVaultArn: text('destination_vault_arn').notNull(),
    intentAt: integer('intent_at').notNull().default(now),
    copyJobId: text('copy_job_id'),
    outcome: text('outcome', { enum: ['pending', 'started', 'rejected', 'unknown', 'reconciled'] })
      .notNull()
      .default('pending'),
    errorCode: text('error_code'),
    errorMessage: text('error_message'),
  },
  (t) => [primaryKey({ columns: [t.pointId, t.attempt] })],
);

/**
 * The canary gate: one per (source vault, resource type, encryption key). Its first copy runs alone before the
 * bulk of its points, so a KMS, policy or organisation problem fails one job, not thousands.
 * pending → probing (canary submitted) → open (canary copied and verified) | failed (canary failed permanently).
 */
export const copyCombos = sqliteTable(
  'copy_combos',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    sourceVaultName: text('source_vault_name').notNull(),
    resourceType: text('resource_type').notNull(),
    /** '' for unencrypted points, so the unique index treats them as one combination. */
    encryptionKeyArn: text('encryption_key_arn').notNull(),
    state: text('state', { enum: ['pending', 'probing', 'open', 'failed'] })
      .notNull()
      .default('pending'),
    canaryPointId: integer('canary_point_id'),
    detail: text('detail'),
    updatedAt: integer('updated_at').notNull().default(now),
  },
  (t) => [uniqueIndex('copy_combos_key_idx').on(t.sourceVaultName, t.resourceType, t.encryptionKeyArn)],
);

/** The copy engine's durable markers (e.g. the AWS time through which copy jobs are reconciled). */
export const copyCheckpoints = sqliteTable('copy_checkpoints', {
  key: text('key').primaryKey(),
  value: integer('value').notNull(),
});
