// The state directory's lock: one daemon per directory, and a lock left by a dead daemon never blocks the next
// start, even when its pid now belongs to another node process.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { acquireStateLock, processStartMs } from '../../daemon/lock.js';

function stateDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'rpcopy-lock-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Another node process, alive for the test's length: what a reused pid may point at. */
async function otherNodeProcess(t: { teardown(fn: () => void): void }): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
  t.teardown(() => child.kill('SIGKILL'));
  await new Promise((resolve) => child.once('spawn', resolve));
  if (child.pid === undefined) throw new Error('the child process has no pid');
  return child.pid;
}

t.test('a live node process that started before the lock was written holds it', async (t) => {
  const dir = stateDir(t);
  const pid = await otherNodeProcess(t);
  writeFileSync(join(dir, 'rpcopyd.lock'), `${pid}\n`);
  t.throws(() => acquireStateLock(dir), { code: 'DAEMON_ALREADY_RUNNING', message: new RegExp(`pid ${pid}`) });
});

t.test('a node process younger than the lock reused a dead daemon’s pid: the lock is stale', async (t) => {
  const dir = stateDir(t);
  const pid = await otherNodeProcess(t);
  const lock = join(dir, 'rpcopyd.lock');
  writeFileSync(lock, `${pid}\n`);
  const anHourAgo = new Date(Date.now() - 3_600_000);
  utimesSync(lock, anHourAgo, anHourAgo);
  const held = acquireStateLock(dir);
  held.release();
});

t.test('a lock whose pid is gone is taken over, and release removes it', async (t) => {
  const dir = stateDir(t);
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  const pid = await new Promise<number>((resolve) => child.once('exit', () => resolve(child.pid ?? 0)));
  const lock = join(dir, 'rpcopyd.lock');
  writeFileSync(lock, `${pid}\n`);
  const held = acquireStateLock(dir);
  held.release();
  t.notOk(existsSync(lock), 'released');
});

t.test('process start times come from /proc where it exists', { skip: process.platform !== 'linux' }, async (t) => {
  const started = processStartMs(process.pid);
  t.ok(started !== undefined, 'known on Linux');
  const expected = Date.now() - process.uptime() * 1000;
  t.ok(
    Math.abs((started ?? 0) - expected) < 2_000,
    `within 2 s of now − uptime (off by ${(started ?? 0) - expected} ms)`,
  );
});
