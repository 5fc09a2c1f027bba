/**
 * Deterministic generator of a representative source account.
 *
 * Nothing per point is stored: point i of vault v is derived on demand from
 * (seed, v, i). The only per-vault state is the prefix-sum array of resource
 * chain lengths (one Uint32 per resource, ~125k entries at 1,000,000 points),
 * which lets us map a point index to its resource and its position in the
 * resource's chain of backups. Ids embed an invertible encoding of (v, i) so
 * ARNs received on the wire map back to (v, i) without an index.
 *
 * The generator also writes the metadata CSV and computes the "expected truth"
 * (counts per vault, type, status and category) that tests compare against.
 */
import {
  ALLOWED_APMIDS,
  APPS,
  CSV_HEADER,
  CSV_MIN_ORPHANS,
  CSV_ORPHAN_EVERY,
  type CsvCategory,
  conflictingApmid,
  csvCategory,
  csvFileText,
  csvRow,
  fiveColumnRow,
  type KeyRef,
  ownerOf as owner,
  PLAIN_DYNAMO_SHARE,
  RESOURCE_KEY_SHARES,
  threeColumnRow,
  unbalancedQuoteRow,
  VAULT_SPECS,
  type VaultSpec,
} from '../../shared/testenv/shape.js';
import {
  type CreatedBy,
  FULLY_MANAGED,
  type Lifecycle,
  lifecycleDates,
  RESOURCE_TYPES,
  type RecoveryPoint,
  type RecoveryPointStatus,
  type ResourceType,
} from './model.js';
import { decodeId, encodeId, hash32, hashString, hexChars, unit, uuidWithHead } from './rng.js';

// The shape (vaults, compliance settings, keys, applications, CSV cases) lives in shared/testenv/shape.ts,
// shared with the rehearsal templates; re-exported here for the sandbox's other modules.
export { ALLOWED_APMIDS, APPS, type CsvCategory, type KeyRef, VAULT_SPECS, type VaultSpec };

const DAY = 86_400_000;
const HOUR = 3_600_000;
const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

/** Salts that separate the independent random streams. */
const S = {
  chain: 1,
  type: 2,
  key: 3,
  continuous: 4,
  status: 5,
  size: 6,
  jitter: 7,
  app: 8,
  category: 9,
  ondemand: 10,
  tail: 11,
  plain: 12,
  name: 13,
} as const;

export interface ResourceInfo {
  vault: number;
  index: number;
  arn: string;
  type: ResourceType;
  name: string;
  app: (typeof APPS)[number];
  /** Key of the resource itself (not-fully-managed types); undefined = unencrypted. */
  key: KeyRef | undefined;
  continuous: boolean;
  /** DynamoDB without AWS Backup advanced features: ARN form arn:aws:dynamodb:..., not copyable. */
  plainDynamo: boolean;
  chainStart: number;
  chainLength: number;
  csv: CsvCategory;
}

export interface DatasetOptions {
  seed: number;
  points: number;
  region: string;
  accountId: string;
  /** Reference "now" for dates, epoch ms (default: the clock at construction). */
  anchor: number;
  /** Mean number of points per resource chain. */
  meanChainLength?: number;
}

const POINT_MASK_SALT = 0x50494e54;
const RESOURCE_MASK_SALT = 0x52455352;

/** Flags of one generated point that decide whether it can be copied. */
export interface PointClass {
  status: RecoveryPointStatus;
  continuous: boolean;
  cold: boolean;
  plainDynamo: boolean;
  awsManagedKey: boolean;
  unsharedKey: boolean;
  csv: CsvCategory;
}

export class Dataset {
  readonly seed: number;
  readonly region: string;
  readonly accountId: string;
  readonly anchor: number;
  readonly total: number;
  readonly counts: number[];
  private readonly offsets: Uint32Array[];
  private readonly pointMask: number;
  private readonly resourceMask: number;
  private readonly typeTables: { types: ResourceType[]; cumulative: number[] }[];
  private readonly appCumulative: number[];
  private readonly keyArn: (ref: KeyRef) => string | undefined;
  /** Per-vault constants, computed once (they would otherwise be rebuilt for every point). */
  private readonly vaultArns: string[];
  private readonly plans: CreatedBy[];
  private readonly keyArns = new Map<KeyRef, string | undefined>();

  constructor(opts: DatasetOptions, keyArn: (ref: KeyRef) => string | undefined) {
    this.seed = opts.seed >>> 0;
    this.region = opts.region;
    this.accountId = opts.accountId;
    this.anchor = opts.anchor;
    this.total = Math.max(0, Math.floor(opts.points));
    this.keyArn = keyArn;
    this.pointMask = hash32(this.seed, POINT_MASK_SALT);
    this.resourceMask = hash32(this.seed, RESOURCE_MASK_SALT);
    this.counts = distribute(
      this.total,
      VAULT_SPECS.map((v) => v.weight),
    );
    const mean = opts.meanChainLength ?? 8;
    this.offsets = this.counts.map((count, v) => buildChains(this.seed, v, count, mean));
    this.typeTables = VAULT_SPECS.map((spec) => {
      let acc = 0;
      const cumulative = spec.types.map(([, w]) => (acc += w));
      return { types: spec.types.map(([t]) => t), cumulative: cumulative.map((c) => c / acc) };
    });
    let acc = 0;
    const weights = APPS.map((a) => (acc += a.weight));
    this.appCumulative = weights.map((w) => w / acc);
    this.vaultArns = VAULT_SPECS.map((sp) => `arn:aws:backup:${this.region}:${this.accountId}:backup-vault:${sp.name}`);
    this.plans = VAULT_SPECS.map((_, v) => {
      const planId = this.planId(v);
      return {
        BackupPlanId: planId,
        BackupPlanArn: `arn:aws:backup:${this.region}:${this.accountId}:backup-plan:${planId}`,
        BackupPlanVersion: hexChars(32, this.seed, v, 0x7e25),
        BackupRuleId: uuidWithHead(hexChars(8, this.seed, v, 0x7e26), this.seed, v, 0x7e26),
      };
    });
  }

  private key(ref: KeyRef): string | undefined {
    if (!this.keyArns.has(ref)) this.keyArns.set(ref, this.keyArn(ref));
    return this.keyArns.get(ref);
  }

  get vaultCount(): number {
    return VAULT_SPECS.length;
  }

  resourceCount(v: number): number {
    return (this.offsets[v]?.length ?? 1) - 1;
  }

  vaultArn(v: number): string {
    const arn = this.vaultArns[v];
    if (arn === undefined) throw new RangeError(`no vault ${v}`);
    return arn;
  }

  planId(v: number): string {
    return uuidWithHead(hexChars(8, this.seed, v, 0x91a4), this.seed, v, 0x91a4);
  }

  /** Index of the resource holding point i of vault v (binary search in the chain offsets). */
  resourceIndexOf(v: number, i: number): number {
    const off = this.offsets[v];
    if (!off) throw new RangeError(`no vault ${v}`);
    let lo = 0;
    let hi = off.length - 2;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if ((off[mid] as number) <= i) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  resource(v: number, r: number): ResourceInfo {
    const s = spec(v);
    const off = this.offsets[v] as Uint32Array;
    const seed = this.seed;
    const table = this.typeTables[v] as { types: ResourceType[]; cumulative: number[] };
    const type = pick(table.types, table.cumulative, unit(seed, v, r, S.type));
    const app = pick(APPS as unknown as (typeof APPS)[number][], this.appCumulative, unit(seed, v, r, S.app));
    const id = encodeId(this.resourceMask, v, r);
    const tail = hexChars(8, seed, v, r, S.tail);
    const R = this.region;
    const A = this.accountId;
    const plainDynamo =
      type === 'DynamoDB' && s.type === 'BACKUP_VAULT' && unit(seed, v, r, S.plain) < PLAIN_DYNAMO_SHARE;
    let arn: string;
    let name: string;
    switch (type) {
      case 'EBS':
        name = `vol-0${id}${tail}`;
        arn = `arn:aws:ec2:${R}:${A}:volume/${name}`;
        break;
      case 'EC2':
        name = `i-0${id}${tail}`;
        arn = `arn:aws:ec2:${R}:${A}:instance/${name}`;
        break;
      case 'RDS':
        name = `${app.key}-db-${id}`;
        arn = `arn:aws:rds:${R}:${A}:db:${name}`;
        break;
      case 'Aurora':
        name = `${app.key}-cluster-${id}`;
        arn = `arn:aws:rds:${R}:${A}:cluster:${name}`;
        break;
      case 'S3':
        name = `${app.key}-bucket-${id}`;
        arn = `arn:aws:s3:::${name}`;
        break;
      case 'EFS':
        name = `fs-0${id}${tail}`;
        arn = `arn:aws:elasticfilesystem:${R}:${A}:file-system/${name}`;
        break;
      case 'DynamoDB':
        name = `${app.key}-table-${id}`;
        arn = `arn:aws:dynamodb:${R}:${A}:table/${name}`;
        break;
      case 'FSx':
        name = `fs-0${id}${tail}`;
        arn = `arn:aws:fsx:${R}:${A}:file-system/${name}`;
        break;
    }
    return {
      vault: v,
      index: r,
      arn,
      type,
      name,
      app,
      key: this.resourceKey(v, r, type, s),
      continuous:
        (type === 'S3' || type === 'RDS') &&
        s.type === 'BACKUP_VAULT' &&
        unit(seed, v, r, S.continuous) < (s.continuousShare ?? 0),
      plainDynamo,
      chainStart: off[r] as number,
      chainLength: (off[r + 1] as number) - (off[r] as number),
      csv: csvCategory(unit(seed, v, r, S.category), app.apmid),
    };
  }

  private resourceKey(v: number, r: number, type: ResourceType, s: VaultSpec): KeyRef | undefined {
    if (FULLY_MANAGED.has(type) || s.type === 'LOGICALLY_AIR_GAPPED_BACKUP_VAULT') return s.key;
    const u = unit(this.seed, v, r, S.key);
    switch (type) {
      case 'EBS':
      case 'EC2':
        if (u < RESOURCE_KEY_SHARES.ebs.awsManagedBelow) return 'aws/ebs';
        if (u < RESOURCE_KEY_SHARES.ebs.unsharedCmkBelow) return 'legacy-unshared-cmk';
        return s.resourceCmk?.ebs ?? 'ebs-cmk';
      case 'RDS':
        if (u < RESOURCE_KEY_SHARES.rds.awsManagedBelow) return 'aws/rds';
        return s.resourceCmk?.rds ?? 'rds-cmk';
      case 'Aurora':
        if (u < RESOURCE_KEY_SHARES.aurora.awsManagedBelow) return 'aws/rds';
        if (u < RESOURCE_KEY_SHARES.aurora.unencryptedBelow) return undefined; // unencrypted cluster
        return s.resourceCmk?.rds ?? 'rds-cmk';
      case 'FSx':
        if (u < RESOURCE_KEY_SHARES.fsx.awsManagedBelow) return 'aws/fsx';
        return s.resourceCmk?.fsx ?? 'fsx-cmk';
      default:
        return s.key;
    }
  }

  /** Derive point i of vault v. Pure function of (seed, v, i) and the anchor. */
  point(v: number, i: number): RecoveryPoint {
    const r = this.resourceIndexOf(v, i);
    return this.pointOf(this.resource(v, r), i);
  }

  pointOf(res: ResourceInfo, i: number): RecoveryPoint {
    const v = res.vault;
    const s = spec(v);
    const seed = this.seed;
    const k = i - res.chainStart;
    const newest = k === res.chainLength - 1;
    const continuous = res.continuous && newest;
    const R = this.region;
    const A = this.accountId;
    const pid = encodeId(this.pointMask, v, i);
    const lag = s.type === 'LOGICALLY_AIR_GAPPED_BACKUP_VAULT';

    const jitter = (1 + Math.floor(unit(seed, v, i, S.jitter) * 19)) * HOUR;
    let creationDate: number;
    let lifecycle: Lifecycle | undefined = s.lifecycle ? { ...s.lifecycle } : undefined;
    if (continuous) {
      // A continuous backup's recovery point is as old as its continuous rule's window (max 35 days).
      creationDate = this.anchor - (1 + Math.floor(unit(seed, v, i, S.jitter, 2) * 34)) * DAY - jitter;
      lifecycle = { DeleteAfterDays: 35 };
    } else {
      creationDate = this.anchor - (res.chainLength - 1 - k) * s.intervalDays * DAY - jitter;
    }
    if (lifecycle && lifecycle.MoveToColdStorageAfterDays !== undefined && !FULLY_MANAGED.has(res.type)) {
      // Cold storage applies only to types that support it; AWS drops the setting for the others.
      lifecycle = { DeleteAfterDays: lifecycle.DeleteAfterDays };
    }

    let arn: string;
    if (continuous) {
      const rid = res.type === 'RDS' ? `db-${hexChars(26, seed, v, res.index, S.name).toUpperCase()}` : res.name;
      arn = `arn:aws:backup:${R}:${A}:recovery-point:continuous:${rid}-${pid}`;
    } else if (lag) {
      arn = `arn:aws:backup:${R}:${A}:recovery-point:${uuidWithHead(pid, seed, v, i)}`;
    } else {
      const tail = hexChars(8, seed, v, i, S.tail + 100);
      switch (res.type) {
        case 'EBS':
          arn = `arn:aws:ec2:${R}::snapshot/snap-0${pid}${tail}`;
          break;
        case 'EC2':
          arn = `arn:aws:ec2:${R}::image/ami-0${pid}${tail}`;
          break;
        case 'RDS':
          arn = `arn:aws:rds:${R}:${A}:snapshot:awsbackup:job-${uuidWithHead(pid, seed, v, i)}`;
          break;
        case 'Aurora':
          arn = `arn:aws:rds:${R}:${A}:cluster-snapshot:awsbackup:job-${uuidWithHead(pid, seed, v, i)}`;
          break;
        case 'FSx':
          arn = `arn:aws:fsx:${R}:${A}:backup/backup-0${pid}${tail}`;
          break;
        case 'DynamoDB':
          arn = res.plainDynamo
            ? `arn:aws:dynamodb:${R}:${A}:table/${res.name}/backup/${String(creationDate).padStart(13, '0')}-${pid}`
            : `arn:aws:backup:${R}:${A}:recovery-point:${uuidWithHead(pid, seed, v, i)}`;
          break;
        default:
          arn = `arn:aws:backup:${R}:${A}:recovery-point:${uuidWithHead(pid, seed, v, i)}`;
      }
    }

    const dates = lifecycleDates(creationDate, lifecycle, res.type);
    const us = unit(seed, v, i, S.status);
    let status: RecoveryPointStatus;
    let statusMessage: string | undefined;
    if (continuous) {
      status = us < 0.15 ? 'STOPPED' : 'COMPLETED';
      if (status === 'STOPPED') statusMessage = 'Continuous backup was stopped because the backup rule was deleted.';
    } else if (newest && us < 0.03) {
      status = 'CREATING';
    } else if (dates.deleteAt !== undefined && dates.deleteAt < this.anchor) {
      status = 'EXPIRED';
      statusMessage = 'Recovery point has passed its retention period but could not be deleted.';
    } else if (us < 0.012) {
      status = 'PARTIAL';
      statusMessage = 'Some nested recovery points could not be created.';
    } else if (us < 0.024) {
      status = 'AVAILABLE';
    } else if (us < 0.03) {
      status = 'DELETING';
    } else {
      status = 'COMPLETED';
    }

    const size = sizeFor(res.type, unit(seed, v, i, S.size));
    const durationMs = Math.min(6 * HOUR, 60_000 + Math.floor(size / (200 * MiB)) * 1000);
    const keyRef = res.key;
    const keyArn = keyRef ? this.key(keyRef) : undefined;
    const onDemand = unit(seed, v, i, S.ondemand) < s.onDemandShare;
    const createdBy: CreatedBy | undefined = onDemand ? undefined : this.plans[v];
    return {
      arn,
      account: A,
      vaultName: s.name,
      vaultArn: this.vaultArn(v),
      vaultType: s.type,
      resourceArn: res.arn,
      resourceType: res.type,
      resourceName: res.name,
      createdBy,
      iamRoleArn: `arn:aws:iam::${A}:role/service-role/AWSBackupDefaultServiceRole`,
      status,
      statusMessage,
      creationDate,
      initiationDate: creationDate,
      completionDate: status === 'CREATING' ? undefined : creationDate + durationMs,
      sizeBytes: size,
      lifecycle,
      encryptionKeyArn: keyRef === 'aws-owned' ? undefined : keyArn,
      isEncrypted: keyRef !== undefined,
      encryptionKeyType:
        keyRef === 'aws-owned'
          ? 'AWS_OWNED_KMS_KEY'
          : keyRef && !keyRef.startsWith('aws/')
            ? 'CUSTOMER_MANAGED_KMS_KEY'
            : undefined,
      continuous,
    };
  }

  /** Map a recovery point ARN back to (vault, index), verifying by regeneration. */
  findPoint(arn: string): { vault: number; index: number; point: RecoveryPoint } | undefined {
    for (const re of POINT_ID_PATTERNS) {
      const m = re.exec(arn);
      if (!m?.[1]) continue;
      const id = decodeId(this.pointMask, m[1]);
      if (!id || id.vault >= this.vaultCount || id.index >= (this.counts[id.vault] ?? 0)) continue;
      const point = this.point(id.vault, id.index);
      if (point.arn === arn) return { ...id, point };
    }
    return undefined;
  }

  /** Map a protected-resource ARN back to the generated resource of vault v, if any. */
  findResource(v: number, resourceArn: string): ResourceInfo | undefined {
    for (let p = 0; p + 8 <= resourceArn.length; p++) {
      const id = decodeId(this.resourceMask, resourceArn.slice(p, p + 8));
      if (!id || id.vault !== v || id.index >= this.resourceCount(v)) continue;
      const res = this.resource(v, id.index);
      if (res.arn === resourceArn) return res;
    }
    return undefined;
  }

  classify(res: ResourceInfo, p: RecoveryPoint, now: number): PointClass {
    const dates = lifecycleDates(p.creationDate, p.lifecycle, p.resourceType);
    return {
      status: p.status,
      continuous: p.continuous,
      cold: dates.moveToColdAt !== undefined && dates.moveToColdAt <= now,
      plainDynamo: res.plainDynamo,
      awsManagedKey: !FULLY_MANAGED.has(res.type) && res.key !== undefined && res.key.startsWith('aws/'),
      unsharedKey: res.key === 'legacy-unshared-cmk',
      csv: res.csv,
    };
  }

  /** Every resource of every vault, in vault then resource order. */
  *resources(): Generator<ResourceInfo> {
    for (let v = 0; v < this.vaultCount; v++) {
      const n = this.resourceCount(v);
      for (let r = 0; r < n; r++) yield this.resource(v, r);
    }
  }

  /**
   * The metadata CSV: UTF-8 BOM, CRLF line ends, quoted commas and quotes,
   * valid/empty/not-allowed APMIDs, resources absent from the file, rows for
   * resources that do not exist, duplicates (agreeing and conflicting), rows
   * with the wrong column count, and a final row with an unbalanced quote.
   */
  csv(): { text: string; truth: CsvTruth } {
    const lines: string[] = [CSV_HEADER];
    const truth: CsvTruth = {
      rows: 0,
      resources: { valid: 0, duplicateSame: 0, empty: 0, notAllowed: 0, absent: 0, conflict: 0, malformed: 0 },
      orphanRows: 0,
      malformedLines: [],
      conflictingResources: [],
    };
    let unbalanced: string | undefined;
    let orphan = 0;
    const addOrphan = () => {
      const app = APPS[orphan % APPS.length] as (typeof APPS)[number];
      const fake = `vol-0${hexChars(16, this.seed, 0xdead, orphan)}`;
      lines.push(
        csvRow(`arn:aws:ec2:${this.region}:${this.accountId}:volume/${fake}`, app.apmid, app.name, owner(app.key)),
      );
      truth.orphanRows++;
      orphan++;
    };
    let n = 0;
    for (const res of this.resources()) {
      truth.resources[res.csv]++;
      const { app } = res;
      switch (res.csv) {
        case 'valid':
        case 'notAllowed':
          lines.push(csvRow(res.arn, app.apmid, app.name, owner(app.key)));
          break;
        case 'duplicateSame':
          lines.push(csvRow(res.arn, app.apmid, app.name, owner(app.key)));
          lines.push(csvRow(res.arn, app.apmid, app.name, owner(app.key)));
          break;
        case 'empty':
          lines.push(csvRow(res.arn, '', app.name, owner(app.key)));
          break;
        case 'conflict': {
          const other = conflictingApmid(app.apmid);
          lines.push(csvRow(res.arn, app.apmid, app.name, owner(app.key)));
          lines.push(csvRow(res.arn, other, app.name, owner(app.key)));
          truth.conflictingResources.push(res.arn);
          break;
        }
        case 'malformed':
          if (unbalanced === undefined) {
            // Kept for the last line: an unbalanced quote swallows everything after it in a strict parser.
            unbalanced = unbalancedQuoteRow(res.arn, app);
          } else {
            lines.push(threeColumnRow(res.arn, app));
            truth.malformedLines.push(lines.length);
          }
          break;
        case 'absent':
          break;
      }
      if (++n % CSV_ORPHAN_EVERY === 0) addOrphan();
    }
    while (orphan < CSV_MIN_ORPHANS) addOrphan();
    // An extra column (five fields) is malformed too.
    lines.push(fiveColumnRow(`arn:aws:s3:::orphan-bucket-${hexChars(8, this.seed, 0xbeef)}`));
    truth.malformedLines.push(lines.length);
    if (unbalanced !== undefined) {
      lines.push(unbalanced);
      truth.malformedLines.push(lines.length);
    }
    truth.rows = lines.length - 1;
    return { text: csvFileText(lines), truth };
  }
}

export interface CsvTruth {
  /** Data lines after the header (including malformed ones). */
  rows: number;
  resources: Record<CsvCategory, number>;
  orphanRows: number;
  /** 1-based physical line numbers (the header is line 1). */
  malformedLines: number[];
  conflictingResources: string[];
}

export function spec(v: number): VaultSpec {
  const s = VAULT_SPECS[v];
  if (!s) throw new RangeError(`no vault spec ${v}`);
  return s;
}

/** Patterns whose capture group is the encoded (vault, index) of a generated point. */
const POINT_ID_PATTERNS: readonly RegExp[] = [
  /:snapshot\/snap-0([0-9a-f]{8})[0-9a-f]{8}$/,
  /:image\/ami-0([0-9a-f]{8})[0-9a-f]{8}$/,
  /:awsbackup:job-([0-9a-f]{8})-/,
  /:recovery-point:([0-9a-f]{8})-[0-9a-f]{4}-/,
  /:recovery-point:continuous:.*-([0-9a-f]{8})$/,
  /:backup\/backup-0([0-9a-f]{8})[0-9a-f]{8}$/,
  /\/backup\/\d{13}-([0-9a-f]{8})$/,
];

function pick<T>(items: readonly T[], cumulative: readonly number[], u: number): T {
  for (let k = 0; k < cumulative.length; k++) if (u < (cumulative[k] as number)) return items[k] as T;
  return items[items.length - 1] as T;
}

/** Split `total` by weights (largest remainder), at least 1 each when total allows. */
export function distribute(total: number, weights: readonly number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  const exact = weights.map((w) => (total * w) / sum);
  const out = exact.map(Math.floor);
  let left = total - out.reduce((a, b) => a + b, 0);
  const order = exact.map((e, k) => [e - Math.floor(e), k] as const).sort((a, b) => b[0] - a[0]);
  for (let k = 0; left > 0; k = (k + 1) % order.length, left--) out[(order[k] as readonly [number, number])[1]]! += 1;
  if (total >= weights.length) {
    for (let k = 0; k < out.length; k++) {
      if (out[k] === 0) {
        const big = out.indexOf(Math.max(...out));
        out[big]! -= 1;
        out[k] = 1;
      }
    }
  }
  return out;
}

function buildChains(seed: number, v: number, count: number, mean: number): Uint32Array {
  const lengths: number[] = [];
  let total = 0;
  for (let r = 0; total < count; r++) {
    const len = Math.min(count - total, 1 + Math.floor(unit(seed, v, r, S.chain) * (2 * mean - 1)));
    lengths.push(len);
    total += len;
  }
  const off = new Uint32Array(lengths.length + 1);
  for (let r = 0; r < lengths.length; r++) off[r + 1] = (off[r] as number) + (lengths[r] as number);
  return off;
}

const SIZE_RANGES: Record<ResourceType, [number, number]> = {
  EBS: [8 * GiB, 2048 * GiB],
  EC2: [8 * GiB, 500 * GiB],
  RDS: [20 * GiB, 2048 * GiB],
  Aurora: [10 * GiB, 4096 * GiB],
  S3: [1 * MiB, 5120 * GiB],
  EFS: [1 * GiB, 1024 * GiB],
  DynamoDB: [1 * MiB, 200 * GiB],
  FSx: [32 * GiB, 10240 * GiB],
};

/** Log-uniform size within the type's range. */
function sizeFor(type: ResourceType, u: number): number {
  const [lo, hi] = SIZE_RANGES[type];
  return Math.round(lo * (hi / lo) ** u);
}

export { hashString, RESOURCE_TYPES };
