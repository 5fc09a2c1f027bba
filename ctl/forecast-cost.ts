// `rpctl forecast --cost`: the destination's storage cost as a range, in words and columns.

import type { CostForecast } from '../shared/api.js';
import { columns } from './format.js';

const money = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const gb = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });

function usd(x: number): string {
  return `$${money.format(x)}`;
}

export function range(low: number, high: number, unit = usd): string {
  return low === high ? unit(low) : `${unit(low)} – ${unit(high)}`;
}

export function formatCost(c: CostForecast): string {
  const gbRange = (low: number, high: number) => range(low, high, (x) => gb.format(x));
  const lines = [
    `Destination storage cost (${c.currency}, ${c.region}${c.priceRegion !== c.region ? `, priced as ${c.priceRegion}` : ''}): low – high`,
    '',
    columns([
      [
        'copied so far',
        `${c.copied.items} copies: warm ${gbRange(c.copied.warmGbLow, c.copied.warmGbHigh)} GB, cold ${gbRange(c.copied.coldGbLow, c.copied.coldGbHigh)} GB`,
      ],
      ['  costing now', `${range(c.copied.monthlyCostLow, c.copied.monthlyCostHigh)} per month`],
      ['highest month', `${c.peakMonth}: ${range(c.monthlyCostLow, c.monthlyCostHigh)}`],
      [`${c.months.length} months`, range(c.totalCostLow, c.totalCostHigh)],
      ['copies land', `${c.landing.from.slice(0, 16)} → ${c.landing.until.slice(0, 16)} (the forecast's finish)`],
    ]),
    '',
    columns([
      ['MONTH', 'WARM GB-MONTHS', 'COLD GB-MONTHS', 'COST'],
      ...c.months.map((m) => [
        m.month,
        gbRange(m.warmGbMonthsLow, m.warmGbMonthsHigh),
        gbRange(m.coldGbMonthsLow, m.coldGbMonthsHigh),
        range(m.costLow, m.costHigh),
      ]),
    ]),
    '',
    columns([
      ['VAULT', 'TYPE', 'TIER', `${c.peakMonth} GB-MONTHS`, `${c.peakMonth} COST`, `${c.months.length}-MONTH COST`],
      ...c.byGroup
        .filter((g) => g.gbMonthsHigh.some((x) => x > 0))
        .map((g) => {
          const i = Math.max(
            0,
            c.months.findIndex((m) => m.month === c.peakMonth),
          );
          const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
          return [
            g.vault,
            g.resourceType,
            g.tier,
            gbRange(g.gbMonthsLow[i] ?? 0, g.gbMonthsHigh[i] ?? 0),
            range(g.costLow[i] ?? 0, g.costHigh[i] ?? 0),
            range(sum(g.costLow), sum(g.costHigh)),
          ];
        }),
    ]),
    '',
    `low:  ${c.estimates.low}`,
    `high: ${c.estimates.high}`,
    `incremental after the first copy: ${c.incrementalTypes.join(', ')}; always full: ${c.fullTypes.join(', ')} (${c.sources.incremental})`,
    `prices: ${c.prices.file ?? 'the shipped table'}, read ${c.prices.readAt} from ${c.prices.source}`,
    ...c.prices.unconfirmed.map((u) => `UNCONFIRMED: ${u}`),
    ...c.notes.map((n) => `note: ${n}`),
  ];
  return lines.join('\n');
}
