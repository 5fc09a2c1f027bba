// The chaos judge: the sandbox's copy jobs and ledger against the generator's own model of the source (rebuilt
// here from the sandbox's seed and anchor) and the harness's log of source changes. rpcopy's store is read
// only to explain a finding (its state and reason for a point), never to decide one.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { SandboxAdmin, SandboxInfo, WireCopyJob } from '../sandbox/client.js';
import { ALLOWED_APMIDS, Dataset, spec } from '../sandbox/generator.js';
import { lifecycleDates } from '../sandbox/model.js';
import { skipReason } from '../sandbox/truth.js';
import type { SourceChangeKind } from './schedule.js';

/** Vaults whose points rpcopy copies without operator input (no name mapping, no air-gapped consent). */
const PLAIN_VAULTS = new Set([
  'prod-ebs-daily',
  'prod-rds-monthly',
  'prod-mixed-weekly',
  'finance-compliance',
  'dev-shortterm',
  'analytics-s3',
  'dynamo-tables',
  'fsx-filesystems',
  'legacy-ec2-ami',
]);
/** Plan reasons that depend on rules this model does not rebuild (destination locks, retention): not judged missed. */
const EXEMPT_SKIPS = new Set(['lifecycle_outside_lock', 'expiring_before_copy']);
/** rpcopy's default copy.expiry_margin, plus an hour for the run itself. */
const EXPIRY_MARGIN_MS = 2 * 86_400_000 + 3_600_000;

/** The sandbox's judge counts every status but COMPLETED as ineligible; AWS copies AVAILABLE points too. */
const countsAsIneligible = (reason: string) => reason !== 'status AVAILABLE';

/** What the judge knows of one source point. */
export interface PointFacts {
  arn: string;
  vault: string;
  resourceArn: string;
  /** Must never get a copy job (generator skip reason, or made ineligible by the harness before the job). */
  ineligible?: string;
  /** Must end with exactly one completed copy. */
  mustCopy: boolean;
  /** Why a point the plan may or may not copy is not judged for "missed" (unshared key, near expiry, vault). */
  undecided?: string;
}

export interface SourceChange {
  arn: string;
  vault: string;
  change: SourceChangeKind;
  /** Sandbox time of the change (ms). */
  at: number;
}

export interface Violation {
  kind: 'duplicate' | 'ineligible_copied' | 'missed' | 'not_done' | 'wrong_vault' | 'unknown_point';
  arn?: string;
  detail: string;
}

export interface Verdict {
  violations: Violation[];
  jobs: number;
  pointsCopied: number;
  mustCopy: number;
  /** Eligible points the plan skipped for a reason this judge does not model (EXEMPT_SKIPS). */
  exempted: number;
}

interface StoreRow {
  arn: string;
  state: string;
  failureReason: string | null;
  skipReason: string | null;
}

/** rpcopy's view of each point, read only to explain a finding (or exempt a skip the model cannot judge). */
function readStore(stateDir: string): Map<string, StoreRow> {
  const path = join(stateDir, 'rpcopy.db');
  if (!existsSync(path)) return new Map();
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    // A store the daemon never got to migrate (killed while creating it, and never started again) explains nothing.
    const migrated = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'copy_items'`).get();
    if (!migrated) return new Map();
    const rows = db
      .prepare(
        `SELECT p.arn, i.state, i.failure_reason AS failureReason, i.skip_reason AS skipReason
         FROM copy_items i JOIN recovery_points p ON p.id = i.point_id`,
      )
      .all() as StoreRow[];
    return new Map(rows.map((r) => [r.arn, r]));
  } finally {
    db.close();
  }
}

/** The generator's points of the sandbox that `info` describes, with what the judge expects of each. */
export function sourceModel(info: SandboxInfo, now: number): { dataset: Dataset; points: Map<string, PointFacts> } {
  const dataset = new Dataset(
    {
      seed: info.seed,
      points: info.points,
      region: info.region,
      accountId: info.accounts.source,
      anchor: Date.parse(info.anchor),
    },
    () => undefined,
  );
  const points = new Map<string, PointFacts>();
  for (const res of dataset.resources()) {
    const vault = spec(res.vault).name;
    for (let i = res.chainStart; i < res.chainStart + res.chainLength; i++) {
      const p = dataset.pointOf(res, i);
      const cls = dataset.classify(res, p, now);
      // AWS copies AVAILABLE points as it does COMPLETED ones; PARTIAL ones are left to the plan.
      // The generator files agreeing duplicate rows under duplicateSame whatever their APMID; an APMID outside the
      // allowed set is still not allowed (truth.ts counts those as toCopy).
      const csv = cls.csv === 'duplicateSame' && !ALLOWED_APMIDS.includes(res.app.apmid) ? 'notAllowed' : cls.csv;
      const reason = skipReason({ ...cls, csv, status: cls.status === 'AVAILABLE' ? 'COMPLETED' : cls.status });
      const deleteAt = lifecycleDates(p.creationDate, p.lifecycle, p.resourceType).deleteAt;
      let undecided: string | undefined;
      if (!PLAIN_VAULTS.has(vault)) undecided = `vault ${vault}`;
      else if (cls.status === 'PARTIAL') undecided = 'PARTIAL point';
      else if (res.key === 'legacy-unshared-cmk') undecided = 'source key not shared';
      else if (deleteAt !== undefined && deleteAt - now < EXPIRY_MARGIN_MS) undecided = 'expires within the margin';
      points.set(p.arn, {
        arn: p.arn,
        vault,
        resourceArn: res.arn,
        ineligible: reason,
        mustCopy: reason === undefined && undecided === undefined,
        undecided,
      });
    }
  }
  return { dataset, points };
}

export interface JudgeInput {
  admin: SandboxAdmin;
  stateDir: string;
  changes: SourceChange[];
  /** The final phase ended with `rpcopyd --once` exiting 0. */
  done: boolean;
  /** Added points the harness expects to be copied, by ARN (their resource is eligible). */
  added: Map<string, PointFacts>;
  /** Jobs the harness put into AWS's history before rpcopy started: not rpcopy's, whatever point they copied. */
  preexistingJobs?: ReadonlySet<string>;
}

export async function judge(input: JudgeInput): Promise<Verdict> {
  const { admin } = input;
  const info = await admin.info();
  const now = (await admin.clock()).now;
  const { points } = sourceModel(info, now);
  for (const [arn, facts] of input.added) points.set(arn, facts);
  for (const c of input.changes) {
    if (c.change === 'add') continue;
    const facts = points.get(c.arn);
    if (facts) {
      facts.mustCopy = false;
      facts.undecided = `source point ${c.change} during the run`;
    }
  }
  const view = await admin.judge();
  // A copy made before rpcopy still counts in the sandbox's per-point copies above, so a second one is a duplicate.
  const jobs = (await admin.copyJobs()).filter((j) => !input.preexistingJobs?.has(j.CopyJobId));
  const byPoint = new Map<string, WireCopyJob[]>();
  for (const job of jobs) {
    const list = byPoint.get(job.SourceRecoveryPointArn) ?? [];
    list.push(job);
    byPoint.set(job.SourceRecoveryPointArn, list);
  }
  const itemByArn = readStore(input.stateDir);
  const storeSays = (arn: string) => {
    const item = itemByArn.get(arn);
    const reason = item?.failureReason ?? item?.skipReason;
    return item ? `store: ${item.state}${reason ? ` (${reason})` : ''}` : 'store: no item';
  };
  const jobList = (arn: string) =>
    (byPoint.get(arn) ?? []).map((j) => `${j.CopyJobId} ${j.State}`).join(', ') || 'no job';
  const violations: Violation[] = [];
  if (!input.done) violations.push({ kind: 'not_done', detail: 'the final phase did not bring the run to done' });
  const duplicated = new Set<string>();
  let pointsCopied = 0;
  // The sandbox's own view: copies that exist per destination vault, and jobs started while a point was ineligible.
  for (const jp of view.points) {
    const arn = jp.recoveryPointArn;
    const copies = Object.values(jp.completedCopies).reduce((a, b) => a + b, 0);
    if (copies > 0) pointsCopied += 1;
    if (copies > 1) {
      duplicated.add(arn);
      violations.push({
        kind: 'duplicate',
        arn,
        detail: `${copies} completed copies ${JSON.stringify(jp.completedCopies)}${
          jp.preexistingCopies ? ` (${jp.preexistingCopies} from before rpcopy)` : ''
        }; jobs ${jobList(arn)}; ${storeSays(arn)}`,
      });
    }
    // A job AWS failed made no copy: a point that became ineligible after rpcopy last listed it (gone cold, say)
    // may meet one such refused attempt, and the claim-time check cannot know better. A copy it made counts.
    const copiedWhileIneligible = (jp.ineligibleJobs ?? []).filter(
      (j) => j.state !== 'FAILED' && j.reasons.some(countsAsIneligible),
    );
    for (const job of copiedWhileIneligible) {
      violations.push({
        kind: 'ineligible_copied',
        arn,
        detail: `job ${job.jobId} ${job.state} created at ${new Date(job.createdAt).toISOString()} while ${job.reasons.join(
          ', ',
        )}; ${storeSays(arn)}`,
      });
    }
    const facts = points.get(arn);
    for (const [vaultArn, n] of Object.entries(jp.completedCopies)) {
      const destVault = vaultArn.split(':backup-vault:')[1];
      if (facts && n > 0 && PLAIN_VAULTS.has(facts.vault) && destVault !== facts.vault) {
        violations.push({ kind: 'wrong_vault', arn, detail: `copied into ${destVault}, expected ${facts.vault}` });
      }
    }
  }
  const viewByArn = new Map(view.points.map((p) => [p.recoveryPointArn, p]));
  // The generator's rules the sandbox does not judge (APMID, continuous, key, type), and jobs running side by side.
  for (const [arn, pointJobs] of byPoint) {
    const facts = points.get(arn);
    if (!facts) {
      violations.push({ kind: 'unknown_point', arn, detail: `jobs for a point the source never had: ${jobList(arn)}` });
      continue;
    }
    if (facts.ineligible) {
      violations.push({
        kind: 'ineligible_copied',
        arn,
        detail: `skip reason ${facts.ineligible}, yet jobs ${jobList(arn)}; ${storeSays(arn)}`,
      });
    }
    const live = pointJobs.filter((j) => j.State !== 'FAILED' && j.State !== 'ABORTED' && j.State !== 'PARTIAL');
    if (live.length > 1 && !duplicated.has(arn)) {
      violations.push({
        kind: 'duplicate',
        arn,
        detail: `${live.length} jobs not failed: ${jobList(arn)}; ${storeSays(arn)}`,
      });
    }
  }
  let mustCopy = 0;
  let exempted = 0;
  for (const facts of points.values()) {
    if (!facts.mustCopy) continue;
    const jp = viewByArn.get(facts.arn);
    if (jp && (!jp.exists || (jp.ineligibleNow ?? []).some(countsAsIneligible))) continue;
    const skip = itemByArn.get(facts.arn)?.skipReason;
    const partial = (jp?.jobsByState?.PARTIAL ?? 0) > 0;
    if ((skip && EXEMPT_SKIPS.has(skip)) || partial) {
      exempted += 1;
      continue;
    }
    mustCopy += 1;
    const copies = jp ? Object.values(jp.completedCopies).reduce((a, b) => a + b, 0) : 0;
    if (copies === 0) {
      violations.push({
        kind: 'missed',
        arn: facts.arn,
        detail: `eligible, no completed copy (${jobList(facts.arn)}); ${storeSays(facts.arn)}`,
      });
    }
  }
  return { violations, jobs: jobs.length, pointsCopied, mustCopy, exempted };
}
