// The cost forecast end to end: a run copies the sandbox's shape, then `rpctl forecast --cost --json` is checked
// against the same storage and cost computed by hand, copy by copy, from the store (test/helpers/cost.ts), at the
// prices of a price table given in the config.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { copySandbox } from '../helpers/copy.js';
import { handCost, type Prices } from '../helpers/cost.js';
import { runUntilDone, stopDaemon } from '../helpers/pipeline.js';
import { runCtlAsync, spawnDaemon } from '../helpers/process.js';

t.setTimeout(300_000);

const PRICES: Prices = {
  EBS: { warm: 0.06, cold: 0.015 },
  EC2: { warm: 0.06 },
  RDS: { warm: 0.1 },
  Aurora: { warm: 0.025 },
  S3: { warm: 0.055 },
  EFS: { warm: 0.06, cold: 0.012 },
  DynamoDB: { warm: 0.11, cold: 0.033 },
  FSx: { warm: 0.055 },
};

function priceToml(): string {
  const lines = ['read_at = "2026-12-06"', 'source = "the test"', ''];
  for (const [type, p] of Object.entries(PRICES)) {
    lines.push(
      `[regions.eu-west-2.${type}]`,
      `warm = ${p.warm}`,
      ...(p.cold !== undefined ? [`cold = ${p.cold}`] : []),
      '',
    );
  }
  return lines.join('\n');
}

const near = (actual: number, expected: number, places: number) =>
  Math.abs(actual - expected) <= 10 ** -places / 2 + Math.abs(expected) * 1e-9;

t.test('the copies made and the next month match a hand computation at the configured prices', async (t) => {
  const sandbox = await copySandbox(t, 400, {}, 1);
  writeFileSync(join(sandbox.dir, 'prices.toml'), priceToml());
  writeFileSync(sandbox.config, `${readFileSync(sandbox.config, 'utf8')}\n[cost]\nprice_table = "prices.toml"\n`);
  const daemon = await runUntilDone(t, sandbox);
  const run = await runCtlAsync(['forecast', '--cost', '--json'], sandbox.env);
  t.equal(run.code, 0, run.stderr);
  const cost = JSON.parse(run.stdout);
  t.equal(cost.priceRegion, 'eu-west-2', 'the configured table prices the region');
  t.equal(cost.prices.file, join(sandbox.dir, 'prices.toml'));
  const hand = handCost(join(sandbox.stateDir, 'rpcopy.db'), PRICES, Date.parse(cost.landing.from));
  t.ok(hand.items > 50, `the run copied a shape worth checking (${hand.items} copies)`);
  t.equal(cost.copied.items, hand.items, 'copies made');
  t.equal(cost.copied.bytes, hand.bytes, 'their bytes');
  t.ok(
    near(cost.copied.warmGbHigh, hand.warmGbHigh, 3),
    `warm GB now, high: ${cost.copied.warmGbHigh} vs ${hand.warmGbHigh}`,
  );
  t.ok(
    near(cost.copied.warmGbLow, hand.warmGbLow, 3),
    `warm GB now, low: ${cost.copied.warmGbLow} vs ${hand.warmGbLow}`,
  );
  t.ok(
    near(cost.copied.monthlyCostHigh, hand.monthlyCostHigh, 2),
    `cost per month now, high: ${cost.copied.monthlyCostHigh} vs ${hand.monthlyCostHigh}`,
  );
  t.ok(
    near(cost.copied.monthlyCostLow, hand.monthlyCostLow, 2),
    `cost per month now, low: ${cost.copied.monthlyCostLow} vs ${hand.monthlyCostLow}`,
  );
  const next = cost.months[1];
  t.equal(next.month, hand.nextMonth.month);
  t.ok(
    near(next.warmGbMonthsHigh, hand.nextMonth.warmGbMonthsHigh, 3),
    `next month warm GB-months: ${next.warmGbMonthsHigh} vs ${hand.nextMonth.warmGbMonthsHigh}`,
  );
  t.ok(
    near(next.coldGbMonthsHigh, hand.nextMonth.coldGbMonthsHigh, 3),
    `next month cold GB-months: ${next.coldGbMonthsHigh} vs ${hand.nextMonth.coldGbMonthsHigh}`,
  );
  t.ok(
    near(next.costHigh, hand.nextMonth.costHigh, 2),
    `next month cost, high: ${next.costHigh} vs ${hand.nextMonth.costHigh}`,
  );
  t.ok(
    near(next.costLow, hand.nextMonth.costLow, 2),
    `next month cost, low: ${next.costLow} vs ${hand.nextMonth.costLow}`,
  );
  t.ok(next.costLow < next.costHigh, 'a range, not a point');

  const full = JSON.parse((await runCtlAsync(['forecast', '--json'], sandbox.env)).stdout);
  t.equal(full.cost.totalCostHigh, cost.totalCostHigh, 'rpctl forecast --json carries the same cost section');
  const human = await runCtlAsync(['forecast', '--cost'], sandbox.env);
  t.match(human.stdout, /copied so far\s+\d+ copies/);
  t.match(human.stdout, /^low: /m);
  t.match(human.stdout, /^high: /m);
  await stopDaemon(daemon, sandbox.env);
});

t.test('a bad price table stops rpcopyd at start, naming the key and the file', async (t) => {
  const sandbox = await copySandbox(t, 50, {}, 1);
  writeFileSync(
    join(sandbox.dir, 'prices.toml'),
    'read_at = "x"\nsource = "y"\n[regions.eu-west-2.EBS]\ncold = 0.01\n',
  );
  writeFileSync(sandbox.config, `${readFileSync(sandbox.config, 'utf8')}\n[cost]\nprice_table = "prices.toml"\n`);
  const daemon = spawnDaemon([], sandbox.env, t);
  const exit = await daemon.exited;
  t.equal(exit.code, 3, 'the config exit code');
  t.match(daemon.output(), /cost\.price_table: .*prices\.toml: regions\.eu-west-2\.EBS\.warm/);
});
