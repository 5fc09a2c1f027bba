// The HTML report's cost section: the range per month, the copies so far, the largest groups first, what each
// estimate assumes, and every daemon-given text escaped.

import t from 'tap';
import { costSection } from '../../ctl/report/cost.js';
import type { CostForecast } from '../../shared/api.js';

const EVIL = '<img src=x onerror=alert(1)>';

const cost: CostForecast = {
  currency: 'USD',
  region: 'eu-west-2',
  priceRegion: 'default',
  prices: {
    readAt: '2026-12-06',
    source: 'https://aws.amazon.com/backup/pricing/',
    file: null,
    unconfirmed: ['every number'],
    perGbMonth: { EBS: { warm: 0.05, cold: 0.0125 } },
    transferPerGb: 0,
    coldMinimumDays: 90,
  },
  landing: { from: '2026-12-06T00:00:00.000Z', until: '2026-12-20T00:00:00.000Z' },
  estimates: { low: 'first copies only', high: 'every copy full' },
  incrementalTypes: ['EBS'],
  fullTypes: ['Aurora'],
  sources: { incremental: 'https://docs.aws.amazon.com/x' },
  months: [
    {
      month: '2026-12',
      warmGbMonthsLow: 10,
      warmGbMonthsHigh: 40,
      coldGbMonthsLow: 0,
      coldGbMonthsHigh: 0,
      costLow: 0.5,
      costHigh: 2,
    },
    {
      month: '2027-01',
      warmGbMonthsLow: 20,
      warmGbMonthsHigh: 80,
      coldGbMonthsLow: 0,
      coldGbMonthsHigh: 0,
      costLow: 1,
      costHigh: 4,
    },
  ],
  byGroup: [
    {
      vault: EVIL,
      resourceType: 'EBS',
      tier: 'warm',
      gbMonthsLow: [10, 20],
      gbMonthsHigh: [40, 80],
      costLow: [0.5, 1],
      costHigh: [2, 4],
    },
    {
      vault: 'small',
      resourceType: 'EBS',
      tier: 'cold',
      gbMonthsLow: [0, 0],
      gbMonthsHigh: [0, 0],
      costLow: [0, 0],
      costHigh: [0, 0],
    },
  ],
  peakMonth: '2027-01',
  monthlyCostLow: 1,
  monthlyCostHigh: 4,
  totalCostLow: 1.5,
  totalCostHigh: 6,
  copied: {
    items: 3,
    bytes: 3 * 2 ** 30,
    warmGbLow: 1,
    warmGbHigh: 3,
    coldGbLow: 0,
    coldGbHigh: 0,
    monthlyCostLow: 0.05,
    monthlyCostHigh: 0.15,
  },
  notes: [EVIL],
};

t.test('the cost section says the range, the copies so far and the assumptions, escaped', async (t) => {
  const html = costSection(cost);
  t.match(html, /<h2>Destination storage cost<\/h2>/);
  t.match(html, /Copies made so far: <b>3<\/b>, costing <b>\$0\.05 – \$0\.15<\/b> per month now/);
  t.match(html, /Highest month: <b>2027-01<\/b> at <b>\$1\.00 – \$4\.00<\/b>/);
  t.match(html, /Low: first copies only\. High: every copy full\./);
  t.match(html, /UNCONFIRMED: every number/);
  t.notMatch(html, /<img/, 'text from the daemon is escaped');
  t.notMatch(html, /https?:\/\//, 'no URL on the page: the price source is named by host and path');
  t.match(html, /from aws\.amazon\.com\/backup\/pricing\//);
  t.notMatch(html, />small</, 'a group with no cost in the highest month is left out');
  t.equal((html.match(/<rect /g) ?? []).length, 4, 'two bars per month: low and high');
  t.equal(String(costSection(undefined)), '', 'no section without a cost forecast');
});
