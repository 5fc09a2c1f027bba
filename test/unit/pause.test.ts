// The pause gate's two scopes (daemon/pause.ts) and how the AWS port honours them: during an operator's pause
// reads that track work already started go on while new work waits, and a StartCopyJob marked
// notSentWhilePaused is refused as not sent instead of waiting; a credentials pause (or one that meets
// rejected credentials) holds tracking too.

import t from 'tap';
import { CredentialSession } from '../../daemon/aws/credentials.js';
import { AwsPort, CallNotSent } from '../../daemon/aws/port.js';
import type { AwsTask, AwsTaskResult, WorkerPool } from '../../daemon/aws/task.js';
import { createLogger } from '../../daemon/log.js';
import type { OperatorEvent } from '../../daemon/notify.js';
import { createPauser, PauseGate } from '../../daemon/pause.js';

const settled = async (p: Promise<unknown>): Promise<boolean> => {
  let done = false;
  void p.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  await new Promise((r) => setTimeout(r, 20));
  return done;
};

t.test('an operator pause holds submitting only; a credentials pause holds tracking too', async (t) => {
  const gate = new PauseGate();
  t.ok(gate.allows('submit') && gate.allows('track'), 'open');
  t.equal(gate.pause('operator', 'by hand'), true);
  t.notOk(gate.allows('submit'), 'no new work');
  t.ok(gate.allows('track'), 'tracking goes on');
  t.ok(await settled(gate.wait(undefined, 'track')), 'a tracking wait passes at once');
  const submit = gate.wait();
  t.notOk(await settled(submit), 'a submitting wait waits');

  // The credentials of an account are rejected during the operator's pause: not a new pause, but tracking stops.
  t.equal(gate.pause('credentials', 'source account rejected'), false, 'the first reason stays');
  t.equal(gate.paused?.reason, 'operator');
  t.notOk(gate.allows('track'), 'tracking waits for the resume now');
  t.match(gate.paused?.note, /AWS rejected the credentials too.*source account rejected/);
  const track = gate.wait(undefined, 'track');
  t.notOk(await settled(track), 'a tracking wait waits');
  gate.resume();
  await Promise.all([submit, track]);
  t.ok(gate.allows('track') && gate.allows('submit'), 'open again');

  t.equal(gate.pause('credentials', 'expired'), true);
  t.notOk(gate.allows('track'), 'a credentials pause holds tracking');
  const aborted = new AbortController();
  const waiting = gate.wait(aborted.signal, 'track');
  aborted.abort(new Error('stopping'));
  await t.rejects(waiting, /stopping/, 'a stop ends the wait');
});

function fakePool() {
  const operations: string[] = [];
  const runAws = async (task: AwsTask): Promise<AwsTaskResult> => {
    operations.push(task.operation);
    return { ok: true, output: { jobs: [] }, generation: task.generation } as AwsTaskResult;
  };
  return { pool: { threads: 1, destroy: async () => undefined, runAws } as unknown as WorkerPool, operations };
}

t.test('through the port: tracking reads go on during an operator pause, StartCopyJob is not sent', async (t) => {
  const creds = async () => ({ accessKeyId: 'ASIAKEY1', secretAccessKey: 's'.repeat(30), sessionToken: 't' });
  const sessions = {
    source: new CredentialSession('source', 'src', creds),
    destination: new CredentialSession('destination', 'dst', creds),
  };
  const gate = new PauseGate();
  const { pool, operations } = fakePool();
  const port = new AwsPort({
    pool,
    sessions,
    gate,
    region: 'eu-west-2',
    log: createLogger({ level: 'error', write: () => undefined }),
    pause: { credentialsExhausted: async () => undefined },
  });
  gate.pause('operator', 'by hand');
  await port.call('source', 'listCopyJobs', { state: 'RUNNING' }, undefined, { whilePaused: 'track' });
  t.same(operations, ['listCopyJobs'], 'a tracking read is sent while paused');

  const start = {
    recoveryPointArn: 'arn:aws:ec2:eu-west-2::snapshot/snap-1',
    sourceVaultName: 'v',
    destinationVaultArn: 'arn:aws:backup:eu-west-2:222222222222:backup-vault:v',
    iamRoleArn: 'arn:aws:iam::111111111111:role/r',
    idempotencyToken: 'token',
  };
  await t.rejects(
    port.call('source', 'startCopyJob', start, undefined, { noRetry: true, notSentWhilePaused: true }),
    CallNotSent,
    'StartCopyJob is refused as not sent',
  );
  const plain = port.call('source', 'listCopyJobs', { state: 'CREATED' });
  t.notOk(await settled(plain), 'any other call waits for the resume');
  t.same(operations, ['listCopyJobs'], 'nothing else was sent while paused');
  gate.resume();
  await plain;
  t.same(operations, ['listCopyJobs', 'listCopyJobs'], 'the waiting call goes out on resume');

  gate.pause('credentials', 'expired');
  const tracking = port.call('source', 'listCopyJobs', {}, undefined, { whilePaused: 'track' });
  t.notOk(await settled(tracking), 'a credentials pause holds tracking reads');
  gate.resume();
  await tracking;
});

t.test('credentials rejected during an operator pause are announced once', async (t) => {
  const gate = new PauseGate();
  const records: { level: string; kind: string; message: string }[] = [];
  const events: OperatorEvent[] = [];
  let operatorNeeded = 0;
  const pause = createPauser({
    gate,
    journal: { record: (level, kind, message) => records.push({ level, kind, message }) },
    notifier: { notify: async (event) => void events.push(event) },
    onOperatorNeeded: () => operatorNeeded++,
  });
  t.equal(pause({ reason: 'operator', detail: 'paused by rpctl pause', byOperator: true }), true);
  t.same(
    events.map((e) => e.reason),
    ['operator'],
  );

  const detail = 'source account (profile prod): AWS rejected its credentials 3 times in a row (ExpiredToken)';
  t.equal(pause({ reason: 'credentials', detail, data: { account: 'source' } }), false, 'the operator’s reason stays');
  t.equal(gate.paused?.reason, 'operator');
  t.equal(events.length, 2, 'the operator is told although the daemon was paused already');
  t.match(events[1], {
    event: 'paused',
    reason: 'credentials',
    pausedFor: 'operator',
    account: 'source',
    message: /still paused \(operator\), and source account .*ExpiredToken/,
  });
  t.match(records.at(-1), { level: 'error', kind: 'daemon.credentials_rejected_while_paused' });

  t.equal(pause({ reason: 'credentials', detail: 'destination account too' }), false);
  t.equal(pause({ reason: 'preflight', detail: 'another reason' }), false);
  t.equal(events.length, 2, 'said once per pause; other reasons during a pause stay silent');
  t.equal(operatorNeeded, 0, 'an operator pause does not end a --once run');

  gate.resume();
  t.equal(pause({ reason: 'credentials', detail }), true, 'a credentials pause of its own');
  t.equal(events.length, 3);
  t.equal(pause({ reason: 'credentials', detail }), false);
  t.equal(events.length, 3, 'a credentials pause is not announced twice');
});
