#!/usr/bin/env node
// rpctl: the control client. One file per command group; this file only
// dispatches, prints help and maps errors to documented exit codes.

import { parseArgs } from 'node:util';
import { ConfigError } from '../shared/config.js';
import { isEntryPoint } from '../shared/entry.js';
import { ERROR_CODES, RpcopyError } from '../shared/errors.js';
import { packageVersion } from '../shared/version.js';
import { type Command, createContext, GLOBAL_HELP, GLOBAL_OPTIONS } from './command.js';
import { complianceCommand } from './compliance.js';
import { configCommand } from './config.js';
import { fleetCommand } from './fleet/command.js';
import { forecastCommand } from './forecast.js';
import { initCommand } from './init.js';
import { pauseCommand } from './pause.js';
import { planCommand } from './plan.js';
import { preflightCommand } from './preflight.js';
import { reconcileCommand } from './reconcile.js';
import { reloadCommand } from './reload.js';
import { reportCommand } from './report.js';
import { resetCommand } from './reset.js';
import { resumeCommand } from './resume.js';
import { retryCommand } from './retry.js';
import { serviceCommand } from './service/command.js';
import { setCommand } from './set.js';
import { statusCommand } from './status.js';
import { stopCommand } from './stop.js';
import { testenvCommand } from './testenv.js';
import { watchCommand } from './watch.js';

const COMMANDS: Command[] = [
  statusCommand,
  watchCommand,
  forecastCommand,
  planCommand,
  preflightCommand,
  complianceCommand,
  stopCommand,
  pauseCommand,
  resumeCommand,
  retryCommand,
  setCommand,
  reloadCommand,
  resetCommand,
  reconcileCommand,
  reportCommand,
  fleetCommand,
  configCommand,
  serviceCommand,
  initCommand,
  testenvCommand,
];

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `rpctl — control rpcopyd, the AWS Backup cross-account copier

Usage: rpctl <command> [options]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

${GLOBAL_HELP}

Exit codes: 0 ok, 1 internal error, 2 usage, 3 invalid config, 4 daemon not running,
5 socket permission denied, 12 a check failed (preflight) or found drift (compliance)
(docs/operator-guide.md has the full list).`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${mainHelp()}\n`);
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') {
    process.stdout.write(`rpctl ${packageVersion()}\n`);
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`rpctl: unknown command "${name}"\n\n${mainHelp()}\n`);
    return 2;
  }
  const commandHelp = `${command.summary}\n\nUsage: ${command.usage}\n\n${GLOBAL_HELP}`;
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...GLOBAL_OPTIONS, ...command.options },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    process.stderr.write(`rpctl ${name}: ${argumentProblem(err)}\n\nUsage: ${command.usage}\n`);
    return 2;
  }
  if (parsed.values.help) {
    process.stdout.write(`rpctl ${name} — ${commandHelp}\n`);
    return 0;
  }
  const context = createContext(parsed.values as Record<string, string | boolean | undefined>, parsed.positionals);
  try {
    return await command.run(context);
  } catch (err) {
    const code = reportError(err, context.json);
    // A bad request is the operator's argument: show how the command is used.
    if (!context.json && err instanceof RpcopyError && err.code === 'BAD_REQUEST') {
      process.stderr.write(`\nUsage: ${command.usage}\n`);
    }
    return code;
  }
}

/** node:util's parser messages, shortened to what the operator typed wrong. */
function argumentProblem(err: unknown): string {
  const { code, message } = err as NodeJS.ErrnoException;
  const option = /'(-{1,2}[^' ]+)/.exec(message)?.[1];
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${option ?? message}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return /argument missing/.test(message) ? `${option} needs a value` : `${option} takes no value`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument ${/'([^']+)'/.exec(message)?.[1] ?? message}`;
    default:
      return message;
  }
}

function reportError(err: unknown, json: boolean): number {
  const error =
    err instanceof RpcopyError
      ? err
      : err instanceof ConfigError
        ? new RpcopyError('CONFIG_INVALID', err.message)
        : new RpcopyError('INTERNAL', (err as Error).stack ?? String(err));
  if (json) {
    process.stdout.write(`${JSON.stringify({ error: { code: error.code, message: error.message } })}\n`);
  } else {
    process.stderr.write(`rpctl: ${error.message}\n(${error.code}: ${ERROR_CODES[error.code].retry})\n`);
  }
  return error.exitCode;
}

/** Exit once stdout has taken everything written (a pipe on some systems is written asynchronously). */
function exitAfterFlush(code: number): void {
  if (process.stdout.destroyed) process.exit(code);
  process.stdout.write('', () => process.exit(code));
}

if (isEntryPoint(import.meta.url)) {
  // A reader that stops early (`| head`) closes the pipe: that ends the listing, quietly and successfully.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    process.stderr.write(`rpctl: cannot write to stdout: ${err.message}\n`);
    process.exit(1);
  });
  main(process.argv.slice(2)).then(
    (code) => exitAfterFlush(code),
    (err: unknown) => {
      process.stderr.write(`rpctl: fatal: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
