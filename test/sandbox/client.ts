/**
 * Typed client for the sandbox admin API, for tests of rpcopy (node:http only; no
 * AWS credentials needed). Every method maps to one endpoint under
 * /__sandbox/ (see README.md).
 */

import { request } from 'node:http';

import type { LedgerCall, LedgerEntry, PreexistingCopy } from './copy-engine.js';
import type { IssuedCredential } from './credentials.js';
import type { JudgeView } from './judge.js';
import type { DeepPartial, Knobs } from './knobs.js';
import type { OperationCounter } from './sandbox.js';
import type { Truth } from './truth.js';

export type AccountRef = 'source' | 'destination' | string;

export interface LedgerSummary {
  startCopyJobCalls: number;
  rejectedCalls: number;
  replayedCalls: number;
  droppedResponses: number;
  jobsCreated: number;
  pointsWithJobs: number;
  pointsWithMultipleJobs: number;
  pointsWithMultipleJobsSample: string[];
  jobsByState: Record<string, number>;
  activeJobs: number;
}

export interface SandboxInfo {
  region: string;
  seed: number;
  points: number;
  anchor: string;
  accounts: { source: string; destination: string };
  organization: { id: string; arn: string; managementAccount: string };
  destVaultKeyArn: string;
  copyRoleArn: string;
  operatorRoles: { source: string; destination: string };
  vaults: Record<string, { name: string; arn: string; points: number }[]>;
  keys: Record<string, { arn: string; aliases: string[]; manager: 'AWS' | 'CUSTOMER' }[]>;
}

/** A copy job as DescribeCopyJob returns it (timestamps in epoch seconds). */
export type WireCopyJob = Record<string, unknown> & {
  CopyJobId: string;
  State: string;
  SourceRecoveryPointArn: string;
};

export class SandboxAdminError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'SandboxAdminError';
  }
}

export class SandboxAdmin {
  private readonly base: string;

  /** `adminUrl` is e.g. http://127.0.0.1:PORT/__sandbox (a sandbox URL without the suffix works too). */
  constructor(adminUrl: string) {
    const trimmed = adminUrl.replace(/\/+$/, '');
    this.base = trimmed.endsWith('/__sandbox') ? trimmed : `${trimmed}/__sandbox`;
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await send(method, `${this.base}${path}`, body === undefined ? undefined : JSON.stringify(body));
    const text = res.text;
    if (res.status < 200 || res.status > 299) {
      let message = text;
      try {
        message = (JSON.parse(text) as { error?: string }).error ?? text;
      } catch {
        // not JSON
      }
      throw new SandboxAdminError(res.status, `${method} ${path}: ${res.status} ${message}`);
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }

  health(): Promise<{ ok: boolean }> {
    return this.call('GET', '/health');
  }
  info(): Promise<SandboxInfo> {
    return this.call('GET', '/info');
  }
  knobs(): Promise<Knobs> {
    return this.call('GET', '/knobs');
  }
  /** Deep-merge a patch into the knobs; returns the resulting knobs. */
  setKnobs(patch: DeepPartial<Knobs>): Promise<Knobs> {
    return this.call('PATCH', '/knobs', patch);
  }
  /** Apply StartCopyJob and then drop the connection: the next `count` calls, then with `probability`. */
  dropAfterStartCopyJob(count: number, probability = 0): Promise<{ count: number; probability: number }> {
    return this.call('POST', '/faults/drop-start-copy-job', { count, probability });
  }
  /** Apply StartCopyJob and then answer with a 500/503 error: the next `count` calls, then with `probability`. */
  errorAfterStartCopyJob(
    count: number,
    probability = 0,
    status: 500 | 503 = 503,
  ): Promise<{ count: number; probability: number; status: 500 | 503 }> {
    return this.call('POST', '/faults/error-after-start-copy-job', { count, probability, status });
  }
  counters(): Promise<Record<string, OperationCounter>> {
    return this.call('GET', '/counters');
  }
  resetCounters(): Promise<{ ok: boolean }> {
    return this.call('POST', '/counters/reset');
  }
  credentials(): Promise<{
    current: Record<string, { accessKeyId: string; generation: number; expiresAt?: number }>;
    all: Array<Omit<IssuedCredential, 'secretAccessKey' | 'sessionToken'> & { expired: boolean }>;
  }> {
    return this.call('GET', '/credentials');
  }
  /** Issue new credentials for an account (returned in full, secret included). */
  issueCredentials(account: AccountRef): Promise<IssuedCredential> {
    return this.call('POST', '/credentials/issue', { account });
  }
  /** Expire every credential of the account now. */
  expireCredentials(account: AccountRef): Promise<{ account: string; expired: number }> {
    return this.call('POST', '/credentials/expire', { account });
  }
  /** Current credentials expire in `seconds`. */
  expireCredentialsIn(account: AccountRef, seconds: number): Promise<unknown> {
    return this.call('POST', '/credentials/expire', { account, inSeconds: seconds });
  }
  /** Credentials (current and future) live `seconds` each; null turns expiry off for new ones. */
  expireCredentialsEvery(account: AccountRef, seconds: number | null): Promise<unknown> {
    return this.call('POST', '/credentials/expire', { account, everySeconds: seconds });
  }
  /** Issue new credentials and rewrite `profile` of `file` with them (atomic rename). */
  rotateCredentials(
    account: AccountRef,
    file: string,
    profile: string,
    opts: { expireOld?: boolean } = {},
  ): Promise<{ account: string; accessKeyId: string; generation: number; expiresAt?: number }> {
    return this.call('POST', '/credentials/rotate', { account, file, profile, expireOld: opts.expireOld === true });
  }
  /** After the account's credentials expire (+ delaySeconds), write fresh ones into the file, like an SSO helper. */
  autoRotateCredentials(account: AccountRef, file: string, profile: string, delaySeconds = 0): Promise<unknown> {
    return this.call('POST', '/credentials/auto-rotate', { account, file, profile, delaySeconds });
  }
  stopAutoRotate(account: AccountRef): Promise<unknown> {
    return this.call('POST', '/credentials/auto-rotate', { account, enabled: false });
  }
  ledger(): Promise<LedgerEntry[]> {
    return this.call('GET', '/ledger');
  }
  ledgerFor(recoveryPointArn: string): Promise<LedgerEntry & { calls: LedgerCall[]; jobs: WireCopyJob[] }> {
    return this.call('GET', `/ledger?recoveryPointArn=${encodeURIComponent(recoveryPointArn)}`);
  }
  ledgerSummary(): Promise<LedgerSummary> {
    return this.call('GET', '/ledger/summary');
  }
  copyJobs(state?: string): Promise<WireCopyJob[]> {
    return this.call('GET', `/copy-jobs${state ? `?state=${encodeURIComponent(state)}` : ''}`);
  }
  /** Finish every unfinished copy job now (each with the outcome it was going to have). */
  completeAllJobs(): Promise<{ completed: number }> {
    return this.call('POST', '/copy-jobs/complete-all');
  }
  clock(): Promise<{ now: number; iso: string; offsetMs: number }> {
    return this.call('GET', '/clock');
  }
  advanceClock(ms: number): Promise<{ now: number; offsetMs: number }> {
    return this.call('POST', '/clock/advance', { ms });
  }
  /** Add recovery points to a source vault (new resource unless resourceArn names a generated one). */
  addRecoveryPoints(opts: {
    vault: string;
    count?: number;
    resourceArn?: string;
    resourceType?: string;
    status?: string;
    sizeBytes?: number;
    /** Epoch ms or ISO-8601; default now. */
    creationDate?: number | string;
    lifecycle?: { MoveToColdStorageAfterDays?: number; DeleteAfterDays?: number };
    /** CalculatedLifecycle dates that replace the lifecycle's (epoch ms or ISO-8601). */
    moveToColdStorageAt?: number | string;
    deleteAt?: number | string;
  }): Promise<{ recoveryPointArns: string[] }> {
    return this.call('POST', '/recovery-points', opts);
  }
  setRecoveryPointStatus(
    vault: string,
    recoveryPointArn: string,
    status: string,
    account: AccountRef = 'source',
  ): Promise<unknown> {
    return this.call('PATCH', '/recovery-points', { vault, recoveryPointArn, status, account });
  }
  /**
   * Change a point: status, its cold-storage or delete date (epoch ms or ISO-8601; a past date moves it to cold
   * storage now / deletes it at once if `deletePointsAtDeleteAt` is on), its lifecycle.
   */
  patchRecoveryPoint(change: {
    vault: string;
    recoveryPointArn: string;
    account?: AccountRef;
    status?: string;
    statusMessage?: string;
    moveToColdStorageAt?: number | string;
    deleteAt?: number | string;
    lifecycle?: { MoveToColdStorageAfterDays?: number; DeleteAfterDays?: number };
  }): Promise<Record<string, unknown>> {
    return this.call('PATCH', '/recovery-points', change);
  }
  /** Delete a point: gone from listings; Describe and StartCopyJob answer ResourceNotFoundException. */
  deleteRecoveryPoint(vault: string, recoveryPointArn: string, account: AccountRef = 'source'): Promise<unknown> {
    return this.call('DELETE', '/recovery-points', { vault, recoveryPointArn, account });
  }
  /** Jobs created from now on for this source point end with `outcome` unless a check fails them (null: undo). */
  forceCopyOutcome(
    recoveryPointArn: string,
    outcome: 'COMPLETED' | 'FAILED' | 'PARTIAL' | null,
  ): Promise<Record<string, string>> {
    return this.call('POST', '/copy-outcomes', { recoveryPointArn, outcome });
  }
  /** The outcomes forced per source point. */
  forcedCopyOutcomes(): Promise<Record<string, 'COMPLETED' | 'FAILED' | 'PARTIAL'>> {
    return this.call('GET', '/copy-outcomes');
  }
  /**
   * Make a destination vault hold copies made before the test, as completed copy jobs would have left them: the
   * given points, or a seeded random `share` of a source vault's points; `withJob` keeps the old job in the history.
   */
  seedDestinationCopies(opts: {
    destinationVault: string;
    recoveryPointArns?: string[];
    sourceVault?: string;
    share?: number;
    seed?: number;
    withJob?: boolean;
    copiedAt?: number | string;
  }): Promise<{ copies: (PreexistingCopy & { sourceRecoveryPointArn: string })[] }> {
    return this.call('POST', '/destination-copies', opts);
  }
  /** The judge's view: per source point, copies per destination vault, jobs, ineligible copies, existence. */
  judge(opts: { recoveryPointArn?: string; activeOnly?: boolean } = {}): Promise<JudgeView> {
    const q = new URLSearchParams();
    if (opts.recoveryPointArn) q.set('recoveryPointArn', opts.recoveryPointArn);
    if (opts.activeOnly) q.set('activeOnly', 'true');
    const qs = q.toString();
    return this.call('GET', `/judge${qs ? `?${qs}` : ''}`);
  }
  truth(): Promise<Truth> {
    return this.call('GET', '/truth');
  }
  async csv(): Promise<string> {
    const res = await send('GET', `${this.base}/csv`, undefined);
    if (res.status !== 200) throw new SandboxAdminError(res.status, `GET /csv: ${res.status}`);
    return res.text;
  }
}

/**
 * One request on its own connection. A kept-alive connection races the server's idle timeout on a loaded
 * machine (the request goes out on a socket the server is closing), and admin calls are not all safe to resend.
 */
function send(method: string, url: string, body: string | undefined): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        agent: false,
        headers:
          body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
