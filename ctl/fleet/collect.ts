// Ask every daemon of the fleet for its status (and its forecast with the cost), all at once, each call
// time-boxed: a daemon that is down, refuses the socket or does not answer in time becomes an `unreachable`
// entry; it never fails the fleet command.

import { ForecastResponse, ROUTES, StatusResponse } from '../../shared/api.js';
import { RpcopyError } from '../../shared/errors.js';
import { createClient } from '../client.js';
import type { FleetMember } from './discover.js';

/** A pair's destination storage cost (rpctl forecast --cost), in the figures the fleet's totals add up. */
interface CostFigures {
  monthlyCostLow: number;
  monthlyCostHigh: number;
  totalCostLow: number;
  totalCostHigh: number;
  copiedMonthlyCostLow: number;
  copiedMonthlyCostHigh: number;
}

/** Points planned to copy, how many are copied (completed), failed and in flight, and the share copied. */
interface Progress {
  planned: number;
  copied: number;
  failed: number;
  inFlight: number;
  progressPercent: number | null;
}

export interface FleetPair extends Progress {
  name: string;
  source: FleetMember['source'];
  unit: string | null;
  stateDir: string | null;
  reachable: boolean;
  /** The daemon's state, or `unreachable`. */
  state: string;
  /** Why it is unreachable: down (nothing listens), timeout, permission, unknown (no state directory), error. */
  unreachableReason: string | null;
  error: string | null;
  pauseReason: string | null;
  pauseDetail: string | null;
  phase: string | null;
  sourceAccount: string | null;
  destinationAccount: string | null;
  region: string | null;
  remainingItems: number | null;
  finishAt: string | null;
  forecastError: string | null;
  cost: (CostFigures & { peakMonth: string; currency: string }) | null;
  /** Needs the operator: down, unreachable, or paused. */
  attention: boolean;
}

function unreachable(m: FleetMember, reason: string, error: string): FleetPair {
  return {
    ...base(m),
    reachable: false,
    state: 'unreachable',
    unreachableReason: reason,
    error,
    attention: true,
  };
}

function base(m: FleetMember): Omit<FleetPair, 'reachable' | 'state' | 'unreachableReason' | 'error' | 'attention'> {
  return {
    name: m.name,
    source: m.source,
    unit: m.unit,
    stateDir: m.stateDir,
    pauseReason: null,
    pauseDetail: null,
    phase: null,
    sourceAccount: null,
    destinationAccount: null,
    region: null,
    planned: 0,
    copied: 0,
    failed: 0,
    inFlight: 0,
    progressPercent: null,
    remainingItems: null,
    finishAt: null,
    forecastError: null,
    cost: null,
  };
}

function reasonOf(err: unknown): string {
  if (err instanceof RpcopyError) {
    if (err.code === 'DAEMON_NOT_RUNNING') return 'down';
    if (err.code === 'SOCKET_ACCESS_DENIED') return 'permission';
    if (/no answer within/.test(err.message)) return 'timeout';
  }
  return 'error';
}

export async function collectPair(m: FleetMember, withForecast: boolean, timeoutMs: number): Promise<FleetPair> {
  if (!m.socket) return unreachable(m, 'unknown', m.problem ?? 'no state directory');
  const client = createClient(m.socket, timeoutMs);
  let status: StatusResponse;
  try {
    status = await client.get(ROUTES.status, StatusResponse);
  } catch (err) {
    return unreachable(m, reasonOf(err), (err as Error).message);
  }
  const c = status.counts;
  const planned = c.queued + c.inFlight + c.completed + c.failed;
  const pair: FleetPair = {
    ...base(m),
    reachable: true,
    state: status.state,
    unreachableReason: null,
    error: null,
    pauseReason: status.pauseReason ?? null,
    pauseDetail: status.pauseDetail ?? null,
    phase: status.phase,
    sourceAccount: status.source.accountId,
    destinationAccount: status.destination.accountId,
    region: status.source.region,
    planned,
    copied: c.completed,
    failed: c.failed,
    inFlight: c.inFlight,
    progressPercent: planned > 0 ? Math.round((c.completed / planned) * 1000) / 10 : null,
    attention: status.state === 'paused',
  };
  if (!withForecast) return pair;
  try {
    const f = await client.get(ROUTES.forecast, ForecastResponse);
    pair.remainingItems = f.remainingItems;
    pair.finishAt = f.remainingItems === 0 ? null : f.finishAt;
    if (f.cost) {
      pair.cost = {
        peakMonth: f.cost.peakMonth,
        monthlyCostLow: f.cost.monthlyCostLow,
        monthlyCostHigh: f.cost.monthlyCostHigh,
        totalCostLow: f.cost.totalCostLow,
        totalCostHigh: f.cost.totalCostHigh,
        copiedMonthlyCostLow: f.cost.copied.monthlyCostLow,
        copiedMonthlyCostHigh: f.cost.copied.monthlyCostHigh,
        currency: f.cost.currency,
      };
    }
  } catch (err) {
    pair.forecastError = (err as Error).message;
  }
  return pair;
}

export interface FleetTotals extends Progress, CostFigures {
  pairs: number;
  reachable: number;
  unreachable: number;
  paused: number;
  /** The latest finish of the pairs still copying (null when none has one). */
  finishAt: string | null;
}

/** Pairs that need the operator first (down or unreachable, then paused), then by name. */
export function sortPairs(pairs: FleetPair[]): FleetPair[] {
  const rank = (p: FleetPair) => (!p.reachable ? 0 : p.state === 'paused' ? 1 : 2);
  return [...pairs].sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name));
}

export function totalsOf(pairs: FleetPair[]): FleetTotals {
  const sum = (f: (p: FleetPair) => number) => Math.round(pairs.reduce((s, p) => s + f(p), 0) * 100) / 100;
  const planned = sum((p) => p.planned);
  const copied = sum((p) => p.copied);
  const finishes = pairs.map((p) => p.finishAt).filter((f): f is string => f !== null);
  return {
    pairs: pairs.length,
    reachable: pairs.filter((p) => p.reachable).length,
    unreachable: pairs.filter((p) => !p.reachable).length,
    paused: pairs.filter((p) => p.state === 'paused').length,
    planned,
    copied,
    failed: sum((p) => p.failed),
    inFlight: sum((p) => p.inFlight),
    progressPercent: planned > 0 ? Math.round((copied / planned) * 1000) / 10 : null,
    finishAt: finishes.length > 0 ? ([...finishes].sort().at(-1) ?? null) : null,
    monthlyCostLow: sum((p) => p.cost?.monthlyCostLow ?? 0),
    monthlyCostHigh: sum((p) => p.cost?.monthlyCostHigh ?? 0),
    totalCostLow: sum((p) => p.cost?.totalCostLow ?? 0),
    totalCostHigh: sum((p) => p.cost?.totalCostHigh ?? 0),
    copiedMonthlyCostLow: sum((p) => p.cost?.copiedMonthlyCostLow ?? 0),
    copiedMonthlyCostHigh: sum((p) => p.cost?.copiedMonthlyCostHigh ?? 0),
  };
}
