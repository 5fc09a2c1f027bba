// The per-point report (`rpctl report --format csv|json`): one row per
// inventoried recovery point with the plan's decision and where its copy
// stands. A read model over the plan's and the copy engine's rows
// (recovery_points, copy_items): it never writes.
//
// Served in pages by keyset pagination on the point id, so each page is one
// short indexed read at any depth and the daemon never holds the report in
// memory; rpctl asks for pages of 1,000 points (their cost: bench/results/design-notes.md). Pages are
// read one after another, not in one snapshot: a point whose copy advances
// during an export shows the state its page saw.

import type { ReportPoint } from '../../shared/api.js';
import type { Store } from '../store/store.js';

export interface ReportPointsQuery {
  after: number;
  limit: number;
}

// A point the plan has not reached has no copy_items row yet: it is reported as discovered, undecided.
// Read as raw arrays: building the objects here is half the cost of letting the driver name every column.
const PAGE_SQL = `
  SELECT p.id, p.arn, p.vault_name, p.resource_arn, p.resource_type, p.resource_name, i.apmid,
    CASE WHEN i.state IS NULL OR i.state = 'discovered' THEN NULL WHEN i.state = 'skipped' THEN 'skip' ELSE 'copy' END,
    coalesce(i.state, 'discovered'),
    CASE WHEN i.state = 'skipped' THEN i.skip_reason ELSE i.failure_reason END,
    i.failure_kind, i.copy_job_id, i.job_state, i.destination_vault_name, i.destination_point_arn,
    coalesce(i.attempt, 0), p.size_bytes, p.creation_date, i.planned_at, i.submitted_at, i.completed_at,
    i.verified_at, i.error_code, i.error_message
  FROM recovery_points p LEFT JOIN copy_items i ON i.point_id = p.id
  WHERE p.id > @after ORDER BY p.id LIMIT @limit`;

type Row = [
  id: number,
  arn: string,
  vault: string,
  resourceArn: string,
  resourceType: string,
  resourceName: string | null,
  apmid: string | null,
  decision: 'copy' | 'skip' | null,
  state: string,
  reason: string | null,
  failureKind: string | null,
  copyJobId: string | null,
  jobState: string | null,
  destinationVault: string | null,
  destinationPointArn: string | null,
  attempt: number,
  sizeBytes: number | null,
  creationDate: number | null,
  plannedAt: number | null,
  submittedAt: number | null,
  completedAt: number | null,
  verifiedAt: number | null,
  errorCode: string | null,
  errorMessage: string | null,
];

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** One page of the report: points with id > after, by id; `next` is null on the last page. */
export function reportPoints(store: Store, query: ReportPointsQuery): { points: ReportPoint[]; next: number | null } {
  const rows = store.sqlite.prepare<[ReportPointsQuery], Row>(PAGE_SQL).raw().all(query);
  const points = rows.map(
    (r): ReportPoint => ({
      id: r[0],
      sourcePointArn: r[1],
      vault: r[2],
      resourceArn: r[3],
      resourceType: r[4],
      resourceName: r[5],
      apmid: r[6],
      decision: r[7],
      state: r[8],
      reason: r[9],
      failureKind: r[10],
      copyJobId: r[11],
      jobState: r[12],
      destinationVault: r[13],
      destinationPointArn: r[14],
      attempt: r[15],
      sizeBytes: r[16],
      creationDate: iso(r[17]),
      plannedAt: iso(r[18]),
      submittedAt: iso(r[19]),
      completedAt: iso(r[20]),
      verifiedAt: iso(r[21]),
      errorCode: r[22],
      errorMessage: r[23],
    }),
  );
  const last = points.at(-1);
  return { points, next: points.length === query.limit && last ? last.id : null };
}
