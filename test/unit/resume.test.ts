// The resume controller (daemon/resume.ts) with the real pause gate, credential sessions and AWS port, and an
// in-process STS behind a fake worker pool: a credentials pause holds calls on the gate and ends only once STS
// accepts the refreshed token as the configured account; concurrent triggers share one check; a pause that needs
// the operator stops a --once run; the operator's own pause and a preflight pause resume without STS.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { CredentialSession } from '../../daemon/aws/credentials.js';
import type { Account } from '../../daemon/aws/operations.js';
import { AwsPort } from '../../daemon/aws/port.js';
import type { AwsCredentials, AwsTask, AwsTaskResult, WorkerPool } from '../../daemon/aws/task.js';
import type { EventJournal } from '../../daemon/events.js';
import type { LogLevel } from '../../daemon/log.js';
import { createLogger } from '../../daemon/log.js';
import type { OperatorEvent } from '../../daemon/notify.js';
import { createPauser, PauseGate } from '../../daemon/pause.js';
import { ResumeController } from '../../daemon/resume.js';
import type { ResumeResponse } from '../../shared/api.js';

const SOURCE_ACCOUNT = '111111111111';
const DESTINATION_ACCOUNT = '222222222222';

const key = (id: string): AwsCredentials => ({
  accessKeyId: id,
  secretAccessKey: `secret-${id}-${'x'.repeat(30)}`,
  sessionToken: `token-${id}`,
});

const until = async (what: string, check: () => boolean) => {
  for (let i = 0; i < 500; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
};

interface HarnessOptions {
  once?: boolean;
  /** Hold every STS answer until this resolves. */
  stsGate?: Promise<void>;
}

/** The parts of a daemon the controller works with; STS and the credentials files are in memory. */
function harness(options: HarnessOptions = {}) {
  const files: Record<Account, string> = { source: 'ASIASRC1', destination: 'ASIADST1' };
  const owners = new Map([
    ['ASIASRC1', SOURCE_ACCOUNT],
    ['ASIADST1', DESTINATION_ACCOUNT],
  ]);
  const expired = new Set<string>();
  const sts: { account: Account; key: string }[] = [];
  const reads: Account[] = [];
  const runAws = async (task: AwsTask): Promise<AwsTaskResult> => {
    sts.push({ account: task.account, key: task.credentials.accessKeyId });
    await options.stsGate;
    const owner = owners.get(task.credentials.accessKeyId);
    if (owner === undefined || expired.has(task.credentials.accessKeyId)) {
      const error = { name: 'ExpiredTokenException', message: 'The security token included in the request is expired' };
      return { ok: false, error, generation: task.generation };
    }
    return { ok: true, output: { account: owner, arn: 'arn', userId: 'u' }, generation: task.generation };
  };
  const pool = { threads: 1, destroy: async () => undefined, runAws } as unknown as WorkerPool;
  // One rejection exhausts a session: the port pauses on the first, without its seconds of reload backoff.
  const session = (account: Account, profile: string) =>
    new CredentialSession(
      account,
      profile,
      async () => {
        reads.push(account);
        return key(files[account]);
      },
      1,
      { sleep: async () => undefined },
    );
  const sessions = { source: session('source', 'src'), destination: session('destination', 'dst') };
  const log = createLogger({ level: 'error', write: () => undefined });
  const gate = new PauseGate();
  const records: { level: LogLevel; kind: string; message: string; data?: Record<string, unknown> }[] = [];
  const journal: EventJournal = {
    record: (level, kind, message, data) => records.push({ level, kind, message, data }),
  };
  const notified: { event: OperatorEvent; desktop: boolean | undefined }[] = [];
  const notifier = {
    notify: async (event: OperatorEvent, channels?: { desktop?: boolean }) => {
      notified.push({ event, desktop: channels?.desktop });
    },
  };
  let operatorNeeded = 0;
  const pause = createPauser({ gate, journal, notifier, onOperatorNeeded: () => (operatorNeeded += 1) });
  const shutdown = new AbortController();
  const port: AwsPort = new AwsPort({
    pool,
    sessions,
    region: 'eu-west-2',
    log,
    gate,
    pause: { credentialsExhausted: (account, failure) => controller.credentialsExhausted(account, failure) },
  });
  const controller: ResumeController = new ResumeController({
    gate,
    pause,
    sessions,
    accountIds: { source: SOURCE_ACCOUNT, destination: DESTINATION_ACCOUNT },
    port,
    journal,
    notifier,
    log,
    signal: shutdown.signal,
    once: options.once ?? false,
    state: () => (shutdown.signal.aborted ? 'stopping' : gate.paused ? 'paused' : 'running'),
  });
  const kinds = () => records.map((r) => r.kind);
  return {
    ...{ files, owners, expired, sts, reads, sessions, gate, records, notified, port, controller, shutdown, kinds },
    operatorNeeded: () => operatorNeeded,
  };
}

t.test('not paused: nothing to resume, and STS is not asked', async (t) => {
  const h = harness();
  t.same(await h.controller.resume('operator'), {
    state: 'running',
    resumed: false,
    message: 'not paused: nothing to resume',
  });
  t.same(h.sts, []);
});

t.test('a credentials pause holds the call until STS accepts the refreshed token', async (t) => {
  const h = harness();
  t.same(await h.port.call('source', 'getCallerIdentity', {}), { account: SOURCE_ACCOUNT, arn: 'arn', userId: 'u' });
  h.expired.add('ASIASRC1');
  let answered = false;
  const call = h.port.call('source', 'getCallerIdentity', {}).then((out) => {
    answered = true;
    return out;
  });
  await until('the credentials pause', () => h.gate.paused !== undefined);
  t.equal(h.gate.paused?.reason, 'credentials');
  t.match(h.gate.paused?.detail, /^source account \(profile src\): AWS rejected its credentials 1 times in a row/);
  const paused = h.records.find((r) => r.kind === 'daemon.paused');
  t.equal(paused?.level, 'error');
  t.same(paused?.data, {
    reason: 'credentials',
    account: 'source',
    accountId: SOURCE_ACCOUNT,
    profile: 'src',
    error: 'ExpiredTokenException',
    consecutiveFailures: 1,
  });
  t.same(
    h.notified.map((n) => [n.event.event, n.event.reason, n.event.account]),
    [['paused', 'credentials', 'source']],
  );
  t.equal(h.operatorNeeded(), 1, 'the pause needs the operator (a --once run stops there)');

  const refused = await h.controller.resume('operator');
  t.match(refused, { state: 'paused', resumed: false, verified: false });
  t.match(refused.message, /^still paused: source account \(profile src\): AWS still rejects the token \(ExpiredToken/);
  t.match(h.gate.paused?.note, /^Resume refused \(rpctl resume\): source account/);
  t.match(h.records.at(-1), { level: 'warn', kind: 'daemon.resume_refused' });
  t.same(h.records.at(-1)?.data?.problems, [{ account: 'source', kind: 'rejected' }]);
  t.notOk(
    h.notified.some((n) => n.event.event === 'resume_refused'),
    'the operator who ran rpctl resume reads the answer: no notification',
  );
  t.notOk(answered, 'the call still waits');

  h.files.source = 'ASIASRC2';
  h.owners.set('ASIASRC2', SOURCE_ACCOUNT);
  const resumed = await h.controller.resume('operator');
  t.same(resumed, {
    state: 'running',
    resumed: true,
    verified: true,
    message: 'resumed (was paused: credentials; STS accepted both accounts’ credentials)',
  });
  t.same(await call, { account: SOURCE_ACCOUNT, arn: 'arn', userId: 'u' }, 'the waiting call went on');
  t.equal(h.sts.at(-1)?.key, 'ASIASRC2', 'with the verified token');
  t.match(h.records.at(-1), {
    kind: 'daemon.resumed',
    data: { reason: 'credentials', trigger: 'operator', verified: true },
  });
  t.match(h.notified.at(-1), { event: { event: 'resumed', trigger: 'operator' }, desktop: false });
});

t.test('a token that works for another account is refused, and a refused automatic resume is notified', async (t) => {
  const h = harness();
  await h.port.call('source', 'getCallerIdentity', {});
  h.expired.add('ASIASRC1');
  const call = h.port.call('source', 'getCallerIdentity', {});
  await until('the credentials pause', () => h.gate.paused !== undefined);
  h.files.source = 'ASIAOTHER';
  h.owners.set('ASIAOTHER', '999999999999');
  const refused = await h.controller.resume('credentials-file');
  t.match(refused, { resumed: false, verified: false });
  t.match(refused.message, /the credentials are for account 999999999999, expected 111111111111/);
  t.match(h.gate.paused?.note, /^Resume refused \(the credentials file changed\)/);
  t.match(h.notified.at(-1)?.event, { event: 'resume_refused', reason: 'credentials', trigger: 'credentials-file' });
  t.ok(h.gate.paused, 'still paused');

  h.shutdown.abort(new Error('stopping'));
  await t.rejects(call, 'a stop ends the wait');
});

t.test('a refresh that landed before the pause began ends it by itself', async (t) => {
  const h = harness();
  await h.port.call('source', 'getCallerIdentity', {});
  // The refresher rewrote the file after the last read: the watch reported that change before the pause.
  h.expired.add('ASIASRC1');
  h.files.source = 'ASIASRC2';
  h.owners.set('ASIASRC2', SOURCE_ACCOUNT);
  const out = await h.port.call('source', 'getCallerIdentity', {});
  t.same(out, { account: SOURCE_ACCOUNT, arn: 'arn', userId: 'u' });
  t.same(
    h.kinds().filter((k) => k.startsWith('daemon.')),
    ['daemon.paused', 'daemon.resumed'],
  );
  t.match(h.records.at(-1)?.data, { trigger: 'credentials-file', verified: true });
  t.match(h.notified.at(-1), { event: { event: 'resumed', trigger: 'credentials-file' }, desktop: true });
  t.equal(h.gate.paused, undefined);
});

t.test('--once: a credentials pause stops the run and does not read the file again', async (t) => {
  const h = harness({ once: true });
  await h.port.call('source', 'getCallerIdentity', {});
  h.expired.add('ASIASRC1');
  h.files.source = 'ASIASRC2';
  h.owners.set('ASIASRC2', SOURCE_ACCOUNT);
  const readsBefore = h.reads.length;
  const call = h.port.call('source', 'getCallerIdentity', {});
  await until('the credentials pause', () => h.gate.paused !== undefined);
  t.equal(h.operatorNeeded(), 1, 'the daemon is told to stop');
  await new Promise((r) => setTimeout(r, 50));
  t.equal(h.reads.length, readsBefore, 'no recheck of the file');
  t.ok(h.gate.paused, 'still paused');
  h.shutdown.abort(new Error('paused for the operator'));
  await t.rejects(call);
});

t.test('concurrent triggers share one check', async (t) => {
  let release!: () => void;
  const stsGate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const h = harness({ stsGate });
  h.gate.pause('credentials', 'the test paused it');
  const both = [h.controller.resume('operator'), h.controller.resume('credentials-file')];
  await until('the STS calls', () => h.sts.length === 2);
  release();
  const [first, second] = await Promise.all(both);
  t.equal(first, second, 'one answer for both');
  t.same(
    h.sts.map((c) => c.account),
    ['source', 'destination'],
    'one STS call per account',
  );
  t.match(first, { resumed: true, verified: true });
});

t.test('a check that fails once the daemon is stopping answers so, and the gate stays closed', async (t) => {
  let release!: () => void;
  const stsGate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const h = harness({ stsGate });
  h.gate.pause('credentials', 'the test paused it');
  const answer = h.controller.resume('operator');
  await until('the STS calls', () => h.sts.length === 2);
  h.shutdown.abort(new Error('rpctl stop'));
  h.expired.add('ASIASRC1');
  h.expired.add('ASIADST1');
  release();
  t.same(await answer, { state: 'stopping', resumed: false, message: 'stopping: not resumed' });
  t.ok(h.gate.paused, 'the gate stays closed');
});

t.test('the operator’s pause and a preflight pause resume without asking STS', async (t) => {
  const h = harness();
  const pause = createPauser({
    gate: h.gate,
    journal: { record: () => undefined },
    notifier: { notify: async () => undefined },
    onOperatorNeeded: () => t.fail('the operator’s own pause never stops a --once run'),
  });
  t.equal(pause({ reason: 'operator', detail: 'paused by the operator', byOperator: true }), true);
  t.equal(pause({ reason: 'preflight', detail: 'a second pause keeps the first reason' }), false);
  let answer: ResumeResponse = await h.controller.resume('operator');
  t.same(answer, { state: 'running', resumed: true, message: 'resumed (was paused: operator)' });

  let waited = false;
  const waiting = h.controller.operatorPause('preflight', 'iam:PassRole is missing', { failed: 1 }).then(() => {
    waited = true;
  });
  t.equal(h.gate.paused?.reason, 'preflight');
  t.match(h.records.at(-1), {
    level: 'error',
    kind: 'daemon.paused',
    data: { reason: 'preflight', failed: 1 },
  });
  t.match(h.notified.at(-1)?.event, { event: 'paused', reason: 'preflight', failed: 1 });
  t.equal(h.operatorNeeded(), 1);
  t.notOk(waited);
  answer = await h.controller.resume('operator');
  t.equal(answer.message, 'resumed (was paused: preflight)');
  await waiting;
  t.same(h.sts, [], 'no STS call for a pause that is not about credentials');
});

t.test('a changed credentials file ends a credentials pause, and only that kind', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rpcopy-resume-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'credentials');
  writeFileSync(file, '[src]\naws_access_key_id = ASIASRC1\n');
  const h = harness();
  h.controller.watchCredentials(file);
  t.teardown(() => h.controller.close());

  h.gate.pause('preflight', 'not a credentials pause');
  writeFileSync(file, '[src]\naws_access_key_id = ASIASRC0\n');
  await new Promise((r) => setTimeout(r, 800));
  t.equal(h.gate.paused?.reason, 'preflight', 'a changed file does not end another pause');
  t.same(h.sts, []);
  h.gate.resume();

  h.gate.pause('credentials', 'the test paused it');
  h.files.source = 'ASIASRC2';
  h.owners.set('ASIASRC2', SOURCE_ACCOUNT);
  writeFileSync(file, '[src]\naws_access_key_id = ASIASRC2\n');
  await until('the resume', () => h.gate.paused === undefined);
  t.match(h.records.at(-1), { kind: 'daemon.resumed', data: { trigger: 'credentials-file', verified: true } });
});
