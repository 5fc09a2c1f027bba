// `rpctl report --format html`: one self-contained page an operator can mail
// to management, in the shared page shell (ctl/html/page.ts): inline CSS and
// hand-drawn inline SVG only. Markup goes through html``, which escapes all
// text from the daemon.

import type { CostForecast, ReportProjection, ReportSummaryResponse, StatusResponse } from '../../shared/api.js';
import { COLORS, renderPage, tile } from '../html/page.js';
import { type Html, html } from '../html/template.js';
import { costSection } from './cost.js';
import { barChart, bytes, duration, fmt, progressChart, when } from './svg.js';

export interface ReportPageInput {
  summary: ReportSummaryResponse;
  status: StatusResponse;
  version: string;
  /** The band on the progress chart: the summary's simple projection unless a forecast is given. */
  projection?: ReportProjection | null;
  /** The forecast's cost section (ctl/report/cost.ts); none when the daemon could not give it. */
  cost?: CostForecast;
}

const pct = (part: number, whole: number) => (whole > 0 ? `${((part / whole) * 100).toFixed(1)} %` : '–');

const STATE_WORDS: Record<string, string> = {
  starting: 'Starting',
  running: 'Running',
  paused: 'Paused',
  waiting_for_window: 'Waiting for the change window',
  stopping: 'Stopping',
  done: 'Done',
};

function stateBadge(status: StatusResponse): Html {
  const word = STATE_WORDS[status.state] ?? status.state;
  const detail =
    status.state === 'paused' && status.pauseReason
      ? ` (${status.pauseReason})`
      : status.state === 'running'
        ? ` — ${status.phase} phase`
        : '';
  const tone = status.state === 'paused' ? 'warn' : status.state === 'done' ? 'ok' : 'info';
  return html`<span class="badge ${tone}">${word + detail}</span>`;
}

function timeline(summary: ReportSummaryResponse): Html | undefined {
  const { firstSubmittedAt, lastVerifiedAt } = summary.progress;
  if (!firstSubmittedAt) return undefined;
  const elapsed = Date.parse(summary.generatedAt) - Date.parse(firstSubmittedAt);
  return html`<div class="meta">Copying since <b>${when(firstSubmittedAt)}</b> (${duration(elapsed)} ago)${
    lastVerifiedAt && html` · last copy verified <b>${when(lastVerifiedAt)}</b>`
  }</div>`;
}

/** A table; a cell is text (escaped) or markup. `numeric` right-aligns the columns it marks. */
function table(head: string[], rows: (string | Html)[][], numeric: boolean[] = []): Html {
  const attr = (i: number) => numeric[i] && html` class="num"`;
  return html`<table><thead><tr>${head.map((h, i) => html`<th${attr(i)}>${h}</th>`)}</tr></thead><tbody>${rows.map(
    (r) => html`<tr>${r.map((c, i) => html`<td${attr(i)}>${c}</td>`)}</tr>`,
  )}</tbody></table>`;
}

/** The to-copy points as one stacked bar: verified, awaiting verification, in flight, queued, failed. */
function stackedProgress(summary: ReportSummaryResponse): Html {
  const s = summary.states;
  const parts = [
    { label: 'verified', n: s.verified ?? 0, color: COLORS.verified },
    { label: 'copied, awaiting verification', n: s.completed ?? 0, color: COLORS.completed },
    { label: 'in flight', n: (s.submitting ?? 0) + (s.submitted ?? 0), color: COLORS.inFlight },
    { label: 'queued', n: s.queued ?? 0, color: COLORS.queued },
    { label: 'failed', n: s.failed ?? 0, color: COLORS.failed },
  ];
  const total = parts.reduce((n, p) => n + p.n, 0);
  if (total === 0) return html`<p class="muted">Nothing is planned to be copied yet.</p>`;
  const segments = parts
    .filter((p) => p.n > 0)
    .map(
      (p) =>
        html`<span class="seg" style="width:${((p.n / total) * 100).toFixed(3)}%;background:${p.color}" title="${`${p.label}: ${fmt(p.n)}`}"></span>`,
    );
  const legend = parts.map(
    (p) =>
      html`<span class="key"><span class="swatch" style="background:${p.color}"></span>${p.label} <b>${fmt(p.n)}</b> <span class="muted">${pct(p.n, total)}</span></span>`,
  );
  return html`<div class="stack">${segments}</div><div class="legend">${legend}</div>`;
}

function progressSection(summary: ReportSummaryResponse, projection: ReportProjection | null): Html {
  const { svg, clipped } = progressChart({
    buckets: summary.progress.buckets,
    bucketMs: summary.progress.bucketMs,
    toCopy: summary.totals.toCopy,
    now: summary.generatedAt,
    projection,
  });
  const band =
    projection &&
    html`<span class="key"><span class="swatch" style="background:${COLORS.band};opacity:.35"></span>${projection.method === 'simple' ? 'simple projection band' : 'projection band'}</span>
    <span class="key"><span class="swatch dash" style="border-color:${COLORS.band}"></span>expected</span>`;
  const legend = html`<div class="legend">
    <span class="key"><span class="swatch line" style="background:${COLORS.verified}"></span>verified (cumulative)</span>
    ${band}
    <span class="key"><span class="swatch dash" style="border-color:${COLORS.target}"></span>to copy</span>
  </div>`;
  let caption: Html;
  if (projection) {
    const f = projection.finish;
    caption = html`<p class="caption"><b>${projection.label}.</b> At that pace the remaining ${fmt(summary.totals.remaining)} points finish around <b>${when(f.expected)}</b> (between ${when(f.earliest)} and ${when(f.latest)}). The band ends at ${fmt(projection.target)} points: those to copy that have not failed.${clipped && ' The band continues beyond the right edge of the chart.'}</p>`;
  } else if (summary.totals.remaining === 0 && summary.totals.verified > 0) {
    caption = html`<p class="caption">Every point to copy has reached a final state: there is nothing left to project.</p>`;
  } else {
    caption = html`<p class="caption">No projection yet: it needs at least one verified copy to measure a rate.</p>`;
  }
  const bucket = duration(summary.progress.bucketMs).replace(/ 0 min$/, '');
  return html`<section><h2>Progress over time</h2>${legend}${svg}${caption}<p class="note">Verified copies counted by the time rpcopy verified them, in buckets of ${bucket}.</p></section>`;
}

function throughputSection(summary: ReportSummaryResponse): Html {
  const types = summary.byType.filter((t) => t.toCopy > 0);
  if (types.length === 0)
    return html`<section><h2>Throughput by resource type</h2><p class="muted">No resource type has points to copy.</p></section>`;
  const rate = (t: (typeof types)[number]) => (t.activeHours > 0 ? t.verified / t.activeHours : 0);
  const bars = barChart(
    [...types]
      .sort((a, b) => rate(b) - rate(a))
      .map((t) => ({
        label: t.resourceType,
        value: rate(t),
        text:
          t.activeHours > 0
            ? `${fmt(rate(t))} points/h · ${bytes(t.bytesVerified / t.activeHours)}/h`
            : 'none verified yet',
        color: COLORS.inFlight,
      })),
    { labelWidth: 160 },
  );
  const rows = types.map((t) => [
    t.resourceType,
    fmt(t.toCopy),
    fmt(t.verified),
    pct(t.verified, t.toCopy),
    fmt(t.remaining),
    t.failed > 0 ? html`<span class="bad">${fmt(t.failed)}</span>` : '0',
    bytes(t.bytesVerified),
    t.activeHours > 0 ? fmt(rate(t)) : '–',
    t.meanJobSeconds === null ? '–' : duration(t.meanJobSeconds * 1000),
  ]);
  return html`<section><h2>Throughput by resource type</h2>
    <p class="note">Verified points per hour in which that type was being copied (hours with at least one verification).</p>
    ${bars}
    ${table(
      ['Resource type', 'To copy', 'Verified', 'Done', 'Remaining', 'Failed', 'Copied', 'Points/h', 'Mean job'],
      rows,
      [false, true, true, true, true, true, true, true, true],
    )}</section>`;
}

function failuresSection(summary: ReportSummaryResponse): Html {
  const total = summary.failures.reduce((n, f) => n + f.count, 0);
  let body: Html;
  if (total === 0) {
    body = html`<p class="good">No point has failed.</p>`;
  } else {
    const bars = barChart(
      summary.failures.map((f) => ({
        label: f.reason,
        value: f.count,
        text: `${fmt(f.count)} (${pct(f.count, total)})`,
        color: COLORS.failed,
      })),
    );
    const rows = summary.failures.map((f) => [
      html`<code>${f.reason}</code>`,
      f.kind,
      fmt(f.count),
      f.description,
      f.example ? html`<span class="example">${f.example}</span>` : '',
    ]);
    body = html`${bars}${table(['Reason', 'Kind', 'Points', 'What it means', 'Example message'], rows, [false, false, true, false, false])}
      <p class="note">After fixing a cause, <code>rpctl retry --reason REASON</code> requeues that reason’s points.</p>`;
  }
  const retrying =
    summary.retrying.length > 0 &&
    html`<h3>Waiting to retry</h3>${table(
      ['Reason of the last attempt', 'Points', 'What it means'],
      summary.retrying.map((r) => [html`<code>${r.reason}</code>`, fmt(r.count), r.description]),
      [false, true, false],
    )}`;
  return html`<section><h2>Failures by reason</h2>${body}${retrying}</section>`;
}

function skippedSection(summary: ReportSummaryResponse): Html | undefined {
  if (summary.skipped.length === 0) return undefined;
  return html`<section><h2>Skipped by the plan</h2>${table(
    ['Reason', 'Points', 'Share of all points', 'Why'],
    summary.skipped.map((s) => [
      html`<code>${s.reason}</code>`,
      fmt(s.count),
      pct(s.count, summary.totals.points),
      s.description,
    ]),
    [false, true, true, false],
  )}</section>`;
}

function vaultSection(summary: ReportSummaryResponse): Html {
  const rows: (string | Html)[][] = summary.byVault.map((v) => {
    const done = v.toCopy > 0 ? v.verified / v.toCopy : 0;
    const failed = v.toCopy > 0 ? v.failed / v.toCopy : 0;
    const meter =
      v.toCopy > 0
        ? html`<span class="meter"><span style="width:${(done * 100).toFixed(2)}%;background:${COLORS.verified}"></span><span style="width:${(failed * 100).toFixed(2)}%;background:${COLORS.failed}"></span></span> ${pct(v.verified, v.toCopy)}`
        : html`<span class="muted">nothing to copy</span>`;
    return [
      v.vault,
      v.destination || html`<span class="muted">–</span>`,
      fmt(v.points),
      fmt(v.skipped),
      fmt(v.toCopy),
      fmt(v.verified),
      v.failed > 0 ? html`<span class="bad">${fmt(v.failed)}</span>` : '0',
      fmt(v.remaining),
      meter,
      bytes(v.bytesVerified),
    ];
  });
  const t = summary.totals;
  const bold = (text: string) => html`<b>${text}</b>`;
  rows.push([
    bold('All vaults'),
    '',
    bold(fmt(t.points)),
    bold(fmt(t.skipped)),
    bold(fmt(t.toCopy)),
    bold(fmt(t.verified)),
    bold(fmt(t.failed)),
    bold(fmt(t.remaining)),
    bold(pct(t.verified, t.toCopy)),
    bold(bytes(t.bytesVerified)),
  ]);
  return html`<section><h2>Vaults</h2>${table(
    [
      'Source vault',
      'Destination vault',
      'Points',
      'Skipped',
      'To copy',
      'Verified',
      'Failed',
      'Remaining',
      'Progress',
      'Copied',
    ],
    rows,
    [false, false, true, true, true, true, true, true, false, true],
  )}</section>`;
}

// The report's own rules, after the shell's.
const CSS = `
.stack{display:flex;height:22px;border-radius:6px;overflow:hidden;background:#f3f4f6}
.stack .seg{display:block;height:100%}
.legend{display:flex;flex-wrap:wrap;gap:6px 18px;margin:10px 0;font-size:13px}
.key{display:inline-flex;align-items:center;gap:6px}
.swatch{display:inline-block;width:12px;height:12px;border-radius:3px}
.swatch.line{height:3px;width:18px;border-radius:0}
.swatch.dash{width:18px;height:0;border-top:2px dashed;border-radius:0}
svg.chart{display:block;width:100%;height:auto;margin:6px 0}
svg .tick{font-size:12px;fill:${COLORS.muted}}
svg .annot{font-size:12px;fill:${COLORS.ink}}
svg .label{font-size:13px;fill:${COLORS.ink}}
svg .value{font-size:12.5px;fill:${COLORS.muted}}
.caption{margin:8px 0 0;font-size:13.5px}
.note{margin:6px 0 0;font-size:12.5px;color:${COLORS.muted}}
.example{font-size:12px;color:${COLORS.muted};word-break:break-word}
.meter{display:inline-flex;width:90px;height:8px;border-radius:4px;background:#e5e7eb;overflow:hidden;vertical-align:middle;margin-right:6px}
.meter span{display:block;height:100%}
`;

export function renderReportHtml(input: ReportPageInput): string {
  const { summary, status } = input;
  const projection = input.projection === undefined ? summary.projection : input.projection;
  const t = summary.totals;
  const finish = projection ? when(projection.finish.expected) : t.remaining === 0 && t.toCopy > 0 ? 'complete' : '–';
  const tiles = [
    tile(
      'Recovery points',
      fmt(t.points),
      `${fmt(summary.byVault.length)} vaults, ${fmt(summary.byType.length)} resource types`,
    ),
    tile(
      'To copy',
      fmt(t.toCopy),
      `${pct(t.toCopy, t.points)} of all points${t.undecided > 0 ? `; ${fmt(t.undecided)} not planned yet` : ''}`,
    ),
    tile('Verified', fmt(t.verified), `${pct(t.verified, t.toCopy)} of to copy · ${bytes(t.bytesVerified)}`, 'good'),
    tile(
      'Remaining',
      fmt(t.remaining),
      projection ? `expected ${finish}` : finish === 'complete' ? 'nothing left' : 'no projection yet',
    ),
    tile('Failed', fmt(t.failed), `${pct(t.failed, t.toCopy)} of to copy`, t.failed > 0 ? 'bad' : ''),
    tile('Skipped', fmt(t.skipped), `${fmt(summary.skipped.length)} reasons`),
  ];
  return renderPage({
    title: 'AWS Backup cross-account copy — progress report',
    banner: html`<div class="meta">Source account <b>${status.source.accountId}</b> → destination account <b>${status.destination.accountId}</b> · region <b>${status.source.region}</b> · as of <b>${when(summary.generatedAt)}</b></div>
${timeline(summary)}
${stateBadge(status)}`,
    tiles,
    body: html`<section><h2>Points to copy</h2>${stackedProgress(summary)}</section>
${progressSection(summary, projection)}
${throughputSection(summary)}
${failuresSection(summary)}
${vaultSection(summary)}
${costSection(input.cost)}
${skippedSection(summary)}`,
    footer: html`Generated by rpctl report (rpcopy ${input.version}) from the daemon’s store. All times UTC. Every count comes from one snapshot of the store at the report time. Per-point detail: <code>rpctl report --format csv</code>.`,
    css: CSS,
  });
}
