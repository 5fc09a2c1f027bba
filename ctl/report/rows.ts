// The per-point export's two formats. CSV: a header row, then one row per
// point, fields quoted per RFC 4180 when they hold a comma, a quote or a line
// break; empty for null. JSON Lines: one object per line with the same fields
// in the same order, null for what is absent. Times are ISO-8601 UTC in both.

import type { ReportPoint } from '../../shared/api.js';

/** The exported columns, in order (the point's row id is the pagination key, not part of the export). */
export const REPORT_COLUMNS = [
  'sourcePointArn',
  'vault',
  'resourceArn',
  'resourceType',
  'resourceName',
  'apmid',
  'decision',
  'state',
  'reason',
  'failureKind',
  'copyJobId',
  'jobState',
  'destinationVault',
  'destinationPointArn',
  'attempt',
  'sizeBytes',
  'creationDate',
  'plannedAt',
  'submittedAt',
  'completedAt',
  'verifiedAt',
  'errorCode',
  'errorMessage',
] as const satisfies readonly (keyof ReportPoint)[];

function csvField(value: string | number | null): string {
  if (value === null) return '';
  const text = String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export const CSV_HEADER = REPORT_COLUMNS.join(',');

export function csvRow(point: ReportPoint): string {
  return REPORT_COLUMNS.map((c) => csvField(point[c])).join(',');
}

export function jsonRow(point: ReportPoint): string {
  const out: Record<string, unknown> = {};
  for (const c of REPORT_COLUMNS) out[c] = point[c];
  return JSON.stringify(out);
}
