// The after-each leak check: every daemon, sandbox and temporary folder a test starts through these helpers is
// looked at once the test that owns it has ended (tap runs that test's teardowns first). A process still running
// or a folder still on disk (the daemon's socket and state live in one) fails the file, naming the test; the
// leftover is then removed, so one leak does not spill into the next test.

import type { ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import t from 'tap';

interface Tracked {
  owner: object;
  what: string;
  child?: ChildProcess;
  dir?: string;
}

/** A teardown may only signal a process: give it this long to exit before it counts as left behind. */
const EXIT_GRACE_MS = 10_000;

const tracked: Tracked[] = [];

const running = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

function exitWithin(child: ChildProcess, ms: number): Promise<boolean> {
  if (!running(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(!running(child)), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

async function check(ended: { name: string }): Promise<void> {
  const mine = tracked.filter((r) => r.owner === ended);
  if (mine.length === 0) return;
  for (const r of mine) tracked.splice(tracked.indexOf(r), 1);
  for (const r of mine) {
    if (r.child && !(await exitWithin(r.child, EXIT_GRACE_MS))) {
      t.fail(`${ended.name}: left ${r.what} running (pid ${r.child.pid})`);
      r.child.kill('SIGKILL');
    }
    if (r.dir && existsSync(r.dir)) {
      t.fail(`${ended.name}: left ${r.what} ${r.dir} on disk`);
      rmSync(r.dir, { recursive: true, force: true });
    }
  }
}

function track(resource: Tracked): void {
  tracked.push(resource);
}

// Registered on import, before any test runs: tap applies an afterEach only to tests that start after it.
t.afterEach(check);

/** Checks after `owner` ends that the process has exited. */
export function trackProcess(owner: object, what: string, child: ChildProcess): void {
  track({ owner, what, child });
}

/** Checks after `owner` ends that the folder is gone. */
export function trackDir(owner: object, what: string, dir: string): void {
  track({ owner, what, dir });
}
