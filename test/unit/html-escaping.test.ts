// The HTML pages take names and messages from the daemon (vaults, resource types, failure reasons and messages,
// cost notes) and from the host (a fleet pair's state directory, its error): whatever they hold, they arrive in
// the page as text. Each hostile string must appear escaped, and no markup of its own may reach the page.

import t, { type Test } from 'tap';
import { collectPair, type FleetPair, totalsOf } from '../../ctl/fleet/collect.js';
import { renderFleetHtml } from '../../ctl/fleet/html.js';
import { renderReportHtml } from '../../ctl/report/html.js';
import {
  type CostForecast,
  CostForecast as CostSchema,
  type ReportSummaryResponse,
  type StatusResponse,
  ReportSummaryResponse as SummarySchema,
} from '../../shared/api.js';

const TAG = '<img src=x onerror=alert(1)>';
const QUOTES = `"&'`;
const HOSTILE = `${TAG}${QUOTES}`;
const TAG_ESCAPED = '&lt;img src=x onerror=alert(1)&gt;';
const QUOTES_ESCAPED = '&quot;&amp;&#39;';

/** Every tag the pages write themselves; anything else in a page came from a value. */
const OWN_TAGS = new Set(
  (
    'html head meta title style body main header footer h1 h2 h3 div span section p b code table thead tbody tfoot ' +
    'tr th td svg defs clippath rect line text polygon polyline g'
  ).split(' '),
);

/** The page's own markup is intact and the hostile text shows only escaped. */
function checkEscaped(t: Test, page: string, where: string): void {
  const tags = [...page.matchAll(/<\/?([a-zA-Z][a-zA-Z0-9]*)/g)].map((m) => (m[1] ?? '').toLowerCase());
  t.same(
    tags.filter((tag) => !OWN_TAGS.has(tag)),
    [],
    `${where}: no tag but the page's own`,
  );
  t.notOk(page.replaceAll(TAG_ESCAPED, '').includes('onerror'), `${where}: no event handler but in escaped text`);
  t.notOk(page.includes(QUOTES), `${where}: no unescaped quotes and ampersand`);
  t.ok(page.includes(TAG_ESCAPED + QUOTES_ESCAPED), `${where}: the hostile text is shown, escaped`);
}

/** One vault, one type: every count the same at each level. */
const TALLY = {
  points: 105,
  toCopy: 95,
  skipped: 10,
  verified: 40,
  failed: 5,
  remaining: 50,
  bytesToCopy: 95e9,
  bytesVerified: 40e9,
};

const summary: ReportSummaryResponse = {
  generatedAt: '2026-12-06T12:00:00.000Z',
  states: { verified: 40, failed: 5, queued: 50, skipped: 10 },
  totals: { ...TALLY, undecided: 0, inFlight: 0 },
  skipped: [{ reason: `apmid ${HOSTILE}`, count: 10, description: `skipped ${HOSTILE}` }],
  failures: [
    {
      reason: `reason ${HOSTILE}`,
      kind: `kind ${HOSTILE}`,
      count: 5,
      description: `means ${HOSTILE}`,
      example: `message ${HOSTILE}`,
    },
  ],
  retrying: [{ reason: `retry ${HOSTILE}`, count: 1, description: `retrying ${HOSTILE}` }],
  byType: [
    {
      resourceType: `type ${HOSTILE}`,
      ...TALLY,
      activeHours: 4,
      meanJobSeconds: 600,
    },
  ],
  byVault: [
    {
      vault: TAG,
      destination: `copy ${QUOTES}`,
      ...TALLY,
    },
  ],
  progress: {
    bucketMs: 3_600_000,
    firstSubmittedAt: '2026-12-06T08:00:00.000Z',
    firstVerifiedAt: '2026-12-06T09:00:00.000Z',
    lastVerifiedAt: '2026-12-06T11:30:00.000Z',
    buckets: ['08', '09', '10', '11'].map((h) => ({ at: `2026-12-06T${h}:00:00.000Z`, verified: 10, bytes: 10e9 })),
  },
  projection: {
    method: 'simple',
    label: `label ${HOSTILE}`,
    ratePerHour: 10,
    spread: 0.2,
    target: 90,
    finish: {
      earliest: '2026-12-06T16:00:00.000Z',
      expected: '2026-12-06T17:00:00.000Z',
      latest: '2026-12-06T18:00:00.000Z',
    },
    band: [
      { at: '2026-12-06T12:00:00.000Z', low: 40, expected: 40, high: 40 },
      { at: '2026-12-06T17:00:00.000Z', low: 80, expected: 90, high: 90 },
    ],
  },
};

const cost: CostForecast = {
  currency: 'USD',
  region: 'eu-west-2',
  priceRegion: `region ${HOSTILE}`,
  prices: {
    readAt: '2026-12-06',
    source: `source ${HOSTILE}`,
    file: `file ${HOSTILE}`,
    unconfirmed: [`unconfirmed ${HOSTILE}`],
    perGbMonth: { EBS: { warm: 0.05, cold: 0.0125 } },
    transferPerGb: 0,
    coldMinimumDays: 90,
  },
  landing: { from: '2026-12-06T00:00:00.000Z', until: '2026-12-20T00:00:00.000Z' },
  estimates: { low: `low ${HOSTILE}`, high: `high ${HOSTILE}` },
  incrementalTypes: ['EBS'],
  fullTypes: [],
  sources: {},
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
  ],
  byGroup: [
    {
      vault: TAG,
      resourceType: `type ${QUOTES}`,
      tier: 'warm',
      gbMonthsLow: [10],
      gbMonthsHigh: [40],
      costLow: [0.5],
      costHigh: [2],
    },
  ],
  peakMonth: '2026-12',
  monthlyCostLow: 0.5,
  monthlyCostHigh: 2,
  totalCostLow: 0.5,
  totalCostHigh: 2,
  copied: {
    items: 40,
    bytes: 40e9,
    warmGbLow: 1,
    warmGbHigh: 3,
    coldGbLow: 0,
    coldGbHigh: 0,
    monthlyCostLow: 0.05,
    monthlyCostHigh: 0.15,
  },
  notes: [`note ${HOSTILE}`],
};

const status = {
  state: 'paused',
  pauseReason: `pause ${HOSTILE}`,
  phase: 'copy',
  source: { accountId: '111111111111', region: 'eu-west-2' },
  destination: { accountId: '222222222222' },
} as StatusResponse;

t.test('the report page shows hostile vault, type, reason and cost text escaped', async (t) => {
  t.ok(SummarySchema.safeParse(summary).success, 'the fixture is a valid summary');
  t.ok(CostSchema.safeParse(cost).success, 'the fixture is a valid cost forecast');
  const page = renderReportHtml({ summary, status, version: QUOTES, cost });
  checkEscaped(t, page, 'report');
  t.match(page, '<td>&lt;img src=x onerror=alert(1)&gt;</td>', 'the vault named like a tag is a table cell of text');
  t.match(page, '<td>copy &quot;&amp;&#39;</td>', 'quotes and an ampersand in a name');
  t.match(page, 'class="label">type &lt;img', 'a chart label is escaped');
  t.match(page, 'title="verified: 40"', 'attribute values stay quoted');
});

t.test('the fleet page shows a hostile pair name, path and error escaped', async (t) => {
  // A pair whose state directory cannot be told is unreachable without a socket call: the real pair, no I/O.
  const pair = await collectPair(
    {
      name: `~/${TAG}`,
      source: 'state-dir',
      unit: null,
      stateDir: null,
      socket: null,
      problem: `its config /home/op/${HOSTILE}/config.toml: unreadable`,
    },
    false,
    1_000,
  );
  const paused: FleetPair = {
    ...pair,
    name: `paused ${QUOTES}`,
    reachable: true,
    state: 'paused',
    unreachableReason: null,
    error: null,
    pauseReason: `reason ${HOSTILE}`,
    pauseDetail: `detail ${HOSTILE}`,
    cost: {
      peakMonth: `month ${HOSTILE}`,
      monthlyCostLow: 1,
      monthlyCostHigh: 2,
      totalCostLow: 1,
      totalCostHigh: 2,
      copiedMonthlyCostLow: 0,
      copiedMonthlyCostHigh: 0,
      currency: 'USD',
    },
  };
  const pairs = [pair, paused];
  const page = renderFleetHtml(pairs, totalsOf(pairs), '2026-12-06T12:00:00.000Z', QUOTES);
  checkEscaped(t, page, 'fleet');
  t.match(page, '<b>~/&lt;img src=x onerror=alert(1)&gt;</b>', 'the pair named like a tag is bold text');
  t.match(page, '<b>paused &quot;&amp;&#39;</b>');
});
