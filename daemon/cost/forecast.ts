// The cost forecast: what the plan's copies will store in the destination, month by month, and what it costs.
//
// Reads the store on a read worker (two GROUP BYs over the copy items: seconds at a million points, never on the
// main thread; cached until the next commit) and hands the groups to storage.ts. Read-only: a crash or a stop at
// any moment changes nothing.
//
// Two estimates, because a copy's stored size depends on the type (incremental.ts):
// - high: every copy stores its full size (BackupSizeInBytes), whatever the type;
// - low: a resource's first copy stores its full size and its later copies of an incremental type add nothing,
//   the chain's data kept until the last of its copies is deleted; full types count every copy, as in high.

import type { CostForecast } from '../../shared/api.js';
import type { PriceTable } from '../../shared/prices.js';
import type { ReadWorker } from '../store/read-worker.js';
import { COST_SOURCES, FULL_TYPES, INCREMENTAL_TYPES } from './incremental.js';
import { pricesFor } from './prices.js';
import { type StorageGroup, storageForecast } from './storage.js';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const NEVER = 9_000_000_000_000_000;
const COST_MONTHS = 12;

const OPEN_STATES = `('queued', 'submitting', 'submitted', 'completed', 'verified')`;
const sqlList = (items: readonly string[]) => items.map((s) => `'${s.replace(/'/g, "''")}'`).join(', ');

// The copy keeps the source's creation date and the lifecycle rpcopy passes (the source's, copy_items); without
// lifecycle days the copy inherits the source's calculated dates. Dates are floored to the day (hours for the
// landing) so that a million copies fold into a few thousand groups.
const COLUMNS = `
  coalesce(i.destination_vault_name, p.vault_name) AS vault,
  p.resource_type AS resourceType,
  CASE WHEN i.state = 'verified' THEN (coalesce(i.verified_at, i.completed_at, i.updated_at) / ${HOUR_MS}) * ${HOUR_MS} END AS landedAt,
  (coalesce(p.creation_date + i.lifecycle_cold_after_days * ${DAY_MS}, p.move_to_cold_at) / ${DAY_MS}) * ${DAY_MS} AS coldAt,
  (coalesce(p.creation_date + i.lifecycle_delete_after_days * ${DAY_MS}, p.delete_at) / ${DAY_MS}) * ${DAY_MS} AS deleteAt,
  coalesce(p.size_bytes, 0) AS size`;

const EVERY_COPY = `
  SELECT vault, resourceType, landedAt, coldAt, deleteAt, count(*) AS items, sum(size) AS bytes
  FROM (SELECT ${COLUMNS} FROM copy_items i JOIN recovery_points p ON p.id = i.point_id WHERE i.state IN ${OPEN_STATES})
  GROUP BY vault, resourceType, landedAt, coldAt, deleteAt`;

const FIRST_COPIES = `
  SELECT vault, resourceType, landedAt, coldAt,
    CASE WHEN lastDelete >= ${NEVER} THEN NULL ELSE (lastDelete / ${DAY_MS}) * ${DAY_MS} END AS deleteAt, count(*) AS items, sum(size) AS bytes
  FROM (
    SELECT ${COLUMNS},
      row_number() OVER chain AS rn,
      max(coalesce(p.creation_date + i.lifecycle_delete_after_days * ${DAY_MS}, p.delete_at, ${NEVER})) OVER chain AS lastDelete
    FROM copy_items i JOIN recovery_points p ON p.id = i.point_id
    WHERE i.state IN ${OPEN_STATES} AND p.resource_type IN (${sqlList(INCREMENTAL_TYPES)})
    -- One window for both, framed over the whole chain, so SQLite sorts the open items once, not twice.
    WINDOW chain AS (PARTITION BY i.resource_arn, i.destination_vault_name ORDER BY i.creation_date, i.point_id
      ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
  )
  WHERE rn = 1
  -- By position: by name, SQLite would group by the subquery's deleteAt (the first copy's), not the chain's.
  GROUP BY 1, 2, 3, 4, 5`;

type Row = Omit<StorageGroup, 'estimate'>;

export interface CostOptions {
  now: number;
  /** The forecast's finish; null when the work does not fit the schedule (then now + workMs stands in). */
  finishAt: string | null;
  workMs: number;
  region: string;
  table: PriceTable;
  /** The file the table came from; null for the shipped one. */
  tableFile: string | null;
  months?: number;
}

export async function costForecast(reader: Pick<ReadWorker, 'cached'>, options: CostOptions): Promise<CostForecast> {
  const { now, table } = options;
  const notes: string[] = [];
  const [every, first] = await Promise.all([reader.cached<Row>(EVERY_COPY), reader.cached<Row>(FIRST_COPIES)]);
  const groups: StorageGroup[] = [
    ...every.map((r) => ({ ...r, estimate: INCREMENTAL_TYPES.includes(r.resourceType) ? 'high' : 'both' }) as const),
    ...first.map((r) => ({ ...r, estimate: 'low' }) as const),
  ];
  let finishAt = options.finishAt === null ? Number.NaN : Date.parse(options.finishAt);
  if (Number.isNaN(finishAt)) {
    finishAt = now + options.workMs;
    notes.push('the copies do not fit the schedule: they are assumed to land over the work time left, windows aside');
  }
  const region = pricesFor(table, options.region);
  if (!region) {
    throw new Error(`the price table has no prices for ${options.region} and no "default" region`);
  }
  if (region.region !== options.region) {
    notes.push(`the price table has no ${options.region}: the prices of its "default" region are used`);
  }
  const months = options.months ?? COST_MONTHS;
  const result = storageForecast(groups, { now, finishAt, months, prices: region.prices, copy: table.copy });
  for (const type of result.unpriced) notes.push(`${type}: no price in the table; its storage is counted at no cost`);
  notes.push(
    'S3 backups also pay GET requests on the source objects, and objects under 128 KB are billed as 128 KB: not modelled',
  );
  const peak = result.months.reduce(
    (best, m) => (m.costHigh > best.costHigh ? m : best),
    result.months[0] ?? { month: '', costLow: 0, costHigh: 0 },
  );
  const round = (x: number) => Math.round(x * 100) / 100;
  const roundGb = (x: number) => Math.round(x * 1000) / 1000;
  return {
    currency: table.currency,
    region: options.region,
    priceRegion: region.region,
    prices: {
      readAt: table.read_at,
      source: table.source,
      file: options.tableFile,
      unconfirmed: table.unconfirmed,
      perGbMonth: region.prices,
      transferPerGb: table.copy.transfer_per_gb,
      coldMinimumDays: table.copy.cold_minimum_days,
    },
    landing: { from: new Date(now).toISOString(), until: new Date(finishAt).toISOString() },
    estimates: {
      low: `a resource's first copy stores its full size; its later copies of an incremental type (${INCREMENTAL_TYPES.join(', ')}) store no changed data, and the chain's data stays until its last copy is deleted`,
      high: 'every copy stores its full size (BackupSizeInBytes), as copies of full types do',
    },
    incrementalTypes: [...INCREMENTAL_TYPES],
    fullTypes: [...FULL_TYPES],
    sources: { ...COST_SOURCES },
    months: result.months.map((m) => ({
      month: m.month,
      warmGbMonthsLow: roundGb(m.warmGbMonthsLow),
      warmGbMonthsHigh: roundGb(m.warmGbMonthsHigh),
      coldGbMonthsLow: roundGb(m.coldGbMonthsLow),
      coldGbMonthsHigh: roundGb(m.coldGbMonthsHigh),
      costLow: round(m.costLow),
      costHigh: round(m.costHigh),
    })),
    byGroup: result.groups.map((g) => ({
      ...g,
      gbMonthsLow: g.gbMonthsLow.map(roundGb),
      gbMonthsHigh: g.gbMonthsHigh.map(roundGb),
      costLow: g.costLow.map(round),
      costHigh: g.costHigh.map(round),
    })),
    peakMonth: peak.month,
    monthlyCostLow: round(peak.costLow),
    monthlyCostHigh: round(peak.costHigh),
    totalCostLow: round(result.months.reduce((s, m) => s + m.costLow, 0)),
    totalCostHigh: round(result.months.reduce((s, m) => s + m.costHigh, 0)),
    copied: {
      ...result.copied,
      warmGbLow: roundGb(result.copied.warmGbLow),
      warmGbHigh: roundGb(result.copied.warmGbHigh),
      coldGbLow: roundGb(result.copied.coldGbLow),
      coldGbHigh: roundGb(result.copied.coldGbHigh),
      monthlyCostLow: round(result.copied.monthlyCostLow),
      monthlyCostHigh: round(result.copied.monthlyCostHigh),
    },
    notes,
  };
}
