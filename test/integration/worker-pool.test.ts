// A worker-pool failure through the real pool and the real AWS port, against an HTTP endpoint that holds
// requests open: a worker terminated mid-call, and the pool destroyed mid-call (the shutdown timeout). The
// outcome of a call a dead worker was running is unknown (transient, outcomeUnknown); a call that never reached
// a worker is known not sent; neither touches the credentials (no count, no reload, no pause).

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { CredentialSession } from '../../daemon/aws/credentials.js';
import type { Account } from '../../daemon/aws/operations.js';
import { AwsCallError, AwsPort } from '../../daemon/aws/port.js';
import type { WorkerPool } from '../../daemon/aws/task.js';
import { createLogger } from '../../daemon/log.js';
import { createWorkerPool } from '../../daemon/workers/pool.js';

const START = {
  recoveryPointArn: 'arn:aws:ec2:eu-west-2::snapshot/snap-0123456789abcdef0',
  sourceVaultName: 'vault-a',
  destinationVaultArn: 'arn:aws:backup:eu-west-2:222222222222:backup-vault:vault-a',
  iamRoleArn: 'arn:aws:iam::111111111111:role/service-role/AWSBackupDefaultServiceRole',
  idempotencyToken: 'token-1',
};

/** An endpoint that holds every request open while `hold` is set, and otherwise lists no vaults. */
async function endpoint(t: Test) {
  const held: ServerResponse[] = [];
  const state = { hold: true, received: 0 };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    state.received += 1;
    req.resume();
    if (state.hold) {
      held.push(res);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ BackupVaultList: [] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        for (const res of held) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, state };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function portOver(t: Test, pool: WorkerPool) {
  const loader = async () => ({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' });
  const sessions: Record<Account, CredentialSession> = {
    source: new CredentialSession('source', 'src', loader),
    destination: new CredentialSession('destination', 'dst', loader),
  };
  let exhausted = 0;
  const port = new AwsPort({
    pool,
    sessions,
    region: 'eu-west-2',
    log: createLogger({ level: 'error' }),
    rates: { startCopyJob: 1_000, listBackupVaults: 1_000 },
    baseBackoffMs: 10,
    pause: {
      credentialsExhausted: async () => {
        exhausted += 1;
      },
    },
  });
  const untouched = () => {
    const s = sessions.source;
    t.same(
      {
        failures: s.consecutiveFailures,
        reloads: s.reloads,
        generation: s.generation,
        exhausted,
        auth: port.counters.authFailures,
      },
      { failures: 0, reloads: 0, generation: 1, exhausted: 0, auth: 0 },
      'the credentials were not blamed: no failure counted, no reload, no pause',
    );
  };
  return { port, untouched };
}

t.test('a worker terminated mid-call: StartCopyJob’s outcome is unknown, an idempotent call is retried', async (t) => {
  const server = await endpoint(t);
  process.env.AWS_ENDPOINT_URL = server.url;
  const pool = createWorkerPool(1, createLogger({ level: 'error' }));
  t.teardown(() => pool.destroy());
  const { port, untouched } = portOver(t, pool);

  const start = port.call('source', 'startCopyJob', START, undefined, { noRetry: true });
  await until(() => server.state.received === 1, 'StartCopyJob to reach the endpoint');
  await pool.workerThreads()[0]?.terminate();
  // Whichever comes first: the call's end, or a second StartCopyJob (a resend of a call that may have been applied).
  const err = await Promise.race([
    start.then(
      () => undefined,
      (e: unknown) => e,
    ),
    until(() => server.state.received > 1, 'a resend').then(() => 'resent'),
  ]);
  t.not(err, 'resent', 'StartCopyJob was not resent after its worker died');
  t.ok(err instanceof AwsCallError, `an AwsCallError (${String(err)})`);
  const failure = (err as AwsCallError).failure;
  t.same(
    { kind: failure.kind, outcomeUnknown: failure.outcomeUnknown, name: failure.name },
    { kind: 'transient', outcomeUnknown: true, name: 'WorkerFailed' },
    'a call a dead worker was running: transient, outcome unknown (the copy engine reconciles it)',
  );
  t.equal(server.state.received, 1, 'StartCopyJob was not resent');
  untouched();

  // An idempotent listing meets the same crash: the port retries it on the replacement worker.
  const list = port.call('source', 'listBackupVaults', {});
  await until(() => server.state.received === 2, 'ListBackupVaults to reach the endpoint');
  server.state.hold = false;
  await until(() => pool.workerThreads().length > 0, 'a worker');
  await pool.workerThreads()[0]?.terminate();
  t.same(await list, { vaults: [] }, 'the listing is answered after a retry');
  t.equal(server.state.received, 3, 'sent once more');
  untouched();
});

t.test(
  'the pool destroyed mid-call (shutdown timeout): unknown if sent, not sent if it never reached a worker',
  async (t) => {
    const server = await endpoint(t);
    process.env.AWS_ENDPOINT_URL = server.url;
    // One call per worker: the second waits in the pool's queue.
    const pool = createWorkerPool(1, createLogger({ level: 'error' }), { tasksPerWorker: 1 });
    const { port, untouched } = portOver(t, pool);
    const shutdown = new AbortController();
    const settle = (p: Promise<unknown>) =>
      p.then(
        () => undefined,
        (e: unknown) => e,
      );
    const sent = settle(port.call('source', 'startCopyJob', START, shutdown.signal, { noRetry: true }));
    await until(() => server.state.received === 1, 'the first StartCopyJob to reach the endpoint');
    const queued = settle(
      port.call('source', 'startCopyJob', { ...START, idempotencyToken: 'token-2' }, shutdown.signal, {
        noRetry: true,
      }),
    );
    await new Promise((r) => setTimeout(r, 200));
    t.equal(server.state.received, 1, 'the second call waits for a worker');

    shutdown.abort(new Error('rpctl stop'));
    await pool.destroy();
    const first = await sent;
    t.ok(first instanceof AwsCallError, `the call in flight ends as an AwsCallError (${String(first)})`);
    t.same(
      { kind: (first as AwsCallError).failure.kind, outcomeUnknown: (first as AwsCallError).failure.outcomeUnknown },
      { kind: 'transient', outcomeUnknown: true },
      'its outcome is unknown, not "stopped before the request was sent"',
    );
    const second = await queued;
    t.notOk(second instanceof AwsCallError, 'the queued call ends with the stop, as not sent');
    t.match(String((second as Error)?.message), /rpctl stop/);
    t.equal(server.state.received, 1, 'the queued call never reached AWS');
    untouched();

    // Not at shutdown: a call to the closed pool is a transient failure known not to have been sent.
    const late = await settle(port.call('source', 'startCopyJob', START, undefined, { noRetry: true }));
    t.ok(late instanceof AwsCallError);
    t.same(
      { kind: (late as AwsCallError).failure.kind, outcomeUnknown: (late as AwsCallError).failure.outcomeUnknown },
      { kind: 'transient', outcomeUnknown: false },
    );
    untouched();
  },
);
