// Narrow unit tests of the copy engine's pure parts: the in-flight window (AIMD), the idempotency token, the
// failure classes and the crash-point parser. The engine itself is tested against the sandbox (test/e2e/copy.test.ts).

import t from 'tap';
import { classifyAwsError } from '../../daemon/aws/errors.js';
import { InFlightLimit } from '../../daemon/copy/concurrency.js';
import { CRASH_STEPS, parseCrashSpec } from '../../daemon/copy/crash.js';
import { classifyJobFailure, classifyStartRejection } from '../../daemon/copy/failures.js';
import { idempotencyToken } from '../../daemon/copy/token.js';

t.test('the window starts at the maximum, learns the quota, and recovers to it quickly', async (t) => {
  const w = new InFlightLimit(100);
  t.equal(w.limit, 100);
  w.onStarted();
  t.equal(w.limit, 100, 'never above the maximum');
  w.onQuotaExceeded(40);
  t.equal(w.limit, 36, 'multiplicative decrease to 90 % of the level the quota refused');
  t.equal(w.learnedQuota, 40);
  for (let i = 0; i < 3; i++) w.onStarted();
  t.equal(w.limit, 39, 'one per started job below the learned quota');
  for (let i = 0; i < 10; i++) w.onStarted();
  t.ok(w.limit <= 40, `probing above the quota is gentle (${w.limit})`);
  w.onThrottled();
  t.ok(w.limit <= 20, 'throttling halves it');
  for (let i = 0; i < 20; i++) w.onThrottled();
  t.equal(w.limit, 1, 'never below one');
  w.setMax(10);
  t.equal(w.max, 10);
  t.ok(w.limit <= 10);
});

t.test('the token is deterministic per point, vault and attempt, and shaped like a UUID', async (t) => {
  const a = idempotencyToken('arn:p1', 'arn:v1', 1);
  t.equal(a, idempotencyToken('arn:p1', 'arn:v1', 1), 'the same inputs give the same token');
  t.not(a, idempotencyToken('arn:p1', 'arn:v1', 2), 'a new attempt gets a new token');
  t.not(a, idempotencyToken('arn:p2', 'arn:v1', 1));
  t.not(a, idempotencyToken('arn:p1', 'arn:v2', 1));
  t.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
});

t.test('copy job failures are classed by AWS’s category and message', async (t) => {
  const cases: [string, string | null, string | null, string, string][] = [
    ['FAILED', 'Access Denied trying to call AWS Backup service', 'ACCESS_DENIED', 'access_denied', 'permanent'],
    [
      'FAILED',
      'Snapshot copy failed with error: Given key ID is not accessible. You must have DescribeKey permissions on the default CMK.',
      'ERROR',
      'key_not_accessible',
      'permanent',
    ],
    [
      'FAILED',
      'Copy job failed. Both source and destination account must be a member of the same organization',
      'ERROR',
      'organization',
      'permanent',
    ],
    [
      'FAILED',
      'The retention of the copy is outside the vault lock MaxRetentionDays',
      'ERROR',
      'vault_lock',
      'permanent',
    ],
    ['FAILED', 'An internal error occurred', 'ERROR', 'internal_error', 'transient'],
    ['FAILED', 'something nobody has seen before', null, 'unknown', 'transient'],
    ['PARTIAL', '2 of 3 child jobs failed', null, 'partial', 'permanent'],
  ];
  for (const [state, message, category, reason, kind] of cases) {
    t.same(classifyJobFailure(state, message, category), { reason, kind }, `${state}: ${message}`);
  }
});

t.test('StartCopyJob refusals: modeled errors are permanent, server faults transient', async (t) => {
  const refuse = (name: string, message: string) => classifyStartRejection(classifyAwsError({ name, message }));
  // A continuous point the plan's ARN check missed: the point's own reason, so its canary is replaced.
  t.same(refuse('InvalidRequestException', 'StartCopyJob does not support continuous backups'), {
    reason: 'source_point_not_copyable',
    kind: 'permanent',
  });
  t.same(refuse('InvalidParameterValueException', 'Lifecycle DeleteAfterDays must be positive'), {
    reason: 'invalid_request',
    kind: 'permanent',
  });
  t.same(refuse('ResourceNotFoundException', 'Recovery point arn:x was not found in backup vault v'), {
    reason: 'source_point_missing',
    kind: 'permanent',
  });
  t.same(refuse('AccessDeniedException', 'no'), { reason: 'access_denied', kind: 'permanent' });
  t.same(refuse('ServiceUnavailableException', 'try later'), { reason: 'internal_error', kind: 'transient' });
});

t.test('crash points: every step by name, optionally the n-th time; anything else is refused', async (t) => {
  t.equal(parseCrashSpec(undefined), undefined);
  for (const step of CRASH_STEPS) t.same(parseCrashSpec(step), { step, nth: 1 });
  t.same(parseCrashSpec('after-verify:7'), { step: 'after-verify', nth: 7 });
  t.throws(() => parseCrashSpec('after-lunch'), /RPCOPY_CRASH_AT=after-lunch: expected one of after-intent/);
  t.throws(() => parseCrashSpec('after-verify:0'), /optionally :N/);
});
