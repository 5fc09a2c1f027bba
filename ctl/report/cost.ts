// The HTML report's cost section: the destination's monthly storage cost as a band (low to high) over the coming
// months, the copies made so far, the vaults and types the cost comes from, and what each estimate assumes.

import type { CostForecast } from '../../shared/api.js';
import { COLORS } from '../html/page.js';
import { type Html, html } from '../html/template.js';
import { niceTicks, range } from './svg.js';

const gb = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });

// The page carries no URL (nothing in it may look fetchable): a source is named by its host and path.
const noScheme = (text: string) => text.replace(/https?:\/\//gi, '');

/** Bars per month: the low estimate solid, up to the high estimate pale. */
function monthChart(c: CostForecast): Html {
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
  const grid = ticks.map(
    (tk) =>
      html`<line x1="${left}" x2="${width - 10}" y1="${y(tk)}" y2="${y(tk)}" stroke="${COLORS.grid}"/><text class="tick" x="${left - 6}" y="${y(tk) + 4}" text-anchor="end">$${gb.format(tk)}</text>`,
  );
  const bars = c.months.map((m, i) => {
    const x = left + i * step + (step - bar) / 2;
    return html`<rect x="${x}" y="${y(m.costHigh)}" width="${bar}" height="${y(0) - y(m.costHigh)}" fill="${COLORS.queued}"><title>${m.month}: ${range(m.costLow, m.costHigh)}</title></rect><rect x="${x}" y="${y(m.costLow)}" width="${bar}" height="${y(0) - y(m.costLow)}" fill="${COLORS.inFlight}"/><text class="tick" x="${x + bar / 2}" y="${height - 10}" text-anchor="middle">${m.month.slice(2)}</text>`;
  });
  return html`<svg viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="monthly storage cost, low and high">${grid}${bars}</svg>`;
}

export function costSection(c: CostForecast | undefined): Html {
  if (!c) return html``;
  const i = Math.max(
    0,
    c.months.findIndex((m) => m.month === c.peakMonth),
  );
  const rows = c.byGroup
    .filter((g) => (g.costHigh[i] ?? 0) > 0)
    .sort((a, b) => (b.costHigh[i] ?? 0) - (a.costHigh[i] ?? 0))
    .map(
      (g) =>
        html`<tr><td>${g.vault}</td><td>${g.resourceType}</td><td>${g.tier}</td><td class="num">${range(g.gbMonthsLow[i] ?? 0, g.gbMonthsHigh[i] ?? 0, (x) => gb.format(x))}</td><td class="num">${range(g.costLow[i] ?? 0, g.costHigh[i] ?? 0)}</td></tr>`,
    );
  const table = html`<table><thead><tr><th>Vault</th><th>Type</th><th>Tier</th><th class="num">${c.peakMonth} GB-months</th><th class="num">${c.peakMonth} cost</th></tr></thead><tbody>${rows}</tbody></table>`;
  const unconfirmed = c.prices.unconfirmed.map((u) => `UNCONFIRMED: ${noScheme(u)}.`).join(' ');
  return html`<section id="cost"><h2>Destination storage cost</h2>
<p>Copies made so far: <b>${c.copied.items}</b>, costing <b>${range(c.copied.monthlyCostLow, c.copied.monthlyCostHigh)}</b> per month now. Highest month: <b>${c.peakMonth}</b> at <b>${range(c.monthlyCostLow, c.monthlyCostHigh)}</b>; the next ${c.months.length} months together <b>${range(c.totalCostLow, c.totalCostHigh)}</b> (${c.currency}, ${c.region}).</p>
${monthChart(c)}
<p class="note">Dark: the low estimate; pale: up to the high estimate. Low: ${noScheme(c.estimates.low)}. High: ${noScheme(c.estimates.high)}.</p>
${table}
<p class="note">Prices ${c.prices.file ?? 'shipped with rpcopy'}, read ${c.prices.readAt} from ${noScheme(c.prices.source)}${c.priceRegion !== c.region ? `, priced as ${c.priceRegion}` : ''}. ${unconfirmed} ${c.notes.map(noScheme).join('; ')}.</p>
</section>`;
}
