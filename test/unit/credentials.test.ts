// The credential session (daemon/aws/credentials.ts) on its own and behind the AWS port:
// single-flight reloads counted once per generation, a reload that waits for a refresher's rewrite, exhaustion
// at 3, verification before a resume; and through AwsPort with a fake worker pool: many concurrent calls failing
// on one expired token cause one reload, and no task carries the old credentials once the reload has begun.

import t from 'tap';
import { CredentialSession, type CredentialSessionTiming, verifyCredentials } from '../../daemon/aws/credentials.js';
import { classifyAwsError } from '../../daemon/aws/errors.js';
import type { Account } from '../../daemon/aws/operations.js';
import { AwsCallError, AwsPort } from '../../daemon/aws/port.js';
import type { AwsCredentials, AwsTask, AwsTaskResult, WorkerPool } from '../../daemon/aws/task.js';
import { createLogger } from '../../daemon/log.js';

const key = (n: number): AwsCredentials => ({
  accessKeyId: `ASIAKEY${n}`,
  secretAccessKey: `secret-${n}-${'x'.repeat(30)}`,
  sessionToken: `token-${n}`,
});

/** A credentials "file" the test rewrites; counts reads. */
function fakeFile(initial = 1) {
  const file = { current: initial, reads: 0 };
  const load = async () => {
    file.reads += 1;
    return key(file.current);
  };
  return { file, load };
}

/** Virtual time: sleep() advances it at once, so the reload's waiting is observable without waiting. */
function virtualTime(onSleep?: (ms: number) => void): Required<Pick<CredentialSessionTiming, 'sleep' | 'now'>> & {
  slept: number[];
} {
  let now = 0;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
      onSleep?.(ms);
    },
  };
}

t.test('concurrent failures on one generation: one reload, one failure', async (t) => {
  const { file, load } = fakeFile();
  const session = new CredentialSession('source', 'p', load, 3, virtualTime());
  const first = await session.credentials();
  t.equal(first.generation, 1);
  file.current = 2; // the refresher already rewrote the file
  const verdicts = Array.from({ length: 20 }, () => session.reportAuthFailure(first.generation));
  t.same(new Set(verdicts), new Set(['retry']));
  t.equal(session.consecutiveFailures, 1, 'counted once');
  t.equal(session.generation, 2, 'one new generation');
  t.equal(session.reloads, 1, 'one reload');
  const second = await session.credentials();
  t.same(second, { generation: 2, credentials: key(2) });
  t.equal(file.reads, 2, 'the file was read once for the reload');

  // A late failure of a call made with generation 1 says nothing about generation 2.
  t.equal(session.reportAuthFailure(1), 'retry');
  t.equal(session.consecutiveFailures, 1, 'a stale failure is not counted');
  t.equal(session.generation, 2, 'and reloads nothing');
  session.reportSuccess(1);
  t.equal(session.consecutiveFailures, 1, 'a stale success resets nothing');
  session.reportSuccess(2);
  t.equal(session.consecutiveFailures, 0, 'a success on the current generation resets the count');
});

t.test('a reload keeps re-reading an unchanged file for a moment, so a late refresher is picked up', async (t) => {
  const { file, load } = fakeFile();
  let elapsed = 0;
  const time = virtualTime((ms) => {
    elapsed += ms;
    // The refresher rewrites the file 600 ms after the rejection.
    if (elapsed >= 600) file.current = 2;
  });
  const session = new CredentialSession('source', 'p', load, 3, { ...time, reloadWaitMs: 1000, pollMs: 200 });
  await session.credentials();
  session.reportAuthFailure(1);
  const reloaded = await session.credentials();
  t.same(reloaded.credentials, key(2), 'the rewritten keys');
  t.equal(reloaded.generation, 2);
  t.equal(session.reloads, 1, 'still one reload');
  t.same(time.slept, [200, 200, 200], 'polled until the file changed');
});

t.test('no refresher: the window doubles, and the third failed generation exhausts the session', async (t) => {
  const { load } = fakeFile();
  const time = virtualTime();
  const session = new CredentialSession('source', 'p', load, 3, { ...time, reloadWaitMs: 1000, pollMs: 250 });
  let current = await session.credentials();
  t.equal(session.reportAuthFailure(current.generation), 'retry');
  current = await session.credentials();
  t.same(current, { generation: 2, credentials: key(1) }, 'the same keys after the window, as a new generation');
  t.equal(
    time.slept.reduce((a, b) => a + b, 0),
    1000,
    'the first reload waited about a second',
  );
  t.equal(session.reportAuthFailure(current.generation), 'retry');
  current = await session.credentials();
  t.equal(
    time.slept.reduce((a, b) => a + b, 0),
    3000,
    'the second waited twice as long',
  );
  t.equal(session.reportAuthFailure(current.generation), 'exhausted');
  t.equal(session.consecutiveFailures, 3);
  t.ok(session.exhausted);
  t.equal(session.generation, 3, 'an exhausted session does not reload');
  t.equal(session.reportAuthFailure(current.generation), 'exhausted', 'other calls on it hear the same');
  t.equal(session.consecutiveFailures, 3, 'and are not counted again');
  t.same(session.snapshot(), { profile: 'p', generation: 3, consecutiveFailures: 3, reloads: 2, exhausted: true });
  t.notMatch(JSON.stringify(session.snapshot()), /ASIA|secret|token-/, 'no key material in the snapshot');

  // reloadNow (a resume) reads the file again but keeps the count until a call succeeds.
  const again = await session.reloadNow();
  t.equal(again.generation, 4);
  t.ok(session.exhausted, 'still exhausted before the token is proven');
  session.reportSuccess(4);
  t.notOk(session.exhausted);
});

t.test('holdsNewKeys tells a refreshed file from an unchanged one', async (t) => {
  const { file, load } = fakeFile();
  const session = new CredentialSession('source', 'p', load, 3, virtualTime());
  t.equal(await session.holdsNewKeys(), false, 'nothing read yet');
  await session.credentials();
  t.equal(await session.holdsNewKeys(), false);
  file.current = 2;
  t.equal(await session.holdsNewKeys(), true);
  const failing = new CredentialSession('source', 'p', async () => {
    throw new Error('no such profile');
  });
  t.equal(await failing.holdsNewKeys(), false);
});

t.test('a credentials file that cannot be read is a failure of that generation, counted once', async (t) => {
  let broken = true;
  const session = new CredentialSession(
    'source',
    'p',
    async () => {
      if (broken) throw new Error('profile p not found');
      return key(1);
    },
    3,
    virtualTime(),
  );
  await t.rejects(session.credentials(), /not found/);
  await t.rejects(session.credentials(), /not found/, 'the same answer until the failure is reported');
  t.equal(session.reportAuthFailure(1), 'retry');
  t.equal(session.reportAuthFailure(1), 'retry');
  t.equal(session.consecutiveFailures, 1, 'counted once');
  await t.rejects(session.credentials(), /not found/, 'the reload could not read it either');
  t.equal(session.reportAuthFailure(2), 'retry');
  broken = false;
  t.same(await session.credentials(), { generation: 3, credentials: key(1) }, 'read once the file is back');
  t.equal(session.consecutiveFailures, 2);
});

function sessionsFor(loaders: Record<Account, () => Promise<AwsCredentials>>, timing: CredentialSessionTiming = {}) {
  return {
    source: new CredentialSession('source', 'src', loaders.source, 3, timing),
    destination: new CredentialSession('destination', 'dst', loaders.destination, 3, timing),
  };
}

t.test('verifyCredentials: reload, ask STS, compare the account', async (t) => {
  const calls: { account: Account; options: unknown; key: string }[] = [];
  const valid = new Set(['ASIAKEY2', 'ASIAKEY9']);
  const owner: Record<string, string> = { ASIAKEY2: '111111111111', ASIAKEY9: '999999999999' };
  const files = { source: 1, destination: 2 };
  const sessions = sessionsFor({
    source: async () => key(files.source),
    destination: async () => key(files.destination),
  });
  const port = {
    call: async (account: Account, _op: string, _input: unknown, _signal?: AbortSignal, options?: unknown) => {
      const current = await sessions[account].credentials();
      calls.push({ account, options, key: current.credentials.accessKeyId });
      if (!valid.has(current.credentials.accessKeyId)) {
        throw new AwsCallError(
          'getCallerIdentity',
          account,
          classifyAwsError({ name: 'ExpiredToken', message: 'The security token included in the request is expired' }),
        );
      }
      sessions[account].reportSuccess(current.generation);
      return { account: owner[current.credentials.accessKeyId]!, arn: 'arn', userId: 'u' };
    },
  } as unknown as AwsPort;
  const accountIds = { source: '111111111111', destination: '222222222222' };

  let problems = await verifyCredentials({ port, sessions, accountIds });
  t.same(
    problems.map((p) => [p.account, p.kind]),
    [
      ['source', 'rejected'],
      ['destination', 'wrong_account'],
    ],
  );
  t.match(problems[0]?.message, /source account \(profile src\): AWS still rejects the token \(ExpiredToken/);
  t.match(problems[1]?.message, /for account 111111111111, expected 222222222222/);
  t.ok(
    calls.every((c) => JSON.stringify(c.options) === JSON.stringify({ ignorePause: true, authRetry: false })),
    'the check passes the pause gate and does not retry a rejection',
  );

  files.source = 2;
  files.destination = 9;
  owner.ASIAKEY9 = '222222222222';
  problems = await verifyCredentials({ port, sessions, accountIds });
  t.same(problems, [], 'verified once the file holds working keys of the right accounts');
  t.same(
    calls.slice(-2).map((c) => c.key),
    ['ASIAKEY2', 'ASIAKEY9'],
    'with the keys read now, not the cached ones',
  );
});

/** A worker pool that answers like AWS: only the currently valid key works. */
function fakePool(valid: { key: string }) {
  const tasks: { generation: number; key: string; at: number }[] = [];
  let seq = 0;
  const runAws = async (task: AwsTask): Promise<AwsTaskResult> => {
    tasks.push({ generation: task.generation, key: task.credentials.accessKeyId, at: seq++ });
    await new Promise((r) => setTimeout(r, 5));
    if (task.credentials.accessKeyId !== valid.key) {
      const error = { name: 'ExpiredTokenException', message: 'The security token included in the request is expired' };
      return { ok: false, error, generation: task.generation };
    }
    return { ok: true, output: { account: '111111111111', arn: 'a', userId: 'u' }, generation: task.generation };
  };
  const pool = { threads: 4, destroy: async () => undefined, runAws } as unknown as WorkerPool;
  return { pool, tasks };
}

const quietLog = createLogger({ level: 'error', write: () => undefined });

t.test('through the port: an operation is paced at its configured rate', async (t) => {
  const sessions = sessionsFor({ source: async () => key(1), destination: async () => key(100) });
  const { pool, tasks } = fakePool({ key: 'ASIAKEY1' });
  const port = new AwsPort({
    pool,
    sessions,
    region: 'eu-west-2',
    log: quietLog,
    pause: { credentialsExhausted: async () => undefined },
    rates: { getCallerIdentity: 20 },
  });
  const started = Date.now();
  await Promise.all(Array.from({ length: 6 }, () => port.call('source', 'getCallerIdentity', {})));
  // 6 calls at 20/s: the sixth 5 × 50 ms after the first (a lower bound; a busy machine only adds).
  t.ok(Date.now() - started >= 240, `6 calls at 20/s took ${Date.now() - started} ms`);
  t.equal(tasks.length, 6);
});

t.test('through the port: 30 calls failing on one expired token cause one reload and no pause', async (t) => {
  const file = { current: 1 };
  const valid = { key: 'ASIAKEY1' };
  const sessions = sessionsFor({ source: async () => key(file.current), destination: async () => key(100) });
  const { pool, tasks } = fakePool(valid);
  let pauses = 0;
  const port = new AwsPort({
    pool,
    sessions,
    region: 'eu-west-2',
    log: quietLog,
    pause: {
      credentialsExhausted: async () => {
        pauses += 1;
      },
    },
    rates: { getCallerIdentity: 10_000 },
  });
  await port.call('source', 'getCallerIdentity', {});
  // The token expires and the refresher rewrites the file: every call in flight fails on the old key.
  valid.key = 'ASIAKEY2';
  file.current = 2;
  const before = tasks.length;
  await Promise.all(Array.from({ length: 30 }, () => port.call('source', 'getCallerIdentity', {})));
  t.equal(sessions.source.reloads, 1, 'one reload');
  t.equal(sessions.source.generation, 2);
  t.equal(sessions.source.consecutiveFailures, 0, 'reset by the successes');
  t.equal(pauses, 0, 'never paused');
  const after = tasks.slice(before);
  const firstNew = after.findIndex((x) => x.generation === 2);
  t.ok(firstNew >= 0);
  t.ok(
    after.slice(firstNew).every((x) => x.generation === 2 && x.key === 'ASIAKEY2'),
    'once the new generation exists, no task carries the old credentials',
  );
});

t.test('through the port: no refresher pauses once, after exactly 3 failed generations', async (t) => {
  const valid = { key: 'ASIAKEY1' };
  const file = { current: 1 };
  const sessions = sessionsFor(
    { source: async () => key(file.current), destination: async () => key(100) },
    { reloadWaitMs: 20, pollMs: 10 },
  );
  const { pool, tasks } = fakePool(valid);
  const exhausted: { account: Account; failures: number; failure: string }[] = [];
  let release!: () => void;
  const resumed = new Promise<void>((r) => {
    release = r;
  });
  const port = new AwsPort({
    pool,
    sessions,
    region: 'eu-west-2',
    log: quietLog,
    pause: {
      credentialsExhausted: async (account, failure) => {
        exhausted.push({ account, failures: sessions[account].consecutiveFailures, failure: failure.name });
        await resumed;
      },
    },
    rates: { getCallerIdentity: 10_000 },
  });
  await port.call('source', 'getCallerIdentity', {});
  valid.key = 'ASIAKEY2'; // expired, and nobody rewrites the file
  const calls = Promise.all(Array.from({ length: 10 }, () => port.call('source', 'getCallerIdentity', {})));
  const deadline = Date.now() + 20_000;
  while (exhausted.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  t.equal(exhausted[0]?.failures, 3, 'exhausted at exactly 3 consecutive failures');
  t.equal(exhausted[0]?.failure, 'ExpiredTokenException');
  t.equal(sessions.source.generation, 3, 'two reloads, none after the third failure');
  const generations = new Set(tasks.map((x) => x.generation));
  t.same([...generations].sort(), [1, 2, 3]);

  // The operator refreshes the token; the resume verifies it, then the waiting calls carry on: nothing is lost.
  file.current = 2;
  t.same(
    await verifyCredentials({
      port,
      sessions: { source: sessions.source } as never,
      accountIds: { source: '111111111111' } as never,
    }),
    [],
  );
  t.notOk(sessions.source.exhausted, 'verified: the count is reset');
  release();
  const results = await calls;
  t.equal(results.length, 10, 'every call waiting on the pause completes');
  t.equal(sessions.source.consecutiveFailures, 0);
});

t.test('through the port: authRetry false returns a rejection at once, uncounted', async (t) => {
  const sessions = sessionsFor({ source: async () => key(1), destination: async () => key(2) });
  const { pool } = fakePool({ key: 'none' });
  const port = new AwsPort({
    pool,
    sessions,
    region: 'eu-west-2',
    log: quietLog,
    pause: {
      credentialsExhausted: async () => {
        t.fail('must not pause');
      },
    },
  });
  const error = await port
    .call('source', 'getCallerIdentity', {}, undefined, { ignorePause: true, authRetry: false })
    .then(
      () => undefined,
      (err: unknown) => err,
    );
  t.ok(error instanceof AwsCallError && error.failure.kind === 'auth', 'an AwsCallError of kind auth');
  t.equal(sessions.source.consecutiveFailures, 0);
  t.equal(sessions.source.generation, 1, 'no reload');
});
