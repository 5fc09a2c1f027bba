// Where the fleet's daemons are: the rpcopyd units and agents this user installed (`rpctl service install
// [--name NAME]`, ctl/service/units.ts), each --state-dir given, and the state directories of a shared list
// (--list FILE or $RPCOPY_FLEET_LIST: one directory a line, `#` comments). Reads files only; never a socket.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { expandHome, loadConfig } from '../../shared/config.js';
import { RpcopyError } from '../../shared/errors.js';
import { socketPath } from '../../shared/socket.js';
import {
  DROP_IN_FILE,
  instanceConfigPath,
  LAUNCHD_LABEL,
  readInstallRecord,
  SERVICE_NAME,
  systemdUnitName,
} from '../service/units.js';

export interface FleetMember {
  /** The instance name, or the state directory's name when it was given by hand. */
  name: string;
  /** Where it was found: `systemd`, `launchd`, `state-dir` (the flag) or `list`. */
  source: 'systemd' | 'launchd' | 'state-dir' | 'list';
  /** The systemd unit or launchd label, when found from one. */
  unit: string | null;
  stateDir: string | null;
  socket: string | null;
  /** Why the state directory could not be told (an unreadable config, for example). */
  problem: string | null;
}

export interface DiscoverOptions {
  stateDirs: string[];
  listFile?: string;
  env: NodeJS.ProcessEnv;
  home?: string;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

/** The state directory of an installed unit: its install record, else the config it runs. */
function fromUnit(
  name: string,
  source: 'systemd' | 'launchd',
  unit: string,
  recordFile: string,
  fallbackConfig: string | undefined,
  env: NodeJS.ProcessEnv,
): FleetMember {
  const text = readText(recordFile);
  const record = text === undefined ? undefined : readInstallRecord(text);
  if (record) return member(name, source, unit, record.stateDir);
  const config = fallbackConfig;
  if (!config)
    return { name, source, unit, stateDir: null, socket: null, problem: `no install record in ${recordFile}` };
  try {
    return member(name, source, unit, loadConfig(config, {}, { ...env, RPCOPY_STATE_DIR: undefined }).daemon.stateDir);
  } catch (err) {
    return {
      name,
      source,
      unit,
      stateDir: null,
      socket: null,
      problem: `its config ${config}: ${(err as Error).message}`,
    };
  }
}

function member(name: string, source: FleetMember['source'], unit: string | null, stateDir: string): FleetMember {
  try {
    return { name, source, unit, stateDir, socket: socketPath(stateDir), problem: null };
  } catch (err) {
    return { name, source, unit, stateDir, socket: null, problem: (err as Error).message };
  }
}

/** The directories of a list file; a relative one is taken from the list's folder. */
function readFleetList(file: string): string[] {
  const text = readText(file);
  if (text === undefined) throw new RpcopyError('BAD_REQUEST', `--list: cannot read ${file}`);
  const base = resolve(file, '..');
  return text
    .split(/\r?\n/)
    .map((line) => line.replace(/#.*$/, '').trim())
    .filter((line) => line.length > 0)
    .map((line) => {
      const path = expandHome(line);
      return isAbsolute(path) ? path : resolve(base, path);
    });
}

export function discoverFleet(options: DiscoverOptions): FleetMember[] {
  const home = options.home ?? homedir();
  const env = options.env;
  const found: FleetMember[] = [];
  const xdg = env.XDG_CONFIG_HOME;
  const systemdDir = join(xdg && isAbsolute(xdg) ? xdg : join(home, '.config'), 'systemd', 'user');
  const single = join(systemdDir, systemdUnitName());
  if (existsSync(single)) found.push(fromUnit(SERVICE_NAME, 'systemd', systemdUnitName(), single, undefined, env));
  const names = new Set<string>();
  const instance = (entry: string, suffix: string) =>
    entry.startsWith(`${SERVICE_NAME}@`) && entry.endsWith(suffix)
      ? entry.slice(SERVICE_NAME.length + 1, -suffix.length)
      : undefined;
  for (const entry of listDir(systemdDir)) {
    const name = instance(entry, '.service.d');
    if (name && existsSync(join(systemdDir, entry, DROP_IN_FILE))) names.add(name);
  }
  // Instances enabled by hand from the template have no drop-in: their config path says where their state is.
  for (const entry of listDir(join(systemdDir, 'default.target.wants'))) {
    const name = instance(entry, '.service');
    if (name) names.add(name);
  }
  for (const name of names) {
    const unit = systemdUnitName(name);
    found.push(
      fromUnit(
        name,
        'systemd',
        unit,
        join(systemdDir, `${unit}.d`, DROP_IN_FILE),
        join(home, instanceConfigPath(name)),
        env,
      ),
    );
  }
  const agents = join(home, 'Library', 'LaunchAgents');
  for (const entry of listDir(agents)) {
    const match = /^com\.rpcopy\.rpcopyd(?:\.(.+))?\.plist$/.exec(entry);
    if (!match) continue;
    const label = match[1] ? `${LAUNCHD_LABEL}.${match[1]}` : LAUNCHD_LABEL;
    found.push(fromUnit(match[1] ?? SERVICE_NAME, 'launchd', label, join(agents, entry), undefined, env));
  }
  const list = options.listFile ?? env.RPCOPY_FLEET_LIST;
  const given: [string, FleetMember['source']][] = [
    ...options.stateDirs.map((d) => [resolve(expandHome(d)), 'state-dir'] as [string, FleetMember['source']]),
    ...(list ? readFleetList(list).map((d) => [d, 'list'] as [string, FleetMember['source']]) : []),
  ];
  for (const [dir, source] of given) found.push(member(tilde(dir, home), source, null, dir));
  // One entry per state directory (a unit may also be listed by hand); the first finding names it.
  const seen = new Set<string>();
  return found.filter((m) => {
    if (m.stateDir === null) return true;
    if (seen.has(m.stateDir)) return false;
    seen.add(m.stateDir);
    return true;
  });
}

/** A directory given by hand is named by its path, the home folder written ~. */
function tilde(dir: string, home: string): string {
  return dir === home || dir.startsWith(`${home}/`) ? `~${dir.slice(home.length)}` : dir;
}
