// The cost forecast's arithmetic, pure: groups of copies (bytes, when they land, when their lifecycle moves them
// to cold storage and deletes them) become GB-months per calendar month and tier, and cost at a price table.
//
// - A copy keeps its source's creation date and lifecycle, so its cold and delete dates are the source's
//   (recov-point-create-a-copy.html); they are inputs here, computed by forecast.ts.
// - Copies still to make land evenly between now and the forecast's finish: a group of them is present at
//   time t in the share ramp(t) = (t - now) / (finish - now), clamped to [0, 1].
// - Cold storage is billed for at least `cold_minimum_days` (a copy deleted earlier pays the rest), and a type
//   without a cold price stays warm (AWS ignores the cold setting of types without a cold tier).
// - GB is 2^30 bytes; a month's GB-months are the bytes present integrated over the month / the month's length.

import type { PriceTable } from '../../shared/prices.js';

const DAY_MS = 86_400_000;
const GB = 2 ** 30;

export type Estimate = 'low' | 'high' | 'both';
export type Tier = 'warm' | 'cold';

export interface StorageGroup {
  vault: string;
  resourceType: string;
  /** Which estimate the group counts in: a resource's later incremental copies count in `high` only. */
  estimate: Estimate;
  /** When the copies landed (verified); null while they are still to make. */
  landedAt: number | null;
  coldAt: number | null;
  deleteAt: number | null;
  items: number;
  bytes: number;
}

export interface StorageInputs {
  now: number;
  /** When the last copy is expected to land (the forecast's finish). */
  finishAt: number;
  months: number;
  prices: PriceTable['regions'][string];
  copy: PriceTable['copy'];
}

export interface MonthTotals {
  month: string;
  warmGbMonthsLow: number;
  warmGbMonthsHigh: number;
  coldGbMonthsLow: number;
  coldGbMonthsHigh: number;
  costLow: number;
  costHigh: number;
}

export interface GroupSeries {
  vault: string;
  resourceType: string;
  tier: Tier;
  /** One value per month of `months`. */
  gbMonthsLow: number[];
  gbMonthsHigh: number[];
  costLow: number[];
  costHigh: number[];
}

export interface CopiedNow {
  items: number;
  bytes: number;
  warmGbLow: number;
  warmGbHigh: number;
  coldGbLow: number;
  coldGbHigh: number;
  /** Monthly cost of what is stored now, at a 30-day month: what the bill should show for the copies so far. */
  monthlyCostLow: number;
  monthlyCostHigh: number;
}

export interface StorageForecast {
  months: MonthTotals[];
  groups: GroupSeries[];
  copied: CopiedNow;
  /** Resource types with no price in the table: their storage is counted, their cost is not. */
  unpriced: string[];
}

/** Month starts (UTC) from the month of `now`, `count` + 1 bounds. */
function monthBounds(now: number, count: number): number[] {
  const d = new Date(now);
  return Array.from({ length: count + 1 }, (_, i) => Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + i, 1));
}

/** ∫ from -∞ to t of the landed share: 0 before now, the ramp's area, then 1 per ms after finish. */
function rampArea(t: number, now: number, finish: number): number {
  if (t <= now) return 0;
  const span = finish - now;
  if (span <= 0) return t - now;
  if (t <= finish) return (t - now) ** 2 / (2 * span);
  return span / 2 + (t - finish);
}

/** Milliseconds of presence of a group within [a, b): full presence after landing, or the ramp. */
function presence(a: number, b: number, g: StorageGroup, inputs: StorageInputs): number {
  if (b <= a) return 0;
  if (g.landedAt !== null) return Math.max(0, b - Math.max(a, g.landedAt));
  return rampArea(b, inputs.now, inputs.finishAt) - rampArea(a, inputs.now, inputs.finishAt);
}

/** The group's warm and cold intervals, the cold one stretched to the billing minimum. */
function tiers(g: StorageGroup, inputs: StorageInputs): { warm: [number, number]; cold: [number, number] | null } {
  const hasCold = inputs.prices[g.resourceType]?.cold !== undefined;
  const end = g.deleteAt ?? Number.POSITIVE_INFINITY;
  if (!hasCold || g.coldAt === null || g.coldAt >= end) return { warm: [Number.NEGATIVE_INFINITY, end], cold: null };
  const coldEnd = Math.max(end, g.coldAt + inputs.copy.cold_minimum_days * DAY_MS);
  return { warm: [Number.NEGATIVE_INFINITY, g.coldAt], cold: [g.coldAt, coldEnd] };
}

function noneCopied(): CopiedNow {
  return {
    items: 0,
    bytes: 0,
    warmGbLow: 0,
    warmGbHigh: 0,
    coldGbLow: 0,
    coldGbHigh: 0,
    monthlyCostLow: 0,
    monthlyCostHigh: 0,
  };
}

/** One series per (vault, resource type, tier), created at zero on first use. */
class SeriesTable {
  private readonly series = new Map<string, GroupSeries>();

  constructor(private readonly months: number) {}

  of(g: StorageGroup, tier: Tier): GroupSeries {
    const key = `${g.vault}\u0000${g.resourceType}\u0000${tier}`;
    let s = this.series.get(key);
    if (!s) {
      const zeros = () => new Array<number>(this.months).fill(0);
      s = {
        vault: g.vault,
        resourceType: g.resourceType,
        tier,
        gbMonthsLow: zeros(),
        gbMonthsHigh: zeros(),
        costLow: zeros(),
        costHigh: zeros(),
      };
      this.series.set(key, s);
    }
    return s;
  }

  /** Sorted by vault, resource type and tier. */
  sorted(): GroupSeries[] {
    return [...this.series.values()].sort(
      (a, b) =>
        a.vault.localeCompare(b.vault) || a.resourceType.localeCompare(b.resourceType) || a.tier.localeCompare(b.tier),
    );
  }
}

/** Which estimates a group counts in. */
function estimatesOf(g: StorageGroup): { low: boolean; high: boolean } {
  return { low: g.estimate !== 'high', high: g.estimate !== 'low' };
}

/** A group's GB-months and their cost in one tier, month by month, over `span` (the tier's interval). */
function addTierMonths(
  s: GroupSeries,
  g: StorageGroup,
  span: [number, number],
  perGbMonth: number,
  bounds: readonly number[],
  inputs: StorageInputs,
): void {
  const { low, high } = estimatesOf(g);
  for (let m = 0; m < inputs.months; m++) {
    const a = Math.max(bounds[m] as number, span[0]);
    const b = Math.min(bounds[m + 1] as number, span[1]);
    const ms = presence(a, b, g, inputs);
    if (ms <= 0) continue;
    const gbMonths = (g.bytes / GB) * (ms / ((bounds[m + 1] as number) - (bounds[m] as number)));
    if (low) {
      s.gbMonthsLow[m] = (s.gbMonthsLow[m] as number) + gbMonths;
      s.costLow[m] = (s.costLow[m] as number) + gbMonths * perGbMonth;
    }
    if (high) {
      s.gbMonthsHigh[m] = (s.gbMonthsHigh[m] as number) + gbMonths;
      s.costHigh[m] = (s.costHigh[m] as number) + gbMonths * perGbMonth;
    }
  }
}

/** What is stored now, of the copies already made, in one tier. */
function addCopiedNow(
  copied: CopiedNow,
  g: StorageGroup,
  tier: Tier,
  span: [number, number],
  perGbMonth: number,
  now: number,
): void {
  if (g.landedAt === null || g.landedAt > now || span[0] > now || now >= span[1]) return;
  const { low, high } = estimatesOf(g);
  const gb = g.bytes / GB;
  if (tier === 'warm') {
    if (low) copied.warmGbLow += gb;
    if (high) copied.warmGbHigh += gb;
  } else {
    if (low) copied.coldGbLow += gb;
    if (high) copied.coldGbHigh += gb;
  }
  if (low) copied.monthlyCostLow += gb * perGbMonth;
  if (high) copied.monthlyCostHigh += gb * perGbMonth;
}

/** Transfer charges fall in the month the copies land; the high estimate's groups hold every copy once. */
function addTransfer(s: GroupSeries, g: StorageGroup, bounds: readonly number[], inputs: StorageInputs): void {
  for (let m = 0; m < inputs.months; m++) {
    const landed =
      g.landedAt !== null
        ? g.landedAt >= (bounds[m] as number) && g.landedAt < (bounds[m + 1] as number)
          ? 1
          : 0
        : landedShare(bounds[m + 1] as number, inputs) - landedShare(bounds[m] as number, inputs);
    const charge = (g.bytes / GB) * landed * inputs.copy.transfer_per_gb;
    s.costHigh[m] = (s.costHigh[m] as number) + charge;
    s.costLow[m] = (s.costLow[m] as number) + charge;
  }
}

/** Every series' month `m`, summed by tier. */
function monthTotal(month: number, m: number, series: readonly GroupSeries[]): MonthTotals {
  const t: MonthTotals = {
    month: new Date(month).toISOString().slice(0, 7),
    warmGbMonthsLow: 0,
    warmGbMonthsHigh: 0,
    coldGbMonthsLow: 0,
    coldGbMonthsHigh: 0,
    costLow: 0,
    costHigh: 0,
  };
  for (const s of series) {
    if (s.tier === 'warm') {
      t.warmGbMonthsLow += s.gbMonthsLow[m] as number;
      t.warmGbMonthsHigh += s.gbMonthsHigh[m] as number;
    } else {
      t.coldGbMonthsLow += s.gbMonthsLow[m] as number;
      t.coldGbMonthsHigh += s.gbMonthsHigh[m] as number;
    }
    t.costLow += s.costLow[m] as number;
    t.costHigh += s.costHigh[m] as number;
  }
  return t;
}

export function storageForecast(groups: readonly StorageGroup[], inputs: StorageInputs): StorageForecast {
  const bounds = monthBounds(inputs.now, inputs.months);
  const table = new SeriesTable(inputs.months);
  const unpriced = new Set<string>();
  const copied = noneCopied();
  for (const g of groups) {
    const price = inputs.prices[g.resourceType];
    if (!price) unpriced.add(g.resourceType);
    const { warm, cold } = tiers(g, inputs);
    for (const [tier, span] of [
      ['warm', warm],
      ['cold', cold],
    ] as const) {
      if (!span) continue;
      const perGbMonth = (tier === 'warm' ? price?.warm : price?.cold) ?? 0;
      addTierMonths(table.of(g, tier), g, span, perGbMonth, bounds, inputs);
      addCopiedNow(copied, g, tier, span, perGbMonth, inputs.now);
    }
    const { high } = estimatesOf(g);
    if (high && inputs.copy.transfer_per_gb > 0) addTransfer(table.of(g, 'warm'), g, bounds, inputs);
    if (high && g.landedAt !== null && g.landedAt <= inputs.now) {
      copied.items += g.items;
      copied.bytes += g.bytes;
    }
  }
  const series = table.sorted();
  const months = bounds.slice(0, inputs.months).map((month, m) => monthTotal(month, m, series));
  return { months, groups: series, copied, unpriced: [...unpriced].sort() };
}

function landedShare(t: number, inputs: StorageInputs): number {
  const span = inputs.finishAt - inputs.now;
  if (t <= inputs.now) return 0;
  if (span <= 0 || t >= inputs.finishAt) return 1;
  return (t - inputs.now) / span;
}
