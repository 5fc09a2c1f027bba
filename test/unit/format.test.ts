// What a person reads from rpctl: sizes, durations, averages, times and notes.

import t from 'tap';
import { bytes, distinct, duration, localTime, measured } from '../../ctl/format.js';

t.test('sizes in binary units with separators', async (t) => {
  t.equal(bytes(0), '0 bytes');
  t.equal(bytes(1023), '1,023 bytes');
  t.equal(bytes(1536), '1.5 KiB');
  t.equal(bytes(1234.5 * 2 ** 30), '1.2 TiB');
  t.equal(bytes(1000 * 2 ** 30), '1,000.0 GiB');
  t.equal(bytes(3 * 2 ** 50), '3,072.0 TiB', 'a backlog stays in TiB below 10 PiB');
  t.equal(bytes(12 * 2 ** 50), '12.0 PiB');
});

t.test('durations in their two largest units', async (t) => {
  t.equal(duration(3 * 3_600_000 + 20 * 60_000 + 5_000), '3h 20m');
  t.equal(duration(2 * 86_400_000 + 4 * 3_600_000), '2d 4h');
  t.equal(duration(3 * 3_600_000 + 10_000), '3h', 'a zero second unit is left out');
  t.equal(duration(45_000), '45s');
  t.equal(duration(0), 'under 1s', 'never "0ms"');
  t.equal(duration(Number.POSITIVE_INFINITY), 'never');
});

t.test('an average not measured yet says so', async (t) => {
  t.equal(measured(null), 'not measured yet');
  t.equal(measured(0), 'not measured yet');
  t.equal(measured(90_000), '1m 30s');
});

t.test("times in the operator's time zone, without milliseconds", async (t) => {
  t.equal(localTime('2026-12-07T05:30:12.345Z', { timeZone: 'Europe/London' }), '2026-12-07 05:30 GMT');
  t.equal(localTime('2026-07-07T05:30:12.345Z', { timeZone: 'Europe/London' }), '2026-07-07 06:30 BST');
  t.equal(localTime('2026-07-07T05:30:12.345Z', { timeZone: 'UTC', seconds: true }), '2026-07-07 05:30:12 UTC');
  t.equal(localTime('not a date'), 'not a date');
});

t.test('repeated notes are shown once', async (t) => {
  t.same(distinct(['a', 'b', 'a', 'a']), ['a (×3)', 'b']);
});
