// The files install writes and the service-manager calls the subcommands make, run in order, with what is
// left to do by hand when a call fails.

import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { RpcopyError } from '../../shared/errors.js';
import type { ServiceDeps } from './deps.js';

/** A command line as an operator would type it. */
export function shellLine(argv: string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)).join(' ');
}

export interface FileWrite {
  path: string;
  content: string;
  /** What it held before, if anything. */
  previous?: string;
}

export interface Step {
  argv: string[];
  /** Failure expected in the ordinary case (e.g. unloading an agent that is not loaded): reported, not fatal. */
  optional?: boolean;
}

export interface StepResult {
  command: string;
  argv: string[];
  ok: boolean;
  exitCode: number | null;
  /** The tool is not on PATH. */
  missing: boolean;
  output: string;
}

/** Runs steps in order until one that is not optional fails; returns what ran and what is left to do by hand. */
export function runSteps(steps: Step[], deps: ServiceDeps): { results: StepResult[]; remaining: Step[] } {
  const results: StepResult[] = [];
  for (const [i, step] of steps.entries()) {
    const r = deps.run(step.argv);
    const ok = r.error === undefined && r.status === 0;
    results.push({
      command: shellLine(step.argv),
      argv: step.argv,
      ok,
      exitCode: r.status,
      missing: r.error === 'ENOENT',
      output: `${r.stdout}${r.stderr}`.trim(),
    });
    if (!ok && !step.optional) return { results, remaining: steps.slice(i).filter((s) => !s.optional) };
  }
  return { results, remaining: [] };
}

/** A step's outcome as --json shows it. */
export function publicResult(r: StepResult) {
  return { command: r.command, ok: r.ok, exitCode: r.exitCode, missing: r.missing, output: r.output };
}

export function describeResult(r: StepResult): string {
  if (r.ok) return `ok      ${r.command}`;
  if (r.missing) return `missing ${r.command}: ${r.argv[0]} is not on PATH`;
  const detail = r.output ? `: ${r.output.split('\n').slice(-3).join(' / ')}` : '';
  return `failed  ${r.command} (exit ${r.exitCode ?? 'none'})${detail}`;
}

export function writeWhole(path: string, content: string): void {
  const temporary = `${path}.tmp-${process.pid}`;
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(temporary, content, { mode: 0o644 });
    renameSync(temporary, path);
  } catch (err) {
    try {
      rmSync(temporary, { force: true });
    } catch {
      // The directory itself is missing or unwritable: there is no temporary file to remove.
    }
    throw new RpcopyError(
      'INTERNAL',
      `cannot write ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
}

export function systemctl(...args: string[]): Step {
  return { argv: ['systemctl', '--user', ...args] };
}

export function launchctl(optional: boolean, ...args: string[]): Step {
  return { argv: ['launchctl', ...args], optional };
}
