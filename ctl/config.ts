// rpctl config show: the config the running daemon runs, key by key, with every key where the file on disk
// now says something else (and whether rpctl reload applies it or it needs a restart) and every key an
// rpctl set override wins over. With no daemon answering, the file's effective config, saying so.

import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { ConfigResponse, ROUTES } from '../shared/api.js';
import { ConfigError, DEFAULT_STATE_DIR, expandHome } from '../shared/config.js';
import { configValues, isRedacted, type KeyValue, redactValue, valueText } from '../shared/config-view.js';
import { RpcopyError } from '../shared/errors.js';
import { socketPath } from '../shared/socket.js';
import { type ApiClient, createClient } from './client.js';
import type { Command, CommandContext } from './command.js';

type KeyRow = ConfigResponse['keys'][number];

export const configCommand: Command = {
  name: 'config',
  summary: 'config show: the config the running daemon runs, marking where the file on disk differs',
  usage:
    'rpctl config show [--show-secrets] [--config PATH] [--json]\n' +
    '  (notify.command is shown redacted, as it may carry a token, unless --show-secrets)',
  options: { 'show-secrets': { type: 'boolean', default: false } },
  async run(ctx) {
    const [sub, ...extra] = ctx.positionals;
    if (sub !== 'show' || extra.length > 0) {
      process.stderr.write(`rpctl config: expected the subcommand "show"\nusage: ${this.usage}\n`);
      return 2;
    }
    const reveal = ctx.values['show-secrets'] === true;
    let running: ConfigResponse;
    try {
      running = await daemonClient(ctx).get(ROUTES.config, ConfigResponse);
    } catch (err) {
      if (!(err instanceof RpcopyError && err.code === 'DAEMON_NOT_RUNNING')) throw err;
      return showFile(ctx, err.message, reveal);
    }
    if (!reveal) running = { ...running, config: redactConfig(running.config), keys: redactKeys(running.keys) };
    if (ctx.json) {
      // The running Config's fields stay at the top level, as before; what is new sits beside them.
      const { config, ...rest } = running;
      ctx.out(JSON.stringify({ ...config, answeredBy: 'daemon', ...rest }, null, 2));
      return 0;
    }
    ctx.out(
      [
        `# the config rpcopyd (pid ${running.pid}) runs, started ${running.startedAt}` +
          (running.reloadedAt ? `, last reloaded ${running.reloadedAt}` : ''),
        `# file: ${running.file}`,
        ...keyLines(running.keys),
        ...summaryLines(running),
      ].join('\n'),
    );
    return 0;
  },
};

/** No daemon answered: the file as this client loads it (an invalid file fails with its file:line: key). */
function showFile(ctx: CommandContext, why: string, reveal: boolean): number {
  const loaded = ctx.config();
  const config = reveal ? loaded : redactConfig(loaded as unknown as Record<string, unknown>);
  const values = configValues(loaded);
  const all = Object.entries(values).map(([key, value]) => ({ key, value }));
  const keys = reveal ? all : redactKeys(all);
  if (ctx.json) {
    ctx.out(JSON.stringify({ ...config, answeredBy: 'file', daemonError: why, keys }, null, 2));
    return 0;
  }
  ctx.out(
    [
      `# no daemon answered (${why}): this is the file's effective config`,
      `# file: ${loaded.file}`,
      ...keyLines(keys),
    ].join('\n'),
  );
  return 0;
}

function keyLines(keys: { key: string; value: KeyValue; file?: KeyValue; differs?: boolean }[]): string[] {
  const width = Math.max(...keys.map((k) => k.key.length));
  return keys.map((k) => {
    const marks = marksOf(k as KeyRow);
    return `${k.key.padEnd(width)}  ${valueText(k.value)}${marks.length > 0 ? `   # ${marks.join('; ')}` : ''}`;
  });
}

/** Secret keys' values (and what the file says) hidden; `redacted: true` marks the rows. */
function redactKeys<T extends { key: string; value: KeyValue; file?: KeyValue }>(keys: T[]): T[] {
  return keys.map((k) =>
    isRedacted(k.key, k.value) || isRedacted(k.key, k.file)
      ? {
          ...k,
          value: redactValue(k.key, k.value),
          ...(k.file !== undefined ? { file: redactValue(k.key, k.file) } : {}),
          redacted: true,
        }
      : k,
  );
}

function redactConfig(config: Record<string, unknown>): Record<string, unknown> {
  const notify = config.notify as { command?: unknown } | undefined;
  if (typeof notify?.command !== 'string') return config;
  return { ...config, notify: { ...notify, command: redactValue('notify.command', notify.command) } };
}

function marksOf(k: Partial<KeyRow> & { redacted?: boolean }): string[] {
  const marks: string[] = [];
  if (k.redacted) marks.push('redacted (it may carry a token): rpctl config show --show-secrets prints it');
  if (k.differs && k.file !== undefined) {
    marks.push(
      `the file now says ${valueText(k.file)}: ${k.apply === 'live' ? 'rpctl reload applies it' : 'restart rpcopyd to apply'}`,
    );
  }
  if (k.overriddenBy) {
    const { setting, value } = k.overriddenBy;
    marks.push(`overridden by rpctl set ${setting} ${value} (rpctl set ${setting} --clear lifts it)`);
  }
  return marks;
}

function summaryLines(running: ConfigResponse): string[] {
  if (running.fileError !== null) {
    return [`# the file does not load now, so rpctl reload would change nothing:`, `# ${running.fileError}`];
  }
  const differing = running.keys.filter((k) => k.differs);
  if (differing.length === 0) return ['# the file on disk matches what rpcopyd runs'];
  const live = differing.filter((k) => k.apply === 'live').map((k) => k.key);
  const restart = differing.filter((k) => k.apply === 'restart').map((k) => k.key);
  return [
    ...(live.length > 0 ? [`# rpctl reload applies: ${live.join(', ')}`] : []),
    ...(restart.length > 0 ? [`# restart rpcopyd to apply: ${restart.join(', ')}`] : []),
  ];
}

/**
 * The daemon's client. When the file does not validate, its daemon.state_dir may still be readable: the
 * daemon running from it is then asked anyway (it says what the file's problem is, and runs on unchanged).
 */
export function daemonClient(ctx: CommandContext, env: NodeJS.ProcessEnv = process.env): ApiClient {
  try {
    return ctx.client();
  } catch (err) {
    if (!(err instanceof ConfigError) || err.missing) throw err;
    const stateDir = stateDirOfInvalid(err.file);
    if (stateDir === undefined || ctx.values['state-dir'] !== undefined || env.RPCOPY_STATE_DIR) throw err;
    const inner = createClient(socketPath(stateDir));
    // No daemon there either: the file's problem is the answer.
    const orConfigError = (e: unknown): never => {
      throw e instanceof RpcopyError && e.code === 'DAEMON_NOT_RUNNING' ? err : e;
    };
    return {
      get: (path, schema) => inner.get(path, schema).catch(orConfigError),
      post: (path, schema, body) => inner.post(path, schema, body).catch(orConfigError),
    };
  }
}

/** daemon.state_dir of a config that is valid TOML but fails validation; undefined if it cannot be read. */
function stateDirOfInvalid(file: string): string | undefined {
  let raw: unknown;
  try {
    raw = parseToml(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
  const daemon = (raw as { daemon?: { state_dir?: unknown } }).daemon;
  const dir = daemon?.state_dir === undefined ? DEFAULT_STATE_DIR : daemon.state_dir;
  if (typeof dir !== 'string' || dir === '') return undefined;
  const expanded = expandHome(dir);
  return isAbsolute(expanded) ? expanded : resolve(dirname(file), expanded);
}
