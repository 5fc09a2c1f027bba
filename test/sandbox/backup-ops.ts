/**
 * AWS Backup operations (REST-JSON), checked against the botocore service
 * model: method + URI, where each input lives (label, query string, body), the
 * output members, and the modeled errors. Handlers receive an authenticated
 * caller account; they never see credentials.
 */
import type { Clock } from './clock.js';
import type { CopyEngine, CopyJobFilters } from './copy-engine.js';
import { AwsError, backupErr } from './errors.js';
import type { Knobs } from './knobs.js';
import { pointDates, type RecoveryPoint, type Vault } from './model.js';
import { filterFingerprint, type TokenCodec } from './pagination.js';
import { isPolicyDocument } from './policy.js';
import { type Route, route, ts } from './rest-json.js';
import type { PointFilters, PointStore } from './store.js';
import type { Account, World } from './world.js';

export const BACKUP_ROUTES: readonly Route[] = [
  route('GET', '/backup-vaults', 'ListBackupVaults'),
  route('GET', '/backup-vaults/{backupVaultName}', 'DescribeBackupVault'),
  route('PUT', '/backup-vaults/{backupVaultName}', 'CreateBackupVault'),
  route('PUT', '/logically-air-gapped-backup-vaults/{backupVaultName}', 'CreateLogicallyAirGappedBackupVault'),
  route('GET', '/backup-vaults/{backupVaultName}/recovery-points', 'ListRecoveryPointsByBackupVault'),
  route('GET', '/backup-vaults/{backupVaultName}/recovery-points/{recoveryPointArn}', 'DescribeRecoveryPoint'),
  route('GET', '/backup-vaults/{backupVaultName}/access-policy', 'GetBackupVaultAccessPolicy'),
  route('PUT', '/backup-vaults/{backupVaultName}/access-policy', 'PutBackupVaultAccessPolicy'),
  route('GET', '/backup-vaults/{backupVaultName}/notification-configuration', 'GetBackupVaultNotifications'),
  route('PUT', '/backup-vaults/{backupVaultName}/notification-configuration', 'PutBackupVaultNotifications'),
  route('PUT', '/backup-vaults/{backupVaultName}/vault-lock', 'PutBackupVaultLockConfiguration'),
  route('PUT', '/copy-jobs', 'StartCopyJob'),
  route('GET', '/copy-jobs/{copyJobId}', 'DescribeCopyJob'),
  route('GET', '/copy-jobs', 'ListCopyJobs'),
  route('GET', '/tags/{resourceArn}', 'ListTags'),
  route('POST', '/tags/{resourceArn}', 'TagResource'),
  route('GET', '/global-settings', 'DescribeGlobalSettings'),
];

export interface BackupRequest {
  caller: Account;
  operation: string;
  labels: Record<string, string>;
  query: URLSearchParams;
  body: Record<string, unknown>;
}

const VAULT_NAME = /^[a-zA-Z0-9\-_]{2,50}$/;
const EVENTS = new Set([
  'BACKUP_JOB_STARTED',
  'BACKUP_JOB_COMPLETED',
  'BACKUP_JOB_SUCCESSFUL',
  'BACKUP_JOB_FAILED',
  'BACKUP_JOB_EXPIRED',
  'RESTORE_JOB_STARTED',
  'RESTORE_JOB_COMPLETED',
  'RESTORE_JOB_SUCCESSFUL',
  'RESTORE_JOB_FAILED',
  'COPY_JOB_STARTED',
  'COPY_JOB_SUCCESSFUL',
  'COPY_JOB_FAILED',
  'RECOVERY_POINT_MODIFIED',
  'BACKUP_PLAN_CREATED',
  'BACKUP_PLAN_MODIFIED',
  'S3_BACKUP_OBJECT_FAILED',
  'S3_RESTORE_OBJECT_FAILED',
  'CONTINUOUS_BACKUP_INTERRUPTED',
  'RECOVERY_POINT_INDEX_COMPLETED',
  'RECOVERY_POINT_INDEX_DELETED',
  'RECOVERY_POINT_INDEXING_FAILED',
  'EKS_RESTORE_OBJECT_FAILED',
  'EKS_RESTORE_OBJECT_SKIPPED',
  'EKS_BACKUP_OBJECT_FAILED',
]);
const COPY_JOB_STATES = new Set(['CREATED', 'RUNNING', 'COMPLETED', 'FAILED', 'PARTIAL']);
const DAY = 86_400_000;
const MAX_VAULTS = 300;

export class BackupService {
  /** Tags of recovery points (vault tags live on the vault). */
  private readonly pointTags = new Map<string, Record<string, string>>();
  private globalSettingsUpdated: number;

  constructor(
    private readonly world: World,
    private readonly store: PointStore,
    private readonly engine: CopyEngine,
    private readonly knobs: Knobs,
    private readonly clock: Clock,
    private readonly tokens: TokenCodec,
  ) {
    this.globalSettingsUpdated = world.opts.anchor - 300 * DAY;
  }

  handle(req: BackupRequest): unknown {
    this.engine.sync();
    switch (req.operation) {
      case 'ListBackupVaults':
        return this.listBackupVaults(req);
      case 'DescribeBackupVault':
        return this.describeBackupVault(req);
      case 'CreateBackupVault':
        return this.createBackupVault(req);
      case 'CreateLogicallyAirGappedBackupVault':
        return this.createLagVault(req);
      case 'ListRecoveryPointsByBackupVault':
        return this.listRecoveryPoints(req);
      case 'DescribeRecoveryPoint':
        return this.describeRecoveryPoint(req);
      case 'GetBackupVaultAccessPolicy':
        return this.getAccessPolicy(req);
      case 'PutBackupVaultAccessPolicy':
        return this.putAccessPolicy(req);
      case 'GetBackupVaultNotifications':
        return this.getNotifications(req);
      case 'PutBackupVaultNotifications':
        return this.putNotifications(req);
      case 'PutBackupVaultLockConfiguration':
        return this.putVaultLock(req);
      case 'StartCopyJob':
        return this.startCopyJob(req);
      case 'DescribeCopyJob':
        return this.describeCopyJob(req);
      case 'ListCopyJobs':
        return this.listCopyJobs(req);
      case 'ListTags':
        return this.listTags(req);
      case 'TagResource':
        return this.tagResource(req);
      case 'DescribeGlobalSettings':
        return this.describeGlobalSettings();
      default:
        throw new AwsError('UnknownOperationException', `Unknown operation ${req.operation}`, 404);
    }
  }

  // ---- vaults ----

  private vault(req: BackupRequest): Vault {
    const name = req.labels.backupVaultName;
    if (!name) throw backupErr.missingParam('BackupVaultName is required');
    const owner = req.query.get('backupVaultAccountId');
    if (owner !== null && owner !== req.caller.id) {
      // Only vaults shared with the caller (RAM) are visible cross-account; the sandbox shares none.
      throw backupErr.notFound(`Backup vault ${name} in account ${owner} was not found or is not shared with you.`);
    }
    const vault = req.caller.vaults.get(name);
    if (!vault) throw backupErr.notFound(`Backup vault ${name} does not exist.`);
    return vault;
  }

  private vaultState(v: Vault): string {
    return v.availableAt > this.clock.now() ? 'CREATING' : 'AVAILABLE';
  }

  private listBackupVaults(req: BackupRequest): unknown {
    const type = req.query.get('vaultType') ?? undefined;
    if (
      type !== undefined &&
      !['BACKUP_VAULT', 'LOGICALLY_AIR_GAPPED_BACKUP_VAULT', 'RESTORE_ACCESS_BACKUP_VAULT'].includes(type)
    ) {
      throw backupErr.invalidParam(`Invalid value for vaultType: ${type}`);
    }
    const shared = parseBool(req.query.get('shared'), 'shared');
    const max = this.maxResults(req);
    const scope = `vaults:${req.caller.id}`;
    const filter = filterFingerprint({ type, shared: shared === undefined ? undefined : String(shared) });
    const start = this.startPos(req, scope, filter);
    // The sandbox shares no vault through RAM, so shared=true lists nothing.
    const all = shared ? [] : [...req.caller.vaults.values()].filter((v) => type === undefined || v.type === type);
    const page = all.slice(start, start + max);
    const next = start + max < all.length ? start + max : undefined;
    return {
      // Real responses omit VaultState and LockDate although modeled (boto/boto3#4544): read them with DescribeBackupVault.
      BackupVaultList: page.map((v) => ({
        BackupVaultName: v.name,
        BackupVaultArn: v.arn,
        VaultType: v.type,
        CreationDate: ts(v.creationDate),
        EncryptionKeyArn: v.encryptionKeyArn || undefined,
        CreatorRequestId: v.creatorRequestId,
        NumberOfRecoveryPoints: this.store.count(v),
        Locked: v.lock !== undefined,
        MinRetentionDays: v.lock?.minRetentionDays,
        MaxRetentionDays: v.lock?.maxRetentionDays,
        EncryptionKeyType: v.encryptionKeyType,
      })),
      NextToken: next === undefined ? undefined : this.tokens.encode({ scope, filter, pos: next }),
    };
  }

  private describeBackupVault(req: BackupRequest): unknown {
    const v = this.vault(req);
    return {
      BackupVaultName: v.name,
      BackupVaultArn: v.arn,
      VaultType: v.type,
      VaultState: this.vaultState(v),
      EncryptionKeyArn: v.encryptionKeyArn || undefined,
      CreationDate: ts(v.creationDate),
      CreatorRequestId: v.creatorRequestId,
      NumberOfRecoveryPoints: this.store.count(v),
      Locked: v.lock !== undefined,
      MinRetentionDays: v.lock?.minRetentionDays,
      MaxRetentionDays: v.lock?.maxRetentionDays,
      LockDate: ts(v.lock?.lockDate),
      EncryptionKeyType: v.encryptionKeyType,
    };
  }

  private checkNewVault(req: BackupRequest): {
    name: string;
    tags: Record<string, string>;
    keyArn?: string;
    creatorRequestId?: string;
    existing?: Vault;
  } {
    const name = req.labels.backupVaultName ?? '';
    if (!VAULT_NAME.test(name)) {
      throw backupErr.invalidParam(`Invalid backup vault name ${name}: it must match ^[a-zA-Z0-9\\-\\_]{2,50}$`);
    }
    const tags = parseTags(req.body.BackupVaultTags, 'BackupVaultTags', false);
    const creatorRequestId = optString(req.body.CreatorRequestId, 'CreatorRequestId');
    const keyArn = optString(req.body.EncryptionKeyArn, 'EncryptionKeyArn');
    if (keyArn !== undefined) {
      if (!/^arn:aws:kms:[a-z0-9-]+:\d{12}:key\/.+$/.test(keyArn)) {
        throw backupErr.invalidParam(`EncryptionKeyArn must be the ARN of a KMS key (not an alias): ${keyArn}`);
      }
      if (!this.world.findKey(req.caller, keyArn))
        throw backupErr.invalidParam(`KMS key ${keyArn} does not exist or is not accessible.`);
    }
    const existing = req.caller.vaults.get(name);
    if (existing && !(creatorRequestId !== undefined && existing.creatorRequestId === creatorRequestId)) {
      throw new AwsError('AlreadyExistsException', `Backup vault with the same name ${name} already exists`, 400, {
        modeled: true,
      });
    }
    if (!existing && req.caller.vaults.size >= MAX_VAULTS) {
      throw backupErr.limitExceeded(`Number of backup vaults in the account exceeds the limit of ${MAX_VAULTS}.`);
    }
    return { name, tags, keyArn, creatorRequestId, existing };
  }

  private createBackupVault(req: BackupRequest): unknown {
    const { name, tags, keyArn, creatorRequestId, existing } = this.checkNewVault(req);
    let v = existing;
    if (!v) {
      const key = keyArn ?? this.world.keyByAlias(req.caller, 'aws/backup')?.arn ?? '';
      v = this.world.newVault(req.caller, name, 'BACKUP_VAULT', key, this.clock.now());
      v.tags = tags;
      v.creatorRequestId = creatorRequestId;
      const k = this.world.findKey(req.caller, key);
      if (k?.manager === 'CUSTOMER') v.encryptionKeyType = 'CUSTOMER_MANAGED_KMS_KEY';
      req.caller.vaults.set(name, v);
    }
    return { BackupVaultName: v.name, BackupVaultArn: v.arn, CreationDate: ts(v.creationDate) };
  }

  private createLagVault(req: BackupRequest): unknown {
    const min = req.body.MinRetentionDays;
    const max = req.body.MaxRetentionDays;
    if (min === undefined || min === null) throw backupErr.missingParam('MinRetentionDays is required');
    if (max === undefined || max === null) throw backupErr.missingParam('MaxRetentionDays is required');
    if (!Number.isInteger(min) || (min as number) < 7)
      throw backupErr.invalidParam('MinRetentionDays must be at least 7');
    if (!Number.isInteger(max) || (max as number) > 36500 || (max as number) < (min as number)) {
      throw backupErr.invalidParam('MaxRetentionDays must be between MinRetentionDays and 36500');
    }
    const { name, tags, keyArn, creatorRequestId, existing } = this.checkNewVault(req);
    let v = existing;
    if (!v) {
      const now = this.clock.now();
      v = this.world.newVault(req.caller, name, 'LOGICALLY_AIR_GAPPED_BACKUP_VAULT', keyArn ?? '', now);
      // A new air-gapped vault is CREATING until its key is attached (~1-3 minutes). [doc LAG]
      v.availableAt = now + (this.knobs.lagCreationSeconds * 1000) / this.knobs.timeFactor;
      v.tags = tags;
      v.creatorRequestId = creatorRequestId;
      v.encryptionKeyType = keyArn ? 'CUSTOMER_MANAGED_KMS_KEY' : 'AWS_OWNED_KMS_KEY';
      // Always compliance-locked, with the retention limits given at creation. [doc LAG]
      v.lock = { minRetentionDays: min as number, maxRetentionDays: max as number, lockDate: now };
      req.caller.vaults.set(name, v);
    }
    return {
      BackupVaultName: v.name,
      BackupVaultArn: v.arn,
      CreationDate: ts(v.creationDate),
      VaultState: this.vaultState(v),
    };
  }

  private putVaultLock(req: BackupRequest): undefined {
    const v = this.vault(req);
    const num = (k: string) => {
      const x = req.body[k];
      if (x === undefined || x === null) return undefined;
      if (typeof x !== 'number' || !Number.isInteger(x)) throw backupErr.invalidParam(`${k} must be an integer`);
      return x;
    };
    const min = num('MinRetentionDays');
    const max = num('MaxRetentionDays');
    const changeable = num('ChangeableForDays');
    const now = this.clock.now();
    if (v.type === 'LOGICALLY_AIR_GAPPED_BACKUP_VAULT') {
      throw backupErr.invalidRequest('The vault lock of a logically air-gapped backup vault cannot be changed.');
    }
    if (v.lock?.lockDate !== undefined && v.lock.lockDate <= now) {
      throw backupErr.invalidRequest(
        `Backup vault ${v.name} is locked in compliance mode and its lock can no longer be changed.`,
      );
    }
    if (min !== undefined && min < 1) throw backupErr.invalidParam('MinRetentionDays must be at least 1');
    if (max !== undefined && (max < 1 || max > 36500))
      throw backupErr.invalidParam('MaxRetentionDays must be between 1 and 36500');
    if (min !== undefined && max !== undefined && min > max)
      throw backupErr.invalidParam('MinRetentionDays cannot exceed MaxRetentionDays');
    if (changeable !== undefined && (changeable < 3 || changeable > 36500)) {
      throw backupErr.invalidParam('ChangeableForDays must be between 3 and 36500');
    }
    // Governance mode without ChangeableForDays; compliance mode sets LockDate = now + ChangeableForDays. [doc VL]
    v.lock = {
      minRetentionDays: min,
      maxRetentionDays: max,
      lockDate: changeable === undefined ? undefined : now + changeable * DAY,
    };
    return undefined;
  }

  private getAccessPolicy(req: BackupRequest): unknown {
    const v = this.vault(req);
    // UNCONFIRMED: behaviour without a policy; ResourceNotFoundException is the likely answer.
    if (!v.policy) throw backupErr.notFound(`Backup vault ${v.name} does not have an access policy.`);
    return { BackupVaultName: v.name, BackupVaultArn: v.arn, Policy: v.policy };
  }

  private putAccessPolicy(req: BackupRequest): undefined {
    const v = this.vault(req);
    const policy = req.body.Policy;
    if (policy === undefined || policy === null || policy === '') throw backupErr.missingParam('Policy is required');
    if (typeof policy !== 'string' || !isPolicyDocument(policy))
      throw backupErr.invalidParam('Policy is not a valid JSON policy document');
    const bad = crossAccountGrant(policy, v.account);
    if (bad) {
      // "Any cross-account action other than backup:CopyIntoBackupVault will be rejected" [doc XA]; status UNCONFIRMED.
      throw new AwsError(
        'AccessDeniedException',
        `The policy grants ${bad} to another account; cross-account sharing restrictions allow only backup:CopyIntoBackupVault.`,
        403,
      );
    }
    v.policy = policy;
    return undefined;
  }

  private getNotifications(req: BackupRequest): unknown {
    const v = this.vault(req);
    if (!v.notifications) throw backupErr.notFound(`Backup vault ${v.name} has no notification configuration.`);
    return {
      BackupVaultName: v.name,
      BackupVaultArn: v.arn,
      SNSTopicArn: v.notifications.topicArn,
      BackupVaultEvents: v.notifications.events,
    };
  }

  private putNotifications(req: BackupRequest): undefined {
    const v = this.vault(req);
    const topic = req.body.SNSTopicArn;
    const events = req.body.BackupVaultEvents;
    if (topic === undefined || topic === null || topic === '') throw backupErr.missingParam('SNSTopicArn is required');
    if (events === undefined || events === null) throw backupErr.missingParam('BackupVaultEvents is required');
    if (typeof topic !== 'string' || !/^arn:aws:sns:[a-z0-9-]+:\d{12}:.+$/.test(topic))
      throw backupErr.invalidParam(`Invalid SNSTopicArn: ${String(topic)}`);
    if (!Array.isArray(events) || events.some((e) => typeof e !== 'string' || !EVENTS.has(e))) {
      throw backupErr.invalidParam('BackupVaultEvents contains an invalid event');
    }
    v.notifications = { topicArn: topic, events: events as string[] };
    return undefined;
  }

  // ---- recovery points ----

  private listRecoveryPoints(req: BackupRequest): unknown {
    const v = this.vault(req);
    const q = req.query;
    const resourceArn = q.get('resourceArn') ?? undefined;
    if (resourceArn !== undefined && /^arn:aws:ec2:[^:]*:[^:]*:(snapshot|image)\//.test(resourceArn)) {
      // The filter wants the protected resource, not a recovery point (aws/aws-sdk-go-v2#1912).
      throw backupErr.invalidParam(`Unsupported resource type: ${resourceArn}`);
    }
    const resourceType = q.get('resourceType') ?? undefined;
    if (resourceType !== undefined && !/^[a-zA-Z0-9\-_.]{1,50}$/.test(resourceType))
      throw backupErr.invalidParam(`Invalid resourceType: ${resourceType}`);
    const filters: PointFilters = {
      resourceArn,
      resourceType,
      backupPlanId: q.get('backupPlanId') ?? undefined,
      createdBefore: parseTime(q.get('createdBefore'), 'createdBefore'),
      createdAfter: parseTime(q.get('createdAfter'), 'createdAfter'),
      parentRecoveryPointArn: q.get('parentRecoveryPointArn') ?? undefined,
    };
    const max = this.maxResults(req);
    const scope = `rp:${v.account}:${v.name}`;
    const filter = filterFingerprint(filters as Record<string, string | number | undefined>);
    const start = this.startPos(req, scope, filter);
    // A copy shows in its vault's listing only once the listing lag has passed (aws-backup.md §8.9).
    const lagSeconds = this.knobs.recoveryPointListingLagSeconds ?? this.knobs.listingLagSeconds;
    const page = this.store.list(v, filters, start, max, this.clock.now() - lagSeconds * 1000);
    return {
      RecoveryPoints: page.items.map((p) => this.pointWire(p)),
      NextToken: page.next === undefined ? undefined : this.tokens.encode({ scope, filter, pos: page.next }),
    };
  }

  private describeRecoveryPoint(req: BackupRequest): unknown {
    const v = this.vault(req);
    const arn = req.labels.recoveryPointArn;
    if (!arn) throw backupErr.missingParam('RecoveryPointArn is required');
    const p = this.store.get(v, arn);
    if (!p) throw backupErr.notFound(`Recovery point ${arn} was not found in backup vault ${v.name}.`);
    const { moveToColdAt } = pointDates(p);
    // StorageClass is only in DescribeRecoveryPoint, not in the list output. [model]
    const storageClass =
      p.status === 'DELETING'
        ? 'DELETED'
        : moveToColdAt !== undefined && moveToColdAt <= this.clock.now()
          ? 'COLD'
          : 'WARM';
    return { ...this.pointWire(p), StorageClass: storageClass };
  }

  pointWire(p: RecoveryPoint): Record<string, unknown> {
    const dates = pointDates(p);
    return {
      RecoveryPointArn: p.arn,
      BackupVaultName: p.vaultName,
      BackupVaultArn: p.vaultArn,
      SourceBackupVaultArn: p.sourceVaultArn,
      ResourceArn: p.resourceArn,
      ResourceType: p.resourceType,
      CreatedBy: p.createdBy,
      IamRoleArn: p.iamRoleArn,
      Status: p.status,
      StatusMessage: p.statusMessage,
      CreationDate: ts(p.creationDate),
      InitiationDate: ts(p.initiationDate),
      CompletionDate: ts(p.completionDate),
      BackupSizeInBytes: p.sizeBytes,
      CalculatedLifecycle:
        dates.moveToColdAt === undefined && dates.deleteAt === undefined
          ? undefined
          : { MoveToColdStorageAt: ts(dates.moveToColdAt), DeleteAt: ts(dates.deleteAt) },
      Lifecycle: p.lifecycle,
      EncryptionKeyArn: p.encryptionKeyArn,
      IsEncrypted: p.isEncrypted,
      IsParent: false,
      ResourceName: p.resourceName,
      VaultType: p.vaultType,
      EncryptionKeyType: p.encryptionKeyType,
    };
  }

  // ---- copy jobs ----

  private startCopyJob(req: BackupRequest): unknown {
    const { job } = this.engine.start(req.caller, req.body);
    return { CopyJobId: job.id, CreationDate: ts(job.createdAt), IsParent: false };
  }

  private describeCopyJob(req: BackupRequest): unknown {
    const id = req.labels.copyJobId;
    if (!id) throw backupErr.missingParam('CopyJobId is required');
    const job = this.engine.get(id);
    if (!job || job.account !== req.caller.id) throw backupErr.notFound(`Copy job ${id} was not found.`);
    return { CopyJob: this.engine.toWire(job) };
  }

  private listCopyJobs(req: BackupRequest): unknown {
    const q = req.query;
    const state = q.get('state') ?? undefined;
    if (state !== undefined && !COPY_JOB_STATES.has(state))
      throw backupErr.invalidParam(`Invalid value for state: ${state}`);
    const accountId = q.get('accountId') ?? undefined;
    if (accountId !== undefined && !/^\d{12}$/.test(accountId))
      throw backupErr.invalidParam(`Invalid accountId: ${accountId}`);
    const filters: CopyJobFilters = {
      resourceArn: q.get('resourceArn') ?? undefined,
      state,
      createdBefore: parseTime(q.get('createdBefore'), 'createdBefore'),
      createdAfter: parseTime(q.get('createdAfter'), 'createdAfter'),
      resourceType: q.get('resourceType') ?? undefined,
      destinationVaultArn: q.get('destinationVaultArn') ?? undefined,
      accountId,
      completeBefore: parseTime(q.get('completeBefore'), 'completeBefore'),
      completeAfter: parseTime(q.get('completeAfter'), 'completeAfter'),
      parentJobId: q.get('parentJobId') ?? undefined,
      messageCategory: q.get('messageCategory') ?? undefined,
      sourceRecoveryPointArn: q.get('sourceRecoveryPointArn') ?? undefined,
    };
    const max = this.maxResults(req);
    const scope = `copyjobs:${req.caller.id}`;
    const filter = filterFingerprint(filters as Record<string, string | number | undefined>);
    const before = req.query.get('nextToken') === null ? Number.POSITIVE_INFINITY : this.startPos(req, scope, filter);
    const page = this.engine.list(req.caller.id, filters, before, max);
    return {
      CopyJobs: page.items.map((j) => this.engine.toWire(j, page.viewAt)),
      NextToken: page.next === undefined ? undefined : this.tokens.encode({ scope, filter, pos: page.next }),
    };
  }

  // ---- tags, settings ----

  private taggable(req: BackupRequest): { vault?: Vault; pointArn?: string } {
    const arn = req.labels.resourceArn;
    if (!arn) throw backupErr.missingParam('ResourceArn is required');
    if (!arn.startsWith('arn:aws:backup:')) {
      // Only resources fully managed by AWS Backup (ARNs starting arn:aws:backup) support tags through Backup. [model ListTags]
      throw backupErr.invalidParam(
        `Resource ARN ${arn} is not supported by this operation: only arn:aws:backup resources are.`,
      );
    }
    const m = /^arn:aws:backup:[^:]+:(\d{12}):(backup-vault|recovery-point):(.+)$/.exec(arn);
    if (!m || m[1] !== req.caller.id) throw backupErr.notFound(`Resource ${arn} was not found.`);
    if (m[2] === 'backup-vault') {
      const vault = req.caller.vaults.get(m[3] as string);
      if (!vault) throw backupErr.notFound(`Resource ${arn} was not found.`);
      return { vault };
    }
    if (!this.store.find(req.caller.id, arn)) throw backupErr.notFound(`Resource ${arn} was not found.`);
    return { pointArn: arn };
  }

  private listTags(req: BackupRequest): unknown {
    const t = this.taggable(req);
    const tags = t.vault ? t.vault.tags : (this.pointTags.get(t.pointArn as string) ?? {});
    const keys = Object.keys(tags).sort();
    const max = this.maxResults(req);
    const scope = `tags:${req.labels.resourceArn}`;
    const start = this.startPos(req, scope, '');
    const page = keys.slice(start, start + max);
    return {
      Tags: Object.fromEntries(page.map((k) => [k, tags[k]])),
      NextToken: start + max < keys.length ? this.tokens.encode({ scope, filter: '', pos: start + max }) : undefined,
    };
  }

  private tagResource(req: BackupRequest): undefined {
    const t = this.taggable(req);
    const tags = parseTags(req.body.Tags, 'Tags', true);
    for (const k of Object.keys(tags)) {
      if (k.toLowerCase().startsWith('aws:'))
        throw backupErr.invalidParam(`Tag keys starting with "aws:" are reserved: ${k}`);
    }
    const current = t.vault ? t.vault.tags : (this.pointTags.get(t.pointArn as string) ?? {});
    const merged = { ...current, ...tags };
    if (Object.keys(merged).length > 50) throw backupErr.limitExceeded('A resource can have at most 50 tags.');
    if (t.vault) t.vault.tags = merged;
    else this.pointTags.set(t.pointArn as string, merged);
    return undefined;
  }

  private describeGlobalSettings(): unknown {
    if (!this.knobs.sameOrganization) {
      throw backupErr.invalidRequest('This account is not a member of an organization in AWS Organizations.');
    }
    return {
      GlobalSettings: {
        isCrossAccountBackupEnabled: String(this.knobs.crossAccountBackupEnabled),
        isMpaEnabled: 'false',
        isDelegatedAdministratorEnabled: 'false',
      },
      LastUpdateTime: ts(this.globalSettingsUpdated),
    };
  }

  // ---- helpers ----

  private maxResults(req: BackupRequest): number {
    const raw = req.query.get('maxResults');
    if (raw === null) return this.knobs.defaultPageSize;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1 || n > 1000) {
      throw backupErr.invalidParam(`Invalid value for maxResults: ${raw}. It must be between 1 and 1000.`);
    }
    return n;
  }

  private startPos(req: BackupRequest, scope: string, filter: string): number {
    const token = req.query.get('nextToken');
    if (token === null || token === '') return 0;
    return this.tokens.decode(token, scope, filter);
  }
}

function parseTime(raw: string | null, name: string): number | undefined {
  if (raw === null) return undefined;
  const n = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) * 1000 : Date.parse(raw);
  if (!Number.isFinite(n)) throw backupErr.invalidParam(`Invalid timestamp for ${name}: ${raw}`);
  return n;
}

function parseBool(raw: string | null, name: string): boolean | undefined {
  if (raw === null) return undefined;
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  throw backupErr.invalidParam(`Invalid boolean for ${name}: ${raw}`);
}

function optString(v: unknown, name: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw backupErr.invalidParam(`${name} must be a string`);
  return v;
}

function parseTags(v: unknown, name: string, required: boolean): Record<string, string> {
  if (v === undefined || v === null) {
    if (required) throw backupErr.missingParam(`${name} is required`);
    return {};
  }
  if (typeof v !== 'object' || Array.isArray(v)) throw backupErr.invalidParam(`${name} must be a map of strings`);
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== 'string') throw backupErr.invalidParam(`${name}.${k} must be a string`);
    out[k] = val;
  }
  return out;
}

/** The first action an Allow statement grants to a principal of another account, if any. */
function crossAccountGrant(policy: string, owner: string): string | undefined {
  const doc = JSON.parse(policy) as { Statement?: unknown };
  const statements = Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
  for (const s of statements as Array<Record<string, unknown>>) {
    if (s?.Effect !== 'Allow') continue;
    const p = s.Principal as unknown;
    const principals: unknown[] =
      p === '*' ? ['*'] : typeof p === 'object' && p !== null ? [(p as Record<string, unknown>).AWS].flat() : [];
    const foreign = principals.some(
      (x) => typeof x === 'string' && (x === '*' || (/\d{12}/.exec(x)?.[0] ?? owner) !== owner),
    );
    if (!foreign) continue;
    const actions = [s.Action].flat().filter((a): a is string => typeof a === 'string');
    const other = actions.find((a) => a.toLowerCase() !== 'backup:copyintobackupvault');
    if (other) return other;
  }
  return undefined;
}
