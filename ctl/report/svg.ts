// The HTML report's charts, drawn as inline SVG by hand: no script, no library,
// no network, so the page renders the same in a browser, a mail client or a
// PDF printer. The markup is built with html``, which escapes every label.

import type { ReportProjection } from '../../shared/api.js';
import { COLORS } from '../html/page.js';
import { type Html, html } from '../html/template.js';

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
export const fmt = (n: number): string => integer.format(n);

const money = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
/** "$1,234.50": dollars and cents, as AWS bills. */
const usd = (x: number): string => `$${money.format(x)}`;

/** "$1.00 – $4.00": a low and a high estimate, or one figure when they agree. */
export function range(low: number, high: number, unit: (x: number) => string = usd): string {
  return low === high ? unit(low) : `${unit(low)} – ${unit(high)}`;
}

/** Decimal units, as AWS bills storage. */
export function bytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];
  let value = n;
  let unit = 0;
  while (Math.abs(value) >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${value >= 100 || unit === 0 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number) => String(n).padStart(2, '0');

/** "3 Mar 14:05 UTC": the report's one way of writing a moment. */
export function when(iso: string | number, withZone = true): string {
  const d = new Date(iso);
  return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}${withZone ? ' UTC' : ''}`;
}

/** "2 d 4 h", "35 min": a duration for people. */
export function duration(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes < 60) return `${Math.max(minutes, 0)} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

/** Round numbers for an axis: 0 up to at least `max`, about `count` steps. */
export function niceTicks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 2.5, 5, 10].find((m) => m * magnitude >= raw) ?? 10) * magnitude;
  const ticks: number[] = [];
  for (let v = 0; v < max + step * 0.999; v += step) ticks.push(Math.round(v * 1e6) / 1e6);
  return ticks;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const TIME_STEPS = [
  MINUTE,
  5 * MINUTE,
  15 * MINUTE,
  30 * MINUTE,
  HOUR,
  3 * HOUR,
  6 * HOUR,
  12 * HOUR,
  DAY,
  2 * DAY,
  7 * DAY,
];

function timeTicks(from: number, to: number, count = 10): { at: number; label: string }[] {
  const step = TIME_STEPS.find((s) => (to - from) / s <= count) ?? 30 * DAY;
  const ticks: { at: number; label: string }[] = [];
  for (let t = Math.ceil(from / step) * step; t <= to; t += step) {
    const d = new Date(t);
    const date = `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]}`;
    const time = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
    ticks.push({ at: t, label: step >= DAY ? date : t % DAY === 0 || ticks.length === 0 ? `${date} ${time}` : time });
  }
  return ticks;
}

export interface ProgressChartInput {
  buckets: { at: string; verified: number }[];
  bucketMs: number;
  toCopy: number;
  now: string;
  projection: ReportProjection | null;
}

/**
 * Cumulative verified points over time, the "to copy" line, and the projection band (any ReportProjection:
 * the simple one today, a forecast later). Returns the SVG and whether the band had to be cut at the right edge.
 */
export function progressChart(input: ProgressChartInput): { svg: Html; clipped: boolean } {
  const W = 1040;
  const H = 340;
  const m = { top: 24, right: 24, bottom: 44, left: 72 };
  const plotW = W - m.left - m.right;
  const plotH = H - m.top - m.bottom;
  const first = input.buckets[0];
  if (!first) {
    return {
      svg: html`<svg class="chart" viewBox="0 0 ${W} 120" role="img" aria-label="No progress yet"><rect x="0.5" y="0.5" width="${W - 1}" height="119" rx="6" fill="#f9fafb" stroke="${COLORS.grid}"/><text x="${W / 2}" y="66" text-anchor="middle" fill="${COLORS.muted}" font-size="15">No copy has been verified yet: the chart appears with the first verified copy.</text></svg>`,
      clipped: false,
    };
  }
  const start = Date.parse(first.at);
  const now = Date.parse(input.now);
  let cumulative = 0;
  const line: [number, number][] = [[start, 0]];
  for (const b of input.buckets) {
    cumulative += b.verified;
    // The last bucket is still filling: its point sits at the report time, where the projection band starts.
    line.push([Math.max(start, Math.min(Date.parse(b.at) + input.bucketMs, now)), cumulative]);
  }
  const dataEnd = line.at(-1)![0];
  const band = (input.projection?.band ?? []).map((p) => ({ ...p, t: Date.parse(p.at) }));
  // A projection far beyond the data would squash the measured part into a sliver: show at most four times
  // the elapsed span ahead, and say the band goes on.
  const elapsed = Math.max(dataEnd, now) - start;
  const bandEnd = band.at(-1)?.t ?? 0;
  const horizon = Math.max(dataEnd, now) + Math.max(elapsed * 4, HOUR);
  const end = Math.max(dataEnd, now, Math.min(bandEnd, horizon));
  const clipped = bandEnd > end;
  const target = input.projection?.target ?? 0;
  const yTicks = niceTicks(Math.max(input.toCopy, target, cumulative, 1));
  const yMax = yTicks.at(-1)!;
  const x = (t: number) => m.left + ((t - start) / Math.max(end - start, 1)) * plotW;
  const y = (v: number) => m.top + plotH - (v / yMax) * plotH;
  const pt = (t: number, v: number) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`;

  const grid = [
    ...yTicks.map(
      (v) =>
        html`<line x1="${m.left}" x2="${W - m.right}" y1="${y(v)}" y2="${y(v)}" stroke="${COLORS.grid}"/><text x="${m.left - 10}" y="${y(v) + 4}" text-anchor="end" class="tick">${fmt(v)}</text>`,
    ),
    ...timeTicks(start, end).map(
      (tick) =>
        html`<line x1="${x(tick.at)}" x2="${x(tick.at)}" y1="${m.top + plotH}" y2="${m.top + plotH + 5}" stroke="${COLORS.muted}"/><text x="${x(tick.at)}" y="${m.top + plotH + 20}" text-anchor="middle" class="tick">${tick.label}</text>`,
    ),
  ];
  let projected: Html | undefined;
  if (band.length > 1) {
    const upper = band.map((p) => pt(p.t, p.high));
    const lower = [...band].reverse().map((p) => pt(p.t, p.low));
    projected = html`<polygon points="${[...upper, ...lower].join(' ')}" fill="${COLORS.band}" fill-opacity="0.18" stroke="${COLORS.band}" stroke-opacity="0.5"/><polyline points="${band.map((p) => pt(p.t, p.expected)).join(' ')}" fill="none" stroke="${COLORS.band}" stroke-width="2" stroke-dasharray="6 4"/>`;
  }
  let targetLine: Html | undefined;
  if (input.toCopy > 0) {
    // At the right end, unless the report-time label is there (a finished job): then at the left.
    const label =
      now >= start && now <= end && x(now) > W - m.right - 160
        ? html`<text x="${m.left + 8}" y="${y(input.toCopy) - 6}" class="annot">to copy: ${fmt(input.toCopy)}</text>`
        : html`<text x="${W - m.right - 4}" y="${y(input.toCopy) - 6}" text-anchor="end" class="annot">to copy: ${fmt(input.toCopy)}</text>`;
    targetLine = html`<line x1="${m.left}" x2="${W - m.right}" y1="${y(input.toCopy)}" y2="${y(input.toCopy)}" stroke="${COLORS.target}" stroke-dasharray="2 3"/>${label}`;
  }
  let nowLine: Html | undefined;
  if (now >= start && now <= end) {
    // Left of the line, unless that would run into the axis.
    const label =
      x(now) - m.left > 90
        ? html`<text x="${x(now) - 4}" y="${m.top + 12}" text-anchor="end" class="annot">report time</text>`
        : html`<text x="${x(now) + 4}" y="${m.top + 12}" class="annot">report time</text>`;
    nowLine = html`<line x1="${x(now)}" x2="${x(now)}" y1="${m.top}" y2="${m.top + plotH}" stroke="${COLORS.muted}" stroke-dasharray="3 3"/>${label}`;
  }
  const measured = line.map(([t, v]) => pt(t, v));
  return {
    svg: html`<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="Verified points over time"><defs><clipPath id="plot"><rect x="${m.left}" y="${m.top - 2}" width="${plotW}" height="${plotH + 4}"/></clipPath></defs>${grid}<text x="${W - m.right}" y="${H - 6}" text-anchor="end" class="tick">time (UTC)</text><g clip-path="url(#plot)">${projected}<polygon points="${[...measured, pt(dataEnd, 0)].join(' ')}" fill="${COLORS.verifiedFill}" fill-opacity="0.7"/><polyline points="${measured.join(' ')}" fill="none" stroke="${COLORS.verified}" stroke-width="2.5" stroke-linejoin="round"/></g>${targetLine}${nowLine}<line x1="${m.left}" x2="${W - m.right}" y1="${m.top + plotH}" y2="${m.top + plotH}" stroke="${COLORS.muted}"/><text transform="translate(16 ${m.top + plotH / 2}) rotate(-90)" text-anchor="middle" class="tick">points verified</text></svg>`,
    clipped,
  };
}

export interface Bar {
  label: string;
  value: number;
  text: string;
  color: string;
}

/** Horizontal bars, one per row, longest scaled to the plot width. */
export function barChart(bars: Bar[], options: { labelWidth?: number; width?: number } = {}): Html {
  const W = options.width ?? 1040;
  const labelW = options.labelWidth ?? 220;
  const row = 30;
  const H = bars.length * row + 8;
  const maxValue = Math.max(...bars.map((b) => b.value), 0);
  const plotW = W - labelW - 150;
  const parts = bars.map((b, i) => {
    const top = 4 + i * row;
    const w = maxValue > 0 ? Math.max((b.value / maxValue) * plotW, b.value > 0 ? 2 : 0) : 0;
    return html`<text x="${labelW - 12}" y="${top + 19}" text-anchor="end" class="label">${b.label}</text><rect x="${labelW}" y="${top + 5}" width="${w.toFixed(1)}" height="${row - 10}" rx="3" fill="${b.color}"/><text x="${(labelW + w + 8).toFixed(1)}" y="${top + 19}" class="value">${b.text}</text>`;
  });
  return html`<svg class="chart" viewBox="0 0 ${W} ${H}" role="img">${parts}</svg>`;
}
