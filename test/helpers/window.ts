// What the change-window end-to-end tests (window.test.ts, window-runs.test.ts) set up and read back: a sandbox
// whose copy work outlasts a short run, a [window] section in its config, the daemon's log events and its status.

import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import type { Test } from 'tap';
import { tuneConfig } from './copy.js';
import { type DaemonProcess, runCtlAsync } from './process.js';
import { type RunningSandbox, startSandboxProcess } from './sandbox.js';

/** A moment as the config's window times are written: "HH:MM", UTC. */
export function hhmm(ms: number): string {
  const d = new Date(ms);
  return `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
}

/** Appends a [window] section with these keys, each a TOML string. */
export function appendWindow(config: string, keys: Record<string, string>): void {
  const lines = Object.entries(keys).map(([key, value]) => `${key} = ${JSON.stringify(value)}`);
  appendFileSync(config, `\n[window]\n${lines.join('\n')}\n`);
}

/**
 * Copy jobs of a few seconds and a slow start rate, so that a run's end falls in the middle of the copy phase;
 * a progress line every second instead of every 30, as the runs are short.
 */
export async function slowCopySandbox(t: Test): Promise<RunningSandbox> {
  const sandbox = await startSandboxProcess(t, {
    points: 800,
    seed: 2,
    timeFactor: 5_000,
    extraArgs: ['--no-throttling'],
  });
  tuneConfig(sandbox, { startRate: 10 });
  writeFileSync(
    sandbox.config,
    readFileSync(sandbox.config, 'utf8').replace(/^state_dir = (.*)$/m, 'state_dir = $1\nprogress_interval = "1s"'),
  );
  return sandbox;
}

/** The daemon's JSON log lines so far. */
export function logEvents(daemon: DaemonProcess): Record<string, unknown>[] {
  return daemon
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** `rpctl status --json`, or an empty object while the daemon does not answer. */
export async function statusOf(env: NodeJS.ProcessEnv): Promise<Record<string, unknown>> {
  const s = await runCtlAsync(['status', '--json'], env);
  return s.code === 0 ? (JSON.parse(s.stdout) as Record<string, unknown>) : {};
}
