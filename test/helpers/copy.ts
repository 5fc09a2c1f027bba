// The copy engine's judge: the sandbox's record of every copy job against the
// store's record of every item (read-only on both sides), and the runs the
// copy end-to-end tests (copy.test.ts, copy-crash.test.ts) judge with it.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Test } from 'tap';
import { spawnDaemon } from './process.js';
import { type RunningSandbox, startSandboxProcess } from './sandbox.js';

export interface ItemRow {
  arn: string;
  state: string;
  failureReason: string | null;
  copyJobId: string | null;
  destinationPointArn: string | null;
}

export interface LedgerVerdict {
  items: number;
  verified: number;
  failed: Record<string, number>;
  /** Items not in a final state (verified, failed, skipped). */
  open: string[];
  /** Source points with more than one copy job. */
  duplicates: string[];
  /** Points copied although the plan skipped them (or never planned them). */
  ineligibleCopied: string[];
  /** Verified items without exactly one job, or whose job is not the one the store names. */
  verifiedWithoutTheirJob: string[];
  /** Points to copy that never got a job although no permanent failure explains it. */
  missed: string[];
  jobs: number;
}

/** Permanent reasons that leave a planned point without a job of its own (its canary or vault stopped it). */
const NO_JOB_REASONS = new Set(['canary_failed', 'destination_vault_unavailable']);

export function readItems(stateDir: string): ItemRow[] {
  const db = new Database(join(stateDir, 'rpcopy.db'), { readonly: true, fileMustExist: true });
  try {
    return db
      .prepare(
        `SELECT p.arn, i.state, i.failure_reason AS failureReason, i.copy_job_id AS copyJobId,
           i.destination_point_arn AS destinationPointArn
         FROM copy_items i JOIN recovery_points p ON p.id = i.point_id`,
      )
      .all() as ItemRow[];
  } finally {
    db.close();
  }
}

export async function ledgerVerdict(sandbox: RunningSandbox, stateDir = sandbox.stateDir): Promise<LedgerVerdict> {
  const items = readItems(stateDir);
  const jobs = await sandbox.admin.copyJobs();
  const jobsByPoint = new Map<string, { id: string; destination: string | undefined }[]>();
  for (const job of jobs) {
    const arn = String(job.SourceRecoveryPointArn);
    const list = jobsByPoint.get(arn) ?? [];
    list.push({ id: String(job.CopyJobId), destination: job.DestinationRecoveryPointArn as string | undefined });
    jobsByPoint.set(arn, list);
  }
  const byArn = new Map(items.map((i) => [i.arn, i]));
  const verdict: LedgerVerdict = {
    items: items.length,
    verified: 0,
    failed: {},
    open: [],
    duplicates: [],
    ineligibleCopied: [],
    verifiedWithoutTheirJob: [],
    missed: [],
    jobs: jobs.length,
  };
  for (const [arn, pointJobs] of jobsByPoint) {
    if (pointJobs.length > 1) verdict.duplicates.push(arn);
    const item = byArn.get(arn);
    if (!item || item.state === 'skipped' || item.state === 'discovered') verdict.ineligibleCopied.push(arn);
  }
  for (const item of items) {
    const pointJobs = jobsByPoint.get(item.arn) ?? [];
    if (item.state === 'verified') {
      verdict.verified += 1;
      if (pointJobs.length !== 1 || pointJobs[0]?.id !== item.copyJobId) verdict.verifiedWithoutTheirJob.push(item.arn);
    } else if (item.state === 'failed') {
      const reason = item.failureReason ?? 'unknown';
      verdict.failed[reason] = (verdict.failed[reason] ?? 0) + 1;
      if (pointJobs.length === 0 && !NO_JOB_REASONS.has(reason)) verdict.missed.push(item.arn);
    } else if (item.state !== 'skipped') {
      verdict.open.push(item.arn);
    }
  }
  return verdict;
}

/** Raise the StartCopyJob rate (the sandbox runs with throttling off in these tests) and set the window. */
export function tuneConfig(
  sandbox: RunningSandbox,
  extra: { maxInFlight?: number; startRate?: number; listingLag?: string; resendWindow?: string } = {},
): void {
  const text = readFileSync(sandbox.config, 'utf8').replace(
    /max_in_flight = \d+/,
    `max_in_flight = ${extra.maxInFlight ?? 100}\nstart_rate = ${extra.startRate ?? 50}\n` +
      // Above the sandbox's listing lag (2 s) and below its idempotency window, yet short: unknown outcomes left
      // by the crash tests wait seconds, not minutes.
      `listing_lag = "${extra.listingLag ?? '4s'}"\nresend_window = "${extra.resendWindow ?? '2s'}"`,
  );
  writeFileSync(sandbox.config, text);
}

/** Copy jobs run this many times faster than real ones in the copy tests. */
const FAST = 100_000;
// Reasons a point may end failed in these runs: the generator's unshared CMKs (and their held combinations) and
// the air-gapped vault, which is not created without the operator's consent.
const PERMANENT_REASONS = new Set(['key_not_accessible', 'canary_failed', 'destination_vault_unavailable']);

/** A sandbox process of `points` points, throttling off, copy jobs FAST, the window tuned for speed. */
export async function copySandbox(t: Test, points: number, knobs: Record<string, unknown> = {}, seed = 3) {
  const sandbox = await startSandboxProcess(t, {
    points,
    seed,
    timeFactor: FAST,
    extraArgs: ['--no-throttling'],
    knobs,
  });
  tuneConfig(sandbox);
  return sandbox;
}

/** One `rpcopyd --once` run to its exit, with its output. */
export async function runOnce(t: Test, sandbox: RunningSandbox, env: NodeJS.ProcessEnv = {}, args: string[] = []) {
  const daemon = spawnDaemon(['--once', ...args], { ...sandbox.env, ...env }, t);
  const exit = await daemon.exited;
  return { ...exit, output: daemon.output() };
}

export function expectExit(t: Test, run: { code: number | null; output: string }, label: string): void {
  t.equal(run.code, 0, label);
  if (run.code !== 0) t.comment(run.output.slice(-3000));
}

/** Exactly one job per copied point, nothing ineligible copied, nothing open or missed, only permanent failures. */
export function assertClean(t: Test, verdict: LedgerVerdict, label: string): void {
  t.same(verdict.duplicates, [], `${label}: no point has two copy jobs`);
  t.same(verdict.ineligibleCopied, [], `${label}: no skipped point was copied`);
  t.same(verdict.open, [], `${label}: every planned point reached a final state`);
  t.same(verdict.verifiedWithoutTheirJob, [], `${label}: every verified point has exactly its own job`);
  t.same(verdict.missed, [], `${label}: no point was left without a job unexplained`);
  const unexpected = Object.keys(verdict.failed).filter((r) => !PERMANENT_REASONS.has(r));
  t.same(unexpected, [], `${label}: failures are only the sandbox's permanent cases`);
  t.ok(verdict.verified > 0, `${label}: points were copied and verified (${verdict.verified})`);
}
