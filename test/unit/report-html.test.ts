// The HTML report (rpctl report --format html) from a synthetic summary of a
// job three days in: every piece of daemon text is escaped, nothing refers to
// the network, the sections and their numbers are there, the empty states
// read well, and the page renders in headless Chromium to a non-blank
// screenshot (skipped, saying why, where Chromium is not installed).

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { renderReportHtml } from '../../ctl/report/html.js';
import { bytes, duration, niceTicks, when } from '../../ctl/report/svg.js';
import {
  type ReportProjection,
  type ReportSummaryResponse,
  type StatusResponse,
  ReportSummaryResponse as SummarySchema,
} from '../../shared/api.js';
import { chromium, decodePng, NO_CHROMIUM, screenshot } from '../helpers/png.js';

const HOUR = 3_600_000;
const START = Date.UTC(2025, 2, 11, 22, 0, 0);
const NOW = START + 62 * HOUR;
const EVIL = '<script>alert("x")</script>&<img src=https://evil.example/x.png>';

const tally = (toCopy: number, verified: number, failed: number, skipped: number) => ({
  points: toCopy + skipped,
  toCopy,
  skipped,
  verified,
  failed,
  remaining: toCopy - verified - failed,
  bytesToCopy: toCopy * 20e9,
  bytesVerified: verified * 20e9,
});

function projection(done: number, target: number, ratePerHour: number, spread: number): ReportProjection {
  const remaining = target - done;
  const at = (h: number) => new Date(NOW + h * HOUR).toISOString();
  const steps = Array.from({ length: 13 }, (_, i) => (i * remaining) / ratePerHour / (1 - spread) / 12);
  return {
    method: 'simple',
    label: `Simple projection: the rate of the last 6 h of copying (${ratePerHour} points/h) ±${spread * 100} %, carried forward; it ignores change windows and is not a forecast ${EVIL}`,
    ratePerHour,
    spread,
    target,
    finish: {
      earliest: at(remaining / ratePerHour / (1 + spread)),
      expected: at(remaining / ratePerHour),
      latest: at(remaining / ratePerHour / (1 - spread)),
    },
    band: steps.map((h) => ({
      at: at(h),
      low: Math.min(target, done + ratePerHour * (1 - spread) * h),
      expected: Math.min(target, done + ratePerHour * h),
      high: Math.min(target, done + ratePerHour * (1 + spread) * h),
    })),
  };
}

function syntheticSummary(): ReportSummaryResponse {
  const buckets = Array.from({ length: 62 }, (_, h) => ({
    at: new Date(START + h * HOUR).toISOString(),
    verified: Math.round(Math.min(1, h / 3) * 6_000 * (0.8 + 0.2 * Math.sin(h / 3))),
    bytes: 0,
  }));
  const verified = buckets.reduce((n, b) => n + b.verified, 0);
  const types = ['EBS', 'EC2', 'RDS', 'Aurora', 'S3', 'EFS', 'DynamoDB', `FSx ${EVIL}`];
  const vaults = ['prod-ebs-daily', 'prod-rds-daily', 'finance-critical', `evil ${EVIL}`];
  const toCopy = 650_000;
  const failed = 10_000;
  const remaining = toCopy - verified - failed;
  return {
    generatedAt: new Date(NOW).toISOString(),
    states: { skipped: 350_000, verified, failed, queued: remaining - 2_000, submitted: 1_800, completed: 200 },
    totals: { ...tally(toCopy, verified, failed, 350_000), undecided: 0, inFlight: 1_800 },
    skipped: [
      { reason: 'apmid_not_allowed', count: 200_000, description: 'its APMID is not in the allowed set' },
      { reason: 'aws_managed_key', count: 150_000, description: `described with ${EVIL}` },
    ],
    failures: [
      {
        reason: 'canary_failed',
        kind: 'permanent',
        count: 8_000,
        description: 'the canary copy failed',
        example: `KMS key "alias/x", not shared\n${EVIL}`,
      },
      { reason: `evil ${EVIL}`, kind: 'permanent', count: 2_000, description: EVIL, example: EVIL },
    ],
    retrying: [{ reason: 'internal_error', count: 300, description: 'AWS reported an internal or temporary error' }],
    byType: types.map((resourceType, i) => ({
      resourceType,
      ...tally(toCopy / 8, Math.round(verified / 8), failed / 8, 350_000 / 8),
      activeHours: 60 - i,
      meanJobSeconds: 1_800 + i * 300,
    })),
    byVault: vaults.map((vault, i) => ({
      vault,
      destination: i === 0 ? null : `${vault}-copy`,
      ...tally(toCopy / 4, Math.round(verified / 4), failed / 4, 350_000 / 4),
    })),
    progress: {
      bucketMs: HOUR,
      firstSubmittedAt: buckets[0]!.at,
      firstVerifiedAt: buckets[1]!.at,
      lastVerifiedAt: new Date(NOW - 60_000).toISOString(),
      buckets,
    },
    projection: projection(verified, toCopy - failed, 6_000, 0.2),
  };
}

const status = {
  state: 'running',
  phase: 'copy',
  source: { accountId: '111111111111', region: 'eu-west-2' },
  destination: { accountId: '222222222222' },
} as StatusResponse;

/**
 * What the page would fetch: a tag that loads something, an attribute or CSS that names a URL. Daemon text is
 * escaped, so every `<` left in the page opens a real tag; text that merely mentions a URL is not a reference.
 */
function externalReferences(html: string): string[] {
  const tags = html.match(/<[^>]*>/g) ?? [];
  const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1] ?? '');
  return [
    ...tags.filter((tag) => /^<(?:script|link|iframe|object|embed|img|image|use|audio|video|source)\b/i.test(tag)),
    ...tags.filter((tag) => /\b(?:src|href|action|poster|data|xlink:href)\s*=\s*["']?\s*(?:https?:)?\/\//i.test(tag)),
    ...tags.filter((tag) => /url\(\s*["']?\s*(?:https?:)?\/\//i.test(tag)),
    ...styles.filter((css) => /@import|url\(\s*["']?\s*(?:https?:)?\/\//i.test(css)),
  ];
}

t.test('every text is escaped and nothing refers to the network', async (t) => {
  const summary = syntheticSummary();
  t.ok(SummarySchema.safeParse(summary).success, 'the fixture is a valid summary');
  const html = renderReportHtml({ summary, status, version: '9.9.9' });
  for (const bad of [
    '<link rel="stylesheet" href="https://cdn.example/x.css">',
    '<script src="x.js"></script>',
    '<div style="background:url(//cdn.example/x.png)">',
    '<style>@import "https://cdn.example/x.css";</style>',
    '<a href="http://example.com">',
  ]) {
    t.not(externalReferences(bad).length, 0, `the check catches ${bad}`);
  }
  t.same(externalReferences(html), [], 'no script, no external resource');
  t.notMatch(
    html.replace(/https:\/\/evil\.example/g, ''),
    /https?:\/\//,
    'no URL at all but the one in the hostile text',
  );
  t.notMatch(html, /<script|<img/i, 'hostile markup arrives as text');
  t.match(html, '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&lt;img src=https://evil.example/x.png&gt;');
  t.match(html, `content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`, 'a CSP forbids any fetch');
  for (const heading of [
    'Points to copy',
    'Progress over time',
    'Throughput by resource type',
    'Failures by reason',
    'Vaults',
    'Skipped by the plan',
  ]) {
    t.match(html, `<h2>${heading}</h2>`, `section ${heading}`);
  }
  t.match(html, 'Simple projection: the rate of the last 6 h', 'the band is labelled as a simple projection');
  t.match(html, 'the canary copy failed', 'failure descriptions from the summary');
  t.match(html, 'Waiting to retry');
  t.match(html, '650,000', 'numbers are formatted');
  t.match(html, 'rpcopy 9.9.9');
  const other = renderReportHtml({ summary, status, version: '1', projection: null });
  t.notMatch(other, 'simple projection band', 'a caller can replace the band (a forecast later), or drop it');
});

t.test('empty states: nothing verified, nothing failed, nothing planned', async (t) => {
  const summary = syntheticSummary();
  const empty: ReportSummaryResponse = {
    ...summary,
    states: {},
    totals: { ...tally(0, 0, 0, 0), undecided: 0, inFlight: 0 },
    skipped: [],
    failures: [],
    retrying: [],
    byType: [],
    byVault: [],
    progress: { bucketMs: HOUR, firstSubmittedAt: null, firstVerifiedAt: null, lastVerifiedAt: null, buckets: [] },
    projection: null,
  };
  const html = renderReportHtml({ summary: empty, status: { ...status, state: 'done' }, version: '1' });
  t.match(html, 'No copy has been verified yet');
  t.match(html, 'No point has failed.');
  t.match(html, 'Nothing is planned to be copied yet.');
  t.match(html, 'No resource type has points to copy.');
  t.notMatch(html, 'NaN', 'no division by zero shows');
  t.notMatch(html, 'Infinity');
});

t.test('formatting helpers', async (t) => {
  t.same(niceTicks(654_703), [0, 200_000, 400_000, 600_000, 800_000]);
  t.same(niceTicks(0), [0, 1]);
  t.equal(bytes(29.5e15), '29.5 PB');
  t.equal(bytes(999), '999 B');
  t.equal(duration(45 * 60_000), '45 min');
  t.equal(duration(26 * HOUR + 60_000), '26 h 1 min');
  t.equal(duration(50 * HOUR), '2 d 2 h');
  t.equal(when('2025-03-14T15:20:00.000Z'), '14 Mar 2025 15:20 UTC');
});

const browser = chromium();
t.test(
  'renders in headless Chromium to a non-blank page',
  {
    skip: browser ? false : NO_CHROMIUM,
  },
  async (t) => {
    if (!browser) return;
    const dir = mkdtempSync(join(tmpdir(), 'rpc-report-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const page = join(dir, 'report.html');
    const shot = join(dir, 'report.png');
    writeFileSync(page, renderReportHtml({ summary: syntheticSummary(), status, version: '9.9.9' }));
    const failure = screenshot(browser, page, shot, { width: 1280, height: 2000 }, dir);
    t.ok(existsSync(shot), 'Chromium wrote the screenshot');
    if (failure !== undefined) t.comment(failure);
    if (!existsSync(shot)) return;
    const png = decodePng(readFileSync(shot));
    t.same([png.width, png.height], [1280, 2000], 'at the window size');
    // Count the colours in the picture and how much of it differs from the page background.
    const colours = new Set<number>();
    let ink = 0;
    const background = [0xf3, 0xf4, 0xf6];
    for (let i = 0; i < png.pixels.length; i += png.channels) {
      const [r, g, b] = [png.pixels[i]!, png.pixels[i + 1]!, png.pixels[i + 2]!];
      colours.add((r << 16) | (g << 8) | b);
      if (Math.abs(r - background[0]!) + Math.abs(g - background[1]!) + Math.abs(b - background[2]!) > 12) ink += 1;
    }
    const pixels = png.width * png.height;
    t.ok(colours.size > 200, `many colours: text, charts and tables were drawn (${colours.size})`);
    t.ok(ink / pixels > 0.3, `most of the window is content, not background (${((ink / pixels) * 100).toFixed(0)} %)`);
    const verifiedGreen = [0x15, 0x80, 0x3d];
    let green = 0;
    for (let i = 0; i < png.pixels.length; i += png.channels) {
      if (
        png.pixels[i] === verifiedGreen[0] &&
        png.pixels[i + 1] === verifiedGreen[1] &&
        png.pixels[i + 2] === verifiedGreen[2]
      ) {
        green += 1;
      }
    }
    t.ok(green > 1_000, `the verified bar and line are drawn in their colour (${green} pixels)`);
  },
);
