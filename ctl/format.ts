// Formatting for a person reading rpctl's output (--json keeps raw numbers and UTC ISO times): counts with
// separators, sizes in binary units, durations like "3h 20m", times in the operator's time zone.

import { durationParts } from '../shared/duration.js';

const integer = new Intl.NumberFormat('en-US');
const decimal = new Intl.NumberFormat('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });

export function count(n: number): string {
  return integer.format(n);
}

const BYTE_UNITS = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;

/** A size in the largest binary unit that keeps the number at least 1: "1,234.5 GiB", "12.0 TiB". */
export function bytes(n: number): string {
  if (!Number.isFinite(n) || n < 1024) return `${count(Math.max(0, Math.round(n || 0)))} bytes`;
  let unit = 0;
  let value = n;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  // Stay in TiB up to 1,024 TiB: the backlog is counted in TiB by those who plan it.
  if (BYTE_UNITS[unit] === 'PiB' && value < 10) {
    value *= 1024;
    unit--;
  }
  return `${decimal.format(value)} ${BYTE_UNITS[unit]}`;
}

/** A duration in its two largest units: "3h 20m", "2d 4h", "45s"; "under 1s" below a second. */
export function duration(ms: number): string {
  if (!Number.isFinite(ms)) return 'never';
  if (ms < 1_000) return 'under 1s';
  const parts = durationParts(ms);
  const first = parts.findIndex((p) => p.amount > 0);
  // The largest unit and the next one, the next left out when it is zero ("2h", not "2h 0m").
  return parts
    .slice(first, first + 2)
    .filter((p, i) => i === 0 || p.amount > 0)
    .map((p) => `${p.amount}${p.unit}`)
    .join(' ');
}

/** An average that may not exist yet, for example the mean copy-job time before the first job finished. */
export function measured(ms: number | null | undefined): string {
  return ms === null || ms === undefined || ms <= 0 ? 'not measured yet' : duration(ms);
}

/**
 * A moment in the operator's time zone (the TZ of the shell running rpctl), to the minute or second, with the
 * zone's name: "2026-12-07 05:30 GMT". Text that is not a date is returned unchanged.
 */
export function localTime(iso: string, options: { seconds?: boolean; timeZone?: string } = {}): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', {
      timeZone: options.timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      ...(options.seconds ? { second: '2-digit' } : {}),
      hourCycle: 'h23',
      timeZoneName: 'short',
    })
      .formatToParts(date)
      .map((p) => [p.type, p.value]),
  );
  const time = `${parts.hour}:${parts.minute}${options.seconds ? `:${parts.second}` : ''}`;
  return `${parts.year}-${parts.month}-${parts.day} ${time} ${parts.timeZoneName}`;
}

/** Rows of cells as aligned columns. */
export function columns(rows: string[][], gap = '  '): string {
  const widths: number[] = [];
  for (const row of rows) {
    for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, cell.length);
  }
  return rows
    .map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join(gap))
    .join('\n');
}

/** Each distinct line once, in first-seen order, with "(×N)" where it repeated. */
export function distinct(lines: string[]): string[] {
  const seen = new Map<string, number>();
  for (const line of lines) seen.set(line, (seen.get(line) ?? 0) + 1);
  return [...seen].map(([line, n]) => (n > 1 ? `${line} (×${n})` : line));
}
