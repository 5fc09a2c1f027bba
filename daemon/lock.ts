// One daemon per state directory.
//
// The lock is a file created with O_EXCL holding the owner's pid. A lock whose
// pid is no longer an rpcopyd process (killed, crashed, pid reused by
// something else) is stale and is taken over. Removing the lock is the last
// step of a clean shutdown; after SIGKILL the next start recovers it.

import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { RpcopyError } from '../shared/errors.js';

export interface StateLock {
  readonly path: string;
  release(): void;
}

function lockPath(stateDir: string): string {
  return join(stateDir, 'rpcopyd.lock');
}

/** True when pid is alive and, where /proc tells, is a node process (so a reused pid is not mistaken). */
function isLiveDaemon(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return /node|rpcopyd/.test(cmdline);
  } catch {
    return true; // no /proc (macOS): trust kill(0)
  }
}

export function acquireStateLock(stateDir: string): StateLock {
  const path = lockPath(stateDir);
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
      if (Number.isInteger(holder) && holder !== process.pid && isLiveDaemon(holder)) {
        throw new RpcopyError(
          'DAEMON_ALREADY_RUNNING',
          `another rpcopyd (pid ${holder}) already runs on state directory ${stateDir}`,
        );
      }
      rmSync(path, { force: true }); // stale: its owner is gone
      continue;
    }
    writeSync(fd, `${process.pid}\n`);
    closeSync(fd);
    return {
      path,
      release: () => {
        try {
          if (readFileSync(path, 'utf8').trim() === String(process.pid)) rmSync(path, { force: true });
        } catch {
          // already gone
        }
      },
    };
  }
  throw new RpcopyError('DAEMON_ALREADY_RUNNING', `cannot take the lock ${path}: it keeps reappearing`);
}
