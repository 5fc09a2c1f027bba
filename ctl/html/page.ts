// The one shell of rpctl's HTML pages (rpctl report, rpctl fleet report): a self-contained document with inline
// CSS and no script, under a Content Security Policy that forbids every fetch, so a page that is mailed or archived
// cannot reach the network. Both pages share the banner, the tiles, the tables, the badges and the palette.

import { raw } from 'hono/html';
import { type Html, html } from './template.js';

export const COLORS = {
  ink: '#1f2937',
  muted: '#6b7280',
  grid: '#e5e7eb',
  verified: '#15803d',
  verifiedFill: '#dcfce7',
  completed: '#86efac',
  inFlight: '#2563eb',
  queued: '#93c5fd',
  failed: '#dc2626',
  skipped: '#9ca3af',
  band: '#f59e0b',
  target: '#374151',
} as const;

const BASE_CSS = `
*{box-sizing:border-box}
body{margin:0;background:#f3f4f6;color:${COLORS.ink};font:14px/1.5 -apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"DejaVu Sans",sans-serif}
main{max-width:1120px;margin:0 auto;padding:32px 24px 48px}
header{background:#111827;color:#f9fafb;border-radius:10px;padding:24px 28px;margin-bottom:20px}
header h1{margin:0 0 6px;font-size:22px;font-weight:650;letter-spacing:-.01em}
header .meta{color:#d1d5db;font-size:13.5px;margin-top:2px}
header .meta b{color:#fff;font-weight:600}
.badge{display:inline-block;padding:3px 10px;border-radius:999px;font-size:12.5px;font-weight:600}
header .badge{margin-top:12px}
.badge.ok{background:#dcfce7;color:#14532d}.badge.warn{background:#fef3c7;color:#78350f}.badge.info{background:#dbeafe;color:#1e3a8a}
.tiles{display:grid;grid-template-columns:repeat(6,1fr);gap:12px;margin-bottom:20px}
.tile{background:#fff;border:1px solid #e5e7eb;border-radius:10px;padding:14px 16px}
.tile-label{font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:${COLORS.muted};font-weight:600}
.tile-value{font-size:24px;font-weight:650;margin:2px 0;font-variant-numeric:tabular-nums}
.tile-note{font-size:12.5px;color:${COLORS.muted}}
.tile.good .tile-value{color:${COLORS.verified}}.tile.bad .tile-value{color:${COLORS.failed}}.tile.warn .tile-value{color:#b45309}
section{background:#fff;border:1px solid #e5e7eb;border-radius:10px;padding:20px 24px;margin-bottom:20px;break-inside:avoid}
h2{font-size:17px;margin:0 0 12px;font-weight:650}
h3{font-size:14.5px;margin:18px 0 8px}
table{width:100%;border-collapse:collapse;margin-top:10px;font-size:13px}
th{text-align:left;font-weight:600;color:${COLORS.muted};font-size:12px;text-transform:uppercase;letter-spacing:.03em;border-bottom:1px solid #d1d5db;padding:6px 8px}
td{border-bottom:1px solid #f0f1f3;padding:6px 8px;vertical-align:top}
tbody tr:last-child td{border-bottom:none}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
code{font:12.5px ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace;background:#f3f4f6;padding:1px 5px;border-radius:4px}
.muted{color:${COLORS.muted}}.good{color:${COLORS.verified};font-weight:600}.bad{color:${COLORS.failed};font-weight:600}
footer{font-size:12px;color:${COLORS.muted};text-align:center;margin-top:8px}
@media print{body{background:#fff}main{padding:0}section,.tile{border-color:#d1d5db}header{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
`;

/** One figure with its label and a note under it; `tone` (good, bad, warn) colours the figure. */
export function tile(label: string, value: string, note: string, tone = ''): Html {
  return html`<div class="tile ${tone}"><div class="tile-label">${label}</div><div class="tile-value">${value}</div><div class="tile-note">${note}</div></div>`;
}

export interface PageInput {
  title: string;
  /** The lines under the title in the banner. */
  banner: Html;
  tiles: Html[];
  /** The sections under the tiles. */
  body: Html;
  footer: Html;
  /** This page's own rules, after the shared ones: a constant of ours, never text from elsewhere. */
  css?: string;
}

export function renderPage(page: PageInput): string {
  return String(html`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${page.title}</title>
<style>${raw(BASE_CSS + (page.css ?? ''))}</style>
</head>
<body>
<main>
<header>
<h1>${page.title}</h1>
${page.banner}
</header>
<div class="tiles">${page.tiles}</div>
${page.body}
<footer>${page.footer}</footer>
</main>
</body>
</html>
`);
}
