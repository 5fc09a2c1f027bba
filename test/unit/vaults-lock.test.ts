// Lock comparison and the "only ever stricter" plan of daemon/vaults/lock.ts.

import t from 'tap';
import {
  changeableForDays,
  compareLocks,
  DAY_MS,
  type LockSettings,
  lockOf,
  planLock,
} from '../../daemon/vaults/lock.js';

const NOW = Date.UTC(2026, 0, 1);
const none: LockSettings = { mode: 'none', minRetentionDays: null, maxRetentionDays: null, lockDate: null };
const governance = (min: number | null, max: number | null): LockSettings => ({
  mode: 'governance',
  minRetentionDays: min,
  maxRetentionDays: max,
  lockDate: null,
});
const compliance = (min: number | null, max: number | null, lockDate = NOW - 200 * DAY_MS): LockSettings => ({
  mode: 'compliance',
  minRetentionDays: min,
  maxRetentionDays: max,
  lockDate,
});

t.test('lockOf: a LockDate means compliance, Locked without one governance', async (t) => {
  t.equal(lockOf({ locked: true, minRetentionDays: 7, maxRetentionDays: 30, lockDate: NOW }).mode, 'compliance');
  t.equal(lockOf({ locked: true, minRetentionDays: 7, maxRetentionDays: 30, lockDate: null }).mode, 'governance');
  t.same(lockOf({ locked: false, minRetentionDays: null, maxRetentionDays: null, lockDate: null }), none);
});

t.test('compareLocks: weaker is drift, stricter is a note', async (t) => {
  t.same(compareLocks(governance(30, 3650), governance(30, 3650)), { weaker: [], stricter: [] });
  const weaker = compareLocks(compliance(7, 365), governance(1, 36500));
  t.equal(weaker.weaker.length, 3, 'mode, minimum and maximum');
  t.match(weaker.weaker[0], /lock mode is governance, the source's is compliance/);
  t.equal(compareLocks(governance(7, 400), none).weaker.length, 3, 'no lock at all');
  const stricter = compareLocks(governance(7, 400), governance(14, 100));
  t.same(stricter.weaker, []);
  t.equal(stricter.stricter.length, 2);
  t.same(compareLocks(none, none), { weaker: [], stricter: [] });
});

t.test('planLock: an unlocked destination gets the source lock', async (t) => {
  t.same(planLock(governance(30, 3650), none, { confirmCompliance: false, now: NOW }).put, {
    minRetentionDays: 30,
    maxRetentionDays: 3650,
  });
  t.same(planLock(none, none, { confirmCompliance: true, now: NOW }), { drift: [], notes: [] }, 'nothing to lock');
});

t.test('planLock: compliance only when confirmed; otherwise governance and drift', async (t) => {
  const confirmed = planLock(compliance(7, 365), none, { confirmCompliance: true, now: NOW });
  t.same(confirmed.put, { minRetentionDays: 7, maxRetentionDays: 365, changeableForDays: 3 });
  t.same(confirmed.drift, []);
  const unconfirmed = planLock(compliance(7, 365), none, { confirmCompliance: false, now: NOW });
  t.same(unconfirmed.put, { minRetentionDays: 7, maxRetentionDays: 365 }, 'governance, same limits');
  t.same(unconfirmed.pendingCompliance, { minRetentionDays: 7, maxRetentionDays: 365, changeableForDays: 3 });
  t.match(unconfirmed.drift[0], /confirm_compliance_lock/);
  // Once the governance lock is in place, an unconfirmed re-run changes nothing but still reports it.
  const again = planLock(compliance(7, 365), governance(7, 365), { confirmCompliance: false, now: NOW });
  t.equal(again.put, undefined);
  t.equal(again.drift.length, 1);
  // Confirming later upgrades governance to compliance.
  t.same(planLock(compliance(7, 365), governance(7, 365), { confirmCompliance: true, now: NOW }).put, {
    minRetentionDays: 7,
    maxRetentionDays: 365,
    changeableForDays: 3,
  });
});

t.test('planLock: the grace period follows the source, at least 3 days', async (t) => {
  t.equal(changeableForDays(compliance(1, 2, NOW + 10 * DAY_MS), NOW), 10);
  t.equal(changeableForDays(compliance(1, 2, NOW + 2 * DAY_MS), NOW), 3);
  t.equal(changeableForDays(compliance(1, 2, NOW - DAY_MS), NOW), 3, 'an immutable source: the shortest grace');
});

t.test('planLock: never loosens a destination', async (t) => {
  // Weaker destination: tightened to the source.
  t.same(planLock(governance(30, 3650), governance(7, 36500), { confirmCompliance: false, now: NOW }).put, {
    minRetentionDays: 30,
    maxRetentionDays: 3650,
  });
  // Stricter destination: kept, noted, no put.
  const stricter = planLock(governance(7, 400), governance(14, 100), { confirmCompliance: true, now: NOW });
  t.equal(stricter.put, undefined);
  t.equal(stricter.notes.length, 2);
  // Mixed: the minimum goes up, the stricter maximum stays.
  t.same(planLock(governance(30, 3650), governance(7, 1000), { confirmCompliance: false, now: NOW }).put, {
    minRetentionDays: 30,
    maxRetentionDays: 1000,
  });
  // A compliance destination is never downgraded to governance, nor touched.
  const locked = planLock(governance(30, 3650), compliance(7, 3650, NOW + DAY_MS), {
    confirmCompliance: false,
    now: NOW,
  });
  t.equal(locked.put, undefined);
  t.match(locked.drift[0], /minimum retention is 7.*compliance lock rpcopy does not change/);
  // A destination lock the source's cannot be combined with is left alone.
  const clash = planLock(governance(400, 800), governance(1, 100), { confirmCompliance: false, now: NOW });
  t.equal(clash.put, undefined);
  t.match(clash.drift[0], /without loosening/);
  // A source without a lock never removes the destination's.
  t.equal(planLock(none, governance(7, 30), { confirmCompliance: true, now: NOW }).put, undefined);
});
