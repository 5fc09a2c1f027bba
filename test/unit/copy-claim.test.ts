// What the copy engine decides about one point without asking AWS: why a claimed
// point is no longer worth a job, and which failures belong to the point itself.

import t from 'tap';
import { classifyJobFailure, classifyStartRejection } from '../../daemon/copy/failures.js';
import { staleAtClaim } from '../../daemon/copy/phase.js';

const DAY = 86_400_000;
const now = Date.UTC(2026, 11, 6);
const fresh = { goneAt: null, pointStatus: 'COMPLETED', deleteAt: now + 30 * DAY, moveToColdAt: null };

t.test('a point is stale at claim when the inventory last saw it gone, not copyable, cold or expiring', async (t) => {
  t.equal(staleAtClaim(fresh, now, 2 * DAY), undefined, 'a completed point far from expiry is copied');
  t.equal(staleAtClaim({ ...fresh, pointStatus: 'AVAILABLE' }, now, 2 * DAY), undefined, 'AVAILABLE is copyable');
  t.equal(staleAtClaim({ ...fresh, deleteAt: null }, now, 2 * DAY), undefined, 'a point kept forever is copied');
  t.equal(staleAtClaim({ ...fresh, goneAt: now - 1 }, now, 2 * DAY), 'point_gone');
  t.equal(staleAtClaim({ ...fresh, pointStatus: 'DELETING' }, now, 2 * DAY), 'status_not_completed');
  t.equal(staleAtClaim({ ...fresh, moveToColdAt: now }, now, 2 * DAY), 'cold_storage', 'cold from that moment on');
  t.equal(staleAtClaim({ ...fresh, moveToColdAt: now + DAY }, now, 2 * DAY), undefined, 'not cold yet');
  t.equal(staleAtClaim({ ...fresh, deleteAt: now + DAY }, now, 2 * DAY), 'expiring_before_copy');
  t.equal(staleAtClaim({ ...fresh, deleteAt: now + 3 * DAY }, now, 2 * DAY), undefined, 'outside the margin');
});

t.test(
  'failures of the point itself are named as such, so a canary is replaced rather than its combination held',
  async (t) => {
    t.same(classifyJobFailure('FAILED', 'Recovery points in cold storage cannot be copied', null), {
      reason: 'source_point_not_copyable',
      kind: 'permanent',
    });
    t.same(classifyJobFailure('FAILED', 'An internal error occurred; try again', null), {
      reason: 'internal_error',
      kind: 'transient',
    });
    const missing = classifyStartRejection({
      name: 'ResourceNotFoundException',
      message: 'Recovery point arn:aws:backup:x was not found in backup vault v',
      kind: 'not_found',
      outcomeUnknown: false,
    });
    t.same(missing, { reason: 'source_point_missing', kind: 'permanent' });
    const deleting = classifyStartRejection({
      name: 'InvalidRequestException',
      message: 'Recovery point arn:aws:backup:x is in DELETING status and cannot be copied',
      kind: 'permanent',
      outcomeUnknown: false,
    });
    t.same(deleting, { reason: 'source_point_not_copyable', kind: 'permanent' });
    const shape = classifyStartRejection({
      name: 'InvalidParameterValueException',
      message: 'Invalid lifecycle',
      kind: 'permanent',
      outcomeUnknown: false,
    });
    t.same(shape, { reason: 'invalid_request', kind: 'permanent' }, 'a request-shape refusal is not the point’s');
  },
);
