// Which unit or agent a subcommand acts on, and the ones already installed with the config and state
// directory each runs.

import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { loadConfig } from '../../shared/config.js';
import { RpcopyError } from '../../shared/errors.js';
import type { CommandContext } from '../command.js';
import type { Platform, ServiceDeps } from './deps.js';
import { shellLine } from './steps.js';
import {
  DROP_IN_FILE,
  type InstallRecord,
  instanceConfigPath,
  instanceNameProblem,
  launchdLabel,
  launchdLogPaths,
  readInstallRecord,
  SERVICE_NAME,
  systemdUnitName,
} from './units.js';

export function usage(message: string): never {
  throw new RpcopyError('BAD_REQUEST', message);
}

/** One unit or agent: what it is called and which files belong to it. */
export interface Target {
  platform: Platform;
  name?: string;
  /** systemd unit name, or launchd label. */
  unit: string;
  dir: string;
  /** The file that carries the install record: the unit, the instance's drop-in, or the plist. */
  recordFile: string;
}

function systemdDir(deps: ServiceDeps): string {
  const xdg = deps.env.XDG_CONFIG_HOME;
  // The XDG base directory spec ignores a relative XDG_CONFIG_HOME; so does systemd.
  return join(xdg && isAbsolute(xdg) ? xdg : join(deps.home, '.config'), 'systemd', 'user');
}

function launchdDir(deps: ServiceDeps): string {
  return join(deps.home, 'Library', 'LaunchAgents');
}

export function targetOf(platform: Platform, name: string | undefined, deps: ServiceDeps): Target {
  if (platform === 'launchd') {
    const dir = launchdDir(deps);
    const label = launchdLabel(name);
    return { platform, name, unit: label, dir, recordFile: join(dir, `${label}.plist`) };
  }
  const dir = systemdDir(deps);
  const unit = systemdUnitName(name);
  return {
    platform,
    name,
    unit,
    dir,
    recordFile: name === undefined ? join(dir, unit) : join(dir, `${unit}.d`, DROP_IN_FILE),
  };
}

export function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

export function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** A unit or agent found installed, with the config it runs when that can be told. */
export interface Installed {
  target: Target;
  config?: string;
  record?: InstallRecord;
}

/**
 * Every rpcopyd unit or agent of this user on the platform: the single unit, each template instance that has a
 * drop-in or is enabled, each plist.
 */
export function listInstalled(platform: Platform, deps: ServiceDeps): Installed[] {
  const found = new Map<string, Installed>();
  const add = (name: string | undefined, fallbackConfig?: string) => {
    const target = targetOf(platform, name, deps);
    if (found.has(target.unit)) return;
    const text = readText(target.recordFile);
    const record = text === undefined ? undefined : readInstallRecord(text);
    found.set(target.unit, { target, record, config: record?.config ?? fallbackConfig });
  };
  if (platform === 'launchd') {
    for (const entry of listDir(launchdDir(deps)).sort()) {
      const match = /^com\.rpcopy\.rpcopyd(?:\.(.+))?\.plist$/.exec(entry);
      if (match) add(match[1]);
    }
    return [...found.values()];
  }
  const dir = systemdDir(deps);
  if (existsSync(join(dir, systemdUnitName()))) add(undefined);
  const instance = (entry: string, suffix: string) =>
    entry.startsWith(`${SERVICE_NAME}@`) && entry.endsWith(suffix)
      ? entry.slice(SERVICE_NAME.length + 1, -suffix.length)
      : undefined;
  for (const entry of listDir(dir).sort()) {
    const name = instance(entry, '.service.d');
    if (name && existsSync(join(dir, entry, DROP_IN_FILE))) add(name, join(deps.home, instanceConfigPath(name)));
  }
  // Instances enabled by hand from the template (systemctl --user enable rpcopyd@x) have no drop-in.
  for (const entry of listDir(join(dir, 'default.target.wants')).sort()) {
    const name = instance(entry, '.service');
    if (name) add(name, join(deps.home, instanceConfigPath(name)));
  }
  return [...found.values()];
}

/** The environment a service sees: the installing shell's RPCOPY_STATE_DIR is not passed on. */
export function serviceEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { RPCOPY_STATE_DIR: _ignored, ...rest } = env;
  return rest;
}

/** The state directory an installed instance uses: from its config as it is now, else as recorded at install. */
export function installedStateDir(installed: Installed, deps: ServiceDeps): string | undefined {
  if (installed.config !== undefined) {
    try {
      return loadConfig(installed.config, {}, serviceEnv(deps.env)).daemon.stateDir;
    } catch {
      // An unreadable or invalid config: the recorded state directory is the best evidence left.
    }
  }
  return installed.record?.stateDir;
}

export function samePath(a: string, b: string): boolean {
  const canonical = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      return resolve(p);
    }
  };
  return canonical(a) === canonical(b);
}

export interface Options {
  platform: Platform;
  name?: string;
  enable: boolean;
}

export function parseOptions(ctx: CommandContext, deps: ServiceDeps): Options {
  const platform = (ctx.values.platform as string | undefined) ?? (deps.platform === 'darwin' ? 'launchd' : 'systemd');
  if (platform !== 'systemd' && platform !== 'launchd') {
    usage(`--platform: expected systemd or launchd, got ${platform}`);
  }
  const name = ctx.values.name as string | undefined;
  if (name !== undefined) {
    const problem = instanceNameProblem(name);
    if (problem) usage(problem);
  }
  return { platform, name, enable: ctx.values['no-enable'] !== true };
}

export function lingering(deps: ServiceDeps): boolean {
  return existsSync(join(deps.lingerDir, deps.user));
}

export function lingerNote(deps: ServiceDeps): string {
  return `lingering is off for ${deps.user}: the user service manager, and rpcopyd with it, stops when ${deps.user}'s last session ends. To keep it running while logged out: loginctl enable-linger ${deps.user}`;
}

export function logsHint(target: Target, stateDir: string | undefined): string {
  if (target.platform === 'systemd') return `journalctl --user -u ${target.unit} -f`;
  return stateDir ? `tail -f ${shellLine([launchdLogPaths(stateDir).stdout])}` : 'the state directory’s rpcopyd.log';
}
