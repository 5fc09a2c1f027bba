// What every rpctl command shares: its options, how it finds the daemon,
// how it prints (human or --json) and how errors become exit codes.

import type { ParseArgsConfig } from 'node:util';
import {
  type Config,
  DEFAULT_STATE_DIR,
  expandHome,
  isMissingConfig,
  loadConfig,
  resolveConfigPath,
} from '../shared/config.js';
import { RpcopyError } from '../shared/errors.js';
import { socketPath } from '../shared/socket.js';
import { type ApiClient, createClient } from './client.js';

export const GLOBAL_OPTIONS = {
  config: { type: 'string' },
  'state-dir': { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies ParseArgsConfig['options'];

export const GLOBAL_HELP = `Global options:
  --config PATH      config file (default: $RPCOPY_CONFIG, else ~/.config/rpcopy/config.toml)
  --state-dir DIR    the daemon's state directory (default: daemon.state_dir from the config)
  --json             machine-readable output
  -h, --help         help for the command`;

export interface CommandContext {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  json: boolean;
  out(text: string): void;
  /** The daemon's API client; resolves the socket lazily so `--help` needs no config. */
  client(): ApiClient;
  config(): Config;
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  options?: ParseArgsConfig['options'];
  run(context: CommandContext): Promise<number>;
}

export function createContext(
  values: CommandContext['values'],
  positionals: string[],
  env: NodeJS.ProcessEnv = process.env,
): CommandContext {
  let config: Config | undefined;
  const loadedConfig = () => {
    config ??= loadConfig(
      resolveConfigPath(values.config as string | undefined, env),
      {
        stateDir: values['state-dir'] as string | undefined,
      },
      env,
    );
    return config;
  };
  // Without a config file a daemon may still run from the default state directory: look there, and say so.
  let missingConfig: string | undefined;
  const stateDir = () => {
    const given = (values['state-dir'] as string | undefined) ?? env.RPCOPY_STATE_DIR;
    if (given) return given;
    try {
      return loadedConfig().daemon.stateDir;
    } catch (err) {
      if (!isMissingConfig(err)) throw err;
      missingConfig = resolveConfigPath(values.config as string | undefined, env);
      return expandHome(DEFAULT_STATE_DIR);
    }
  };
  const client = (): ApiClient => {
    const inner = createClient(socketPath(stateDir()));
    const explain = (err: unknown): never => {
      if (missingConfig && err instanceof RpcopyError && err.code === 'DAEMON_NOT_RUNNING') {
        throw new RpcopyError(
          'DAEMON_NOT_RUNNING',
          `${err.message}; there is no config file at ${missingConfig}, so rpctl looked in the default state ` +
            'directory (pass --config PATH, set RPCOPY_CONFIG, or --state-dir DIR)',
        );
      }
      throw err;
    };
    return {
      get: (path, schema) => inner.get(path, schema).catch(explain),
      post: (path, schema, body) => inner.post(path, schema, body).catch(explain),
    };
  };
  return {
    values,
    positionals,
    json: values.json === true,
    out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
    client,
    config: loadedConfig,
  };
}
