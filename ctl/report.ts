// rpctl report: the per-point outcome export for audit (CSV, or JSON Lines)
// and a one-page HTML progress report for people who do not run rpctl.
//
// The export is streamed: pages of points come from the daemon by keyset
// pagination and go straight to the file or stdout, the next page fetched
// while the current one is written, so neither side ever holds the report.

import {
  ForecastResponse,
  ReportPointsResponse,
  ReportSummaryResponse,
  ROUTES,
  StatusResponse,
} from '../shared/api.js';
import { RpcopyError } from '../shared/errors.js';
import { socketPath } from '../shared/socket.js';
import { packageVersion } from '../shared/version.js';
import { createClient } from './client.js';
import type { Command, CommandContext } from './command.js';
import { count } from './format.js';
import { renderReportHtml } from './report/html.js';
import { openSink, type ReportSink } from './report/output.js';
import { CSV_HEADER, csvRow, jsonRow } from './report/rows.js';

const FORMATS = ['csv', 'json', 'html'] as const;
type Format = (typeof FORMATS)[number];
// Points per request: one page costs the daemon's main thread tens of milliseconds at most (daemon/report/points.ts).
const PAGE = 1_000;
// The summary is seconds of work for the daemon at a million points (on a worker thread): more than the default
// request timeout allows on a busy machine.
const SUMMARY_TIMEOUT_MS = 120_000;

function formatOf(ctx: CommandContext): Format {
  const value = ctx.values.format;
  if (value === undefined) return ctx.json ? 'json' : 'csv';
  if (typeof value === 'string' && (FORMATS as readonly string[]).includes(value)) return value as Format;
  throw new RpcopyError('BAD_REQUEST', `--format: expected csv, json or html, got ${JSON.stringify(value)}`);
}

async function exportPoints(ctx: CommandContext, format: 'csv' | 'json', sink: ReportSink): Promise<number> {
  const client = ctx.client();
  const fetchPage = (after: number) => {
    const page = client.get(`${ROUTES.reportPoints}?after=${after}&limit=${PAGE}`, ReportPointsResponse);
    // A prefetched page whose turn never comes (a write failed, the reader went away) must not fail the process
    // as an unhandled rejection; awaited, it still throws.
    page.catch(() => undefined);
    return page;
  };
  if (format === 'csv') await sink.write(`${CSV_HEADER}\n`);
  const line = format === 'csv' ? csvRow : jsonRow;
  let written = 0;
  let page = fetchPage(0);
  for (;;) {
    const current = await page;
    if (current.next !== null) page = fetchPage(current.next);
    if (current.points.length > 0) await sink.write(`${current.points.map(line).join('\n')}\n`);
    written += current.points.length;
    if (current.next === null) break;
    // The reader went away (`| head`): the prefetched page is not wanted.
    if (!sink.open) break;
  }
  return written;
}

export const reportCommand: Command = {
  name: 'report',
  summary: 'per-point outcome export (CSV or JSON Lines) or a one-page HTML progress report',
  usage: 'rpctl report [--format csv|json|html] [--out FILE] [--json]',
  options: { format: { type: 'string' }, out: { type: 'string' } },
  async run(ctx) {
    const format = formatOf(ctx);
    const out = ctx.values.out as string | undefined;
    const sink = openSink(out);
    let points: number;
    try {
      if (format === 'html') {
        // The socket as ctx.client() finds it (--state-dir, else $RPCOPY_STATE_DIR, else the config), with a
        // longer timeout.
        const stateDir =
          (ctx.values['state-dir'] as string | undefined) ??
          process.env.RPCOPY_STATE_DIR ??
          ctx.config().daemon.stateDir;
        const slow = createClient(socketPath(stateDir), SUMMARY_TIMEOUT_MS);
        const [summary, status, forecast] = await Promise.all([
          slow.get(ROUTES.reportSummary, ReportSummaryResponse),
          ctx.client().get(ROUTES.status, StatusResponse),
          // The page stands without its cost section (an older daemon, a slow forecast).
          slow.get(ROUTES.forecast, ForecastResponse).catch(() => undefined),
        ]);
        const cost = forecast?.cost;
        await sink.write(renderReportHtml({ summary, status, version: packageVersion(), ...(cost ? { cost } : {}) }));
        points = summary.totals.points;
      } else {
        points = await exportPoints(ctx, format, sink);
      }
      await sink.commit();
    } catch (err) {
      sink.abort();
      throw err;
    }
    // With --out the data is in the file; say where (stdout carries the data otherwise, so nothing is added).
    if (out !== undefined && out !== '-') {
      ctx.out(
        ctx.json
          ? JSON.stringify({ format, out, points })
          : `wrote the ${format.toUpperCase()} report of ${count(points)} recovery points to ${out}`,
      );
    }
    return 0;
  },
};
