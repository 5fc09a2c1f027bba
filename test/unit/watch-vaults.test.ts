// The per-vault progress poller behind rpctl watch (daemon/watch-vaults.ts): one computation at a time, none
// before the period is up, a slow computation repeated less often, and a failure logged only while someone watches.

import t from 'tap';
import type { LogLevel } from '../../daemon/log.js';
import { createLogger } from '../../daemon/log.js';
import { VaultProgressPoller } from '../../daemon/watch-vaults.js';

function capturingLog() {
  const lines: { level: LogLevel; msg: string }[] = [];
  const log = createLogger({ level: 'debug', pretty: false, write: (line) => lines.push(JSON.parse(line)) });
  return { log, lines };
}

/** A computation the test finishes by hand, advancing the clock by `tookMs` first. */
function manualCompute(clock: { now: number }) {
  const calls: { finish: (tookMs: number) => void; fail: () => void }[] = [];
  const compute = () =>
    new Promise<{ vaults: []; unassigned: number }>((resolve, reject) => {
      calls.push({
        finish: (tookMs) => {
          clock.now += tookMs;
          resolve({ vaults: [], unassigned: calls.length });
        },
        fail: () => reject(new Error('worker gone')),
      });
    });
  return { compute, calls };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

t.test('one computation at a time, none before the period is up', async (t) => {
  const clock = { now: 1_000_000 };
  const { compute, calls } = manualCompute(clock);
  const { log } = capturingLog();
  const poller = new VaultProgressPoller({ compute, everyMs: 5_000, now: () => clock.now, log, watched: () => true });
  poller.refresh();
  poller.refresh();
  t.equal(calls.length, 1, 'single-flight');
  t.equal(poller.latest, null, 'nothing until the first computation ends');
  calls[0]?.finish(10);
  await settle();
  t.equal(poller.latest?.unassigned, 1);
  t.equal(poller.latest?.at, new Date(clock.now).toISOString());
  clock.now += 4_000;
  poller.refresh();
  t.equal(calls.length, 1, 'not again within the period');
  clock.now += 1_000;
  poller.refresh();
  t.equal(calls.length, 2, 'again once the period is up');
});

t.test('a slow computation is repeated less often', async (t) => {
  const clock = { now: 0 };
  const { compute, calls } = manualCompute(clock);
  const { log } = capturingLog();
  const poller = new VaultProgressPoller({ compute, everyMs: 5_000, now: () => clock.now, log, watched: () => true });
  poller.refresh();
  calls[0]?.finish(2_000);
  await settle();
  clock.now = 15_000;
  poller.refresh();
  t.equal(calls.length, 1, 'a 2 s computation waits longer than the 5 s period');
  clock.now = 20_000;
  poller.refresh();
  t.equal(calls.length, 2, 'and runs once it may take a tenth of the time');
});

t.test('a failure is logged while someone watches; nothing starts after stop()', async (t) => {
  const clock = { now: 0 };
  const { compute, calls } = manualCompute(clock);
  const { log, lines } = capturingLog();
  let watching = true;
  const poller = new VaultProgressPoller({ compute, everyMs: 1, now: () => clock.now, log, watched: () => watching });
  poller.refresh();
  calls[0]?.fail();
  await settle();
  t.equal(lines.filter((l) => l.msg === 'computing per-vault progress for rpctl watch failed').length, 1);
  clock.now += 10;
  watching = false;
  poller.refresh();
  calls[1]?.fail();
  await settle();
  t.equal(lines.length, 1, 'not logged once nobody watches');
  poller.stop();
  clock.now += 10;
  poller.refresh();
  t.equal(calls.length, 2, 'stopped');
});
