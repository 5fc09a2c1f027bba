// The AWS port's per-operation rate limiter: spacing at the current rate, a third less after throttling
// (at most once a second, never below a tenth of the quota), and 1 % of the quota back per call that goes through.

import t from 'tap';
import { RateLimiter } from '../../daemon/aws/rate-limiter.js';

t.test('starts at the quota, loses a third per throttle, never below a tenth', async (t) => {
  const limiter = new RateLimiter(20);
  t.equal(limiter.currentRate, 20);
  limiter.throttled(0);
  t.equal(Math.round(limiter.currentRate * 1000) / 1000, 13.333);
  for (let i = 1; i <= 20; i++) limiter.throttled(i * 1000);
  t.equal(limiter.currentRate, 2, 'a tenth of the quota is the floor');
});

t.test('a burst of refusals within a second is one cut', async (t) => {
  const limiter = new RateLimiter(30);
  for (let ms = 0; ms < 1000; ms += 100) limiter.throttled(5_000 + ms);
  t.equal(limiter.currentRate, 20, 'ten refusals in 900 ms cut the rate once');
  limiter.throttled(6_000);
  t.equal(Math.round(limiter.currentRate * 1000) / 1000, 13.333, 'the next second may cut again');
});

t.test('calls that go through win the rate back, up to the quota and no further', async (t) => {
  const limiter = new RateLimiter(20);
  limiter.throttled(0);
  limiter.throttled(1_000);
  const low = limiter.currentRate;
  limiter.succeeded();
  t.equal(Math.round((limiter.currentRate - low) * 1000) / 1000, 0.2, 'each success adds 1 % of the quota');
  for (let i = 0; i < 100; i++) limiter.succeeded();
  t.equal(limiter.currentRate, 20);
});

t.test('spaces calls at the current rate', async (t) => {
  const limiter = new RateLimiter(50);
  const started = Date.now();
  for (let i = 0; i < 6; i++) await limiter.take();
  // 6 calls at 50/s: the first at once, the sixth 5 × 20 ms later (a lower bound; a busy machine only adds).
  t.ok(Date.now() - started >= 95, `six calls took ${Date.now() - started} ms`);
  for (let i = 0; i < 3; i++) limiter.throttled(Date.now() + i * 1000);
  const slower = Date.now();
  await limiter.take();
  await limiter.take();
  // The next slot was booked at 50/s; the one after at the throttled rate (50 × (2/3)^3 ≈ 14.8/s, 67 ms).
  t.ok(Date.now() - slower >= 60, `two calls after throttling took ${Date.now() - slower} ms`);
});

t.test('an aborted wait rejects', async (t) => {
  const limiter = new RateLimiter(1);
  await limiter.take();
  const controller = new AbortController();
  const waiting = limiter.take(controller.signal);
  controller.abort();
  await t.rejects(waiting);
});

t.test('waiting callers go by priority, then in arrival order', async (t) => {
  const limiter = new RateLimiter(100);
  await limiter.take(); // the next slot is now 10 ms away, so everything below waits
  const order: string[] = [];
  const waits = [
    limiter.take(undefined, 1).then(() => order.push('low, first')),
    limiter.take(undefined, 5).then(() => order.push('high')),
    limiter.take(undefined, 1).then(() => order.push('low, second')),
    limiter.take().then(() => order.push('none')),
  ];
  t.equal(limiter.queued, 4);
  await Promise.all(waits);
  t.same(order, ['high', 'low, first', 'low, second', 'none']);
});

t.test('an aborted waiter gives its place up to the next one', async (t) => {
  const limiter = new RateLimiter(100);
  await limiter.take();
  const controller = new AbortController();
  const aborted = limiter.take(controller.signal, 9);
  const other = limiter.take(undefined, 1);
  controller.abort();
  await t.rejects(aborted, { name: 'AbortError' });
  t.equal(limiter.queued, 1);
  await other;
  t.equal(limiter.queued, 0);
});

t.test('an idle limiter earns no burst', async (t) => {
  const limiter = new RateLimiter(50);
  await limiter.take();
  await new Promise((resolve) => setTimeout(resolve, 100));
  const started = Date.now();
  for (let i = 0; i < 4; i++) await limiter.take();
  // Idle for five intervals, then four calls: the first at once, the fourth three intervals (60 ms) later.
  t.ok(Date.now() - started >= 55, `four calls after an idle spell took ${Date.now() - started} ms`);
});
