// rpctl fleet status|forecast|report: one view over every account pair's daemon on this host (and any state
// directory given or listed). One daemon down or not answering shows as unreachable and never fails the command.

import { parseDuration } from '../../shared/duration.js';
import { RpcopyError } from '../../shared/errors.js';
import { packageVersion } from '../../shared/version.js';
import type { Command, CommandContext } from '../command.js';
import { columns, count } from '../format.js';
import { openSink } from '../report/output.js';
import { range } from '../report/svg.js';
import { collectPair, type FleetPair, type FleetTotals, sortPairs, totalsOf } from './collect.js';
import { discoverFleet } from './discover.js';
import { renderFleetHtml } from './html.js';

const ACTIONS = ['status', 'forecast', 'report'] as const;
type Action = (typeof ACTIONS)[number];
const DEFAULT_TIMEOUT = '15s';

export interface FleetView {
  generatedAt: string;
  pairs: FleetPair[];
  totals: FleetTotals;
}

function stateWords(p: FleetPair): string {
  if (!p.reachable) return `UNREACHABLE (${p.unreachableReason})`;
  return p.state === 'paused' ? `PAUSED` : p.state;
}

function fleetTable(view: FleetView, withForecast: boolean): string {
  const head = ['PAIR', 'STATE', 'PAUSE REASON', 'PROGRESS', 'FAILED'];
  if (withForecast) head.push('FINISH', 'COST / MONTH');
  const rows = view.pairs.map((p) => {
    const row = [
      p.name,
      stateWords(p),
      p.pauseReason ?? (p.reachable ? '' : (p.error ?? '').slice(0, 60)),
      p.progressPercent === null ? '–' : `${count(p.copied)}/${count(p.planned)} ${p.progressPercent} %`,
      p.reachable ? count(p.failed) : '–',
    ];
    if (withForecast) {
      row.push(
        p.finishAt ?? (p.reachable && p.remainingItems === 0 ? 'complete' : p.forecastError ? 'no forecast' : '–'),
        p.cost ? `${range(p.cost.monthlyCostLow, p.cost.monthlyCostHigh)} (${p.cost.peakMonth})` : '–',
      );
    }
    return row;
  });
  const t = view.totals;
  const total = [
    `TOTAL (${t.pairs})`,
    `${t.unreachable} unreachable, ${t.paused} paused`,
    '',
    `${count(t.copied)}/${count(t.planned)}${t.progressPercent !== null ? ` ${t.progressPercent} %` : ''}`,
    count(t.failed),
  ];
  if (withForecast) total.push(t.finishAt ?? '–', range(t.monthlyCostLow, t.monthlyCostHigh));
  const lines = [columns([head, ...rows, total])];
  if (view.pairs.length === 0) {
    lines.push(
      '',
      'no daemon found: install units with `rpctl service install --name NAME`, or pass --state-dir DIR or --list FILE',
    );
  }
  return lines.join('\n');
}

function actionOf(ctx: CommandContext): Action {
  const [action, ...extra] = ctx.positionals;
  if (action === undefined || !(ACTIONS as readonly string[]).includes(action) || extra.length > 0) {
    throw new RpcopyError(
      'BAD_REQUEST',
      `expected rpctl fleet ${ACTIONS.join('|')}, got ${JSON.stringify(ctx.positionals.join(' '))}`,
    );
  }
  return action as Action;
}

async function fleetView(ctx: CommandContext, withForecast: boolean): Promise<FleetView> {
  const raw = ctx.values['state-dir'];
  const stateDirs = raw === undefined ? [] : Array.isArray(raw) ? raw : [String(raw)];
  const timeout = (ctx.values.timeout as string | undefined) ?? DEFAULT_TIMEOUT;
  const timeoutMs = parseDuration(timeout);
  if (timeoutMs === undefined || timeoutMs <= 0) {
    throw new RpcopyError(
      'BAD_REQUEST',
      `--timeout: expected a duration such as 10s or 1m, got ${JSON.stringify(timeout)}`,
    );
  }
  const listFile = ctx.values.list as string | undefined;
  const members = discoverFleet({ stateDirs, env: process.env, ...(listFile ? { listFile } : {}) });
  const pairs = sortPairs(await Promise.all(members.map((m) => collectPair(m, withForecast, timeoutMs))));
  return { generatedAt: new Date().toISOString(), pairs, totals: totalsOf(pairs) };
}

export const fleetCommand: Command = {
  name: 'fleet',
  summary: 'every account pair on this host at once: state, progress, failures, finish and cost',
  usage:
    'rpctl fleet status|forecast|report [--json] [--state-dir DIR]... [--list FILE] [--timeout 15s] [--format text|json|html] [--out FILE]',
  options: {
    'state-dir': { type: 'string', multiple: true },
    list: { type: 'string' },
    timeout: { type: 'string' },
    format: { type: 'string' },
    out: { type: 'string' },
  },
  async run(ctx) {
    const action = actionOf(ctx);
    const format = (ctx.values.format as string | undefined) ?? (ctx.json ? 'json' : 'text');
    if (!['text', 'json', 'html'].includes(format)) {
      throw new RpcopyError('BAD_REQUEST', `--format: expected text, json or html, got ${JSON.stringify(format)}`);
    }
    if (format === 'html' && action !== 'report') {
      throw new RpcopyError('BAD_REQUEST', '--format html: only rpctl fleet report writes HTML');
    }
    const view = await fleetView(ctx, action !== 'status');
    const text =
      format === 'json'
        ? JSON.stringify(view, null, 2)
        : format === 'html'
          ? renderFleetHtml(view.pairs, view.totals, view.generatedAt, packageVersion())
          : fleetTable(view, action !== 'status');
    const out = ctx.values.out as string | undefined;
    if (out === undefined || out === '-') {
      ctx.out(text);
      return 0;
    }
    const sink = openSink(out);
    try {
      await sink.write(text.endsWith('\n') ? text : `${text}\n`);
      await sink.commit();
    } catch (err) {
      sink.abort();
      throw err;
    }
    ctx.out(
      ctx.json && format !== 'json'
        ? JSON.stringify({ format, out, pairs: view.pairs.length })
        : `wrote the fleet ${action} of ${view.pairs.length} daemons to ${out}`,
    );
    return 0;
  },
};
