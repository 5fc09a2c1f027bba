#!/usr/bin/env node
// rpcopyd: the composition root. Arguments → config → daemon, plus signals
// and exit codes. Nothing runs at import time except through main().

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, resolveConfigPath } from '../shared/config.js';
import { parseDuration } from '../shared/duration.js';
import { isEntryPoint } from '../shared/entry.js';
import { RpcopyError } from '../shared/errors.js';
import { packageVersion } from '../shared/version.js';
import { checkConfig } from './check-config.js';
import { type RunOutcome, startDaemon } from './daemon.js';
import { createLogger } from './log.js';
import { logProcessWarnings } from './warnings.js';

export const EXIT = {
  ok: 0,
  internal: 1,
  usage: 2,
  forced: 130,
} as const;

/** --once exit codes by outcome; documented in docs/operator-guide.md. */
const ONCE_EXIT: Record<RunOutcome, number> = {
  done: 0,
  stopped: 0,
  failed: 1,
  paused: 8,
  window_closed: 9,
};

const HELP = `rpcopyd — copy AWS Backup recovery points between accounts (daemon)

Usage: rpcopyd [--config PATH] [--once] [--max-runtime DURATION] [--dry-run | --no-copy] [--check-config] [--state-dir DIR]

Options:
  --config PATH     config file (default: $RPCOPY_CONFIG, else ~/.config/rpcopy/config.toml)
  --once            run the pipeline until every point is final, then exit
  --max-runtime D   a one-off run: stop gracefully after D (e.g. 45m, 6h) and exit; overrides window.max_runtime
  --check-config    check the config, its profiles, CSV columns and files (writing nothing), print the
                    effective config as TOML, and exit
  --dry-run         inventory, enrich and plan only: nothing is created or copied (see rpctl plan)
  --no-copy         everything up to the destination vaults (preflight included), but start no copy job
  --state-dir DIR   override daemon.state_dir
  --version         print the version
  -h, --help        this help

Runs in the foreground; SIGINT/SIGTERM or 'rpctl stop' stop it gracefully (exit 0),
a second SIGINT exits at once (exit 130). SIGHUP or 'rpctl reload' re-reads the config. Exit codes: docs/operator-guide.md.`;

export async function main(argv: string[]): Promise<number> {
  let args: ReturnType<typeof parseCli>;
  try {
    args = parseCli(argv);
  } catch (err) {
    process.stderr.write(`rpcopyd: ${(err as Error).message}\n\n${HELP}\n`);
    return EXIT.usage;
  }
  if (args.help) {
    process.stdout.write(`${HELP}\n`);
    return EXIT.ok;
  }
  const version = packageVersion();
  if (args.version) {
    process.stdout.write(`rpcopyd ${version}\n`);
    return EXIT.ok;
  }

  const configPath = resolveConfigPath(args.config);
  if (args['check-config']) {
    const checked = checkConfig(configPath, args['state-dir'], () => readFileSync(configPath, 'utf8'));
    if (checked.error) {
      process.stderr.write(`rpcopyd: invalid config\n${checked.error.message}\n`);
      return new RpcopyError('CONFIG_INVALID', checked.error.message).exitCode;
    }
    process.stdout.write(
      `${checked.toml}\n# ${configPath}: OK (profiles, CSV columns and files checked; nothing written)\n` +
        (checked.notes ?? []).map((note) => `# note: ${note}\n`).join(''),
    );
    return EXIT.ok;
  }
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(configPath, { stateDir: args['state-dir'] });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`rpcopyd: invalid config\n${err.message}\n`);
      return new RpcopyError('CONFIG_INVALID', err.message).exitCode;
    }
    throw err;
  }
  const maxRuntime = args['max-runtime'];
  const maxRuntimeMs = maxRuntime === undefined ? undefined : parseDuration(maxRuntime);
  if (maxRuntime !== undefined && (maxRuntimeMs === undefined || maxRuntimeMs <= 0)) {
    process.stderr.write(
      `rpcopyd: --max-runtime: expected a duration such as 45m or 6h, got ${JSON.stringify(maxRuntime)}\n`,
    );
    return EXIT.usage;
  }

  // The store and the socket hold the job's history: readable by this user only.
  process.umask(0o077);
  const log = createLogger({ level: config.daemon.logLevel });
  logProcessWarnings(log);
  // SIGHUP reloads the config (daemon/reload.ts). Its default action ends the process, so it is caught from
  // here on; one that arrives during start-up is applied once the daemon is up.
  let running: Awaited<ReturnType<typeof startDaemon>> | undefined;
  let reloadWanted = false;
  const onHangup = () => {
    if (!running) {
      reloadWanted = true;
      return;
    }
    try {
      running.reload('SIGHUP');
    } catch (err) {
      // The reload journalled and logged why; the daemon runs on unchanged.
      if (!(err instanceof RpcopyError)) log.error('reloading the config failed', { error: err });
    }
  };
  process.on('SIGHUP', onHangup);
  let daemon: Awaited<ReturnType<typeof startDaemon>>;
  try {
    daemon = await startDaemon({
      config,
      configOverrides: { stateDir: args['state-dir'] },
      version,
      log,
      mode: args.once ? 'once' : 'service',
      dryRun: args['dry-run'],
      noCopy: args['no-copy'],
      ...(maxRuntimeMs !== undefined ? { maxRuntimeMs } : {}),
    });
  } catch (err) {
    process.off('SIGHUP', onHangup);
    if (err instanceof RpcopyError) {
      log.error(err.message, { code: err.code });
      process.stderr.write(`rpcopyd: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  }
  running = daemon;
  if (reloadWanted) onHangup();

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals === 1) {
      log.info('signal received: stopping gracefully (send SIGINT again to exit at once)', { signal });
      void daemon.stop(signal);
      return;
    }
    if (signal === 'SIGINT') {
      log.warn('second SIGINT: exiting now; the store is consistent and the next start reconciles', { signal });
      daemon.abort();
      process.exit(EXIT.forced);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const outcome = await daemon.finished;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  process.off('SIGHUP', onHangup);
  return args.once ? ONCE_EXIT[outcome] : outcome === 'failed' ? EXIT.internal : EXIT.ok;
}

function parseCli(argv: string[]) {
  return parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      once: { type: 'boolean', default: false },
      'check-config': { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', default: false },
      'no-copy': { type: 'boolean', default: false },
      'max-runtime': { type: 'string' },
      'state-dir': { type: 'string' },
      version: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: false,
    strict: true,
  }).values;
}

if (isEntryPoint(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => {
      // Exit explicitly: a lingering handle (a worker, a timer) must not keep a stopped daemon alive.
      process.exit(code);
    },
    (err: unknown) => {
      // Our state is durable: log, exit non-zero, let the supervisor restart us.
      process.stderr.write(`rpcopyd: fatal: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(EXIT.internal);
    },
  );
}
