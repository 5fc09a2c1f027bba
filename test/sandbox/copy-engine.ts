/**
 * Copy jobs: validation of StartCopyJob, the job timeline, what lands in the
 * destination vault, and the ledger tests assert on.
 *
 * A job's whole timeline is fixed when it is created: it waits in CREATED
 * until the previous job for the same resource has finished (AWS runs one
 * backup or copy job per resource at a time [doc COPY]) plus a start delay,
 * then RUNNING for a duration that grows with size and depends on the
 * resource type, then COMPLETED or FAILED. Durations are divided by the time
 * factor. The state at any moment is a pure function of the clock, so tests
 * can step the clock instead of sleeping; `sync()` applies the side effects of
 * jobs that have finished (the copy appearing in the destination vault) and
 * is called before every request is served.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from './clock.js';
import { backupErr } from './errors.js';
import type { Knobs } from './knobs.js';
import {
  type CopyJobState,
  FULLY_MANAGED,
  type Lifecycle,
  pointDates,
  type RecoveryPoint,
  type ResourceType,
  type Vault,
} from './model.js';
import { policyAllows } from './policy.js';
import type { Prng } from './rng.js';
import type { PointStore } from './store.js';
import type { Account, World } from './world.js';

export interface CopyJob {
  id: string;
  seq: number;
  account: string;
  sourceVault: Vault;
  sourcePoint: RecoveryPoint;
  destVaultArn: string;
  destVault?: Vault;
  iamRoleArn: string;
  /** The lifecycle the copy gets: the requested one, else the source's. */
  lifecycle?: Lifecycle;
  createdAt: number;
  startAt: number;
  endAt: number;
  outcome: CopyOutcome;
  failureMessage?: string;
  destPointArn: string;
  applied: boolean;
  idempotencyToken?: string;
  /** Why the source point was not eligible for a copy when the job was created (status, cold, expired). */
  ineligible: string[];
  /** A finished job the admin API put into the history to go with a copy that existed before the test. */
  historical?: boolean;
}

export type CopyOutcome = 'COMPLETED' | 'FAILED' | 'PARTIAL';

/** A copy placed in a destination vault by the admin API, as a completed copy job would have left it. */
export interface PreexistingCopy {
  destVaultArn: string;
  destPointArn: string;
  /** The old finished job put into the history with it, if any. */
  jobId?: string;
}

export interface StartCopyJobInput {
  RecoveryPointArn?: unknown;
  SourceBackupVaultName?: unknown;
  DestinationBackupVaultArn?: unknown;
  IamRoleArn?: unknown;
  IdempotencyToken?: unknown;
  Lifecycle?: unknown;
}

export interface LedgerCall {
  at: number;
  outcome: 'created' | 'replayed' | 'rejected';
  jobId?: string;
  error?: string;
  idempotencyToken?: string;
  /** The server dropped the connection after applying the call (fault hook). */
  dropped?: boolean;
  /** The server applied the call, then answered with this error (fault hook). */
  errorAfterCommit?: string;
}

export interface LedgerEntry {
  recoveryPointArn: string;
  calls: LedgerCall[];
  jobIds: string[];
  /** Copies that were in a destination vault before the test began (admin API). */
  preexistingCopies?: PreexistingCopy[];
}

/**
 * Timing per resource type (sandbox seconds before the time factor). AWS
 * publishes no SLA for copies [doc COPY]; these give hours for large
 * resources, with slower, full copies for Aurora and FSx.
 */
export const COPY_TIMING: Record<ResourceType, { startDelaySec: number; baseSec: number; mbPerSec: number }> = {
  EBS: { startDelaySec: 60, baseSec: 300, mbPerSec: 80 },
  EC2: { startDelaySec: 60, baseSec: 600, mbPerSec: 80 },
  RDS: { startDelaySec: 120, baseSec: 600, mbPerSec: 60 },
  Aurora: { startDelaySec: 120, baseSec: 900, mbPerSec: 40 },
  S3: { startDelaySec: 60, baseSec: 300, mbPerSec: 150 },
  EFS: { startDelaySec: 60, baseSec: 300, mbPerSec: 100 },
  DynamoDB: { startDelaySec: 60, baseSec: 240, mbPerSec: 120 },
  FSx: { startDelaySec: 120, baseSec: 1200, mbPerSec: 50 },
};

const NOT_FULLY_MANAGED_KEY_MESSAGES: Partial<Record<ResourceType, string>> = {
  EBS: 'Snapshot copy failed with error: Given key ID is not accessible. You must have DescribeKey permissions on the default CMK.',
  EC2: 'AMI snapshot copy failed with error: Given key ID is not accessible. You must have DescribeKey permissions on the default CMK.',
  RDS: 'Cross-account copy failed: the DB snapshot is encrypted with the AWS managed key aws/rds, which cannot be shared with another account.',
  Aurora:
    'Cross-account copy failed: the DB cluster snapshot is encrypted with the AWS managed key aws/rds, which cannot be shared with another account.',
  FSx: 'Cross-account copy failed: the backup is encrypted with the AWS managed key aws/fsx, which cannot be shared with another account.',
};

export class CopyEngine {
  private readonly jobs: CopyJob[] = [];
  private readonly byId = new Map<string, CopyJob>();
  private readonly bySource = new Map<string, CopyJob[]>();
  private active: CopyJob[] = [];
  private nextEnd = Number.POSITIVE_INFINITY;
  private readonly resourceBusyUntil = new Map<string, number>();
  private readonly tokens = new Map<string, { fingerprint: string; jobId: string; at: number }>();
  private readonly ledger = new Map<string, LedgerEntry>();
  /** Outcomes forced through the admin API for jobs on a source point (applied when no check fails). */
  private readonly forced = new Map<string, CopyOutcome>();
  private seq = 0;

  constructor(
    private readonly world: World,
    private readonly store: PointStore,
    private readonly knobs: Knobs,
    private readonly clock: Clock,
    private readonly random: Prng,
  ) {}

  /** Apply the effects of every job that finished by now. */
  sync(): void {
    const now = this.clock.now();
    if (now < this.nextEnd) return;
    const still: CopyJob[] = [];
    let nextEnd = Number.POSITIVE_INFINITY;
    for (const job of this.active) {
      if (job.endAt <= now) this.finish(job);
      else {
        still.push(job);
        nextEnd = Math.min(nextEnd, job.endAt);
      }
    }
    this.active = still;
    this.nextEnd = nextEnd;
  }

  state(job: CopyJob, now = this.clock.now()): CopyJobState {
    if (now < job.startAt) return 'CREATED';
    if (now < job.endAt) return 'RUNNING';
    return job.outcome;
  }

  get(id: string): CopyJob | undefined {
    return this.byId.get(id);
  }

  /**
   * Jobs of the account still running at `now`. The caller passes the instant it stamps a new job with: a second
   * read of the clock comes later (a millisecond or more on a loaded machine, while a job at a high time factor
   * lasts only milliseconds), so a job ending between the two reads would be let go at admission yet overlap the
   * new job's CreationDate, one over the quota.
   */
  private activeCount(account: string, now: number): number {
    let n = 0;
    for (const j of this.active) if (j.account === account && j.endAt > now) n++;
    return n;
  }

  /** StartCopyJob. Returns the job (new or, for a repeated idempotency token, the original one). */
  start(caller: Account, input: StartCopyJobInput): { job: CopyJob; replayed: boolean } {
    const now = this.clock.now();
    const str = (name: keyof StartCopyJobInput): string => {
      const v = input[name];
      if (v === undefined || v === null || v === '') throw backupErr.missingParam(`${name} is required`);
      if (typeof v !== 'string') throw backupErr.invalidParam(`${name} must be a string`);
      return v;
    };
    const pointArn = str('RecoveryPointArn');
    const vaultName = str('SourceBackupVaultName');
    const destArn = str('DestinationBackupVaultArn');
    const roleArn = str('IamRoleArn');
    const token =
      input.IdempotencyToken === undefined || input.IdempotencyToken === null
        ? undefined
        : String(input.IdempotencyToken);
    const lifecycle = parseLifecycle(input.Lifecycle);

    const sourceVault = caller.vaults.get(vaultName);
    if (!sourceVault) throw backupErr.notFound(`Backup vault ${vaultName} does not exist in account ${caller.id}`);
    const point = this.store.get(sourceVault, pointArn);
    if (!point) throw backupErr.notFound(`Recovery point ${pointArn} was not found in backup vault ${vaultName}`);
    const destMatch = /^arn:aws:backup:([a-z0-9-]+):(\d{12}):backup-vault:(.+)$/.exec(destArn);
    if (!destMatch) throw backupErr.invalidParam(`Invalid destination backup vault ARN: ${destArn}`);
    if (!/^arn:aws:iam::\d{12}:role\/.+/.test(roleArn))
      throw backupErr.invalidParam(`Invalid IAM role ARN: ${roleArn}`);

    const fingerprint = JSON.stringify([pointArn, vaultName, destArn, roleArn, lifecycle ?? null]);
    if (token !== undefined) {
      const seen = this.tokens.get(`${caller.id}|${token}`);
      if (seen && now - seen.at <= this.knobs.idempotencyTtlSeconds * 1000) {
        if (seen.fingerprint !== fingerprint) {
          // UNCONFIRMED: AWS Backup does not document this case.
          throw backupErr.invalidRequest('The IdempotencyToken was already used with a different request.');
        }
        const job = this.byId.get(seen.jobId) as CopyJob;
        this.recordCall(pointArn, { at: now, outcome: 'replayed', jobId: job.id, idempotencyToken: token });
        return { job, replayed: true };
      }
    }

    if (point.continuous) {
      throw backupErr.invalidRequest(
        `Recovery point ${pointArn} is a continuous backup. StartCopyJob does not support continuous backups.`,
      );
    }
    if (!['COMPLETED', 'AVAILABLE', 'PARTIAL'].includes(point.status)) {
      throw backupErr.invalidRequest(`Recovery point ${pointArn} is in status ${point.status} and cannot be copied.`);
    }
    const destAccount = destMatch[2] as string;
    if (destAccount !== caller.id && point.resourceType === 'DynamoDB' && point.arn.startsWith('arn:aws:dynamodb:')) {
      throw backupErr.invalidRequest(
        'Cross-account copy is not supported for DynamoDB backups without AWS Backup advanced features.',
      );
    }
    if (this.activeCount(caller.id, now) >= this.knobs.copyJobQuota) {
      throw backupErr.limitExceeded(
        `The number of concurrent copy jobs for account ${caller.id} has reached the limit of ${this.knobs.copyJobQuota}.`,
      );
    }

    const destVault =
      destMatch[1] === this.world.region
        ? this.world.account(destAccount)?.vaults.get(destMatch[3] as string)
        : undefined;
    const job = this.create(caller, sourceVault, point, destArn, destVault, roleArn, lifecycle ?? point.lifecycle, now);
    job.idempotencyToken = token;
    job.ineligible = ineligibility(point, now);
    if (token !== undefined) this.tokens.set(`${caller.id}|${token}`, { fingerprint, jobId: job.id, at: now });
    this.recordCall(pointArn, { at: now, outcome: 'created', jobId: job.id, idempotencyToken: token });
    return { job, replayed: false };
  }

  private create(
    caller: Account,
    sourceVault: Vault,
    point: RecoveryPoint,
    destArn: string,
    destVault: Vault | undefined,
    roleArn: string,
    lifecycle: Lifecycle | undefined,
    now: number,
  ): CopyJob {
    const failure = this.failureFor(caller, sourceVault, point, destArn, destVault, roleArn, lifecycle, now);
    const outcome: CopyOutcome = failure
      ? 'FAILED'
      : (this.forced.get(point.arn) ??
        (this.knobs.copyPartialRate > 0 && this.random.next() < this.knobs.copyPartialRate ? 'PARTIAL' : 'COMPLETED'));
    const timing = COPY_TIMING[point.resourceType];
    const factor = this.knobs.timeFactor;
    const busyUntil = this.resourceBusyUntil.get(point.resourceArn) ?? 0;
    const startAt = Math.max(now + (timing.startDelaySec * 1000) / factor, busyUntil);
    const runMs = ((timing.baseSec + point.sizeBytes / (timing.mbPerSec * 1024 * 1024)) * 1000) / factor;
    // A failing job fails early in its run.
    const endAt = Math.ceil(startAt + (failure ? Math.min(runMs, (120 * 1000) / factor) : runMs));
    this.resourceBusyUntil.set(point.resourceArn, endAt);
    const destAccount = destVault?.account ?? (/:(\d{12}):backup-vault:/.exec(destArn)?.[1] as string);
    const job: CopyJob = {
      id: randomUUID().toUpperCase(),
      seq: ++this.seq,
      account: caller.id,
      sourceVault,
      sourcePoint: point,
      destVaultArn: destArn,
      destVault,
      iamRoleArn: roleArn,
      lifecycle,
      createdAt: now,
      startAt,
      endAt,
      outcome,
      failureMessage:
        failure ??
        (outcome === 'FAILED'
          ? 'Copy job failed due to an internal error. Retry the copy job.'
          : outcome === 'PARTIAL'
            ? PARTIAL_MESSAGE
            : undefined),
      destPointArn: this.destPointArn(point, destAccount, destVault),
      applied: false,
      ineligible: [],
    };
    this.jobs.push(job);
    this.byId.set(job.id, job);
    const list = this.bySource.get(point.arn);
    if (list) list.push(job);
    else this.bySource.set(point.arn, [job]);
    this.active.push(job);
    this.nextEnd = Math.min(this.nextEnd, endAt);
    const entry = this.entry(point.arn);
    entry.jobIds.push(job.id);
    return job;
  }

  /** Why this copy will fail, if it will. Checked in the order AWS would meet the problems. */
  private failureFor(
    caller: Account,
    sourceVault: Vault,
    point: RecoveryPoint,
    destArn: string,
    destVault: Vault | undefined,
    roleArn: string,
    lifecycle: Lifecycle | undefined,
    now: number,
  ): string | undefined {
    const crossAccount = !destVault || destVault.account !== caller.id;
    if (crossAccount && !this.knobs.crossAccountBackupEnabled) {
      return 'Copy job failed. Cross-account backup is not enabled for the organization. Enable it from the management account.';
    }
    if (crossAccount && !this.knobs.sameOrganization) {
      return 'Copy job failed. Both source and destination account must be a member of the same organization';
    }
    if (!destVault) return `Copy job failed. Destination backup vault ${destArn} does not exist.`;
    if (destVault.type === 'LOGICALLY_AIR_GAPPED_BACKUP_VAULT' && destVault.availableAt > now) {
      return `Copy job failed. Destination backup vault ${destArn} is not available yet.`;
    }
    if (crossAccount && destVault.name === 'Default') {
      return 'Copy job failed. The Default backup vault cannot be used as a cross-account copy destination.';
    }
    if (!caller.roles.some((r) => r.arn === roleArn)) {
      return `Copy job failed. AWS Backup could not assume IAM role ${roleArn}.`;
    }
    if (
      crossAccount &&
      !policyAllows(destVault.policy, 'backup:CopyIntoBackupVault', {
        account: caller.id,
        principalArn: roleArn,
        orgId: this.knobs.sameOrganization ? this.world.organization.id : undefined,
      })
    ) {
      return 'Access Denied trying to call AWS Backup service';
    }
    const { moveToColdAt } = pointDates(point);
    if (moveToColdAt !== undefined && moveToColdAt <= now) {
      return 'Copy job failed. Recovery points in cold storage cannot be copied.';
    }
    const fullyManaged =
      FULLY_MANAGED.has(point.resourceType) || sourceVault.type === 'LOGICALLY_AIR_GAPPED_BACKUP_VAULT';
    if (crossAccount && !fullyManaged && point.encryptionKeyArn) {
      const key = this.world.findKey(caller, point.encryptionKeyArn);
      if (key?.manager === 'AWS') return NOT_FULLY_MANAGED_KEY_MESSAGES[point.resourceType];
      if (key && !key.sharedWith.includes(destVault.account)) {
        return `Copy job failed. The source KMS key ${key.arn} is not accessible to account ${destVault.account}. Add the account to the key policy.`;
      }
    }
    if (!fullyManaged && destVault.encryptionKeyArn) {
      const destKey = this.world.findKey(this.world.account(destVault.account) ?? caller, destVault.encryptionKeyArn);
      if (destKey?.manager === 'AWS' && destKey.aliases.includes('alias/aws/backup')) {
        return `Copy job failed. ${point.resourceType} copies cannot be encrypted with the AWS Backup managed key; the destination vault needs a customer managed key.`;
      }
    }
    if (destVault.lock) {
      const days = lifecycle?.DeleteAfterDays;
      const { minRetentionDays: min, maxRetentionDays: max } = destVault.lock;
      if (
        (min !== undefined && (days === undefined ? false : days < min)) ||
        (max !== undefined && (days === undefined || days > max))
      ) {
        return `Copy job failed. The retention period of the copy (${days === undefined ? 'never expires' : `${days} days`}) does not comply with the vault lock of ${destVault.name} (minimum ${min ?? 'none'}, maximum ${max ?? 'none'} days).`;
      }
    }
    if (this.knobs.copyFailureRate > 0 && this.random.next() < this.knobs.copyFailureRate) {
      return 'Copy job failed due to an internal error. Retry the copy job.';
    }
    return undefined;
  }

  private destPointArn(point: RecoveryPoint, destAccount: string, destVault: Vault | undefined): string {
    const R = this.world.region;
    const id = randomUUID();
    const hex = id.replace(/-/g, '').slice(0, 16);
    if (destVault?.type === 'LOGICALLY_AIR_GAPPED_BACKUP_VAULT')
      return `arn:aws:backup:${R}:${destAccount}:recovery-point:${id}`;
    switch (point.resourceType) {
      case 'EBS':
        return `arn:aws:ec2:${R}::snapshot/snap-0${hex}`;
      case 'EC2':
        return `arn:aws:ec2:${R}::image/ami-0${hex}`;
      case 'RDS':
        return `arn:aws:rds:${R}:${destAccount}:snapshot:awsbackup:copyjob-${id}`;
      case 'Aurora':
        return `arn:aws:rds:${R}:${destAccount}:cluster-snapshot:awsbackup:copyjob-${id}`;
      case 'FSx':
        return `arn:aws:fsx:${R}:${destAccount}:backup/backup-0${hex}`;
      default:
        return `arn:aws:backup:${R}:${destAccount}:recovery-point:${id.toUpperCase()}`;
    }
  }

  private finish(job: CopyJob): void {
    if (job.applied) return;
    job.applied = true;
    if (job.outcome === 'FAILED' || !job.destVault) return;
    this.land(job, job.endAt);
  }

  /** Put the copy a job makes into its destination vault, listed from `landedAt` on. */
  private land(job: CopyJob, landedAt: number | undefined): void {
    const src = job.sourcePoint;
    const dest = job.destVault as Vault;
    const lag = dest.type === 'LOGICALLY_AIR_GAPPED_BACKUP_VAULT';
    // Copies keep the source's creation date; retention is the requested lifecycle or the source's. [doc COPY]
    this.store.add(dest, {
      arn: job.destPointArn,
      account: dest.account,
      vaultName: dest.name,
      vaultArn: dest.arn,
      vaultType: dest.type,
      sourceVaultArn: job.sourceVault.arn,
      resourceArn: src.resourceArn,
      resourceType: src.resourceType,
      resourceName: src.resourceName,
      iamRoleArn: `arn:aws:iam::${dest.account}:role/aws-service-role/backup.amazonaws.com/AWSServiceRoleForBackup`,
      // A partial copy lands as a PARTIAL recovery point, as a copied composite missing members does. [doc CFN]
      status: job.outcome === 'PARTIAL' ? 'PARTIAL' : 'COMPLETED',
      statusMessage: job.outcome === 'PARTIAL' ? 'Some nested recovery points could not be copied.' : undefined,
      creationDate: src.creationDate,
      initiationDate: job.startAt,
      completionDate: job.endAt,
      sizeBytes: src.sizeBytes,
      lifecycle: job.lifecycle,
      encryptionKeyArn:
        lag && !dest.encryptionKeyArn
          ? undefined
          : src.isEncrypted || FULLY_MANAGED.has(src.resourceType)
            ? dest.encryptionKeyArn
            : undefined,
      isEncrypted: src.isEncrypted || FULLY_MANAGED.has(src.resourceType),
      encryptionKeyType: dest.encryptionKeyType,
      continuous: false,
      landedAt,
    });
  }

  /** Force the outcome of jobs created from now on for a source point (null: back to the checks and rates). */
  forceOutcome(sourcePointArn: string, outcome: CopyOutcome | null): void {
    if (outcome === null) this.forced.delete(sourcePointArn);
    else this.forced.set(sourcePointArn, outcome);
  }

  forcedOutcomes(): Record<string, CopyOutcome> {
    return Object.fromEntries(this.forced);
  }

  /**
   * Make the destination vault hold a copy of the point exactly as a completed copy job would have left it
   * (listed at once: it predates the test), with or without that old job in the history.
   */
  seedCopy(
    caller: Account,
    sourceVault: Vault,
    point: RecoveryPoint,
    destVault: Vault,
    copiedAt: number,
    withJob: boolean,
  ): PreexistingCopy {
    const endAt = Math.max(copiedAt, point.creationDate);
    const startAt = Math.max(point.creationDate, endAt - 30 * 60_000);
    const job: CopyJob = {
      id: randomUUID().toUpperCase(),
      seq: 0,
      account: caller.id,
      sourceVault,
      sourcePoint: point,
      destVaultArn: destVault.arn,
      destVault,
      iamRoleArn: caller.roles.find((r) => r.name === 'AWSBackupDefaultServiceRole')?.arn ?? caller.roles[0]?.arn ?? '',
      lifecycle: point.lifecycle,
      createdAt: Math.max(point.creationDate, startAt - 60_000),
      startAt,
      endAt,
      outcome: 'COMPLETED',
      destPointArn: this.destPointArn(point, destVault.account, destVault),
      applied: true,
      ineligible: [],
      historical: true,
    };
    this.land(job, undefined);
    const copy: PreexistingCopy = { destVaultArn: destVault.arn, destPointArn: job.destPointArn };
    if (withJob) {
      // Job ids are listed newest first by seq; an old job goes in at its creation time.
      job.seq = ++this.seq;
      let k = this.jobs.length;
      while (k > 0 && (this.jobs[k - 1] as CopyJob).createdAt > job.createdAt) k--;
      this.jobs.splice(k, 0, job);
      this.reseq();
      this.byId.set(job.id, job);
      const list = this.bySource.get(point.arn) ?? [];
      list.push(job);
      list.sort((a, b) => a.seq - b.seq);
      this.bySource.set(point.arn, list);
      copy.jobId = job.id;
    }
    const entry = this.entry(point.arn);
    if (!entry.preexistingCopies) entry.preexistingCopies = [];
    entry.preexistingCopies.push(copy);
    return copy;
  }

  /** Renumber seq after an insertion so that it follows the jobs' order (pagination tokens hold a seq). */
  private reseq(): void {
    let n = 0;
    for (const j of this.jobs) j.seq = ++n;
    this.seq = n;
  }

  /** Finish every unfinished job now, with the outcome it was going to have. */
  completeAll(): number {
    const now = this.clock.now();
    let n = 0;
    for (const job of this.active) {
      if (job.endAt > now) {
        job.startAt = Math.min(job.startAt, now);
        job.endAt = now;
        n++;
      }
    }
    for (const [arn, until] of this.resourceBusyUntil) if (until > now) this.resourceBusyUntil.set(arn, now);
    this.nextEnd = now;
    this.sync();
    return n;
  }

  /**
   * ListCopyJobs. The listing shows every job as it was `listingLagSeconds` ago (`viewAt`): a job created since is
   * absent, and a state change since is not seen yet. aws-backup.md §8.9.
   */
  list(
    account: string,
    f: CopyJobFilters,
    before: number,
    max: number,
  ): { items: CopyJob[]; next?: number; viewAt: number } {
    const now = this.viewAt();
    const candidates =
      f.sourceRecoveryPointArn !== undefined ? (this.bySource.get(f.sourceRecoveryPointArn) ?? []) : this.jobs;
    const items: CopyJob[] = [];
    // Newest first; `before` is an exclusive upper bound on seq.
    let k = candidates.length - 1;
    while (k >= 0 && (candidates[k] as CopyJob).seq >= before) k--;
    for (; k >= 0 && items.length < max; k--) {
      const j = candidates[k] as CopyJob;
      if (j.account !== account || j.createdAt > now) continue;
      if (f.resourceArn !== undefined && j.sourcePoint.resourceArn !== f.resourceArn) continue;
      if (f.state !== undefined && this.state(j, now) !== f.state) continue;
      if (f.createdBefore !== undefined && !(j.createdAt < f.createdBefore)) continue;
      if (f.createdAfter !== undefined && !(j.createdAt > f.createdAfter)) continue;
      if (f.resourceType !== undefined && j.sourcePoint.resourceType !== f.resourceType) continue;
      if (f.destinationVaultArn !== undefined && j.destVaultArn !== f.destinationVaultArn) continue;
      if (f.accountId !== undefined && j.account !== f.accountId) continue;
      const done = now >= j.endAt ? j.endAt : undefined;
      if (f.completeBefore !== undefined && !(done !== undefined && done < f.completeBefore)) continue;
      if (f.completeAfter !== undefined && !(done !== undefined && done > f.completeAfter)) continue;
      if (f.parentJobId !== undefined) continue; // no composite jobs
      if (f.messageCategory !== undefined && messageCategory(j, now) !== f.messageCategory) continue;
      items.push(j);
    }
    // More may follow only if candidates remain below the last returned seq.
    return {
      items,
      next: k >= 0 && items.length > 0 ? (items[items.length - 1] as CopyJob).seq : undefined,
      viewAt: now,
    };
  }

  /** The moment listings show: now minus the listing lag. */
  viewAt(): number {
    return this.clock.now() - this.knobs.listingLagSeconds * 1000;
  }

  /** The job as DescribeCopyJob (now) or ListCopyJobs (at `viewAt()`) return it. */
  toWire(job: CopyJob, now = this.clock.now()): Record<string, unknown> {
    const state = this.state(job, now);
    const dest = job.destVault;
    const src = job.sourcePoint;
    return {
      AccountId: job.account,
      CopyJobId: job.id,
      SourceBackupVaultArn: job.sourceVault.arn,
      SourceRecoveryPointArn: src.arn,
      DestinationBackupVaultArn: job.destVaultArn,
      DestinationVaultType: dest?.type,
      DestinationVaultLockState: dest ? (dest.lock ? 'LOCKED' : 'UNLOCKED') : undefined,
      DestinationRecoveryPointArn: state === 'CREATED' || state === 'FAILED' ? undefined : job.destPointArn,
      DestinationEncryptionKeyArn: dest?.encryptionKeyArn || undefined,
      DestinationRecoveryPointLifecycle: job.lifecycle,
      ResourceArn: src.resourceArn,
      CreationDate: job.createdAt / 1000,
      CompletionDate: state === 'COMPLETED' || state === 'FAILED' || state === 'PARTIAL' ? job.endAt / 1000 : undefined,
      State: state,
      StatusMessage: state === 'FAILED' || state === 'PARTIAL' ? job.failureMessage : undefined,
      BackupSizeInBytes: src.sizeBytes,
      IamRoleArn: job.iamRoleArn,
      CreatedBy: src.createdBy,
      ResourceType: src.resourceType,
      IsParent: false,
      ResourceName: src.resourceName,
      MessageCategory: messageCategory(job, now),
    };
  }

  // ---- ledger ----

  private entry(arn: string): LedgerEntry {
    let e = this.ledger.get(arn);
    if (!e) {
      e = { recoveryPointArn: arn, calls: [], jobIds: [] };
      this.ledger.set(arn, e);
    }
    return e;
  }

  recordCall(arn: string, call: LedgerCall): void {
    this.entry(arn).calls.push(call);
  }

  /** Record a StartCopyJob call refused before or inside the operation (throttled, quota, invalid, …). */
  recordRejected(arn: string | undefined, error: string, token?: string): void {
    if (!arn) return;
    this.recordCall(arn, { at: this.clock.now(), outcome: 'rejected', error, idempotencyToken: token });
  }

  markErrorAfterCommit(arn: string, code: string): void {
    const calls = this.ledger.get(arn)?.calls;
    const last = calls?.[calls.length - 1];
    if (last) last.errorAfterCommit = code;
  }

  markDropped(arn: string): void {
    const calls = this.ledger.get(arn)?.calls;
    const last = calls?.[calls.length - 1];
    if (last) last.dropped = true;
  }

  ledgerEntry(arn: string): (LedgerEntry & { jobs: Record<string, unknown>[] }) | undefined {
    const e = this.ledger.get(arn);
    if (!e) return undefined;
    return { ...e, jobs: e.jobIds.map((id) => this.toWire(this.byId.get(id) as CopyJob)) };
  }

  ledgerEntries(): LedgerEntry[] {
    return [...this.ledger.values()];
  }

  summary(): Record<string, unknown> {
    const now = this.clock.now();
    const byState: Record<string, number> = {};
    let created = 0;
    for (const j of this.jobs) {
      if (j.historical) continue;
      created++;
      const s = this.state(j, now);
      byState[s] = (byState[s] ?? 0) + 1;
    }
    let calls = 0;
    let rejected = 0;
    let replayed = 0;
    let dropped = 0;
    const multiple: string[] = [];
    for (const e of this.ledger.values()) {
      calls += e.calls.length;
      for (const c of e.calls) {
        if (c.outcome === 'rejected') rejected++;
        if (c.outcome === 'replayed') replayed++;
        if (c.dropped) dropped++;
      }
      if (e.jobIds.length > 1) multiple.push(e.recoveryPointArn);
    }
    return {
      startCopyJobCalls: calls,
      rejectedCalls: rejected,
      replayedCalls: replayed,
      droppedResponses: dropped,
      jobsCreated: created,
      pointsWithJobs: [...this.ledger.values()].filter((e) => e.jobIds.length > 0).length,
      pointsWithMultipleJobs: multiple.length,
      pointsWithMultipleJobsSample: multiple.slice(0, 50),
      jobsByState: byState,
      activeJobs: this.active.filter((j) => j.endAt > now).length,
    };
  }

  /** Copies of a source point that predate the test. */
  preexisting(sourcePointArn: string): PreexistingCopy[] {
    return this.ledger.get(sourcePointArn)?.preexistingCopies ?? [];
  }

  /** Every job on a source point (historical ones included), oldest first. */
  jobsFor(sourcePointArn: string): CopyJob[] {
    return this.bySource.get(sourcePointArn) ?? [];
  }

  allJobs(): CopyJob[] {
    return this.jobs;
  }
}

export interface CopyJobFilters {
  resourceArn?: string;
  state?: string;
  createdBefore?: number;
  createdAfter?: number;
  resourceType?: string;
  destinationVaultArn?: string;
  accountId?: string;
  completeBefore?: number;
  completeAfter?: number;
  parentJobId?: string;
  messageCategory?: string;
  sourceRecoveryPointArn?: string;
}

const PARTIAL_MESSAGE = 'Copy job completed, but some items of the recovery point could not be copied.';

/** Why a point is not eligible for a copy at `now` (empty when it is). */
export function ineligibility(point: RecoveryPoint, now: number): string[] {
  const out: string[] = [];
  if (point.status !== 'COMPLETED') out.push(`status ${point.status}`);
  const { moveToColdAt, deleteAt } = pointDates(point);
  if (moveToColdAt !== undefined && moveToColdAt <= now) out.push('cold storage');
  if (point.status !== 'EXPIRED' && deleteAt !== undefined && deleteAt <= now) out.push('past DeleteAt');
  return out;
}

function messageCategory(job: CopyJob, now: number): string | undefined {
  if (now < job.endAt) return undefined;
  if (job.outcome === 'COMPLETED') return 'SUCCESS';
  if (job.failureMessage?.startsWith('Access Denied')) return 'ACCESS_DENIED';
  return 'ERROR';
}

function parseLifecycle(v: unknown): Lifecycle | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw backupErr.invalidParam('Lifecycle must be an object');
  const o = v as Record<string, unknown>;
  const num = (k: string): number | undefined => {
    const x = o[k];
    if (x === undefined || x === null) return undefined;
    if (typeof x !== 'number' || !Number.isInteger(x) || x < 1)
      throw backupErr.invalidParam(`Lifecycle.${k} must be a positive integer`);
    return x;
  };
  const cold = num('MoveToColdStorageAfterDays');
  const del = num('DeleteAfterDays');
  if (o.DeleteAfterEvent !== undefined)
    throw backupErr.invalidParam('Lifecycle.DeleteAfterEvent is not valid as an input');
  // "DeleteAfterDays must be at least 90 days greater than MoveToColdStorageAfterDays." [model Lifecycle doc]
  if (cold !== undefined && del !== undefined && del < cold + 90) {
    throw backupErr.invalidParam(
      `Invalid lifecycle: DeleteAfterDays (${del}) must be at least 90 days greater than MoveToColdStorageAfterDays (${cold}).`,
    );
  }
  const out: Lifecycle = {};
  if (cold !== undefined) out.MoveToColdStorageAfterDays = cold;
  if (del !== undefined) out.DeleteAfterDays = del;
  if (typeof o.OptInToArchiveForSupportedResources === 'boolean')
    out.OptInToArchiveForSupportedResources = o.OptInToArchiveForSupportedResources;
  return Object.keys(out).length ? out : undefined;
}
