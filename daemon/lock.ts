// One daemon per state directory.
//
// The lock is a file created with O_EXCL holding the owner's pid. A lock whose
// pid is no longer an rpcopyd process (killed, crashed, pid reused by
// something else) is stale and is taken over. Removing the lock is the last
// step of a clean shutdown; after SIGKILL the next start recovers it.

import { closeSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { RpcopyError } from '../shared/errors.js';

export interface StateLock {
  readonly path: string;
  release(): void;
}

function lockPath(stateDir: string): string {
  return join(stateDir, 'rpcopyd.lock');
}

/** /proc reports process times in USER_HZ, which Linux fixes at 100 for user space on every architecture. */
const USER_HZ = 100;

/**
 * When pid started, in ms since the epoch, from /proc (undefined without /proc). Boot time is whole seconds,
 * so the answer may be up to a second early: callers may only use it to prove a process is younger.
 */
export function processStartMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may itself hold spaces and parentheses; starttime is field 22.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const startTicks = Number(fields[22 - 3]);
    const bootSeconds = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]);
    if (!Number.isFinite(startTicks) || !Number.isFinite(bootSeconds)) return undefined;
    return bootSeconds * 1000 + (startTicks * 1000) / USER_HZ;
  } catch {
    return undefined;
  }
}

/**
 * True when pid may be the daemon that wrote the lock: alive, a node process where /proc tells, and started
 * before the lock was written. Pids wrap within minutes on a busy machine (pid_max is often 32768), and a
 * node process that took a dead daemon's pid would otherwise keep every later start refused while it lives.
 */
function isLiveDaemon(pid: number, lockWrittenMs: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return true; // no /proc (macOS): trust kill(0)
  }
  if (!/node|rpcopyd/.test(cmdline)) return false;
  const started = processStartMs(pid);
  return started === undefined || started <= lockWrittenMs;
}

export function acquireStateLock(stateDir: string): StateLock {
  const path = lockPath(stateDir);
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let holder: number;
      let writtenMs: number;
      try {
        holder = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
        writtenMs = statSync(path).mtimeMs;
      } catch (readErr) {
        if ((readErr as NodeJS.ErrnoException).code === 'ENOENT') continue; // released meanwhile: try again
        throw readErr;
      }
      if (Number.isInteger(holder) && holder !== process.pid && isLiveDaemon(holder, writtenMs)) {
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
