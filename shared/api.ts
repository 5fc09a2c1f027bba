// The control API's wire contract: routes and the zod schemas of their
// responses. The daemon builds responses that satisfy these types; rpctl
// parses what it receives with the same schemas, so a drift fails loudly.

import { z } from 'zod';

export const ROUTES = {
  health: '/v1/health',
  status: '/v1/status',
  stop: '/v1/stop',
  resume: '/v1/resume',
  config: '/v1/config',
  reload: '/v1/reload',
  plan: '/v1/plan',
  planPoints: '/v1/plan/points',
  csvProblems: '/v1/plan/csv-problems',
  preflight: '/v1/preflight',
  compliance: '/v1/compliance',
  retry: '/v1/copy/retry',
  reconcile: '/v1/copy/reconcile',
  forecast: '/v1/forecast',
  pause: '/v1/pause',
  settings: '/v1/settings',
  reset: '/v1/reset',
  reportPoints: '/v1/report/points',
  reportSummary: '/v1/report/summary',
  watch: '/v1/watch',
} as const;

const DAEMON_STATES = ['starting', 'running', 'paused', 'waiting_for_window', 'stopping', 'done'] as const;
export const DaemonState = z.enum(DAEMON_STATES);
export type DaemonState = z.infer<typeof DaemonState>;

/** The pipeline phase the daemon is in; `idle` before the first phase starts. */
const PHASES = ['idle', 'inventory', 'enrich', 'plan', 'vaults', 'preflight', 'copy', 'done'] as const;
export const Phase = z.enum(PHASES);
export type Phase = z.infer<typeof Phase>;

export const Counts = z.object({
  discovered: z.number().int().nonnegative(),
  skipped: z.number().int().nonnegative(),
  queued: z.number().int().nonnegative(),
  inFlight: z.number().int().nonnegative(),
  completed: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
});
export type Counts = z.infer<typeof Counts>;

export const InventoryProgress = z.object({
  vaultsSelected: z.number().int(),
  vaultsDone: z.number().int(),
  pages: z.number().int(),
});
export type InventoryProgress = z.infer<typeof InventoryProgress>;

/** One account's credential session as `rpctl status --json` shows it: counters only, never key material. */
export const CredentialStatus = z.object({
  profile: z.string(),
  /** Credential sets loaded so far (1 after the first read); workers rebuild their clients when it changes. */
  generation: z.number().int(),
  /** Generations AWS rejected in a row; at 3 the daemon pauses for the operator. */
  consecutiveFailures: z.number().int(),
  /** Re-reads of the credentials file: one per rejection (however many calls failed), plus one per resume. */
  reloads: z.number().int(),
  exhausted: z.boolean(),
});
export type CredentialStatus = z.infer<typeof CredentialStatus>;

export const StatusResponse = z.object({
  state: DaemonState,
  /** Why the daemon is paused: `credentials`, `preflight`, `metadata_csv`, `operator`. */
  pauseReason: z.string().optional(),
  /** What happened and what the operator should do. */
  pauseDetail: z.string().optional(),
  /** What this daemon run does after the plan: copy, or stop there (--dry-run), or also create vaults (--no-copy). */
  runMode: z.enum(['copy', 'dry_run', 'no_copy']).optional(),
  phase: Phase,
  counts: Counts,
  inventory: InventoryProgress,
  daemon: z.object({
    pid: z.number().int(),
    version: z.string(),
    startedAt: z.string(),
    uptimeMs: z.number(),
    configFile: z.string(),
    stateDir: z.string(),
    runId: z.number().int(),
  }),
  source: z.object({ accountId: z.string(), region: z.string() }),
  destination: z.object({ accountId: z.string() }),
  credentials: z.object({ source: CredentialStatus, destination: CredentialStatus }).optional(),
  /** The change window, when daily windows or a max runtime are configured. */
  window: z
    .object({
      open: z.boolean(),
      closesAt: z.string().nullable(),
      opensAt: z.string().nullable(),
      /** No new copy job starts from this moment (window.drain). */
      drainFrom: z.string().nullable(),
    })
    .optional(),
  /** The copy engine, while the copy phase runs and once the pipeline is done. */
  copy: z.lazy(() => CopyStatus).optional(),
  /** What the operator should know or decide: a metadata CSV that lost rows, points waiting for consent. */
  warnings: z.array(z.string()).optional(),
});
export type StatusResponse = z.infer<typeof StatusResponse>;

export const StopResponse = z.object({ state: DaemonState, message: z.string() });
export type StopResponse = z.infer<typeof StopResponse>;

export const ResumeResponse = z.object({
  state: DaemonState,
  resumed: z.boolean(),
  message: z.string(),
  /**
   * Set when the daemon was paused for credentials: true when STS accepted both accounts' tokens (and work
   * restarted), false when a token is still rejected or belongs to another account (still paused; `message` says
   * which). Absent for other pauses.
   */
  verified: z.boolean().optional(),
});
export type ResumeResponse = z.infer<typeof ResumeResponse>;

export const HealthResponse = z.object({ ok: z.literal(true), pid: z.number().int(), version: z.string() });
export type HealthResponse = z.infer<typeof HealthResponse>;

export const ErrorResponse = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

export const PlanResponse = z.object({
  /** Recovery points inventoried (not gone). */
  points: z.number().int(),
  /** Points decided "copy" (queued or further along). */
  toCopy: z.number().int(),
  /** Skip reason → count. */
  skipped: z.record(z.string(), z.number().int()),
  reasons: z.record(z.string(), z.string()),
  byVault: z.array(
    z.object({
      vault: z.string(),
      destination: z.string().nullable(),
      toCopy: z.number().int(),
      skipped: z.number().int(),
      started: z.number().int(),
    }),
  ),
  byType: z.array(
    z.object({
      resourceType: z.string(),
      toCopy: z.number().int(),
      skipped: z.number().int(),
      started: z.number().int(),
    }),
  ),
  vaultMappings: z.array(
    z.object({ source: z.string(), destination: z.string().nullable(), proposed: z.string().optional() }),
  ),
  metadata: z.object({
    problems: z.record(z.string(), z.number().int()),
    examples: z.array(
      z.object({
        kind: z.string(),
        line: z.number().int().nullable(),
        resourceArn: z.string().nullable(),
        detail: z.string(),
      }),
    ),
    /** The broken-CSV gate (daemon/enrich/gate.ts): whether copying waits for the operator's word. */
    gate: z
      .object({
        gated: z.boolean(),
        confirmed: z.boolean(),
        dataLines: z.number().int(),
        unusableLines: z.number().int(),
        share: z.number(),
        threshold: z.number(),
        summary: z.string(),
      })
      .optional(),
  }),
  inventory: z.object({
    vaultsSelected: z.number().int(),
    vaultsDone: z.number().int(),
  }),
  /** The same warnings as rpctl status's. */
  warnings: z.array(z.string()).optional(),
});
export type PlanResponse = z.infer<typeof PlanResponse>;

/** GET /v1/plan/csv-problems: the current CSV load's problems in line order (those without a line last). */
export const CsvProblemsResponse = z.object({
  problems: z.array(
    z.object({
      line: z.number().int().nullable(),
      kind: z.string(),
      resourceArn: z.string().nullable(),
      detail: z.string(),
    }),
  ),
  /** The next page's position, or null on the last page. */
  next: z.object({ afterLine: z.number().int(), afterId: z.number().int() }).nullable(),
});
export type CsvProblemsResponse = z.infer<typeof CsvProblemsResponse>;

const PlanPoint = z.object({
  id: z.number().int(),
  arn: z.string(),
  vault: z.string(),
  resourceArn: z.string(),
  resourceType: z.string(),
  apmid: z.string().nullable(),
  state: z.string(),
  reason: z.string().nullable(),
  destinationVault: z.string().nullable(),
});
export const PlanPointsResponse = z.object({ points: z.array(PlanPoint), next: z.number().int().nullable() });
export type PlanPointsResponse = z.infer<typeof PlanPointsResponse>;

const CHECK_STATUSES = ['pass', 'fail', 'unknown'] as const;
const PreflightCheck = z.object({
  check: z.string(),
  status: z.enum(CHECK_STATUSES),
  detail: z.string(),
  /** For a fail or unknown: the missing action or setting and how to fix it. */
  fix: z.string().optional(),
});
export type PreflightCheck = z.infer<typeof PreflightCheck>;

/** POST /v1/preflight: the checks, run now, read-only. */
export const PreflightResponse = z.object({
  ok: z.boolean(),
  checkedAt: z.string(),
  checks: z.array(PreflightCheck),
});
export type PreflightResponse = z.infer<typeof PreflightResponse>;

/** GET /v1/compliance: every destination vault against its source and the [compliance] config, read now. */
export const ComplianceResponse = z.object({
  ok: z.boolean(),
  checkedAt: z.string(),
  vaults: z.array(
    z.object({
      source: z.string(),
      destination: z.string(),
      status: z.enum(['ok', 'drift']),
      sourceLock: z.string(),
      destinationLock: z.string().nullable(),
      notes: z.array(z.string()),
    }),
  ),
  drift: z.array(z.object({ vault: z.string(), destination: z.string(), kind: z.string(), detail: z.string() })),
});
export type ComplianceResponse = z.infer<typeof ComplianceResponse>;

const FailureSummary = z.object({
  reason: z.string(),
  kind: z.string(),
  count: z.number().int(),
  example: z.string(),
  description: z.string(),
});

const CopyStatus = z.object({
  /** Copy jobs rpcopy lets be in flight now (additive increase, multiplicative decrease), at most `maxInFlight`. */
  inFlightLimit: z.number().int(),
  /** The same as `inFlightLimit`, under its old name; kept for one release for scripts that read it. */
  window: z.number().int(),
  maxInFlight: z.number().int(),
  /** In-flight level at which the account last refused a job (LimitExceededException), if it ever did. */
  learnedQuota: z.number().int().nullable(),
  /** CREATED + RUNNING copy jobs of the source account at the last look (AWS's count, other tools' jobs included). */
  awsInFlight: z.number().int().nullable(),
  /**
   * Of `awsInFlight`, the jobs rpcopy does not follow: another backup plan's or tool's, or one whose StartCopyJob
   * answer rpcopy has not had yet. Absent from daemons that predate it.
   */
  awsInFlightNotFollowed: z.number().int().nullable().optional(),
  lastSweepAt: z.string().nullable(),
  startedThisRun: z.number().int(),
  finishedThisRun: z.number().int(),
  verifiedThisRun: z.number().int(),
  quotaRejections: z.number().int(),
  throttled: z.number().int(),
  canaries: z.object({
    pending: z.number().int(),
    probing: z.number().int(),
    open: z.number().int(),
    failed: z.number().int(),
  }),
  meanJobSeconds: z.number().nullable(),
  topFailures: z.array(FailureSummary),
  retrying: z.array(z.object({ reason: z.string(), count: z.number().int() })),
});
export type CopyStatus = z.infer<typeof CopyStatus>;

/** POST /v1/copy/retry {reason}: failed points of one reason back to the queue. */
export const RetryRequest = z.strictObject({ reason: z.string().min(1, 'reason: expected a failure reason') });
export const RetryResponse = z.object({
  reason: z.string(),
  requeued: z.number().int(),
  combos: z.number().int(),
  message: z.string(),
});
export type RetryResponse = z.infer<typeof RetryResponse>;

/** POST /v1/copy/reconcile: AWS's records against the store, read-only. */
export const ReconcileResponse = z.object({
  checkedAt: z.string(),
  vaults: z.array(
    z.object({
      destination: z.string(),
      copyJobs: z.number().int(),
      /** Source points with a job into this vault; a point tried again after a failed job has several. */
      sourcePoints: z.number().int().optional(),
      /** Jobs that ended FAILED or PARTIAL. */
      failedJobs: z.number().int().optional(),
      destinationPoints: z.number().int(),
    }),
  ),
  duplicates: z.array(z.object({ sourcePointArn: z.string(), jobs: z.array(z.string()) })),
  orphans: z.array(z.object({ destinationPointArn: z.string(), vault: z.string() })),
  missing: z.array(
    z.object({ sourcePointArn: z.string(), destinationPointArn: z.string().nullable(), state: z.string() }),
  ),
  mismatched: z.array(
    z.object({ sourcePointArn: z.string(), storeJob: z.string().nullable(), awsJobs: z.array(z.string()) }),
  ),
  counts: z.object({
    duplicates: z.number().int(),
    orphans: z.number().int(),
    missing: z.number().int(),
    mismatched: z.number().int(),
  }),
});
export type ReconcileResponse = z.infer<typeof ReconcileResponse>;

// Reports (`rpctl report`). Times are ISO-8601 UTC strings, null when the step has not happened.

const isoOrNull = z.string().nullable();

/** One recovery point's outcome, as `rpctl report --format csv|json` exports it. */
export const ReportPoint = z.object({
  /** The point's row id: the key of the keyset pagination, not exported. */
  id: z.number().int(),
  sourcePointArn: z.string(),
  vault: z.string(),
  resourceArn: z.string(),
  resourceType: z.string(),
  resourceName: z.string().nullable(),
  apmid: z.string().nullable(),
  /** The plan's decision; null while the point is not planned yet (state `discovered`). */
  decision: z.enum(['copy', 'skip']).nullable(),
  state: z.string(),
  /** The skip reason of a skipped point, the failure reason of a failed one (or of the last failed attempt of one waiting to retry). */
  reason: z.string().nullable(),
  failureKind: z.string().nullable(),
  copyJobId: z.string().nullable(),
  jobState: z.string().nullable(),
  destinationVault: z.string().nullable(),
  destinationPointArn: z.string().nullable(),
  attempt: z.number().int(),
  sizeBytes: z.number().nullable(),
  creationDate: isoOrNull,
  plannedAt: isoOrNull,
  submittedAt: isoOrNull,
  completedAt: isoOrNull,
  verifiedAt: isoOrNull,
  errorCode: z.string().nullable(),
  errorMessage: z.string().nullable(),
});
export type ReportPoint = z.infer<typeof ReportPoint>;

/** GET /v1/report/points?after=ID&limit=N: points with id > after, by id; `next` is the `after` of the next page. */
export const ReportPointsResponse = z.object({ points: z.array(ReportPoint), next: z.number().int().nullable() });
export type ReportPointsResponse = z.infer<typeof ReportPointsResponse>;

/**
 * Where the job is expected to end: cumulative verified points over time, as a band. Today a simple projection
 * of the recent rate (daemon/report/projection.ts); a forecast that knows the change windows can fill the same
 * shape later.
 */
export const ReportProjection = z.object({
  method: z.string(),
  /** What the band is, in words, shown on the chart. */
  label: z.string(),
  ratePerHour: z.number(),
  /** The band's relative half-width around the rate (0.2 = ±20 %). */
  spread: z.number(),
  /** Points that will be verified when the job is done (verified + remaining). */
  target: z.number().int(),
  finish: z.object({ earliest: z.string(), expected: z.string(), latest: z.string() }),
  band: z.array(z.object({ at: z.string(), low: z.number(), expected: z.number(), high: z.number() })),
});
export type ReportProjection = z.infer<typeof ReportProjection>;

const ReportTally = {
  points: z.number().int(),
  toCopy: z.number().int(),
  skipped: z.number().int(),
  verified: z.number().int(),
  failed: z.number().int(),
  /** Planned to copy and not final yet: queued, submitting, submitted or completed (awaiting verification). */
  remaining: z.number().int(),
  bytesToCopy: z.number(),
  bytesVerified: z.number(),
};

/** GET /v1/report/summary: aggregates for the HTML report (one snapshot, computed off the main thread). */
export const ReportSummaryResponse = z.object({
  generatedAt: z.string(),
  /** Points per item state (`discovered` includes points not planned yet). */
  states: z.record(z.string(), z.number().int()),
  totals: z.object({ ...ReportTally, undecided: z.number().int(), inFlight: z.number().int() }),
  skipped: z.array(z.object({ reason: z.string(), count: z.number().int(), description: z.string() })),
  /** Failed points by reason and kind, most frequent first; `retrying` counts transient ones waiting to retry. */
  failures: z.array(
    z.object({
      reason: z.string(),
      kind: z.string(),
      count: z.number().int(),
      description: z.string(),
      example: z.string(),
    }),
  ),
  retrying: z.array(z.object({ reason: z.string(), count: z.number().int(), description: z.string() })),
  byType: z.array(
    z.object({
      resourceType: z.string(),
      ...ReportTally,
      /** Hours in which at least one point of this type was verified. */
      activeHours: z.number(),
      /** Mean copy-job duration (submitted → completed) of the copied points, seconds. */
      meanJobSeconds: z.number().nullable(),
    }),
  ),
  byVault: z.array(z.object({ vault: z.string(), destination: z.string().nullable(), ...ReportTally })),
  progress: z.object({
    /** Width of one bucket, milliseconds (a minute to a day, so that a run has at most a few hundred). */
    bucketMs: z.number().int(),
    firstSubmittedAt: isoOrNull,
    firstVerifiedAt: isoOrNull,
    lastVerifiedAt: isoOrNull,
    /** Points verified in each bucket (by verification time), oldest first; empty buckets included. */
    buckets: z.array(z.object({ at: z.string(), verified: z.number().int(), bytes: z.number() })),
  }),
  projection: ReportProjection.nullable(),
});
export type ReportSummaryResponse = z.infer<typeof ReportSummaryResponse>;

/**
 * The destination's AWS Backup storage the plan adds and its cost (daemon/cost/): month by month from the current
 * calendar month, by vault, resource type and tier, as a low and a high estimate (`estimates` says what each
 * assumes), and what the copies made so far store now.
 */
export const CostForecast = z.object({
  currency: z.string(),
  region: z.string(),
  /** The price table's region used: the configured one, or `default` when the table does not list it. */
  priceRegion: z.string(),
  prices: z.object({
    readAt: z.string(),
    source: z.string(),
    /** The file given as cost.price_table; null for the shipped table. */
    file: z.string().nullable(),
    unconfirmed: z.array(z.string()),
    perGbMonth: z.record(z.string(), z.object({ warm: z.number(), cold: z.number().optional() })),
    transferPerGb: z.number(),
    coldMinimumDays: z.number(),
  }),
  /** Copies still to make are assumed to land evenly over this span (the forecast's finish). */
  landing: z.object({ from: z.string(), until: z.string() }),
  estimates: z.object({ low: z.string(), high: z.string() }),
  incrementalTypes: z.array(z.string()),
  fullTypes: z.array(z.string()),
  sources: z.record(z.string(), z.string()),
  months: z.array(
    z.object({
      month: z.string(),
      warmGbMonthsLow: z.number(),
      warmGbMonthsHigh: z.number(),
      coldGbMonthsLow: z.number(),
      coldGbMonthsHigh: z.number(),
      costLow: z.number(),
      costHigh: z.number(),
    }),
  ),
  /** One series per (destination vault, resource type, tier); arrays align with `months`. */
  byGroup: z.array(
    z.object({
      vault: z.string(),
      resourceType: z.string(),
      tier: z.enum(['warm', 'cold']),
      gbMonthsLow: z.array(z.number()),
      gbMonthsHigh: z.array(z.number()),
      costLow: z.array(z.number()),
      costHigh: z.array(z.number()),
    }),
  ),
  /** The month of the highest cost in `months`, and that month's cost. */
  peakMonth: z.string(),
  monthlyCostLow: z.number(),
  monthlyCostHigh: z.number(),
  /** Sum over `months`. */
  totalCostLow: z.number(),
  totalCostHigh: z.number(),
  /** The verified copies: what they store now (GB = 2^30 bytes) and its cost per month, to check against the bill. */
  copied: z.object({
    items: z.number().int(),
    bytes: z.number(),
    warmGbLow: z.number(),
    warmGbHigh: z.number(),
    coldGbLow: z.number(),
    coldGbHigh: z.number(),
    monthlyCostLow: z.number(),
    monthlyCostHigh: z.number(),
  }),
  notes: z.array(z.string()),
});
export type CostForecast = z.infer<typeof CostForecast>;

/** GET /v1/forecast: the time left, what limits it, and the finish under the configured windows. */
export const ForecastResponse = z.object({
  computedAt: z.string(),
  remainingItems: z.number().int(),
  remainingBytes: z.number(),
  /** copy_job_quota, request_rate, resource_chains or nothing_left. */
  limiter: z.string(),
  /** Work time left in milliseconds, windows aside. */
  workMs: z.number(),
  bounds: z.object({ quotaMs: z.number(), requestRateMs: z.number(), chainsMs: z.number() }),
  /** Null when the work does not fit the schedule (e.g. a one-off run's max runtime) or no window ever opens. */
  finishAt: z.string().nullable(),
  windowsNeeded: z.number().int().nullable(),
  byType: z.array(
    z.object({
      resourceType: z.string(),
      remainingItems: z.number().int(),
      remainingBytes: z.number(),
      model: z.object({
        baseMs: z.number(),
        msPerByte: z.number(),
        samples: z.number().int(),
        source: z.enum(['measured', 'prior', 'scaled-prior']),
      }),
      lastHour: z.object({ items: z.number().int(), bytes: z.number() }),
    }),
  ),
  notes: z.array(z.string()),
  /** The storage cost of the plan's copies; absent from a daemon that predates it. */
  cost: CostForecast.optional(),
});
export type ForecastResponse = z.infer<typeof ForecastResponse>;

// `rpctl watch`: GET /v1/watch is a text/event-stream. Events: `snapshot` (WatchSnapshot) once on connect,
// `status` (WatchStatus) every second, `event` (WatchJournalEvent) for each journal record as it is recorded,
// and `: heartbeat` comments in between. The stream ends when the daemon stops.

/** One source vault's copy progress (points the plan decided to copy, by where they stand). */
export const WatchVaultProgress = z.object({
  vault: z.string(),
  destination: z.string().nullable(),
  /** Planned to copy: every state but skipped. */
  toCopy: z.number().int(),
  queued: z.number().int(),
  inFlight: z.number().int(),
  /** Copied, awaiting verification. */
  completed: z.number().int(),
  verified: z.number().int(),
  failed: z.number().int(),
  /**
   * Why queued points are not moving, where it is cheap to know: held until their combination's canary copy is
   * verified (or because it failed), waiting behind a copy of the same resource in flight (one job per resource at
   * a time, oldest first), or waiting for the time of their next attempt. Absent from older daemons.
   */
  waiting: z.object({ canary: z.number().int(), resource: z.number().int(), retry: z.number().int() }).optional(),
});
export type WatchVaultProgress = z.infer<typeof WatchVaultProgress>;

/** Per-vault progress, recomputed at most every few seconds (one computation shared by every watcher). */
export const WatchVaults = z.object({
  at: z.string(),
  vaults: z.array(WatchVaultProgress),
  /**
   * Planned points not attributed to a vault. Points the copy phase has not grouped (before it starts, or failed
   * before grouping) are attributed through their own source vault, as the HTML report does, so this is 0 from
   * daemons that do that; older daemons counted those points here.
   */
  unassigned: z.number().int(),
});
export type WatchVaults = z.infer<typeof WatchVaults>;

export const WatchJournalEvent = z.object({
  id: z.number().int(),
  at: z.string(),
  level: z.enum(['debug', 'info', 'warn', 'error']),
  kind: z.string(),
  message: z.string(),
  data: z.record(z.string(), z.unknown()).optional(),
});
export type WatchJournalEvent = z.infer<typeof WatchJournalEvent>;

export const WatchStatus = z.object({
  status: StatusResponse,
  /** Null until the first per-vault computation has finished. */
  vaults: WatchVaults.nullable(),
});
export type WatchStatus = z.infer<typeof WatchStatus>;

export const WatchSnapshot = WatchStatus.extend({
  /** The latest journal records of this run, oldest first. */
  recent: z.array(WatchJournalEvent),
});
export type WatchSnapshot = z.infer<typeof WatchSnapshot>;

/** POST /v1/pause: the operator's pause (calls in flight finish; rpctl resume continues). */
export const PauseResponse = z.object({ state: DaemonState, paused: z.boolean(), message: z.string() });
export type PauseResponse = z.infer<typeof PauseResponse>;

/**
 * POST /v1/settings {key, value}: live re-tuning (rpctl set), kept across restarts; {key, clear: true} lifts the
 * override, so the config's key applies again.
 */
export const SetRequest = z.union([
  z.strictObject({ key: z.string().min(1), value: z.string().min(1) }),
  z.strictObject({ key: z.string().min(1), clear: z.literal(true) }),
]);
/** `value` is what is in effect now: the operator's, or after a clear the config's (drain in ms). */
export const SetResponse = z.object({
  key: z.string(),
  value: z.number(),
  cleared: z.boolean().optional(),
  message: z.string(),
});
export type SetResponse = z.infer<typeof SetResponse>;

/** POST /v1/reset {target, vault?}: regenerate part of the state (rpctl reset); nothing of a copy is deleted. */
export const ResetRequest = z.strictObject({ target: z.string().min(1), vault: z.string().min(1).optional() });
export const ResetResponse = z.object({
  target: z.string(),
  vault: z.string().nullable(),
  vaults: z.number().int(),
  metadataLoads: z.number().int(),
  replanned: z.number().int(),
  requeued: z.number().int(),
  message: z.string(),
});
export type ResetResponse = z.infer<typeof ResetResponse>;

/** One config key's value as the file writes it (shared/config-view.ts); null when not set. */
const KeyValue = z.union([
  z.string(),
  z.number(),
  z.boolean(),
  z.array(z.string()),
  z.record(z.string(), z.string()),
  z.null(),
]);

/** How a changed key reaches the running daemon: `live` on rpctl reload (or SIGHUP), `restart` only by a restart. */
const KeyApply = z.enum(['live', 'restart']);

/** An rpctl set override that wins over a config key (daemon/settings.ts). */
const KeyOverride = z.object({ setting: z.string(), value: z.string() });

/** GET /v1/config: the config the daemon runs, key by key, against what its config file says now. */
export const ConfigResponse = z.object({
  file: z.string(),
  pid: z.number().int(),
  startedAt: z.string(),
  /** The last reload that applied something; null when the daemon runs the config it started with. */
  reloadedAt: z.string().nullable(),
  /** The running config as the daemon reads it (shared/config.ts Config). */
  config: z.record(z.string(), z.unknown()),
  keys: z.array(
    z.object({
      key: z.string(),
      /** What the daemon runs. */
      value: KeyValue,
      /** What the file gives now (with the daemon's environment and flags); absent when the file does not load. */
      file: KeyValue.optional(),
      differs: z.boolean(),
      apply: KeyApply,
      overriddenBy: KeyOverride.optional(),
    }),
  ),
  /** Why the file on disk does not load now (file:line: key: reason), or null. */
  fileError: z.string().nullable(),
});
export type ConfigResponse = z.infer<typeof ConfigResponse>;

const KeyChange = z.object({ key: z.string(), from: KeyValue, to: KeyValue });

/** POST /v1/reload: re-read the config file, apply the keys that change live, name those that need a restart. */
export const ReloadResponse = z.object({
  file: z.string(),
  /** `rpctl reload` or `SIGHUP`. */
  trigger: z.string(),
  /** Changed keys now in effect; `note` says when one is used (e.g. at the next copy claim). */
  applied: z.array(KeyChange.extend({ note: z.string() })),
  /** Changed keys the daemon does not apply while it runs: restart rpcopyd to apply them. */
  needsRestart: z.array(KeyChange),
  /** Keys an rpctl set override still wins over (the file's value is kept for when it is lifted). */
  overridden: z.array(z.object({ key: z.string(), setting: z.string(), value: z.string() })),
  unchanged: z.array(z.string()),
  message: z.string(),
});
export type ReloadResponse = z.infer<typeof ReloadResponse>;
