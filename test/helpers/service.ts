// A systemd user service as the tests run it: a stand-in systemctl that records its arguments, and the installed
// unit's ExecStart run the way systemd runs it (its words, no shell; HOME, a PATH and the unit's Environment=
// lines only), tracked by the after-each leak check.

import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { trackProcess } from './leaks.js';

/** A systemctl that appends its arguments to $FAKE_LOG and answers is-enabled / is-active like a live unit. */
const FAKE_SYSTEMCTL = `#!/bin/sh
printf '%s\\n' "$*" >> "$FAKE_LOG"
case "$2" in
  is-enabled) echo enabled ;;
  is-active) echo active ;;
esac
exit 0
`;

/** Write the stand-in systemctl into `bin` (created if missing). */
export function installFakeSystemctl(bin: string): void {
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'systemctl'), FAKE_SYSTEMCTL);
  chmodSync(join(bin, 'systemctl'), 0o755);
}

/** The unit's ExecStart line and its Environment= pairs. */
export function unitCommand(unit: string): { execStart: string; environment: Record<string, string> } {
  const execStart = /^ExecStart=(.*)$/m.exec(unit)?.[1] ?? '';
  const environment = Object.fromEntries(
    [...unit.matchAll(/^Environment="([^=]+)=(.*)"$/gm)].map((m) => [m[1] as string, m[2] as string]),
  );
  return { execStart, environment };
}

export interface Service {
  child: ChildProcess;
  /** The exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** stdout and stderr so far, interleaved. */
  output(): string;
}

/**
 * Run the unit's ExecStart as systemd runs a user service. The process is SIGKILLed at the test's end if it is
 * still running, and the leak check fails the test if it outlives that.
 */
export function startUnit(
  t: { teardown(fn: () => void): void },
  unit: string,
  { home, path }: { home: string; path: string },
): Service {
  const { execStart, environment } = unitCommand(unit);
  const [program, ...args] = execStart.split(' ');
  const child = spawn(program as string, args, {
    env: { HOME: home, PATH: path, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...environment },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  trackProcess(t, 'rpcopyd as a service', child);
  return { child, exited, output: () => output };
}
