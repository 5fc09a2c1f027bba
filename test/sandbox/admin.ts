/**
 * The admin API under /__sandbox/ (JSON, no authentication): knobs, fault
 * injection, credentials, counters, the copy-job ledger, time, added points
 * and the generator's expected truth. See README.md for the endpoint list.
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { spec } from './generator.js';
import { judgeView } from './judge.js';
import { mergeKnobs } from './knobs.js';
import {
  FULLY_MANAGED,
  RESOURCE_TYPES,
  type RecoveryPoint,
  type RecoveryPointStatus,
  type ResourceType,
  type Vault,
} from './model.js';
import { Prng } from './rng.js';
import type { Sandbox } from './sandbox.js';

class AdminError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, null, 1);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function parse(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  try {
    const v = JSON.parse(body.toString('utf8')) as unknown;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new AdminError(400, 'body must be a JSON object');
}

function str(o: Record<string, unknown>, k: string, required = true): string {
  const v = o[k];
  if (typeof v === 'string' && v !== '') return v;
  if (!required && v === undefined) return '';
  throw new AdminError(400, `${k} must be a non-empty string`);
}

function num(o: Record<string, unknown>, k: string, dflt?: number): number {
  const v = o[k] ?? dflt;
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v;
  throw new AdminError(400, `${k} must be a non-negative number`);
}

/** A time given as epoch milliseconds or an ISO-8601 string; undefined when absent. */
function time(o: Record<string, unknown>, k: string): number | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  const t = typeof v === 'number' ? v : typeof v === 'string' ? Date.parse(v) : Number.NaN;
  if (!Number.isFinite(t)) throw new AdminError(400, `${k} must be epoch milliseconds or an ISO-8601 date`);
  return t;
}

const STATUSES: readonly RecoveryPointStatus[] = [
  'COMPLETED',
  'PARTIAL',
  'DELETING',
  'EXPIRED',
  'AVAILABLE',
  'STOPPED',
  'CREATING',
];

function status(o: Record<string, unknown>, k: string): RecoveryPointStatus {
  const v = str(o, k);
  if (!STATUSES.includes(v as RecoveryPointStatus))
    throw new AdminError(400, `${k} must be one of ${STATUSES.join(', ')}`);
  return v as RecoveryPointStatus;
}

export async function handleAdmin(
  sb: Sandbox,
  method: string,
  rawPath: string,
  rawQuery: string,
  rawBody: Buffer,
  res: ServerResponse,
): Promise<void> {
  try {
    const path = rawPath.replace(/^\/__sandbox/, '').replace(/\/$/, '') || '/';
    const query = new URLSearchParams(rawQuery);
    const body = parse(rawBody);
    sb.engine.sync();
    const result = route(sb, `${method} ${path}`, query, body, res);
    if (result !== undefined) send(res, 200, result);
  } catch (err) {
    if (err instanceof AdminError) send(res, err.status, { error: err.message });
    else if (err instanceof TypeError || err instanceof RangeError) send(res, 400, { error: err.message });
    else throw err;
  }
}

function route(
  sb: Sandbox,
  key: string,
  query: URLSearchParams,
  body: Record<string, unknown>,
  res: ServerResponse,
): unknown {
  switch (key) {
    case 'GET /health':
      return { ok: true };
    case 'GET /info':
      return info(sb);
    case 'GET /knobs':
      return sb.knobs;
    case 'PATCH /knobs':
      return mergeKnobs(sb.knobs, body);
    case 'POST /faults/error-after-start-copy-job':
      return mergeKnobs(sb.knobs, {
        errorAfterStartCopyJob: {
          count: num(body, 'count', 0),
          probability: num(body, 'probability', 0),
          status: num(body, 'status', 503),
        },
      }).errorAfterStartCopyJob;
    case 'POST /faults/drop-start-copy-job':
      return mergeKnobs(sb.knobs, {
        dropAfterStartCopyJob: { count: num(body, 'count', 0), probability: num(body, 'probability', 0) },
      }).dropAfterStartCopyJob;
    case 'GET /counters':
      return Object.fromEntries(sb.counters);
    case 'POST /counters/reset':
      sb.counters.clear();
      return { ok: true };
    case 'GET /credentials':
      return {
        current: Object.fromEntries(
          [...sb.current].map(([a, c]) => [
            a,
            { accessKeyId: c.accessKeyId, generation: c.generation, expiresAt: c.expiresAt },
          ]),
        ),
        all: sb.credentials.list(),
        autoRotate: Object.fromEntries(sb.autoRotate),
      };
    case 'POST /credentials/issue':
      return sb.issue(sb.account(str(body, 'account')).id);
    case 'POST /credentials/expire':
      return expire(sb, body);
    case 'POST /credentials/rotate': {
      const account = sb.account(str(body, 'account')).id;
      const cred = sb.rotate(account, str(body, 'file'), str(body, 'profile'), body.expireOld === true);
      return { account, accessKeyId: cred.accessKeyId, generation: cred.generation, expiresAt: cred.expiresAt };
    }
    case 'POST /credentials/auto-rotate': {
      const account = sb.account(str(body, 'account')).id;
      if (body.enabled === false) sb.autoRotate.delete(account);
      else
        sb.autoRotate.set(account, {
          file: str(body, 'file'),
          profile: str(body, 'profile'),
          delaySeconds: num(body, 'delaySeconds', 0),
        });
      return { account, autoRotate: sb.autoRotate.get(account) ?? null };
    }
    case 'GET /ledger': {
      const arn = query.get('recoveryPointArn');
      if (arn) return sb.engine.ledgerEntry(arn) ?? { recoveryPointArn: arn, calls: [], jobIds: [], jobs: [] };
      return sb.engine.ledgerEntries();
    }
    case 'GET /ledger/summary':
      return sb.engine.summary();
    case 'GET /copy-jobs': {
      const state = query.get('state');
      return sb.engine
        .allJobs()
        .map((j) => sb.engine.toWire(j))
        .filter((j) => state === null || j.State === state);
    }
    case 'POST /copy-jobs/complete-all':
      return { completed: sb.engine.completeAll() };
    case 'GET /clock':
      return { now: sb.clock.now(), iso: new Date(sb.clock.now()).toISOString(), offsetMs: sb.clock.offset };
    case 'POST /clock/advance': {
      const ms = body.ms !== undefined ? num(body, 'ms') : num(body, 'seconds') * 1000;
      sb.clock.advance(ms);
      sb.engine.sync();
      sb.tickAutoRotate();
      return { now: sb.clock.now(), offsetMs: sb.clock.offset };
    }
    case 'POST /recovery-points':
      return { recoveryPointArns: addPoints(sb, body) };
    case 'PATCH /recovery-points':
      return patchPoint(sb, body);
    case 'DELETE /recovery-points':
      return deletePoint(sb, body);
    case 'GET /copy-outcomes':
      return sb.engine.forcedOutcomes();
    case 'POST /copy-outcomes':
      return forceOutcome(sb, body);
    case 'POST /destination-copies':
      return seedCopies(sb, body);
    case 'GET /judge':
      return judgeView(sb, {
        recoveryPointArn: query.get('recoveryPointArn') ?? undefined,
        activeOnly: query.get('activeOnly') === 'true',
      });
    case 'GET /truth':
      return sb.truth();
    case 'GET /csv': {
      const text = sb.csv().text;
      res.writeHead(200, { 'content-type': 'text/csv; charset=utf-8', 'content-length': Buffer.byteLength(text) });
      res.end(text);
      return undefined;
    }
    default:
      throw new AdminError(404, `no admin endpoint ${key}`);
  }
}

function info(sb: Sandbox): unknown {
  const w = sb.world;
  return {
    region: w.region,
    seed: sb.options.seed,
    points: sb.options.points,
    anchor: new Date(sb.options.anchor).toISOString(),
    accounts: { source: w.source.id, destination: w.dest.id },
    organization: w.organization,
    destVaultKeyArn: w.destVaultKeyArn,
    copyRoleArn: w.source.roles.find((r) => r.name === 'AWSBackupDefaultServiceRole')?.arn,
    operatorRoles: { source: w.source.operatorRole.arn, destination: w.dest.operatorRole.arn },
    vaults: Object.fromEntries(
      [w.source, w.dest].map((a) => [
        a.id,
        [...a.vaults.values()].map((v) => ({ name: v.name, arn: v.arn, points: sb.store.count(v) })),
      ]),
    ),
    keys: Object.fromEntries(
      [w.source, w.dest].map((a) => [
        a.id,
        a.keys.map((k) => ({ arn: k.arn, aliases: k.aliases, manager: k.manager })),
      ]),
    ),
  };
}

function expire(sb: Sandbox, body: Record<string, unknown>): unknown {
  const account = sb.account(str(body, 'account')).id;
  if (body.everySeconds !== undefined) {
    const every = body.everySeconds === null ? null : num(body, 'everySeconds');
    mergeKnobs(sb.knobs, { credentialTtlSeconds: { [account]: every } });
    if (every !== null) sb.credentials.expireIn(account, every);
    return { account, everySeconds: every };
  }
  if (body.inSeconds !== undefined) {
    sb.credentials.expireIn(account, num(body, 'inSeconds'));
    return { account, inSeconds: body.inSeconds };
  }
  return { account, expired: sb.credentials.expireNow(account) };
}

/** Add new recovery points to a source vault (an inventory refresh must find them). */
function addPoints(sb: Sandbox, body: Record<string, unknown>): string[] {
  const w = sb.world;
  const vault = w.source.vaults.get(str(body, 'vault'));
  if (!vault) throw new AdminError(404, `no source vault ${String(body.vault)}`);
  const count = num(body, 'count', 1);
  const wantArn = str(body, 'resourceArn', false);
  const existing =
    wantArn && vault.generatedIndex !== undefined ? w.dataset.findResource(vault.generatedIndex, wantArn) : undefined;
  const type = (existing?.type ?? (str(body, 'resourceType', false) || 'EBS')) as ResourceType;
  if (!RESOURCE_TYPES.includes(type))
    throw new AdminError(400, `resourceType must be one of ${RESOURCE_TYPES.join(', ')}`);
  const R = w.region;
  const A = w.source.id;
  const hex = () => randomUUID().replace(/-/g, '').slice(0, 16);
  const resourceArn =
    wantArn ||
    {
      EBS: `arn:aws:ec2:${R}:${A}:volume/vol-0${hex()}`,
      EC2: `arn:aws:ec2:${R}:${A}:instance/i-0${hex()}`,
      RDS: `arn:aws:rds:${R}:${A}:db:added-db-${hex().slice(0, 8)}`,
      Aurora: `arn:aws:rds:${R}:${A}:cluster:added-cluster-${hex().slice(0, 8)}`,
      S3: `arn:aws:s3:::added-bucket-${hex().slice(0, 8)}`,
      EFS: `arn:aws:elasticfilesystem:${R}:${A}:file-system/fs-0${hex()}`,
      DynamoDB: `arn:aws:dynamodb:${R}:${A}:table/added-table-${hex().slice(0, 8)}`,
      FSx: `arn:aws:fsx:${R}:${A}:file-system/fs-0${hex()}`,
    }[type];
  const s = vault.generatedIndex !== undefined ? spec(vault.generatedIndex) : undefined;
  const keyAlias = FULLY_MANAGED.has(type)
    ? undefined
    : type === 'RDS' || type === 'Aurora'
      ? 'rds-cmk'
      : type === 'FSx'
        ? 'fsx-cmk'
        : 'ebs-cmk';
  const keyArn = keyAlias ? w.keyByAlias(w.source, keyAlias)?.arn : vault.encryptionKeyArn || undefined;
  const lifecycle = parseLifecycle(body.lifecycle);
  const out: string[] = [];
  for (let n = 0; n < count; n++) {
    const now = sb.clock.now();
    const created = time(body, 'creationDate') ?? now;
    const id = randomUUID();
    const arn =
      type === 'EBS'
        ? `arn:aws:ec2:${R}::snapshot/snap-0${hex()}`
        : type === 'EC2'
          ? `arn:aws:ec2:${R}::image/ami-0${hex()}`
          : type === 'RDS'
            ? `arn:aws:rds:${R}:${A}:snapshot:awsbackup:job-${id}`
            : type === 'Aurora'
              ? `arn:aws:rds:${R}:${A}:cluster-snapshot:awsbackup:job-${id}`
              : type === 'FSx'
                ? `arn:aws:fsx:${R}:${A}:backup/backup-0${hex()}`
                : `arn:aws:backup:${R}:${A}:recovery-point:${id}`;
    const point: RecoveryPoint = {
      arn,
      account: A,
      vaultName: vault.name,
      vaultArn: vault.arn,
      vaultType: vault.type,
      resourceArn,
      resourceType: type,
      resourceName: resourceArn.split(/[:/]/).pop(),
      iamRoleArn: `arn:aws:iam::${A}:role/service-role/AWSBackupDefaultServiceRole`,
      status: body.status === undefined ? 'COMPLETED' : status(body, 'status'),
      creationDate: created,
      initiationDate: created,
      completionDate: created,
      sizeBytes: typeof body.sizeBytes === 'number' ? body.sizeBytes : 10 * 1024 ** 3,
      lifecycle: lifecycle ?? (s?.lifecycle ? { DeleteAfterDays: s.lifecycle.DeleteAfterDays } : undefined),
      moveToColdAtOverride: time(body, 'moveToColdStorageAt'),
      deleteAtOverride: time(body, 'deleteAt'),
      encryptionKeyArn: keyArn,
      isEncrypted: true,
      encryptionKeyType: 'CUSTOMER_MANAGED_KMS_KEY',
      continuous: false,
    };
    sb.store.add(vault, point);
    out.push(arn);
  }
  return out;
}

function patchPoint(sb: Sandbox, body: Record<string, unknown>): unknown {
  const account = sb.account(typeof body.account === 'string' ? body.account : 'source');
  const vault = account.vaults.get(str(body, 'vault'));
  if (!vault) throw new AdminError(404, `no vault ${String(body.vault)}`);
  const changes: Partial<RecoveryPoint> = {};
  if (body.status !== undefined) changes.status = status(body, 'status');
  if (body.statusMessage !== undefined) changes.statusMessage = str(body, 'statusMessage');
  if (body.moveToColdStorageAt !== undefined) changes.moveToColdAtOverride = time(body, 'moveToColdStorageAt');
  if (body.deleteAt !== undefined) changes.deleteAtOverride = time(body, 'deleteAt');
  if (body.lifecycle !== undefined) changes.lifecycle = parseLifecycle(body.lifecycle);
  const p = sb.store.patch(vault, str(body, 'recoveryPointArn'), changes);
  if (!p) throw new AdminError(404, 'no such recovery point in that vault');
  return sb.backup.pointWire(p);
}

function parseLifecycle(v: unknown): RecoveryPoint['lifecycle'] {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw new AdminError(400, 'lifecycle must be an object');
  const o = v as Record<string, unknown>;
  const out: NonNullable<RecoveryPoint['lifecycle']> = {};
  for (const k of Object.keys(o)) {
    if (k !== 'MoveToColdStorageAfterDays' && k !== 'DeleteAfterDays')
      throw new AdminError(400, `lifecycle.${k}: unknown key (MoveToColdStorageAfterDays, DeleteAfterDays)`);
    out[k] = num(o, k);
  }
  return out;
}

/** Delete a point: gone from listings, Describe answers ResourceNotFoundException, StartCopyJob too. */
function deletePoint(sb: Sandbox, body: Record<string, unknown>): unknown {
  const account = sb.account(typeof body.account === 'string' ? body.account : 'source');
  const vault = account.vaults.get(str(body, 'vault'));
  if (!vault) throw new AdminError(404, `no vault ${String(body.vault)}`);
  const arn = str(body, 'recoveryPointArn');
  if (!sb.store.remove(vault, arn, sb.clock.now())) throw new AdminError(404, 'no such recovery point in that vault');
  return { deleted: arn };
}

function forceOutcome(sb: Sandbox, body: Record<string, unknown>): unknown {
  const arn = str(body, 'recoveryPointArn');
  const outcome = body.outcome;
  if (outcome !== null && outcome !== 'COMPLETED' && outcome !== 'FAILED' && outcome !== 'PARTIAL')
    throw new AdminError(400, 'outcome must be COMPLETED, FAILED, PARTIAL or null');
  sb.engine.forceOutcome(arn, outcome);
  return sb.engine.forcedOutcomes();
}

/**
 * Make a destination vault hold copies of source points as completed copy jobs would have left them: the given
 * points, or a seeded random share of one source vault's points. `withJob` also puts the old finished job into
 * the job history (else none, as when AWS no longer keeps it).
 */
function seedCopies(sb: Sandbox, body: Record<string, unknown>): unknown {
  const w = sb.world;
  const dest = w.dest.vaults.get(str(body, 'destinationVault'));
  if (!dest) throw new AdminError(404, `no destination vault ${String(body.destinationVault)}`);
  const withJob = body.withJob === true;
  const copiedAt = time(body, 'copiedAt') ?? sb.clock.now() - 30 * 86_400_000;
  const targets: { vault: Vault; point: RecoveryPoint }[] = [];
  if (Array.isArray(body.recoveryPointArns)) {
    for (const arn of body.recoveryPointArns) {
      const f = typeof arn === 'string' ? sb.store.find(w.source.id, arn) : undefined;
      if (!f) throw new AdminError(404, `no source recovery point ${String(arn)}`);
      targets.push(f);
    }
  } else {
    const vault = w.source.vaults.get(str(body, 'sourceVault'));
    if (!vault) throw new AdminError(404, `no source vault ${String(body.sourceVault)}`);
    const share = num(body, 'share', 1);
    if (share > 1) throw new AdminError(400, 'share must be within 0..1');
    const random = new Prng(num(body, 'seed', 1));
    let pos: number | undefined = 0;
    while (pos !== undefined) {
      const page = sb.store.list(vault, {}, pos, 10_000);
      for (const point of page.items) if (random.next() < share) targets.push({ vault, point });
      pos = page.next;
    }
  }
  const copies = targets.map(({ vault, point }) => ({
    sourceRecoveryPointArn: point.arn,
    ...sb.engine.seedCopy(w.source, vault, point, dest, copiedAt, withJob),
  }));
  return { copies };
}
