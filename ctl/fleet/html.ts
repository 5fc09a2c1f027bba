// `rpctl fleet report --format html`: one self-contained page over every account pair: inline CSS, no script, a
// Content Security Policy that forbids every fetch. Pairs that need the operator come first and stand out. Markup
// goes through html``, which escapes every name, path and message.

import { raw } from 'hono/html';
import { type Html, html } from '../html/template.js';
import { when } from '../report/svg.js';
import type { FleetPair, FleetTotals } from './collect.js';

const money = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const integer = new Intl.NumberFormat('en-US');
const usd = (x: number) => `$${money.format(x)}`;
const range = (low: number, high: number) => (low === high ? usd(low) : `${usd(low)} – ${usd(high)}`);

const CSS = `
body{margin:0;background:#f3f4f6;color:#1f2937;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:1200px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}.meta{color:#6b7280;font-size:13px}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:12px;margin:18px 0}
.tile{background:#fff;border-radius:10px;padding:12px 14px;box-shadow:0 1px 2px rgba(0,0,0,.06)}
.tile-label{font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:#6b7280;font-weight:600}
.tile-value{font-size:22px;font-weight:700;margin:2px 0}.tile-note{font-size:12.5px;color:#6b7280}
.tile.bad .tile-value{color:#dc2626}.tile.warn .tile-value{color:#b45309}
section{background:#fff;border-radius:10px;padding:14px 16px;box-shadow:0 1px 2px rgba(0,0,0,.06)}
table{width:100%;border-collapse:collapse;font-size:13.5px}
th{text-align:left;font-weight:600;color:#6b7280;font-size:12px;text-transform:uppercase;letter-spacing:.03em;border-bottom:1px solid #d1d5db;padding:6px 8px}
td{padding:7px 8px;border-bottom:1px solid #eef0f3;vertical-align:top}.num{text-align:right;font-variant-numeric:tabular-nums}
tr.down td{background:#fef2f2}tr.paused td{background:#fffbeb}tfoot td{font-weight:700;border-top:2px solid #d1d5db}
.badge{display:inline-block;border-radius:999px;padding:1px 9px;font-size:12px;font-weight:600}
.badge.down{background:#dc2626;color:#fff}.badge.paused{background:#f59e0b;color:#1f2937}
.badge.ok{background:#dcfce7;color:#15803d}.badge.info{background:#dbeafe;color:#1d4ed8}
.bar{height:8px;background:#e5e7eb;border-radius:4px;overflow:hidden;min-width:90px}.bar>span{display:block;height:100%;background:#15803d}
.small{font-size:12px;color:#6b7280}footer{font-size:12px;color:#6b7280;text-align:center;margin-top:10px}`;

function tile(label: string, value: string, note: string, tone = ''): Html {
  return html`<div class="tile ${tone}"><div class="tile-label">${label}</div><div class="tile-value">${value}</div><div class="tile-note">${note}</div></div>`;
}

function badge(p: FleetPair): Html {
  if (!p.reachable) return html`<span class="badge down">unreachable: ${p.unreachableReason ?? ''}</span>`;
  const tone = p.state === 'paused' ? 'paused' : p.state === 'done' ? 'ok' : 'info';
  return html`<span class="badge ${tone}">${p.state.replaceAll('_', ' ')}</span>`;
}

function row(p: FleetPair): Html {
  const cls = !p.reachable ? 'down' : p.state === 'paused' ? 'paused' : '';
  const progress =
    p.progressPercent === null
      ? '–'
      : html`<div class="bar"><span style="width:${Math.min(100, p.progressPercent)}%"></span></div><span class="small">${`${integer.format(p.copied)} / ${integer.format(p.planned)} (${p.progressPercent} %)`}</span>`;
  const detail = !p.reachable ? (p.error ?? '') : (p.pauseDetail ?? '');
  return html`<tr class="${cls}"><td><b>${p.name}</b><div class="small">${
    p.sourceAccount ? `${p.sourceAccount} → ${p.destinationAccount} · ${p.region}` : (p.stateDir ?? '')
  }</div></td><td>${badge(p)}${p.pauseReason && html`<div class="small">${p.pauseReason}</div>`}${
    detail && html`<div class="small">${detail.slice(0, 200)}</div>`
  }</td><td>${progress}</td><td class="num">${p.reachable ? integer.format(p.failed) : '–'}</td><td>${
    p.finishAt ? when(p.finishAt) : p.reachable && p.remainingItems === 0 ? 'complete' : '–'
  }</td><td class="num">${p.cost ? range(p.cost.monthlyCostLow, p.cost.monthlyCostHigh) : '–'}${
    p.cost && html`<div class="small">${p.cost.peakMonth}</div>`
  }</td></tr>`;
}

export function renderFleetHtml(pairs: FleetPair[], totals: FleetTotals, generatedAt: string, version: string): string {
  const title = 'AWS Backup cross-account copy — fleet';
  const tiles = [
    tile('Account pairs', integer.format(totals.pairs), `${totals.reachable} answering`),
    tile(
      'Need the operator',
      integer.format(totals.unreachable + totals.paused),
      `${totals.unreachable} unreachable, ${totals.paused} paused`,
      totals.unreachable + totals.paused > 0 ? 'bad' : '',
    ),
    tile(
      'Copied',
      integer.format(totals.copied),
      `of ${integer.format(totals.planned)} to copy${totals.progressPercent !== null ? ` (${totals.progressPercent} %)` : ''}`,
    ),
    tile('Failed', integer.format(totals.failed), 'points, all pairs', totals.failed > 0 ? 'warn' : ''),
    tile('Last finish', totals.finishAt ? when(totals.finishAt) : '–', 'of the pairs still copying'),
    tile(
      'Storage cost',
      range(totals.monthlyCostLow, totals.monthlyCostHigh),
      'per month, each pair at its highest month',
    ),
  ];
  return String(html`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>${raw(CSS)}</style>
</head>
<body>
<main>
<h1>${title}</h1>
<div class="meta">${totals.pairs} daemons · as of ${when(generatedAt)}</div>
<div class="tiles">${tiles}</div>
<section><table><thead><tr><th>Pair</th><th>State</th><th>Progress</th><th class="num">Failed</th><th>Forecast finish</th><th class="num">Cost / month</th></tr></thead>
<tbody>${pairs.map(row)}</tbody>
<tfoot><tr><td>Total</td><td>${totals.unreachable} unreachable, ${totals.paused} paused</td><td>${integer.format(totals.copied)} / ${integer.format(totals.planned)}</td><td class="num">${integer.format(totals.failed)}</td><td>${totals.finishAt ? when(totals.finishAt) : '–'}</td><td class="num">${range(totals.monthlyCostLow, totals.monthlyCostHigh)}</td></tr></tfoot>
</table></section>
<footer>Generated by rpctl fleet report (rpcopy ${version}) from each daemon's control socket. Cost: each pair's highest month of its destination storage, low – high (rpctl forecast --cost). All times UTC.</footer>
</main>
</body>
</html>
`);
}
