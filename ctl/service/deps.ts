// What `rpctl service` reads from the machine, behind one interface so tests run it against a temporary home.

import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RpcopyError } from '../../shared/errors.js';
import { SERVICE_NAME } from './units.js';

export type Platform = 'systemd' | 'launchd';

export interface RunResult {
  /** Exit code; null when the program could not be started or was killed. */
  status: number | null;
  stdout: string;
  stderr: string;
  /** errno code when the program could not be started (ENOENT: not on PATH). */
  error?: string;
}

/** Everything the command reads from the machine, so that tests run it against a temporary home. */
export interface ServiceDeps {
  env: NodeJS.ProcessEnv;
  platform: NodeJS.Platform;
  home: string;
  cwd: string;
  uid: number;
  user: string;
  /** Absolute path of the node binary the service runs. */
  node: string;
  /** Absolute path of rpcopyd's entry point; throws when the package is not built. */
  daemon(): string;
  /** systemd-logind's record of users whose services outlive their sessions. */
  lingerDir: string;
  run(argv: string[]): RunResult;
}

/** dist/daemon/main.js of the package this rpctl belongs to, from package.json's bin entry. */
function installedDaemonPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string; bin?: Record<string, string> };
      const bin = pkg.name === 'rpcopy' ? pkg.bin?.[SERVICE_NAME] : undefined;
      if (bin) {
        const path = join(dir, bin);
        if (!existsSync(path)) {
          throw new RpcopyError('INTERNAL', `${path} does not exist: build the package first (npm run build)`);
        }
        // The real path: a unit must not depend on an npm bin symlink that a reinstall may move.
        return realpathSync(path);
      }
    }
    const parent = dirname(dir);
    if (parent === dir) throw new RpcopyError('INTERNAL', 'cannot find the rpcopy package.json above rpctl');
    dir = parent;
  }
}

/** This machine: the process's environment, home, user, node binary and installed rpcopyd. */
export function defaultDeps(env: NodeJS.ProcessEnv = process.env): ServiceDeps {
  return {
    env,
    platform: process.platform,
    home: env.HOME || homedir(),
    cwd: process.cwd(),
    uid: process.getuid?.() ?? 0,
    user: userInfo().username,
    node: process.execPath,
    daemon: installedDaemonPath,
    lingerDir: '/var/lib/systemd/linger',
    run(argv) {
      // No timeout of our own: `disable --now` waits for the graceful stop, which systemd bounds by the unit's
      // TimeoutStopSec (however long daemon.shutdown_timeout is); cutting it short would misreport a stop.
      const result: SpawnSyncReturns<string> = spawnSync(argv[0]!, argv.slice(1), { env, encoding: 'utf8' });
      return {
        status: result.status,
        stdout: result.stdout ?? '',
        stderr: result.stderr ?? '',
        error: (result.error as NodeJS.ErrnoException | undefined)?.code,
      };
    },
  };
}
