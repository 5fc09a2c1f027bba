// Change-window arithmetic: daily windows in a time zone, overnight windows, days, DST, the run's deadline.

import t from 'tap';
import { ChangeWindow, runDeadline } from '../../daemon/window.js';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

t.test('no start/stop: always open, and only max runtime ends a run', async (t) => {
  const w = new ChangeWindow({});
  t.same(w.state(at('2026-11-26T12:00:00Z')), { open: true });
  t.notOk(w.scheduled);
  t.equal(runDeadline({ open: true }, 1_000, 5_000), 6_000);
  t.equal(runDeadline({ open: true }, 1_000), undefined);
});

t.test('an overnight window on weekdays, in London winter time', async (t) => {
  const w = new ChangeWindow({
    start: '22:00',
    stop: '05:30',
    days: ['mon', 'tue', 'wed', 'thu', 'fri'],
    timezone: 'Europe/London',
  });
  // 2026-11-23 is a Monday; London is on UTC in November.
  const mon23 = w.state(at('2026-11-23T23:00:00Z'));
  t.same({ open: mon23.open, closesAt: iso(mon23.closesAt) }, { open: true, closesAt: '2026-11-24T05:30:00.000Z' });
  const tue04 = w.state(at('2026-11-24T04:00:00Z'));
  t.equal(iso(tue04.closesAt), '2026-11-24T05:30:00.000Z', 'the window opened the evening before');
  const tue12 = w.state(at('2026-11-24T12:00:00Z'));
  t.same({ open: tue12.open, opensAt: iso(tue12.opensAt) }, { open: false, opensAt: '2026-11-24T22:00:00.000Z' });
  const sat04 = w.state(at('2026-11-28T04:00:00Z'));
  t.ok(sat04.open, 'Friday’s window runs into Saturday morning');
  const sat23 = w.state(at('2026-11-28T23:00:00Z'));
  t.same(
    { open: sat23.open, opensAt: iso(sat23.opensAt) },
    { open: false, opensAt: '2026-11-30T22:00:00.000Z' },
    'next: Monday',
  );
});

t.test('a day window in New York, and summer time', async (t) => {
  const w = new ChangeWindow({ start: '09:00', stop: '17:00', timezone: 'America/New_York' });
  const winter = w.state(at('2026-11-26T12:00:00Z'));
  t.same(
    { open: winter.open, opensAt: iso(winter.opensAt) },
    { open: false, opensAt: '2026-11-26T14:00:00.000Z' },
    'EST is UTC-5',
  );
  const summer = w.state(at('2026-07-01T15:00:00Z'));
  t.same(
    { open: summer.open, closesAt: iso(summer.closesAt) },
    { open: true, closesAt: '2026-07-01T21:00:00.000Z' },
    'EDT is UTC-4',
  );
});

t.test('a window that opens inside the spring-forward gap opens when the clock jumps', async (t) => {
  // London skips 01:00–02:00 local on 2026-03-29 (clocks go to BST at 01:00 UTC).
  const w = new ChangeWindow({ start: '01:30', stop: '03:00', days: ['sun'], timezone: 'Europe/London' });
  const before = w.state(at('2026-03-29T00:30:00Z'));
  t.equal(iso(before.opensAt), '2026-03-29T01:00:00.000Z', 'opens at 02:00 BST, the first instant after the gap');
  const inside = w.state(at('2026-03-29T01:30:00Z'));
  t.same({ open: inside.open, closesAt: iso(inside.closesAt) }, { open: true, closesAt: '2026-03-29T02:00:00.000Z' });
});

t.test('the run ends at the window’s close or after max runtime, whichever is first', async (t) => {
  t.equal(runDeadline({ open: true, closesAt: 10_000 }, 0, 5_000), 5_000);
  t.equal(runDeadline({ open: true, closesAt: 10_000 }, 0, 50_000), 10_000);
  t.equal(runDeadline({ open: true, closesAt: 10_000 }, 0), 10_000);
});
