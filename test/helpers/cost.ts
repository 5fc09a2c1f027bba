// The cost forecast computed by hand from a finished run's store, copy by copy, to check rpcopy's answer: what the
// verified copies store now and what the next calendar month stores and costs, hour by hour. It follows the rules
// docs/cost.md states (dates to the day, landing to the hour, cold billed 90 days at least, GB = 2^30 bytes), not
// rpcopy's code.

import Database from 'better-sqlite3';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const GB = 2 ** 30;
const INCREMENTAL = new Set(['EBS', 'EC2', 'RDS', 'EFS', 'S3', 'FSx']);

export type Prices = Record<string, { warm: number; cold?: number }>;

interface Copy {
  key: string;
  group: string;
  type: string;
  bytes: number;
  creation: number;
  landed: number;
  coldAt: number | null;
  deleteAt: number | null;
}

export interface HandCost {
  items: number;
  bytes: number;
  warmGbHigh: number;
  coldGbHigh: number;
  warmGbLow: number;
  monthlyCostHigh: number;
  monthlyCostLow: number;
  nextMonth: { month: string; warmGbMonthsHigh: number; coldGbMonthsHigh: number; costHigh: number; costLow: number };
  /** The next month's low cost by "vault type". */
  nextMonthLowByGroup: Record<string, number>;
}

export function handCost(dbFile: string, prices: Prices, now: number): HandCost {
  const db = new Database(dbFile, { readonly: true });
  const rows = db
    .prepare(
      `SELECT i.resource_arn AS resource, coalesce(i.destination_vault_name, p.vault_name) AS vault, i.point_id AS id,
         p.resource_type AS type, p.size_bytes AS bytes, p.creation_date AS creation, i.verified_at AS verified,
         i.lifecycle_cold_after_days AS coldDays, i.lifecycle_delete_after_days AS deleteDays,
         p.move_to_cold_at AS moveToColdAt, p.delete_at AS sourceDeleteAt
       FROM copy_items i JOIN recovery_points p ON p.id = i.point_id WHERE i.state = 'verified'
       ORDER BY i.creation_date, i.point_id`,
    )
    .all() as {
    resource: string;
    vault: string;
    type: string;
    bytes: number;
    creation: number;
    verified: number;
    coldDays: number | null;
    deleteDays: number | null;
    moveToColdAt: number | null;
    sourceDeleteAt: number | null;
  }[];
  db.close();
  const day = (x: number | null) => (x === null ? null : Math.floor(x / DAY) * DAY);
  const copies: Copy[] = rows.map((r) => ({
    key: `${r.resource} ${r.vault}`,
    group: `${r.vault} ${r.type}`,
    type: r.type,
    bytes: r.bytes,
    creation: r.creation,
    landed: Math.floor(r.verified / HOUR) * HOUR,
    coldAt: day(r.coldDays !== null ? r.creation + r.coldDays * DAY : r.moveToColdAt),
    deleteAt: day(r.deleteDays !== null ? r.creation + r.deleteDays * DAY : r.sourceDeleteAt),
  }));
  // The low estimate: an incremental type's first copy of each resource, kept until the chain's last deletion.
  const low: Copy[] = [];
  const firsts = new Map<string, Copy>();
  for (const c of copies) {
    if (!INCREMENTAL.has(c.type)) {
      low.push(c);
      continue;
    }
    const first = firsts.get(c.key);
    if (!first) {
      const copy = { ...c };
      firsts.set(c.key, copy);
      low.push(copy);
    } else if (first.deleteAt !== null) {
      first.deleteAt = c.deleteAt === null ? null : Math.max(first.deleteAt, c.deleteAt);
    }
  }
  const tierAt = (c: Copy, t: number): 'warm' | 'cold' | null => {
    if (t < c.landed) return null;
    const cold =
      prices[c.type]?.cold !== undefined && c.coldAt !== null && (c.deleteAt === null || c.coldAt < c.deleteAt);
    if (cold && t >= (c.coldAt as number)) {
      const end =
        c.deleteAt === null ? Number.POSITIVE_INFINITY : Math.max(c.deleteAt, (c.coldAt as number) + 90 * DAY);
      return t < end ? 'cold' : null;
    }
    return c.deleteAt === null || t < c.deleteAt ? 'warm' : null;
  };
  const price = (c: Copy, tier: 'warm' | 'cold') =>
    (tier === 'warm' ? prices[c.type]?.warm : prices[c.type]?.cold) ?? 0;
  const result: HandCost = {
    items: copies.length,
    bytes: copies.reduce((s, c) => s + c.bytes, 0),
    warmGbHigh: 0,
    coldGbHigh: 0,
    warmGbLow: 0,
    monthlyCostHigh: 0,
    monthlyCostLow: 0,
    nextMonth: { month: '', warmGbMonthsHigh: 0, coldGbMonthsHigh: 0, costHigh: 0, costLow: 0 },
    nextMonthLowByGroup: {},
  };
  for (const c of copies) {
    const tier = tierAt(c, now);
    if (!tier) continue;
    if (tier === 'warm') result.warmGbHigh += c.bytes / GB;
    else result.coldGbHigh += c.bytes / GB;
    result.monthlyCostHigh += (c.bytes / GB) * price(c, tier);
  }
  for (const c of low) {
    const tier = tierAt(c, now);
    if (!tier) continue;
    if (tier === 'warm') result.warmGbLow += c.bytes / GB;
    result.monthlyCostLow += (c.bytes / GB) * price(c, tier);
  }
  const d = new Date(now);
  const start = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  const end = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 2, 1);
  const hours = (end - start) / HOUR;
  result.nextMonth.month = new Date(start).toISOString().slice(0, 7);
  for (let h = 0; h < hours; h++) {
    const t = start + h * HOUR + HOUR / 2;
    for (const c of copies) {
      const tier = tierAt(c, t);
      if (!tier) continue;
      const gbMonths = c.bytes / GB / hours;
      if (tier === 'warm') result.nextMonth.warmGbMonthsHigh += gbMonths;
      else result.nextMonth.coldGbMonthsHigh += gbMonths;
      result.nextMonth.costHigh += gbMonths * price(c, tier);
    }
    for (const c of low) {
      const tier = tierAt(c, t);
      if (!tier) continue;
      const cost = (c.bytes / GB / hours) * price(c, tier);
      result.nextMonth.costLow += cost;
      result.nextMonthLowByGroup[c.group] = (result.nextMonthLowByGroup[c.group] ?? 0) + cost;
    }
  }
  return result;
}
