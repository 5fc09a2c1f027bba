// Reading AWS's own record of copy jobs: ListCopyJobs, fully paginated, one
// paced call per page (the port's request-rate budget applies to each).

import type { CopyJobSummary, Operations } from '../aws/operations.js';
import type { AwsPort, CallOptions } from '../aws/port.js';

export type CopyJobFilter = Omit<Operations['listCopyJobs']['input'], 'nextToken'>;

export async function listCopyJobs(
  port: AwsPort,
  filter: CopyJobFilter,
  signal?: AbortSignal,
  options?: CallOptions,
): Promise<CopyJobSummary[]> {
  const jobs: CopyJobSummary[] = [];
  let nextToken: string | undefined;
  do {
    const page = await port.call(
      'source',
      'listCopyJobs',
      { ...filter, ...(nextToken ? { nextToken } : {}) },
      signal,
      options,
    );
    jobs.push(...page.jobs);
    nextToken = page.nextToken;
  } while (nextToken);
  return jobs;
}

export const ACTIVE_JOB_STATES: ReadonlySet<string> = new Set(['CREATED', 'RUNNING']);
export const FINISHED_JOB_STATES: ReadonlySet<string> = new Set(['COMPLETED', 'FAILED', 'PARTIAL']);

/** The job to take over for a point: the newest that did not fail, else none. */
export function liveOrDoneJob(jobs: readonly CopyJobSummary[]): CopyJobSummary | undefined {
  let best: CopyJobSummary | undefined;
  for (const job of jobs) {
    if (job.state === 'FAILED' || job.state === 'PARTIAL') continue;
    if (!best || (job.creationDate ?? 0) > (best.creationDate ?? 0)) best = job;
  }
  return best;
}
