// The cost forecast's arithmetic on a shape small enough to compute by hand: one EBS copy already made that moves
// to cold storage and is deleted before the 90-day cold minimum, one Aurora copy and one later (incremental) EBS
// copy still to land, evenly over January. And the price table file: a bad price fails the config, naming both.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { DEFAULT_PRICES, pricesFor } from '../../daemon/cost/prices.js';
import { type StorageGroup, storageForecast } from '../../daemon/cost/storage.js';
import { ConfigError, loadConfig } from '../../shared/config.js';
import { writeTestConfig } from '../helpers/config.js';

const DAY = 86_400_000;
const GIB = 2 ** 30;
const now = Date.UTC(2027, 0, 1);
const close = (t: { ok(v: boolean, m: string): void }, actual: number, expected: number, what: string) =>
  t.ok(Math.abs(actual - expected) < 1e-9, `${what}: ${actual} ≈ ${expected}`);

t.test('GB-months and cost per month, tier and estimate, computed by hand', async (t) => {
  const prices = {
    EBS: { warm: 0.05, cold: 0.0125 },
    Aurora: { warm: 0.021 },
  };
  const groups: StorageGroup[] = [
    // Copied yesterday: warm until Jan 11, cold from then; deleted Jan 21 but cold is billed 90 days (to Apr 11).
    {
      vault: 'v',
      resourceType: 'EBS',
      estimate: 'both',
      landedAt: now - DAY,
      coldAt: now + 10 * DAY,
      deleteAt: now + 20 * DAY,
      items: 1,
      bytes: 100 * GIB,
    },
    // Still to copy, landing evenly over January (the forecast's finish is Feb 1), kept forever, no cold tier.
    {
      vault: 'v',
      resourceType: 'Aurora',
      estimate: 'both',
      landedAt: null,
      coldAt: null,
      deleteAt: null,
      items: 1,
      bytes: 62 * GIB,
    },
    // A later EBS copy of the same resource: the high estimate stores it in full, the low one not at all.
    {
      vault: 'v',
      resourceType: 'EBS',
      estimate: 'high',
      landedAt: null,
      coldAt: null,
      deleteAt: null,
      items: 1,
      bytes: 31 * GIB,
    },
  ];
  const f = storageForecast(groups, {
    now,
    finishAt: now + 31 * DAY,
    months: 3,
    prices,
    copy: { transfer_per_gb: 0, cold_minimum_days: 90 },
  });
  t.same(
    f.months.map((m) => m.month),
    ['2027-01', '2027-02', '2027-03'],
  );
  const [jan, feb, mar] = f.months;
  // January (31 days): the first copy 10 warm days and 21 cold days; Aurora and the later EBS copy ramp in, half a
  // month each on average.
  close(t, jan!.warmGbMonthsLow, (100 * 10) / 31 + 62 / 2, 'January warm, low');
  close(t, jan!.warmGbMonthsHigh, (100 * 10) / 31 + 62 / 2 + 31 / 2, 'January warm, high');
  close(t, jan!.coldGbMonthsLow, (100 * 21) / 31, 'January cold');
  close(t, jan!.costLow, ((100 * 10) / 31) * 0.05 + ((100 * 21) / 31) * 0.0125 + 31 * 0.021, 'January cost, low');
  close(t, jan!.costHigh, jan!.costLow + 15.5 * 0.05, 'January cost, high');
  // February and March: the deleted copy still pays cold storage (the 90-day minimum), the others are whole.
  close(t, feb!.coldGbMonthsHigh, 100, 'February cold: the 90-day minimum');
  close(t, feb!.costLow, 100 * 0.0125 + 62 * 0.021, 'February cost, low');
  close(t, feb!.costHigh, 100 * 0.0125 + 62 * 0.021 + 31 * 0.05, 'February cost, high');
  close(t, mar!.costHigh, feb!.costHigh, 'March as February');
  // What is stored now: the copy made yesterday, warm, at $0.05.
  t.equal(f.copied.items, 1);
  close(t, f.copied.warmGbHigh, 100, 'copied warm GB');
  close(t, f.copied.monthlyCostHigh, 5, 'copied monthly cost');
  const cold = f.groups.find((g) => g.resourceType === 'EBS' && g.tier === 'cold');
  close(t, cold!.costHigh[1]!, 1.25, 'the EBS cold series in February');
});

t.test('a type without a cold price stays warm; a missing type is reported unpriced', async (t) => {
  const f = storageForecast(
    [
      {
        vault: 'v',
        resourceType: 'RDS',
        estimate: 'both',
        landedAt: now - DAY,
        coldAt: now,
        deleteAt: null,
        items: 1,
        bytes: GIB,
      },
    ],
    {
      now,
      finishAt: now,
      months: 1,
      prices: { FSx: { warm: 0.05 } },
      copy: { transfer_per_gb: 0, cold_minimum_days: 90 },
    },
  );
  t.same(f.unpriced, ['RDS']);
  t.same(
    f.groups.map((g) => g.tier),
    ['warm'],
  );
  close(t, f.months[0]!.warmGbMonthsHigh, 1, 'one GB-month warm');
});

t.test('the shipped table prices every resource type, and unknown regions use its default', async (t) => {
  const r = pricesFor(DEFAULT_PRICES, 'eu-west-2');
  t.equal(r?.region, 'default');
  for (const type of ['EBS', 'EC2', 'RDS', 'Aurora', 'S3', 'EFS', 'DynamoDB', 'FSx']) t.ok(r?.prices[type], type);
});

t.test('cost.price_table: a bad file fails the config, naming the config key, the file and its key', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rpc-prices-'));
  const prices = join(dir, 'prices.toml');
  writeFileSync(prices, 'read_at = "2026-12-06"\nsource = "test"\n[regions.eu-west-2.EBS]\nwarm = "cheap"\n');
  const config = writeTestConfig(dir, { extra: `\n[cost]\nprice_table = "prices.toml"\n` });
  const err = t.throws(() => loadConfig(config, {}, {})) as ConfigError;
  t.type(err, ConfigError);
  t.match(err.message, /cost\.price_table: .*prices\.toml: regions\.eu-west-2\.EBS\.warm: expected a price/);
  writeFileSync(
    prices,
    'read_at = "2026-12-06"\nsource = "test"\n[regions.eu-west-2.EBS]\nwarm = 0.06\ncold = 0.015\n',
  );
  t.equal(loadConfig(config, {}, {}).cost.priceTable, prices, 'a good file loads, its path resolved from the config');
  const missing = writeTestConfig(join(dir, 'b'), { extra: `\n[cost]\nprice_table = "nowhere.toml"\n` });
  t.throws(() => loadConfig(missing, {}, {}), /cost\.price_table: file not found/);
});
