// Parsing of the human units the config file uses: durations ("6h", "1h30m",
// "45s", "2d") and wall-clock times ("22:00"). Kept free of I/O so both the
// daemon and rpctl (for `rpctl set drain 45m`) share one definition.

const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const;
const DURATION = /^(?:\d+(?:ms|d|h|m|s))+$/;
const PART = /(\d+)(ms|d|h|m|s)/g;

/** Milliseconds for a duration such as "6h", "1h30m" or "90s"; undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (!DURATION.test(trimmed)) return undefined;
  let total = 0;
  for (const [, amount, unit] of trimmed.matchAll(PART)) {
    total += Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS];
  }
  return total;
}

const DURATION_UNITS = [
  ['d', 86_400],
  ['h', 3_600],
  ['m', 60],
  ['s', 1],
] as const;

/** Whole seconds of `ms` split into days, hours, minutes and seconds, largest first (each unit once). */
export function durationParts(ms: number): { amount: number; unit: (typeof DURATION_UNITS)[number][0] }[] {
  let rest = Math.round(ms / 1_000);
  return DURATION_UNITS.map(([unit, size]) => {
    const amount = Math.floor(rest / size);
    rest -= amount * size;
    return { amount, unit };
  });
}

/** The shortest readable form of a millisecond count, e.g. 5400000 → "1h30m". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '∞';
  if (ms < 1_000) return `${Math.max(0, Math.round(ms))}ms`;
  return durationParts(ms)
    .filter((p) => p.amount > 0)
    .slice(0, 2)
    .map((p) => `${p.amount}${p.unit}`)
    .join('');
}

export interface ClockTime {
  hour: number;
  minute: number;
}

/** "22:00" → { hour: 22, minute: 0 }; undefined unless HH:MM within a day. */
export function parseClockTime(text: string): ClockTime | undefined {
  const match = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(text.trim());
  if (!match) return undefined;
  return { hour: Number(match[1]), minute: Number(match[2]) };
}

/** True when the runtime knows this IANA time zone name. */
export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}
