// The HTML report's cost section: the destination's monthly storage cost as a band (low to high) over the coming
// months, the copies made so far, the vaults and types the cost comes from, and what each estimate assumes.

import type { CostForecast } from '../../shared/api.js';
import { COLORS, esc, niceTicks } from './svg.js';

const money = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const gb = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });
const usd = (x: number) => `$${money.format(x)}`;
const range = (low: number, high: number, unit: (x: number) => string = usd) =>
  low === high ? unit(low) : `${unit(low)} – ${unit(high)}`;

// The page carries no URL (nothing in it may look fetchable): a source is named by its host and path.
const noScheme = (text: string) => text.replace(/https?:\/\//gi, '');

/** Bars per month: the low estimate solid, up to the high estimate pale. */
function monthChart(c: CostForecast): string {
  const width = 760;
  const height = 220;
  const left = 70;
  const bottom = 28;
  const top = 10;
  const max = Math.max(...c.months.map((m) => m.costHigh), 0);
  const ticks = niceTicks(max, 4);
  const scaleMax = ticks[ticks.length - 1] || 1;
  const plotH = height - top - bottom;
  const y = (v: number) => top + plotH - (v / scaleMax) * plotH;
  const step = (width - left - 10) / Math.max(1, c.months.length);
  const bar = Math.max(6, step * 0.6);
  const grid = ticks
    .map(
      (tk) =>
        `<line x1="${left}" x2="${width - 10}" y1="${y(tk)}" y2="${y(tk)}" stroke="${COLORS.grid}"/><text class="tick" x="${left - 6}" y="${y(tk) + 4}" text-anchor="end">${esc(`$${gb.format(tk)}`)}</text>`,
    )
    .join('');
  const bars = c.months
    .map((m, i) => {
      const x = left + i * step + (step - bar) / 2;
      return `<rect x="${x}" y="${y(m.costHigh)}" width="${bar}" height="${y(0) - y(m.costHigh)}" fill="${COLORS.queued}"><title>${esc(`${m.month}: ${range(m.costLow, m.costHigh)}`)}</title></rect><rect x="${x}" y="${y(m.costLow)}" width="${bar}" height="${y(0) - y(m.costLow)}" fill="${COLORS.inFlight}"/><text class="tick" x="${x + bar / 2}" y="${height - 10}" text-anchor="middle">${esc(m.month.slice(2))}</text>`;
    })
    .join('');
  return `<svg viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="monthly storage cost, low and high">${grid}${bars}</svg>`;
}

export function costSection(c: CostForecast | undefined): string {
  if (!c) return '';
  const i = Math.max(
    0,
    c.months.findIndex((m) => m.month === c.peakMonth),
  );
  const rows = c.byGroup
    .filter((g) => (g.costHigh[i] ?? 0) > 0)
    .sort((a, b) => (b.costHigh[i] ?? 0) - (a.costHigh[i] ?? 0))
    .map((g) => [
      esc(g.vault),
      esc(g.resourceType),
      esc(g.tier),
      esc(range(g.gbMonthsLow[i] ?? 0, g.gbMonthsHigh[i] ?? 0, (x) => gb.format(x))),
      esc(range(g.costLow[i] ?? 0, g.costHigh[i] ?? 0)),
    ]);
  const head = ['Vault', 'Type', 'Tier', `${c.peakMonth} GB-months`, `${c.peakMonth} cost`];
  const table = `<table><thead><tr>${head.map((h, k) => `<th${k >= 3 ? ' class="num"' : ''}>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((cell, k) => `<td${k >= 3 ? ' class="num"' : ''}>${cell}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
  return `<section id="cost"><h2>Destination storage cost</h2>
<p>Copies made so far: <b>${esc(String(c.copied.items))}</b>, costing <b>${esc(range(c.copied.monthlyCostLow, c.copied.monthlyCostHigh))}</b> per month now. Highest month: <b>${esc(c.peakMonth)}</b> at <b>${esc(range(c.monthlyCostLow, c.monthlyCostHigh))}</b>; the next ${esc(String(c.months.length))} months together <b>${esc(range(c.totalCostLow, c.totalCostHigh))}</b> (${esc(c.currency)}, ${esc(c.region)}).</p>
${monthChart(c)}
<p class="note">Dark: the low estimate; pale: up to the high estimate. Low: ${esc(noScheme(c.estimates.low))}. High: ${esc(noScheme(c.estimates.high))}.</p>
${table}
<p class="note">Prices ${esc(c.prices.file ?? 'shipped with rpcopy')}, read ${esc(c.prices.readAt)} from ${esc(noScheme(c.prices.source))}${c.priceRegion !== c.region ? `, priced as ${esc(c.priceRegion)}` : ''}. ${c.prices.unconfirmed.map((u) => `UNCONFIRMED: ${esc(noScheme(u))}.`).join(' ')} ${c.notes.map((n) => esc(noScheme(n))).join('; ')}.</p>
</section>`;
}
