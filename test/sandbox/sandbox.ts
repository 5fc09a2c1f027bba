/**
 * Composition root of one sandbox instance: builds the world, the stores, the
 * copy engine, the services and the credentials from options. No I/O happens
 * here (the HTTP server is in server.ts), so tests can build one in-process.
 */
import { BackupService } from './backup-ops.js';
import { SandboxClock } from './clock.js';
import { CopyEngine } from './copy-engine.js';
import { CredentialStore, type IssuedCredential, writeCredentialsProfile } from './credentials.js';
import { Faults } from './faults.js';
import { ALLOWED_APMIDS, type CsvTruth } from './generator.js';
import { type DeepPartial, defaultKnobs, type Knobs, mergeKnobs } from './knobs.js';
import { pointDates } from './model.js';
import { TokenCodec } from './pagination.js';
import { Prng } from './rng.js';
import { PointStore } from './store.js';
import { computeTruth, type Truth } from './truth.js';
import { type Account, World } from './world.js';

export interface SandboxOptions {
  /** TCP port (0 = ephemeral). */
  port?: number;
  host?: string;
  seed?: number;
  /** Recovery points in the source account. */
  points?: number;
  region?: string;
  sourceAccount?: string;
  destAccount?: string;
  /** Reference "now" of the generated data (ISO string or epoch ms). Default: start time, to the minute. */
  anchor?: string | number;
  /** Shorthand for knobs.timeFactor. */
  timeFactor?: number;
  knobs?: DeepPartial<Knobs>;
  clock?: SandboxClock;
}

export interface ResolvedOptions {
  port: number;
  host: string;
  seed: number;
  points: number;
  region: string;
  sourceAccount: string;
  destAccount: string;
  anchor: number;
}

export interface OperationCounter {
  calls: number;
  ok: number;
  errors: Record<string, number>;
}

export class Sandbox {
  readonly options: ResolvedOptions;
  readonly clock: SandboxClock;
  readonly knobs: Knobs;
  readonly world: World;
  readonly store: PointStore;
  readonly engine: CopyEngine;
  readonly backup: BackupService;
  readonly credentials: CredentialStore;
  readonly faults: Faults;
  readonly tokens = new TokenCodec();
  /** Counters per "service:Operation" (and per account under byAccount). */
  readonly counters = new Map<string, OperationCounter>();
  /** The newest credential issued to each account. */
  readonly current = new Map<string, IssuedCredential>();
  /** Accounts whose credentials the sandbox refreshes into a file after they expire (like an SSO helper). */
  readonly autoRotate = new Map<string, { file: string; profile: string; delaySeconds: number }>();
  private truthCache?: Truth;
  private csvCache?: { text: string; truth: CsvTruth };

  constructor(opts: SandboxOptions = {}) {
    this.clock = opts.clock ?? new SandboxClock();
    const anchor =
      typeof opts.anchor === 'string'
        ? Date.parse(opts.anchor)
        : (opts.anchor ?? Math.floor(this.clock.now() / 60_000) * 60_000);
    if (!Number.isFinite(anchor)) throw new RangeError(`invalid anchor ${String(opts.anchor)}`);
    this.options = {
      port: opts.port ?? 0,
      host: opts.host ?? '127.0.0.1',
      seed: opts.seed ?? 1,
      points: opts.points ?? 500,
      region: opts.region ?? 'eu-west-2',
      sourceAccount: opts.sourceAccount ?? '111111111111',
      destAccount: opts.destAccount ?? '222222222222',
      anchor,
    };
    if (!Number.isInteger(this.options.points) || this.options.points < 0 || this.options.points > 12 * 0xffffff) {
      throw new RangeError('points must be an integer between 0 and 201326580');
    }
    this.knobs = defaultKnobs();
    if (opts.knobs) mergeKnobs(this.knobs, opts.knobs);
    if (opts.timeFactor !== undefined) mergeKnobs(this.knobs, { timeFactor: opts.timeFactor });
    const random = new Prng(this.options.seed ^ 0x5a5a5a5a);
    this.world = new World({
      seed: this.options.seed,
      points: this.options.points,
      region: this.options.region,
      sourceAccount: this.options.sourceAccount,
      destAccount: this.options.destAccount,
      anchor,
    });
    this.store = new PointStore(this.world);
    const startedAt = this.clock.now();
    this.store.expired = (p) => {
      if (!this.knobs.deletePointsAtDeleteAt) return false;
      // Only deadlines that pass while the sandbox runs: older ones are the generator's EXPIRED points.
      const { deleteAt } = pointDates(p);
      return deleteAt !== undefined && deleteAt > startedAt && deleteAt <= this.clock.now();
    };
    this.engine = new CopyEngine(this.world, this.store, this.knobs, this.clock, random);
    this.backup = new BackupService(this.world, this.store, this.engine, this.knobs, this.clock, this.tokens);
    this.credentials = new CredentialStore(this.clock);
    this.faults = new Faults(this.knobs, random);
    for (const account of this.world.accounts.values()) this.issue(account.id);
  }

  account(idOrRole: string): Account {
    const a =
      idOrRole === 'source'
        ? this.world.source
        : idOrRole === 'destination' || idOrRole === 'dest'
          ? this.world.dest
          : this.world.account(idOrRole);
    if (!a) throw new RangeError(`unknown account ${idOrRole}`);
    return a;
  }

  /** Issue a new credential for the account (its lifetime follows knobs.credentialTtlSeconds). */
  issue(accountId: string): IssuedCredential {
    const cred = this.credentials.issue(accountId, this.knobs.credentialTtlSeconds[accountId] ?? null);
    this.current.set(accountId, cred);
    return cred;
  }

  /** Issue new credentials and rewrite one profile of a credentials file with them (atomically). */
  rotate(accountId: string, file: string, profile: string, expireOld: boolean): IssuedCredential {
    if (expireOld) this.credentials.expireNow(accountId);
    const cred = this.issue(accountId);
    writeCredentialsProfile(file, profile, cred);
    return cred;
  }

  /** Refresh expired credentials of auto-rotated accounts (called per request and by a timer). */
  tickAutoRotate(): void {
    const now = this.clock.now();
    for (const [accountId, r] of this.autoRotate) {
      const cur = this.current.get(accountId);
      if (cur?.expiresAt !== undefined && cur.expiresAt + r.delaySeconds * 1000 <= now) {
        this.rotate(accountId, r.file, r.profile, false);
      }
    }
  }

  csv(): { text: string; truth: CsvTruth } {
    this.csvCache ??= this.world.dataset.csv();
    return this.csvCache;
  }

  truth(): Truth {
    this.truthCache ??= computeTruth(this.world.dataset, this.clock.now(), this.csv().truth, ALLOWED_APMIDS);
    return this.truthCache;
  }

  count(key: string, errorCode?: string): void {
    let c = this.counters.get(key);
    if (!c) {
      c = { calls: 0, ok: 0, errors: {} };
      this.counters.set(key, c);
    }
    c.calls++;
    if (errorCode === undefined) c.ok++;
    else c.errors[errorCode] = (c.errors[errorCode] ?? 0) + 1;
  }
}
