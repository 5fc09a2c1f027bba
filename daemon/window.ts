// Change windows: when work may run. Pure schedule arithmetic, no timers.
//
// A window opens at `start` on each of `days` (in `timezone`) and closes at
// `stop`, the same day or, when stop ≤ start, the next day (22:00–05:30).
// Days name the day a window opens. Without start/stop the window is always
// open. Wall-clock times are turned into instants through Intl, so DST days
// are right: a window that opens at 01:30 on a day that skips 01:00–02:00
// opens at the first instant after the gap.

import type { Weekday, WindowConfig } from '../shared/config.js';

const WEEKDAYS: readonly Weekday[] = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

export interface WindowState {
  open: boolean;
  /** When the open window opened (undefined: always open); with closesAt, it names this occurrence of the window. */
  openedAt?: number;
  /** When the open window closes (undefined: never). */
  closesAt?: number;
  /** When the next window opens (undefined while open, or never). */
  opensAt?: number;
}

interface LocalParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  weekday: Weekday;
}

export class ChangeWindow {
  private format!: Intl.DateTimeFormat;
  private startMin: number | undefined;
  private stopMin: number | undefined;
  private days!: ReadonlySet<Weekday>;

  constructor(private config: WindowConfig) {
    this.configure(config);
  }

  /** Take the schedule (start, stop, days, timezone) from `config`, as at construction: a config reload. */
  configure(config: WindowConfig): void {
    this.config = config;
    this.format = new Intl.DateTimeFormat('en-GB', {
      timeZone: config.timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      weekday: 'short',
    });
    this.startMin = minutes(config.start);
    this.stopMin = minutes(config.stop);
    this.days = new Set(config.days ?? WEEKDAYS);
  }

  /** True when the config has daily windows (otherwise only max_runtime limits a run). */
  get scheduled(): boolean {
    return this.startMin !== undefined && this.stopMin !== undefined;
  }

  get drainMs(): number {
    return this.config.drainMs ?? 0;
  }

  state(now: number): WindowState {
    if (this.startMin === undefined || this.stopMin === undefined) return { open: true };
    // The window that may contain `now` opened today or (overnight windows) yesterday.
    const today = this.localDate(now);
    for (const offset of [-1, 0]) {
      const { opens, closes } = this.windowOf(today, offset);
      if (opens !== undefined && closes !== undefined && opens <= now && now < closes) {
        return { open: true, openedAt: opens, closesAt: closes };
      }
    }
    for (let offset = 0; offset <= 8; offset++) {
      const { opens } = this.windowOf(today, offset);
      if (opens !== undefined && opens > now) return { open: false, opensAt: opens };
    }
    return { open: false };
  }

  /** The window opening on the local date `base` + `offset` days, if that day is one of `days`. */
  private windowOf(base: { year: number; month: number; day: number }, offset: number) {
    const date = new Date(Date.UTC(base.year, base.month - 1, base.day + offset));
    const weekday = WEEKDAYS[date.getUTCDay()] as Weekday;
    if (!this.days.has(weekday)) return { opens: undefined, closes: undefined };
    const y = date.getUTCFullYear();
    const m = date.getUTCMonth() + 1;
    const d = date.getUTCDate();
    const start = this.startMin as number;
    const stop = this.stopMin as number;
    const opens = this.instant(y, m, d, start);
    const closeDay = stop <= start ? new Date(Date.UTC(y, m - 1, d + 1)) : date;
    const closes = this.instant(closeDay.getUTCFullYear(), closeDay.getUTCMonth() + 1, closeDay.getUTCDate(), stop);
    return { opens, closes };
  }

  private localDate(t: number): { year: number; month: number; day: number } {
    const p = this.parts(t);
    return { year: p.year, month: p.month, day: p.day };
  }

  private parts(t: number): LocalParts {
    const out: Record<string, string> = {};
    for (const part of this.format.formatToParts(new Date(t))) out[part.type] = part.value;
    return {
      year: Number(out.year),
      month: Number(out.month),
      day: Number(out.day),
      hour: Number(out.hour),
      minute: Number(out.minute),
      weekday: (out.weekday ?? 'Sun').toLowerCase().slice(0, 3) as Weekday,
    };
  }

  /** The instant at which the zone's clock shows y-m-d and `minute` minutes past midnight (or just after a gap). */
  private instant(y: number, m: number, d: number, minute: number): number {
    const wall = Date.UTC(y, m - 1, d, Math.floor(minute / 60), minute % 60);
    // The zone's offset near that moment, applied twice to settle across a DST change.
    let guess = wall - this.offset(wall);
    guess = wall - this.offset(guess);
    if (this.wallAt(guess) === wall) return guess;
    // In a gap (spring forward) the wall time does not exist: the window starts when the clock jumps past it,
    // the first minute whose wall time is later (zone offsets stay within ±14 h, so the search is bounded).
    let lo = wall - 15 * 3_600_000;
    let hi = wall + 15 * 3_600_000;
    while (hi - lo > 60_000) {
      const mid = lo + Math.floor((hi - lo) / 120_000) * 60_000;
      if (this.wallAt(mid) >= wall) hi = mid;
      else lo = mid;
    }
    return hi;
  }

  /** The zone's wall clock at instant t, as if it were UTC (minute precision). */
  private wallAt(t: number): number {
    const p = this.parts(t);
    return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute);
  }

  /** The zone's UTC offset (ms) at instant t. */
  private offset(t: number): number {
    return this.wallAt(t) - Math.floor(t / 60_000) * 60_000;
  }
}

function minutes(hhmm: string | undefined): number | undefined {
  if (hhmm === undefined) return undefined;
  const [h, m] = hhmm.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}

/** When the current run must end: the window's close, or max runtime after the run started, whichever is first. */
export function runDeadline(state: WindowState, runStartedAt: number, maxRuntimeMs?: number): number | undefined {
  const byRuntime = maxRuntimeMs !== undefined ? runStartedAt + maxRuntimeMs : undefined;
  const candidates = [state.closesAt, byRuntime].filter((x): x is number => x !== undefined);
  return candidates.length > 0 ? Math.min(...candidates) : undefined;
}
