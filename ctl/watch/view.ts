// What rpctl watch shows, as pure functions of what the stream delivered: the full screen for a terminal, plain
// lines otherwise. Rates come from successive statuses (the daemon's uptime is the clock, so they are exact
// whatever the delivery delay).

import type { StatusResponse, WatchJournalEvent, WatchVaultProgress, WatchVaults } from '../../shared/api.js';
import { count, duration, localTime } from '../format.js';
import { awsInFlightText, pauseEffect } from '../status.js';

/** How far back the rate looks. */
const RATE_WINDOW_MS = 5 * 60_000;
/** A rate needs samples at least this far apart. */
const MIN_RATE_SPAN_MS = 10_000;
const EVENTS_SHOWN = 8;

export interface RateSample {
  /** The daemon's uptime at the status. */
  t: number;
  verified: number;
}

export interface WatchView {
  status?: StatusResponse;
  /** A forecast's finish time, when the status carries one (`forecast.finishAt`). */
  forecastFinish?: string | null;
  vaults: WatchVaults | null;
  events: WatchJournalEvent[];
  samples: RateSample[];
  /** The last Enter: a resume on its way, or the daemon's answer. */
  resume?: { pending: boolean; ok?: boolean; message?: string };
}

export function emptyView(): WatchView {
  return { vaults: null, events: [], samples: [] };
}

/** Apply a status (from `snapshot` or `status`); `raw` is the unparsed object, read for an optional forecast. */
export function applyStatus(view: WatchView, status: StatusResponse, vaults: WatchVaults | null, raw?: unknown): void {
  // Another daemon run (a restart behind the same socket) starts the rate over.
  if (view.status && view.status.daemon.runId !== status.daemon.runId) view.samples = [];
  // The last resume answer stays on screen until a new pause begins.
  if (status.state === 'paused' && view.status?.state !== 'paused' && !view.resume?.pending) view.resume = undefined;
  view.status = status;
  if (vaults) view.vaults = vaults;
  const forecast = (raw as { forecast?: { finishAt?: unknown } } | undefined)?.forecast;
  view.forecastFinish = forecast && typeof forecast.finishAt === 'string' ? forecast.finishAt : undefined;
  if (status.copy) {
    const t = status.daemon.uptimeMs;
    const last = view.samples.at(-1);
    if (!last || t > last.t) view.samples.push({ t, verified: status.copy.verifiedThisRun });
    while (view.samples.length > 2 && t - view.samples[0]!.t > RATE_WINDOW_MS) view.samples.shift();
  }
}

export function applyEvent(view: WatchView, event: WatchJournalEvent): void {
  if (view.events.some((e) => e.id === event.id)) return;
  view.events.push(event);
  if (view.events.length > 50) view.events.splice(0, view.events.length - 50);
}

/** Verified points per minute over the samples (at most RATE_WINDOW_MS), or undefined until they span enough. */
export function verifiedPerMinute(samples: RateSample[]): number | undefined {
  const first = samples[0];
  const last = samples.at(-1);
  if (!first || !last || last.t - first.t < MIN_RATE_SPAN_MS) return undefined;
  return ((last.verified - first.verified) / (last.t - first.t)) * 60_000;
}

export interface Progress {
  planned: number;
  toCopy: number;
  skipped: number;
  /** Copy jobs finished (completed or verified). */
  copied: number;
  /** Verified, when the per-vault figures are in. */
  verified?: number;
  failed: number;
  inFlight: number;
  /** Planned to copy and not final yet. */
  remaining: number;
}

function progress(status: StatusResponse, vaults: WatchVaults | null): Progress {
  const c = status.counts;
  const toCopy = c.queued + c.inFlight + c.completed + c.failed;
  const verified = vaults ? vaults.vaults.reduce((sum, v) => sum + v.verified, 0) : undefined;
  return {
    planned: toCopy + c.skipped,
    toCopy,
    skipped: c.skipped,
    copied: c.completed,
    ...(verified === undefined ? {} : { verified }),
    failed: c.failed,
    inFlight: c.inFlight,
    remaining: c.queued + c.inFlight,
  };
}

function ratio(done: number, total: number): number {
  return total <= 0 ? 0 : Math.min(1, Math.max(0, done / total));
}

function percent(done: number, total: number): string {
  return total <= 0 ? '–' : `${Math.floor(ratio(done, total) * 100)}%`;
}

function bar(fraction: number, width: number): string {
  const full = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `${'█'.repeat(full)}${'░'.repeat(width - full)}`;
}

function clock(iso: string | number): string {
  const d = new Date(iso);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

function stateLabel(status: StatusResponse): string {
  return status.state === 'paused' && status.pauseReason ? `paused (${status.pauseReason})` : status.state;
}

/** The ETA line's text: the recent rate and what it implies, labelled as such. */
function rateText(view: WatchView, p: Progress): string {
  const rate = verifiedPerMinute(view.samples);
  const rateLabel =
    rate === undefined
      ? 'rate measuring…'
      : `${rate >= 10 ? Math.round(rate) : rate.toFixed(1)} verified/min (last ${duration(
          Math.min(RATE_WINDOW_MS, view.samples.at(-1)!.t - view.samples[0]!.t),
        )})`;
  let eta: string;
  if (view.forecastFinish) eta = `forecast finish ${localTime(view.forecastFinish)}`;
  else if (p.remaining === 0) eta = 'nothing left to copy';
  else if (rate === undefined || rate <= 0) eta = 'ETA unknown yet';
  else eta = `ETA ~${duration((p.remaining / rate) * 60_000)} at this rate (windows aside; see rpctl forecast)`;
  return `${rateLabel} · ${count(p.remaining)} remaining · ${eta}`;
}

/**
 * Why a vault's queued points are not moving, from what the daemon could count cheaply; the daemon-wide reasons
 * (paused, window closed or draining, every in-flight slot taken) come first, since they hold every vault.
 */
export function vaultWaiting(v: WatchVaultProgress, status: StatusResponse): string {
  if (v.queued === 0) return '';
  if (status.state === 'paused') return `${count(v.queued)} queued: paused`;
  if (status.state === 'waiting_for_window' || status.window?.open === false) {
    return `${count(v.queued)} queued: window closed`;
  }
  if (status.window?.drainFrom && Date.parse(status.window.drainFrom) <= Date.now()) {
    return `${count(v.queued)} queued: no new job before the window closes`;
  }
  if (status.phase !== 'copy') return '';
  const reasons: string[] = [];
  const w = v.waiting;
  if (w?.resource)
    reasons.push(`${count(w.resource)} behind a copy of the same resource (one at a time, oldest first)`);
  if (w?.canary) reasons.push(`${count(w.canary)} held for their combination's canary copy`);
  if (w?.retry) reasons.push(`${count(w.retry)} waiting to retry`);
  const copy = status.copy;
  if (copy && status.counts.inFlight >= copy.inFlightLimit)
    reasons.push(`in-flight limit reached (${copy.inFlightLimit})`);
  return reasons.length > 0 ? `${count(v.queued)} queued: ${reasons.join(', ')}` : '';
}

// ---------------------------------------------------------------------------------------------------------------
// The terminal screen

export interface ScreenOptions {
  width: number;
  height: number;
  color: boolean;
}

const ESC = '\x1b[';
const style = (on: boolean, code: string, text: string) => (on ? `${ESC}${code}m${text}${ESC}0m` : text);

/** Cut to the width (before colouring, so escapes never count). */
function fit(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, Math.max(0, width - 1))}…`;
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

export function renderScreen(view: WatchView, options: ScreenOptions): string[] {
  const { width, color } = options;
  const w = Math.max(40, width);
  const lines: string[] = [];
  const push = (text: string, code?: string) => {
    const cut = fit(text, w);
    lines.push(code ? style(color, code, cut) : cut);
  };
  const status = view.status;
  if (!status) {
    push('rpctl watch: waiting for the daemon…');
    return lines;
  }
  const d = status.daemon;
  push(
    `rpctl watch · ${stateLabel(status)} · phase ${status.phase} · rpcopyd ${d.version} pid ${d.pid} · up ${duration(d.uptimeMs)}`,
    '1',
  );
  push(`${status.source.accountId} → ${status.destination.accountId} in ${status.source.region} · q quits`, '2');
  lines.push('');

  if (status.state === 'paused') {
    const banner: string[] = [`PAUSED (${status.pauseReason ?? 'operator'})`];
    if (status.pauseDetail) banner.push(...wrap(status.pauseDetail, w - 2));
    banner.push(...wrap(`Meanwhile: ${pauseEffect(status)}.`, w - 2));
    banner.push('Press Enter to resume (rpctl resume); the daemon checks the credentials with STS first.');
    if (view.resume?.pending) banner.push('Resuming…');
    else if (view.resume?.message) banner.push(...wrap(`Daemon: ${view.resume.message}`, w - 2));
    for (const text of banner) push(` ${text}`.padEnd(w), '1;37;41');
    lines.push('');
  } else if (view.resume?.message) {
    push(`Resume: ${view.resume.message}`, '32');
    lines.push('');
  }

  const barWidth = Math.max(10, Math.min(40, w - 60));
  const p = progress(status, view.vaults);
  const inv = status.inventory;
  const phaseRow = (name: string, fraction: number, text: string) =>
    push(`${name.padEnd(10)} ${bar(fraction, barWidth)} ${text}`);
  phaseRow(
    'inventory',
    ratio(inv.vaultsDone, inv.vaultsSelected),
    `${inv.vaultsDone}/${inv.vaultsSelected} vaults · ${count(status.counts.discovered)} points · ${count(inv.pages)} pages`,
  );
  phaseRow(
    'plan',
    ratio(p.planned, status.counts.discovered),
    `${count(p.planned)}/${count(status.counts.discovered)} decided · ${count(p.toCopy)} to copy · ${count(p.skipped)} skipped`,
  );
  phaseRow(
    'copy',
    ratio(p.verified ?? p.copied, p.toCopy),
    `${count(p.verified ?? p.copied)}/${count(p.toCopy)} ${p.verified === undefined ? 'copied' : 'verified'} (${percent(
      p.verified ?? p.copied,
      p.toCopy,
    )}) · ${count(p.inFlight)} in flight · ${count(p.failed)} failed`,
  );
  lines.push('');

  if (view.vaults && view.vaults.vaults.length > 0) {
    push('vaults', '1');
    const names = view.vaults.vaults.map((v) =>
      v.destination && v.destination !== v.vault ? `${v.vault} → ${v.destination}` : v.vault,
    );
    const nameWidth = Math.min(36, Math.max(...names.map((n) => n.length)));
    for (const [i, v] of view.vaults.vaults.entries()) {
      const failed = v.failed > 0 ? ` · ${count(v.failed)} failed` : '';
      const waiting = vaultWaiting(v, status);
      push(
        `  ${fit(names[i]!, nameWidth).padEnd(nameWidth)} ${bar(ratio(v.verified, v.toCopy), barWidth)} ` +
          `${count(v.verified)}/${count(v.toCopy)} · ${count(v.inFlight)} in flight${failed}` +
          `${waiting ? ` · ${waiting}` : ''}`,
      );
    }
    if (view.vaults.unassigned > 0)
      push(`  (${count(view.vaults.unassigned)} planned points not attributed to a vault)`, '2');
    lines.push('');
  }

  push(`rate       ${rateText(view, p)}`);
  const copy = status.copy;
  if (copy) {
    push(
      `copy jobs  ${count(status.counts.inFlight)} in flight · limit ${copy.inFlightLimit} (max ${copy.maxInFlight})` +
        `${awsInFlightText(status) ? ` · ${awsInFlightText(status)}` : ''}` +
        `${copy.throttled > 0 ? ` · ${count(copy.throttled)} throttled` : ''}`,
    );
    for (const f of copy.topFailures.slice(0, 3)) {
      push(`failed     ${f.reason}: ${count(f.count)} (${f.kind}) — ${f.description}`, '31');
    }
  }
  if (status.window) {
    const win = status.window;
    push(
      `window     ${win.open ? `open${win.closesAt ? ` until ${localTime(win.closesAt)}` : ''}` : `closed; opens ${win.opensAt ? localTime(win.opensAt) : 'never'}`}`,
    );
  }
  lines.push('');

  push('recent events', '1');
  const room = Math.max(3, Math.min(EVENTS_SHOWN, options.height - lines.length - 1));
  for (const e of view.events.slice(-room)) {
    const text = `  ${clock(e.at)} ${e.level.padEnd(5)} ${e.kind}: ${e.message}${vaultOf(e)}`;
    push(text, e.level === 'error' ? '31' : e.level === 'warn' ? '33' : undefined);
  }
  return lines.slice(0, Math.max(1, options.height));
}

// ---------------------------------------------------------------------------------------------------------------
// Plain lines (stdout is not a terminal)

/** What makes a status worth a line: the state, the pause, the phase, and progress in coarse steps. */
export function plainKey(status: StatusResponse, vaults: WatchVaults | null): string {
  const p = progress(status, vaults);
  const tenth = p.toCopy > 0 ? Math.floor(ratio(p.copied + p.failed, p.toCopy) * 10) : -1;
  return [
    stateLabel(status),
    status.pauseDetail ?? '',
    status.phase,
    `${status.inventory.vaultsDone}/${status.inventory.vaultsSelected}`,
    status.phase === 'plan' || status.phase === 'copy' || status.phase === 'done' ? p.toCopy : '',
    tenth,
  ].join('|');
}

export function plainStatusLine(status: StatusResponse, vaults: WatchVaults | null, at: number): string {
  const p = progress(status, vaults);
  const inv = status.inventory;
  const parts = [
    `${clock(at)} ${stateLabel(status)}, phase ${status.phase}`,
    `${count(status.counts.discovered)} points (${inv.vaultsDone}/${inv.vaultsSelected} vaults listed)`,
    `${count(p.toCopy)} to copy, ${count(p.skipped)} skipped`,
    `${count(p.copied)} copied (${percent(p.copied, p.toCopy)}), ${count(p.inFlight)} in flight, ${count(p.failed)} failed`,
  ];
  const line = parts.join('; ');
  return status.state === 'paused' && status.pauseDetail ? `${line}\n${clock(at)} why: ${status.pauseDetail}` : line;
}

/** The event's vault, when it names one its message does not. */
function vaultOf(event: WatchJournalEvent): string {
  const vault = event.data?.vault;
  return typeof vault === 'string' && !event.message.includes(vault) ? ` (${vault})` : '';
}

export function plainEventLine(event: WatchJournalEvent): string {
  return `${clock(event.at)} ${event.level.padEnd(5)} ${event.kind}: ${event.message}${vaultOf(event)}`;
}
