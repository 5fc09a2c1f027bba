// Driving the built binaries as real processes: the daemon over its real
// socket, rpctl as an operator would run it.

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { trackDir, trackProcess } from './leaks.js';

export const ROOT = resolve(import.meta.dirname, '../..');
export const RPCOPYD = join(ROOT, 'dist/daemon/main.js');
export const RPCTL = join(ROOT, 'dist/ctl/main.js');

/** A short temporary folder (Unix socket paths are limited to ~104 bytes), removed at teardown. */
export function shortTempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'rpc-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  trackDir(t, 'temporary folder', dir);
  return dir;
}

export interface DaemonProcess {
  child: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnDaemon(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  t?: { teardown(fn: () => void): void },
): DaemonProcess {
  const child = spawn(process.execPath, [RPCOPYD, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) =>
    child.once('exit', (code, signal) => resolveExit({ code, signal })),
  );
  t?.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  if (t) trackProcess(t, 'rpcopyd', child);
  return { child, output: () => output, exited };
}

export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 15_000,
  intervalMs = 25,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

export async function waitForSocket(path: string, daemon?: DaemonProcess): Promise<void> {
  await waitFor(() => {
    if (daemon && daemon.child.exitCode !== null) {
      throw new Error(`daemon exited with ${daemon.child.exitCode} before listening:\n${daemon.output()}`);
    }
    return existsSync(path);
  }, `socket ${path}`);
}

export interface CtlResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCtl(args: string[], env: NodeJS.ProcessEnv = {}): CtlResult {
  const result = spawnSync(process.execPath, [RPCTL, ...args], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** runCtl without blocking the event loop (needed while the test also serves something in-process). */
export function runCtlAsync(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CtlResult> {
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, [RPCTL, ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (code) => resolveRun({ code, stdout, stderr }));
  });
}
