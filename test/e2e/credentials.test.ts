// The credential lifecycle against the sandbox, through the built daemon and rpctl (issue #7). The daemon runs a
// dry run (inventory → enrich → plan) with small pages, so the inventory makes a few hundred ListRecoveryPoints
// calls on several lanes while the test expires the source account's keys under it:
// - a refresher rewrites the file right after each expiry: the run completes and never pauses, exactly one reload
//   per expiry, no request is signed with the old keys once the reload happened, nothing lost or duplicated
//   (expiries driven by the test, so the count is exact); the same with keys that live 3 s and a refresher that
//   writes half a second after each expiry (never a pause, never more than one reload per expiry);
// - nobody refreshes: paused after exactly 3 consecutive auth failures, the notify command receives the event,
//   work stops; a rotation alone resumes the daemon by itself (the new token verified with STS first);
// - `rpctl resume` while the token is still expired: still paused, a clear message, exit 8; rotate and `rpctl
//   resume`: the run completes (the file watcher may get there first: the same verified resume either way); and
//   with a daemon in this process whose credentials come from memory (no file change, so no watcher), rpctl
//   resume alone verifies the refreshed token and the calls waiting on the pause go on;
// - `--once`: a credentials pause exits 8, after the notify command got the event;
// - the access keys, secrets and session tokens used appear nowhere in the state directory, the logs or rpctl's
//   output.

import { chmodSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t, { type Test } from 'tap';
import type { AwsPort } from '../../daemon/aws/port.js';
import type { AwsCredentials } from '../../daemon/aws/task.js';
import { startDaemon } from '../../daemon/daemon.js';
import { createLogger } from '../../daemon/log.js';
import type { PipelinePhase } from '../../daemon/pipeline.js';
import { loadConfig } from '../../shared/config.js';
import { type DaemonProcess, runCtlAsync, spawnDaemon, waitFor } from '../helpers/process.js';
import { type RunningSandbox, startSandboxProcess } from '../helpers/sandbox.js';

// Five daemon runs of a few hundred rate-limited calls each, one after another: more than the suite's default.
t.setTimeout(600_000);

const SRC = '111111111111';
const SOURCE_PROFILE = 'rpcopy-source';
const AUTH_ERRORS =
  /^(ExpiredToken|ExpiredTokenException|UnrecognizedClientException|InvalidClientTokenId|InvalidSignatureException|SignatureDoesNotMatch)$/;

interface CredentialStatus {
  profile: string;
  generation: number;
  consecutiveFailures: number;
  reloads: number;
  exhausted: boolean;
}
interface Status {
  state: string;
  phase: string;
  pauseReason?: string;
  pauseDetail?: string;
  inventory: { vaultsSelected: number; vaultsDone: number; pages: number };
  credentials: { source: CredentialStatus; destination: CredentialStatus };
}

/** Everything rpctl printed during the test, searched for secrets at the end. */
const ctlOutput: string[] = [];

async function status(sandbox: RunningSandbox): Promise<Status> {
  const s = await statusIfUp(sandbox);
  if (!s) throw new Error('rpctl status: the daemon is not running');
  return s;
}

/** The status, or undefined while the daemon is not listening yet (exit 4). */
async function statusIfUp(sandbox: { env: NodeJS.ProcessEnv }): Promise<Status | undefined> {
  const s = await runCtlAsync(['status', '--json'], sandbox.env);
  ctlOutput.push(s.stdout, s.stderr);
  if (s.code === 4) return undefined;
  if (s.code !== 0) throw new Error(`rpctl status failed (${s.code}): ${s.stderr}`);
  return JSON.parse(s.stdout) as Status;
}

/** Poll the daemon's status until `done(status)`; fail at once if the daemon exits. */
async function waitForStatus(
  daemon: DaemonProcess,
  sandbox: RunningSandbox,
  what: string,
  done: (s: Status) => boolean,
  timeoutMs = 120_000,
): Promise<Status> {
  let last: Status | undefined;
  await waitFor(
    async () => {
      if (daemon.child.exitCode !== null)
        throw new Error(`daemon exited while waiting for ${what}:\n${daemon.output()}`);
      const current = await statusIfUp(sandbox);
      if (!current) return false;
      last = current;
      return done(last);
    },
    what,
    timeoutMs,
    100,
  );
  return last!;
}

/** The sandbox with a dry-run config: small pages so the inventory spans hundreds of calls. */
async function sandboxForCredentials(
  t: Test,
  seed: number,
  extra = '',
  knobs: Record<string, unknown> = {},
): Promise<RunningSandbox> {
  const sandbox = await startSandboxProcess(t, { points: 4000, seed, timeFactor: 1000, knobs });
  const config = readFileSync(sandbox.config, 'utf8');
  writeFileSync(sandbox.config, `${config}\n[inventory]\npage_size = 10\nparallel_vaults = 3\n${extra}`);
  return sandbox;
}

/** Every key id, secret and session token currently in the credentials file. */
function secretsIn(file: string): string[] {
  return [
    ...readFileSync(file, 'utf8').matchAll(/^aws_(?:access_key_id|secret_access_key|session_token) = (.+)$/gm),
  ].map((m) => m[1]!.trim());
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** No secret in any file of the state directory, in the daemon's output or in rpctl's output. */
function assertNoSecrets(t: Test, secrets: Set<string>, stateDir: string, daemonOutput: string): void {
  t.ok(secrets.size >= 6, `${secrets.size} key ids, secrets and tokens to look for`);
  const places: [string, Buffer][] = [
    ...filesUnder(stateDir).map((f): [string, Buffer] => [f, readFileSync(f)]),
    ['the daemon log', Buffer.from(daemonOutput)],
    ['rpctl output', Buffer.from(ctlOutput.join('\n'))],
  ];
  const found = places.flatMap(([where, content]) =>
    [...secrets].filter((s) => content.includes(s)).map((s) => `${where} holds ${s.slice(0, 8)}…`),
  );
  t.same(found, [], 'credentials appear nowhere in the state directory, the logs or the API');
}

/** Points stored, and distinct ARNs among them. */
function storedPoints(stateDir: string): { rows: number; distinct: number } {
  const db = new Database(join(stateDir, 'rpcopy.db'), { readonly: true });
  try {
    return db.prepare('SELECT count(*) AS "rows", count(DISTINCT arn) AS "distinct" FROM recovery_points').get() as {
      rows: number;
      distinct: number;
    };
  } finally {
    db.close();
  }
}

async function authErrors(sandbox: RunningSandbox): Promise<number> {
  const counters = await sandbox.admin.counters();
  let n = 0;
  for (const [key, c] of Object.entries(counters)) {
    // Auth failures are refused before the account is known, so they are counted on the per-operation key only.
    if (key.includes('@')) continue;
    for (const [code, count] of Object.entries(c.errors)) if (AUTH_ERRORS.test(code)) n += count;
  }
  return n;
}

async function sourceRotations(sandbox: RunningSandbox): Promise<number> {
  return ((await sandbox.admin.credentials()).current[SRC]?.generation ?? 1) - 1;
}

const inventoryDone = (s: Status) =>
  s.inventory.vaultsSelected > 0 && s.inventory.vaultsDone === s.inventory.vaultsSelected;

t.test('a refresher rewrites the file after each expiry: one reload per expiry, no pause, nothing lost', async (t) => {
  // The test steps through three expiries, each after some pages and each waiting for its reload, so the inventory
  // must outlast them however slowly the machine runs rpctl: 250 ms per page keeps each of the three vault lanes
  // (pages follow one another by NextToken) at 4 pages a second, about 35 s for the 400 pages, whatever the load.
  const sandbox = await sandboxForCredentials(t, 21, '', {
    latencyByOperation: { ListRecoveryPointsByBackupVault: 250 },
  });
  const credentialsFile = sandbox.env.AWS_SHARED_CREDENTIALS_FILE!;
  const secrets = new Set(secretsIn(credentialsFile));
  // Like an SSO helper: as soon as the source's keys expire, fresh ones are written into the file (temp + rename).
  await sandbox.admin.autoRotateCredentials('source', credentialsFile, SOURCE_PROFILE, 0);
  const daemon = spawnDaemon(['--dry-run'], sandbox.env, t);

  const expiries = 3;
  let pages = 0;
  for (let k = 1; k <= expiries; k++) {
    const before = await waitForStatus(daemon, sandbox, `inventory progress before expiry ${k}`, (s) => {
      if (inventoryDone(s)) throw new Error(`the inventory finished before expiry ${k}: make it longer`);
      return s.inventory.pages > pages + 5;
    });
    t.equal(before.credentials.source.reloads, k - 1, `no reload before expiry ${k}`);
    await sandbox.admin.expireCredentials('source');
    const reloaded = await waitForStatus(daemon, sandbox, `the reload after expiry ${k}`, (s) => {
      if (s.state === 'paused') throw new Error(`paused: ${s.pauseDetail}`);
      return s.credentials.source.reloads >= k;
    });
    t.equal(reloaded.credentials.source.reloads, k, `expiry ${k}: one reload`);
    for (const s of secretsIn(credentialsFile)) secrets.add(s);
    // Once the reload happened, no request may be signed with the old keys: the auth errors stop growing while the
    // inventory goes on (every worker rebuilt its clients for the new generation).
    const errorsAfterReload = await authErrors(sandbox);
    const progressed = await waitForStatus(
      daemon,
      sandbox,
      `progress after expiry ${k}`,
      (s) => s.inventory.pages > reloaded.inventory.pages + 5 || inventoryDone(s),
    );
    t.equal(await authErrors(sandbox), errorsAfterReload, `expiry ${k}: no request with the old keys after the reload`);
    pages = progressed.inventory.pages;
  }

  const done = await waitForStatus(daemon, sandbox, 'the dry run to finish', (s) => {
    if (s.state === 'paused') throw new Error(`paused: ${s.pauseDetail}`);
    return s.state === 'done';
  });
  t.equal(await sourceRotations(sandbox), expiries, 'the refresher rotated the keys once per expiry');
  t.equal(done.credentials.source.reloads, expiries, 'and the daemon reloaded once per expiry');
  t.equal(done.credentials.source.consecutiveFailures, 0);
  t.equal(done.credentials.destination.reloads, 0, 'the other account was left alone');
  t.notMatch(daemon.output(), /"event":"daemon\.paused"/, 'never paused');
  const total = (await sandbox.admin.info()).points;
  const stored = storedPoints(sandbox.stateDir);
  t.equal(stored.rows, total, 'every point inventoried');
  t.equal(stored.distinct, stored.rows, 'none twice');

  await sandbox.admin.stopAutoRotate('source');
  await runCtlAsync(['stop'], sandbox.env);
  t.equal((await daemon.exited).code, 0);
  assertNoSecrets(t, secrets, sandbox.stateDir, daemon.output());
});

t.test('keys live 3 s and a refresher rewrites the file 0.5 s after each expiry: the run never pauses', async (t) => {
  const sandbox = await startSandboxProcess(t, { points: 2500, seed: 25, timeFactor: 1000 });
  writeFileSync(
    sandbox.config,
    `${readFileSync(sandbox.config, 'utf8')}\n[inventory]\npage_size = 10\nparallel_vaults = 3\n`,
  );
  const credentialsFile = sandbox.env.AWS_SHARED_CREDENTIALS_FILE!;
  const secrets = new Set(secretsIn(credentialsFile));
  await sandbox.admin.autoRotateCredentials('source', credentialsFile, SOURCE_PROFILE, 0.5);
  await sandbox.admin.expireCredentialsEvery('source', 3);
  // Every version of the file lives about 3.5 s: reading it often enough sees every key the daemon could use.
  const collector = setInterval(() => {
    for (const s of secretsIn(credentialsFile)) secrets.add(s);
  }, 200);
  t.teardown(() => clearInterval(collector));
  const daemon = spawnDaemon(['--dry-run'], sandbox.env, t);
  const done = await waitForStatus(daemon, sandbox, 'the dry run to finish', (s) => {
    if (s.state === 'paused') throw new Error(`paused: ${s.pauseDetail}`);
    return s.state === 'done';
  });
  clearInterval(collector);
  await sandbox.admin.stopAutoRotate('source');
  const rotations = await sourceRotations(sandbox);
  const { reloads, consecutiveFailures } = done.credentials.source;
  t.comment(`${rotations} rotations, ${reloads} reloads`);
  t.ok(reloads >= 2, 'the keys expired under the running inventory');
  // A rotation while the daemon made no source call (enrich, plan) needs no reload of its own, hence at most.
  t.ok(reloads <= rotations, 'never more than one reload per expiry');
  t.equal(consecutiveFailures, 0);
  t.notMatch(daemon.output(), /"event":"daemon\.paused"/, 'never paused');
  const total = (await sandbox.admin.info()).points;
  const stored = storedPoints(sandbox.stateDir);
  t.equal(stored.rows, total, 'every point inventoried');
  t.equal(stored.distinct, stored.rows, 'none twice');
  await runCtlAsync(['stop'], sandbox.env);
  t.equal((await daemon.exited).code, 0);
  assertNoSecrets(t, secrets, sandbox.stateDir, daemon.output());
});

t.test(
  'no refresher: paused after exactly 3 failures and notified; resumes by itself or on rpctl resume',
  async (t) => {
    const sandbox = await sandboxForCredentials(t, 22);
    const events = join(sandbox.dir, 'events.jsonl');
    const hook = join(sandbox.dir, 'notify.sh');
    writeFileSync(hook, `#!/bin/sh\ncat >> '${events}'\n`);
    chmodSync(hook, 0o755);
    // desktop = true on a headless host exercises the degradation to a logged warning.
    writeFileSync(
      sandbox.config,
      `${readFileSync(sandbox.config, 'utf8')}\n[notify]\ndesktop = true\ncommand = "${hook}"\n`,
    );
    const credentialsFile = sandbox.env.AWS_SHARED_CREDENTIALS_FILE!;
    const secrets = new Set(secretsIn(credentialsFile));
    const readEvents = () =>
      existsSync(events)
        ? readFileSync(events, 'utf8')
            .trim()
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l) as Record<string, unknown>)
        : [];
    const daemon = spawnDaemon(['--dry-run'], sandbox.env, t);

    // 1. The keys expire and nobody refreshes them.
    await waitForStatus(daemon, sandbox, 'the inventory to list some pages', (s) => s.inventory.pages > 10);
    await sandbox.admin.expireCredentials('source');
    const paused = await waitForStatus(daemon, sandbox, 'the credentials pause', (s) => {
      if (inventoryDone(s)) throw new Error('the inventory finished before the pause: make it longer');
      return s.state === 'paused';
    });
    t.equal(paused.pauseReason, 'credentials');
    t.match(
      paused.pauseDetail,
      /source account \(profile rpcopy-source\): AWS rejected its credentials 3 times in a row/,
    );
    t.match(paused.pauseDetail, /rpctl resume/, 'says what to do');
    t.same(
      paused.credentials.source,
      { profile: SOURCE_PROFILE, generation: 3, consecutiveFailures: 3, reloads: 2, exhausted: true },
      'exactly 3 consecutive failures: the first load and two reloads, all rejected',
    );
    await waitFor(() => readEvents().length >= 1, 'the notify command to receive the event');
    const [event] = readEvents();
    t.match(event, {
      event: 'paused',
      reason: 'credentials',
      account: 'source',
      accountId: SRC,
      profile: SOURCE_PROFILE,
      consecutiveFailures: 3,
      error: /Expired/,
      message: /AWS rejected its credentials 3 times/,
      time: /^\d{4}-\d\d-\d\dT/,
    });
    t.match(daemon.output(), /"event":"daemon\.paused"/, 'a log line');
    // Work waits: no page is listed while paused.
    await new Promise((r) => setTimeout(r, 1500));
    t.equal((await status(sandbox)).inventory.pages, paused.inventory.pages, 'nothing is listed while paused');

    // 2. rpctl resume while the token is still expired: still paused, and it says why.
    const refused = await runCtlAsync(['resume'], sandbox.env);
    ctlOutput.push(refused.stdout, refused.stderr);
    t.equal(refused.code, 8, 'exit 8 (CREDENTIALS_EXPIRED)');
    t.match(refused.stderr, /still paused: source account \(profile rpcopy-source\): AWS still rejects the token/);
    t.match(refused.stderr, /CREDENTIALS_EXPIRED: refresh the token, then rpctl resume/);
    const refusedJson = await runCtlAsync(['resume', '--json'], sandbox.env);
    ctlOutput.push(refusedJson.stdout, refusedJson.stderr);
    t.equal(refusedJson.code, 8);
    t.equal(JSON.parse(refusedJson.stdout).error.code, 'CREDENTIALS_EXPIRED');
    const stillPaused = await status(sandbox);
    t.equal(stillPaused.state, 'paused');
    t.match(stillPaused.pauseDetail, /Resume refused \(rpctl resume\): source account .*still rejects the token/);
    t.equal(stillPaused.inventory.pages, paused.inventory.pages, 'still nothing listed');

    // 3. The operator refreshes the token and runs no command: the daemon notices the file, verifies, resumes.
    await sandbox.admin.rotateCredentials('source', credentialsFile, SOURCE_PROFILE);
    for (const s of secretsIn(credentialsFile)) secrets.add(s);
    const resumed = await waitForStatus(daemon, sandbox, 'the daemon to resume by itself', (s) => s.state !== 'paused');
    t.equal(resumed.credentials.source.consecutiveFailures, 0);
    t.match(daemon.output(), /"event":"daemon\.resumed".*"trigger":"credentials-file"/, 'resumed by the file change');
    await waitFor(() => readEvents().some((e) => e.event === 'resumed'), 'the resumed event');
    t.match(
      readEvents().find((e) => e.event === 'resumed'),
      { reason: 'credentials', trigger: 'credentials-file' },
    );

    // 4. A second expiry; this time the operator refreshes the token and runs rpctl resume.
    await waitForStatus(
      daemon,
      sandbox,
      'progress after the resume',
      (s) => s.inventory.pages > resumed.inventory.pages + 5,
    );
    await sandbox.admin.expireCredentials('source');
    const pausedAgain = await waitForStatus(daemon, sandbox, 'the second pause', (s) => {
      if (inventoryDone(s)) throw new Error('the inventory finished before the second pause: make it longer');
      return s.state === 'paused';
    });
    t.equal(pausedAgain.credentials.source.consecutiveFailures, 3, 'again after exactly 3 failures');
    await waitFor(() => readEvents().filter((e) => e.event === 'paused').length === 2, 'the second paused event');
    await sandbox.admin.rotateCredentials('source', credentialsFile, SOURCE_PROFILE);
    for (const s of secretsIn(credentialsFile)) secrets.add(s);
    const resume = await runCtlAsync(['resume'], sandbox.env);
    ctlOutput.push(resume.stdout, resume.stderr);
    t.equal(resume.code, 0, resume.stderr);
    // The file watcher may have verified and resumed first; either way the same check ran before work restarted.
    t.match(
      resume.stdout,
      /^(resumed \(was paused: credentials; STS accepted both accounts’ credentials\)|not paused)/,
    );
    t.comment(`rpctl resume said: ${resume.stdout.trim()}`);

    const done = await waitForStatus(daemon, sandbox, 'the dry run to finish', (s) => {
      if (s.state === 'paused') throw new Error(`paused again: ${s.pauseDetail}`);
      return s.state === 'done';
    });
    t.equal(done.credentials.source.consecutiveFailures, 0);
    const total = (await sandbox.admin.info()).points;
    const stored = storedPoints(sandbox.stateDir);
    t.equal(stored.rows, total, 'every point inventoried: nothing lost across two pauses');
    t.equal(stored.distinct, stored.rows, 'none twice');
    t.equal(readEvents().filter((e) => e.event === 'paused').length, 2, 'one paused event per pause');

    await runCtlAsync(['stop'], sandbox.env);
    t.equal((await daemon.exited).code, 0);
    if (/desktop notifications are not available/.test(daemon.output())) {
      t.comment('no desktop notifier on this host: a logged warning, and the daemon carried on');
    }
    assertNoSecrets(t, secrets, sandbox.stateDir, daemon.output());
    const eventsText = readFileSync(events, 'utf8');
    t.notOk(
      [...secrets].some((s) => eventsText.includes(s)),
      'the events handed to the notify command hold no credentials',
    );
  },
);

t.test('--once: a credentials pause exits 8, and the notify command still gets the event', async (t) => {
  const sandbox = await startSandboxProcess(t, { points: 2000, seed: 23, timeFactor: 1000 });
  const events = join(sandbox.dir, 'events.jsonl');
  writeFileSync(
    sandbox.config,
    `${readFileSync(sandbox.config, 'utf8')}\n[inventory]\npage_size = 10\nparallel_vaults = 2\n` +
      `[notify]\ndesktop = false\ncommand = "cat >> '${events}'"\n`,
  );
  const daemon = spawnDaemon(['--once', '--dry-run'], sandbox.env, t);
  await waitForStatus(daemon, sandbox, 'the inventory to list some pages', (s) => s.inventory.pages > 5);
  await sandbox.admin.expireCredentials('source');
  const exit = await daemon.exited;
  t.equal(exit.code, 8, '--once exits with the paused code');
  const lines = readFileSync(events, 'utf8').trim().split('\n');
  t.equal(lines.length, 1);
  t.match(JSON.parse(lines[0]!), { event: 'paused', reason: 'credentials', account: 'source', consecutiveFailures: 3 });
});

t.test(
  'rpctl resume verifies a refreshed token before work restarts (credentials from memory: no file change)',
  async (t) => {
    const sandbox = await startSandboxProcess(t, { points: 50, seed: 24, timeFactor: 1000 });
    // The daemon runs in this process with a credential loader the test controls, so refreshing the token changes
    // no file: the file watcher stays quiet and the only way out of the pause is rpctl resume.
    const saved = { ...process.env };
    Object.assign(process.env, sandbox.env);
    t.teardown(() => {
      for (const key of Object.keys(sandbox.env)) {
        if (saved[key] === undefined) delete process.env[key];
        else process.env[key] = saved[key];
      }
    });
    const fileKeys = (profile: string): AwsCredentials => {
      const section = readFileSync(sandbox.env.AWS_SHARED_CREDENTIALS_FILE!, 'utf8').split(`[${profile}]`)[1] ?? '';
      const value = (name: string) => new RegExp(`^${name} = (.+)$`, 'm').exec(section)?.[1]?.trim() ?? '';
      return {
        accessKeyId: value('aws_access_key_id'),
        secretAccessKey: value('aws_secret_access_key'),
        sessionToken: value('aws_session_token'),
      };
    };
    const keys: Record<string, AwsCredentials> = {
      [SOURCE_PROFILE]: fileKeys(SOURCE_PROFILE),
      'rpcopy-dest': fileKeys('rpcopy-dest'),
    };
    const secrets = new Set(Object.values(keys).flatMap((k) => [k.accessKeyId, k.secretAccessKey, k.sessionToken!]));
    const logLines: string[] = [];
    let calls = 0;
    let stopCalling = false;
    let port: AwsPort | undefined;
    // A phase that keeps calling the source account until told to stop: work that must survive the pause.
    const caller: PipelinePhase = {
      name: 'inventory',
      async run({ signal, track }) {
        while (!stopCalling) {
          if (signal.aborted) return 'stopped';
          try {
            await track(port!.call('source', 'getCallerIdentity', {}, signal));
          } catch (err) {
            if (signal.aborted) return 'stopped';
            throw err;
          }
          calls += 1;
          await new Promise((r) => setTimeout(r, 20));
        }
        return 'done';
      },
    };
    const stateDir = join(sandbox.dir, 'state-inproc');
    const config = loadConfig(sandbox.config, { stateDir });
    config.notify.desktop = false;
    const daemon = await startDaemon({
      config,
      version: 'test',
      log: createLogger({ level: 'debug', pretty: false, write: (line) => logLines.push(line) }),
      mode: 'service',
      credentialLoader: async (profile) => ({ ...keys[profile]! }),
      phases: (services) => {
        port = services.port;
        return [caller];
      },
    });
    t.teardown(() => daemon.stop('test teardown'));

    const env = { ...sandbox.env, RPCOPY_STATE_DIR: stateDir };
    const current = async () => (await statusIfUp({ env }))!;
    await waitFor(() => calls > 3, 'some calls to succeed');
    await sandbox.admin.expireCredentials('source');
    await waitFor(async () => (await current()).state === 'paused', 'the credentials pause', 30_000, 100);
    const callsAtPause = calls;
    t.same((await current()).credentials.source.consecutiveFailures, 3);

    const refused = await runCtlAsync(['resume'], env);
    ctlOutput.push(refused.stdout, refused.stderr);
    t.equal(refused.code, 8, 'still expired: exit 8');
    t.match(refused.stderr, /AWS still rejects the token \(ExpiredToken/, 'STS said so');
    t.equal((await current()).state, 'paused');

    // The operator gets a fresh token (here straight from the sandbox, into the loader's memory).
    const fresh = await sandbox.admin.issueCredentials('source');
    keys[SOURCE_PROFILE] = {
      accessKeyId: fresh.accessKeyId,
      secretAccessKey: fresh.secretAccessKey,
      sessionToken: fresh.sessionToken,
    };
    for (const v of [fresh.accessKeyId, fresh.secretAccessKey, fresh.sessionToken]) secrets.add(v);
    t.equal(calls, callsAtPause, 'no call completed while paused');
    const resumed = await runCtlAsync(['resume'], env);
    ctlOutput.push(resumed.stdout, resumed.stderr);
    t.equal(resumed.code, 0, resumed.stderr);
    t.equal(resumed.stdout.trim(), 'resumed (was paused: credentials; STS accepted both accounts’ credentials)');
    await waitFor(() => calls > callsAtPause + 3, 'the calls waiting on the pause to go on');
    const after = await current();
    t.equal(after.state, 'running');
    t.equal(after.credentials.source.consecutiveFailures, 0);
    t.match(logLines.join('\n'), /"event":"daemon\.resumed".*"trigger":"operator"/);

    stopCalling = true;
    await waitFor(async () => (await current()).state === 'done', 'the phase to finish');
    t.equal(await daemon.stop('test'), 'stopped');
    assertNoSecrets(t, secrets, stateDir, logLines.join('\n'));
  },
);
