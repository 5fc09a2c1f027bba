// rpctl service install|uninstall|status: run rpcopyd as a systemd user
// service (Linux) or a launchd agent (macOS) for the current user.
//
// install writes the unit (ctl/service/units.ts renders it) and then asks the
// service manager to load and start it. Writing is the part that must work:
// each file goes to a temporary name and is renamed, so a failed install never
// leaves half a unit, and only a failed write makes the command exit non-zero.
// The service manager often cannot be reached where the file can be written
// (a container without a user bus, CI, an ssh session without lingering): then
// the command says which call failed and prints the exact commands to run by
// hand. Nothing here writes credentials: only the locations of the shared
// credentials and config files (and endpoint overrides) are passed through.

import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Config, ConfigError, DEFAULT_CONFIG_PATH, loadConfig } from '../../shared/config.js';
import { formatDuration } from '../../shared/duration.js';
import { RpcopyError } from '../../shared/errors.js';
import type { Command, CommandContext } from '../command.js';
import {
  CREDENTIAL_ENVIRONMENT,
  DROP_IN_FILE,
  type InstallRecord,
  instanceConfigPath,
  instanceNameProblem,
  LAUNCHD_LABEL,
  launchdLabel,
  launchdLogPaths,
  passedEnvironment,
  readInstallRecord,
  renderLaunchdPlist,
  renderSystemdDropIn,
  renderSystemdTemplate,
  renderSystemdUnit,
  SERVICE_NAME,
  STOP_MARGIN_SECONDS,
  stopTimeoutSeconds,
  systemdTemplateName,
  systemdUnitName,
  UnitError,
} from './units.js';

export type Platform = 'systemd' | 'launchd';

export interface RunResult {
  /** Exit code; null when the program could not be started or was killed. */
  status: number | null;
  stdout: string;
  stderr: string;
  /** errno code when the program could not be started (ENOENT: not on PATH). */
  error?: string;
}

/** Everything the command reads from the machine, so that tests run it against a temporary home. */
export interface ServiceDeps {
  env: NodeJS.ProcessEnv;
  platform: NodeJS.Platform;
  home: string;
  cwd: string;
  uid: number;
  user: string;
  /** Absolute path of the node binary the service runs. */
  node: string;
  /** Absolute path of rpcopyd's entry point; throws when the package is not built. */
  daemon(): string;
  /** systemd-logind's record of users whose services outlive their sessions. */
  lingerDir: string;
  run(argv: string[]): RunResult;
}

/** dist/daemon/main.js of the package this rpctl belongs to, from package.json's bin entry. */
function installedDaemonPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string; bin?: Record<string, string> };
      const bin = pkg.name === 'rpcopy' ? pkg.bin?.[SERVICE_NAME] : undefined;
      if (bin) {
        const path = join(dir, bin);
        if (!existsSync(path)) {
          throw new RpcopyError('INTERNAL', `${path} does not exist: build the package first (npm run build)`);
        }
        // The real path: a unit must not depend on an npm bin symlink that a reinstall may move.
        return realpathSync(path);
      }
    }
    const parent = dirname(dir);
    if (parent === dir) throw new RpcopyError('INTERNAL', 'cannot find the rpcopy package.json above rpctl');
    dir = parent;
  }
}

/** This machine: the process's environment, home, user, node binary and installed rpcopyd. */
export function defaultDeps(env: NodeJS.ProcessEnv = process.env): ServiceDeps {
  return {
    env,
    platform: process.platform,
    home: env.HOME || homedir(),
    cwd: process.cwd(),
    uid: process.getuid?.() ?? 0,
    user: userInfo().username,
    node: process.execPath,
    daemon: installedDaemonPath,
    lingerDir: '/var/lib/systemd/linger',
    run(argv) {
      // No timeout of our own: `disable --now` waits for the graceful stop, which systemd bounds by the unit's
      // TimeoutStopSec (however long daemon.shutdown_timeout is); cutting it short would misreport a stop.
      const result: SpawnSyncReturns<string> = spawnSync(argv[0]!, argv.slice(1), { env, encoding: 'utf8' });
      return {
        status: result.status,
        stdout: result.stdout ?? '',
        stderr: result.stderr ?? '',
        error: (result.error as NodeJS.ErrnoException | undefined)?.code,
      };
    },
  };
}

function usage(message: string): never {
  throw new RpcopyError('BAD_REQUEST', message);
}

/** A command line as an operator would type it. */
function shellLine(argv: string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)).join(' ');
}

/** One unit or agent: what it is called and which files belong to it. */
interface Target {
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

function targetOf(platform: Platform, name: string | undefined, deps: ServiceDeps): Target {
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

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** A unit or agent found installed, with the config it runs when that can be told. */
interface Installed {
  target: Target;
  config?: string;
  record?: InstallRecord;
}

/**
 * Every rpcopyd unit or agent of this user on the platform: the single unit, each template instance that has a
 * drop-in or is enabled, each plist.
 */
function listInstalled(platform: Platform, deps: ServiceDeps): Installed[] {
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
function serviceEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { RPCOPY_STATE_DIR: _ignored, ...rest } = env;
  return rest;
}

/** The state directory an installed instance uses: from its config as it is now, else as recorded at install. */
function installedStateDir(installed: Installed, deps: ServiceDeps): string | undefined {
  if (installed.config !== undefined) {
    try {
      return loadConfig(installed.config, {}, serviceEnv(deps.env)).daemon.stateDir;
    } catch {
      // An unreadable or invalid config: the recorded state directory is the best evidence left.
    }
  }
  return installed.record?.stateDir;
}

function samePath(a: string, b: string): boolean {
  const canonical = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      return resolve(p);
    }
  };
  return canonical(a) === canonical(b);
}

interface Options {
  platform: Platform;
  name?: string;
  enable: boolean;
}

function parseOptions(ctx: CommandContext, deps: ServiceDeps): Options {
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

interface FileWrite {
  path: string;
  content: string;
  /** What it held before, if anything. */
  previous?: string;
}

interface Step {
  argv: string[];
  /** Failure expected in the ordinary case (e.g. unloading an agent that is not loaded): reported, not fatal. */
  optional?: boolean;
}

interface StepResult {
  command: string;
  argv: string[];
  ok: boolean;
  exitCode: number | null;
  /** The tool is not on PATH. */
  missing: boolean;
  output: string;
}

/** Runs steps in order until one that is not optional fails; returns what ran and what is left to do by hand. */
function runSteps(steps: Step[], deps: ServiceDeps): { results: StepResult[]; remaining: Step[] } {
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
function publicResult(r: StepResult) {
  return { command: r.command, ok: r.ok, exitCode: r.exitCode, missing: r.missing, output: r.output };
}

function describeResult(r: StepResult): string {
  if (r.ok) return `ok      ${r.command}`;
  if (r.missing) return `missing ${r.command}: ${r.argv[0]} is not on PATH`;
  const detail = r.output ? `: ${r.output.split('\n').slice(-3).join(' / ')}` : '';
  return `failed  ${r.command} (exit ${r.exitCode ?? 'none'})${detail}`;
}

function writeWhole(path: string, content: string): void {
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

function lingering(deps: ServiceDeps): boolean {
  return existsSync(join(deps.lingerDir, deps.user));
}

function lingerNote(deps: ServiceDeps): string {
  return `lingering is off for ${deps.user}: the user service manager, and rpcopyd with it, stops when ${deps.user}'s last session ends. To keep it running while logged out: loginctl enable-linger ${deps.user}`;
}

function logsHint(target: Target, stateDir: string | undefined): string {
  if (target.platform === 'systemd') return `journalctl --user -u ${target.unit} -f`;
  return stateDir ? `tail -f ${shellLine([launchdLogPaths(stateDir).stdout])}` : 'the state directory’s rpcopyd.log';
}

function systemctl(...args: string[]): Step {
  return { argv: ['systemctl', '--user', ...args] };
}

function launchctl(optional: boolean, ...args: string[]): Step {
  return { argv: ['launchctl', ...args], optional };
}

/** Everything install decides before touching the machine; --dry-run prints it, install applies it. */
interface InstallPlan {
  target: Target;
  enable: boolean;
  shutdownTimeoutMs: number;
  files: FileWrite[];
  /** Run now. */
  steps: Step[];
  /** Left to the operator (--no-enable). */
  later: Step[];
  notes: string[];
  summary: {
    platform: Platform;
    unit: string;
    config: string;
    stateDir: string;
    stopTimeoutSec: number;
    command: string[];
    environment: Record<string, string>;
    logs: string;
  };
}

/** The config an install runs; with --name it follows from the name, as the template's ExecStart derives it. */
function installConfigPath(ctx: CommandContext, name: string | undefined, deps: ServiceDeps): string {
  const flag = ctx.values.config as string | undefined;
  // resolveConfigPath's precedence, with ~ taken from deps.home rather than this process's home.
  if (name === undefined) return absolutePath(flag ?? deps.env.RPCOPY_CONFIG ?? DEFAULT_CONFIG_PATH, deps);
  const path = join(deps.home, instanceConfigPath(name));
  if (flag !== undefined && !samePath(absolutePath(flag, deps), path)) {
    usage(
      `--name ${name} runs the config ${path} (the instance name is the config name); put the config there, e.g. ln -s ${shellLine([absolutePath(flag, deps)])} ${shellLine([path])}`,
    );
  }
  return path;
}

/** The service starts elsewhere: ~ and relative paths of this shell are made absolute. */
function absolutePath(path: string, deps: ServiceDeps): string {
  return path === '~' || path.startsWith('~/') ? join(deps.home, path.slice(1)) : resolve(deps.cwd, path);
}

/** Refuses a state directory that another installed instance uses: the second daemon would exit 6 forever. */
function checkStateDirFree(target: Target, configPath: string, stateDir: string, deps: ServiceDeps): void {
  for (const other of listInstalled(target.platform, deps)) {
    if (other.target.unit === target.unit) continue;
    const otherDir = installedStateDir(other, deps);
    if (otherDir !== undefined && samePath(otherDir, stateDir)) {
      usage(
        `daemon.state_dir ${stateDir} of ${configPath} is already the state directory of ${other.target.unit}` +
          `${other.config ? ` (config ${other.config})` : ''}: one daemon holds a state directory, so each instance needs its own; set daemon.state_dir in ${configPath}`,
      );
    }
  }
}

function planInstall(ctx: CommandContext, deps: ServiceDeps): InstallPlan {
  const options = parseOptions(ctx, deps);
  if (ctx.values['state-dir'] !== undefined) {
    usage('--state-dir: the service uses daemon.state_dir from its config; set it there');
  }
  const { platform, name } = options;
  const target = targetOf(platform, name, deps);
  const configPath = installConfigPath(ctx, name, deps);
  if (name !== undefined && !existsSync(configPath)) {
    throw new ConfigError(configPath, [
      { key: '', message: `no such file: the instance ${name} runs this config; write it there first` },
    ]);
  }
  // The service does not see this shell's RPCOPY_STATE_DIR: validate the config as the service will read it.
  const config: Config = loadConfig(configPath, {}, serviceEnv(deps.env));
  const { stateDir, shutdownTimeoutMs } = config.daemon;
  checkStateDirFree(target, configPath, stateDir, deps);

  const daemon = deps.daemon();
  const environment = passedEnvironment(deps.env, (p) => absolutePath(p, deps));
  const record: InstallRecord = { config: configPath, stateDir };
  const program = { node: deps.node, daemon };
  const files: FileWrite[] = [];
  const write = (path: string, content: string) => files.push({ path, content, previous: readText(path) });
  try {
    if (platform === 'launchd') {
      const plist = renderLaunchdPlist({
        label: target.unit,
        ...program,
        config: configPath,
        stateDir,
        shutdownTimeoutMs,
        environment,
        record,
      });
      write(target.recordFile, plist);
    } else if (name === undefined) {
      write(
        target.recordFile,
        renderSystemdUnit({ ...program, config: configPath, shutdownTimeoutMs, environment, record }),
      );
    } else {
      write(join(target.dir, systemdTemplateName()), renderSystemdTemplate(program));
      write(target.recordFile, renderSystemdDropIn({ name, shutdownTimeoutMs, environment, record }));
    }
  } catch (err) {
    if (err instanceof UnitError) usage(err.message);
    throw err;
  }

  const steps: Step[] = [];
  const later: Step[] = [];
  if (platform === 'systemd') {
    steps.push(systemctl('daemon-reload'));
    // A changed unit applies to a running service only after a restart: try-restart restarts it only if it
    // runs (a graceful stop, like any), enable --now starts it if it does not.
    const changed = files.some((f) => f.previous !== undefined && f.previous !== f.content);
    const start = [
      ...(changed ? [systemctl('try-restart', target.unit)] : []),
      systemctl('enable', '--now', target.unit),
    ];
    (options.enable ? steps : later).push(...start);
  } else {
    const domain = `gui/${deps.uid}`;
    const load = [
      // bootstrap refuses a loaded agent: unload the previous one first (it stops gracefully).
      ...(files[0]?.previous !== undefined ? [launchctl(true, 'bootout', `${domain}/${target.unit}`)] : []),
      launchctl(false, 'enable', `${domain}/${target.unit}`),
      launchctl(false, 'bootstrap', domain, target.recordFile),
    ];
    (options.enable ? steps : later).push(...load);
  }

  const notes: string[] = [];
  const credentialVars = CREDENTIAL_ENVIRONMENT.filter((v) => deps.env[v]);
  if (credentialVars.length > 0) {
    notes.push(
      `${credentialVars.join(', ')} ${credentialVars.length > 1 ? 'are' : 'is'} set in this shell and not written into the service: it reads the profiles ${config.source.profile} and ${config.destination.profile} from the shared credentials file`,
    );
  }
  if (deps.env.RPCOPY_STATE_DIR) {
    notes.push(
      `RPCOPY_STATE_DIR is set in this shell but not passed to the service, which uses daemon.state_dir: ${stateDir}`,
    );
  }
  if (platform === 'systemd' && !lingering(deps)) notes.push(lingerNote(deps));

  return {
    target,
    enable: options.enable,
    shutdownTimeoutMs,
    files,
    steps,
    later,
    notes,
    summary: {
      platform,
      unit: target.unit,
      config: configPath,
      stateDir,
      stopTimeoutSec: stopTimeoutSeconds(shutdownTimeoutMs),
      command: [deps.node, daemon, '--config', configPath],
      environment,
      logs: logsHint(target, stateDir),
    },
  };
}

function printDryRun(ctx: CommandContext, plan: InstallPlan): void {
  const commands = plan.steps.map((s) => shellLine(s.argv));
  const manual = plan.later.map((s) => shellLine(s.argv));
  if (ctx.json) {
    const files = plan.files.map((f) => ({ path: f.path, content: f.content, exists: f.previous !== undefined }));
    ctx.out(JSON.stringify({ dryRun: true, ...plan.summary, files, commands, manual, notes: plan.notes }));
    return;
  }
  const lines = ['Dry run: nothing is written or run.', ''];
  for (const f of plan.files) lines.push(`Would write ${f.path}:`, '', f.content);
  if (commands.length > 0) lines.push('Would run:', ...commands.map((c) => `  ${c}`));
  if (manual.length > 0) lines.push('Left to you (--no-enable):', ...manual.map((c) => `  ${c}`));
  for (const note of plan.notes) lines.push(`Note: ${note}`);
  ctx.out(lines.join('\n'));
}

async function install(ctx: CommandContext, deps: ServiceDeps): Promise<number> {
  const plan = planInstall(ctx, deps);
  if (ctx.values['dry-run'] === true) {
    printDryRun(ctx, plan);
    return 0;
  }
  const { target, summary } = plan;
  if (target.platform === 'launchd') {
    // launchd opens the log files itself, before rpcopyd could create the directory (0700, as rpcopyd makes it).
    try {
      mkdirSync(summary.stateDir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new RpcopyError(
        'INTERNAL',
        `cannot create ${summary.stateDir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
  }
  for (const f of plan.files) writeWhole(f.path, f.content);

  const { results, remaining } = runSteps(plan.steps, deps);
  const manual = [...remaining, ...plan.later].map((s) => shellLine(s.argv));
  const started = plan.enable && remaining.length === 0;
  const action = (f: FileWrite) =>
    f.previous === undefined ? 'created' : f.previous === f.content ? 'unchanged' : 'replaced';

  if (ctx.json) {
    ctx.out(
      JSON.stringify({
        ...summary,
        files: plan.files.map((f) => ({ path: f.path, action: action(f) })),
        commands: results.map(publicResult),
        started,
        manual,
        notes: plan.notes,
      }),
    );
    return 0;
  }
  const environment = Object.entries(summary.environment).map(([k, v]) => `${k}=${v}`);
  const lines = [
    ...plan.files.map((f) => `${action(f)} ${f.path}`),
    `  runs:         ${shellLine(summary.command)}`,
    `  state:        ${summary.stateDir}`,
    `  stop timeout: ${summary.stopTimeoutSec}s (daemon.shutdown_timeout ${formatDuration(plan.shutdownTimeoutMs)} + ${STOP_MARGIN_SECONDS}s)`,
    `  environment:  ${environment.length > 0 ? environment.join(' ') : 'none passed (no AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE or AWS_ENDPOINT_URL* in this shell)'}`,
    ...results.map(describeResult),
  ];
  const tool = target.platform === 'systemd' ? 'systemctl' : 'launchctl';
  if (started) {
    lines.push(`${target.unit} is enabled and running. Logs: ${summary.logs}`);
  } else if (remaining.length === 0) {
    lines.push('Not enabled (--no-enable). To enable and start it:', ...manual.map((c) => `  ${c}`));
  } else if (results.some((r) => r.missing)) {
    lines.push(
      `${tool} is not on PATH, so ${target.unit} is written but not started. Where ${target.platform} runs, as ${deps.user}:`,
      ...manual.map((c) => `  ${c}`),
    );
  } else {
    const hint =
      target.platform === 'systemd'
        ? ' (no user service manager here? e.g. a container, or su without a login session)'
        : '';
    lines.push(
      `${target.unit} is written but ${tool} failed${hint}. Run by hand, as ${deps.user} in a login session:`,
      ...manual.map((c) => `  ${c}`),
    );
  }
  for (const note of plan.notes) lines.push(`Note: ${note}`);
  ctx.out(lines.join('\n'));
  return 0;
}

async function uninstall(ctx: CommandContext, deps: ServiceDeps): Promise<number> {
  const { platform, name } = parseOptions(ctx, deps);
  const target = targetOf(platform, name, deps);
  const files: string[] = [target.recordFile];
  let dropInDir: string | undefined;
  if (platform === 'systemd' && name !== undefined) {
    dropInDir = dirname(target.recordFile);
    const others = listInstalled(platform, deps).filter(
      (i) => i.target.name !== undefined && i.target.unit !== target.unit,
    );
    // The template is shared: it goes with the last instance.
    if (others.length === 0) files.push(join(target.dir, systemdTemplateName()));
  }
  const present = files.filter((f) => existsSync(f));
  if (present.length === 0) {
    if (ctx.json) ctx.out(JSON.stringify({ platform, unit: target.unit, installed: false, removed: [], commands: [] }));
    else ctx.out(`${target.unit} is not installed (no ${target.recordFile}); nothing to do.`);
    return 0;
  }

  const before =
    platform === 'systemd'
      ? [systemctl('disable', '--now', target.unit)]
      : // An agent that is not loaded (--no-enable, or no GUI session) fails bootout: nothing to stop then.
        [launchctl(true, 'bootout', `gui/${deps.uid}/${target.unit}`)];
  const stopped = runSteps(before, deps);
  for (const f of present) {
    try {
      rmSync(f, { force: true });
    } catch (err) {
      throw new RpcopyError(
        'INTERNAL',
        `cannot remove ${f}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
  }
  if (dropInDir && existsSync(dropInDir) && listDir(dropInDir).length === 0) rmdirSync(dropInDir);
  const after = platform === 'systemd' ? runSteps([systemctl('daemon-reload')], deps) : { results: [], remaining: [] };
  const results = [...stopped.results, ...after.results];
  // Without a reachable service manager nothing of ours runs under it; if something does, this stops it
  // (disable needs the unit file, which is gone now; stop does not).
  const manual =
    stopped.remaining.length > 0
      ? [shellLine(['systemctl', '--user', 'stop', target.unit]), shellLine(['systemctl', '--user', 'daemon-reload'])]
      : after.remaining.map((s) => shellLine(s.argv));

  if (ctx.json) {
    ctx.out(
      JSON.stringify({
        platform,
        unit: target.unit,
        installed: false,
        removed: present,
        commands: results.map(publicResult),
        manual,
      }),
    );
    return 0;
  }
  const lines = [
    ...stopped.results.map(describeResult),
    ...present.map((f) => `removed ${f}`),
    ...after.results.map(describeResult),
  ];
  if (manual.length > 0) {
    lines.push(
      `The files are removed, but the service manager could not be told. If ${target.unit} still runs, as ${deps.user}:`,
      ...manual.map((c) => `  ${c}`),
    );
  } else {
    lines.push(`${target.unit} is stopped and removed.`);
  }
  ctx.out(lines.join('\n'));
  return 0;
}

/** The first line systemctl printed on stdout (is-enabled/is-active answer there), or undefined. */
function answer(r: RunResult): string | undefined {
  if (r.error !== undefined) return undefined;
  const line = r.stdout.trim().split('\n')[0];
  return line ? line : undefined;
}

async function status(ctx: CommandContext, deps: ServiceDeps): Promise<number> {
  const { platform, name } = parseOptions(ctx, deps);
  const target = targetOf(platform, name, deps);
  const text = readText(target.recordFile);
  const record = text === undefined ? undefined : readInstallRecord(text);
  const fileExists = text !== undefined;
  const installed = listInstalled(platform, deps).map((i) => i.target.unit);
  const problems: string[] = [];
  const ask = (argv: string[]): string | undefined => {
    const r = deps.run(argv);
    const value = answer(r);
    if (value === undefined) {
      problems.push(
        r.error === 'ENOENT'
          ? `${argv[0]} is not on PATH`
          : `${shellLine(argv)}: ${r.stderr.trim() || `exit ${r.status}`}`,
      );
    }
    return value;
  };

  let enabled: string | undefined;
  let active: string | undefined;
  let pid: number | undefined;
  // Not installed: nothing to ask the service manager, whose "no such unit" would only add noise.
  const known = installed.includes(target.unit);
  if (known && platform === 'systemd') {
    // is-enabled reads unit files (works without a user bus); is-active needs the running user manager.
    enabled = ask(['systemctl', '--user', 'is-enabled', target.unit]);
    active = ask(['systemctl', '--user', 'is-active', target.unit]);
  } else if (known) {
    const r = deps.run(['launchctl', 'print', `gui/${deps.uid}/${target.unit}`]);
    if (r.error === 'ENOENT') {
      problems.push('launchctl is not on PATH');
    } else if (r.status === 0) {
      enabled = 'loaded';
      active = /^\s*state = (\S+)/m.exec(r.stdout)?.[1] ?? 'unknown';
      const found = /^\s*pid = (\d+)/m.exec(r.stdout)?.[1];
      pid = found === undefined ? undefined : Number(found);
    } else {
      enabled = 'not loaded';
    }
  }
  const linger = platform === 'systemd' ? lingering(deps) : undefined;
  const logs = logsHint(target, record?.stateDir);
  const result = {
    platform,
    unit: target.unit,
    file: target.recordFile,
    fileExists,
    config: record?.config ?? (name !== undefined ? join(deps.home, instanceConfigPath(name)) : undefined),
    stateDir: record?.stateDir,
    enabled: enabled ?? null,
    active: active ?? null,
    ...(pid !== undefined ? { pid } : {}),
    ...(linger !== undefined ? { linger } : {}),
    logs,
    installed,
    problems,
  };
  if (ctx.json) {
    ctx.out(JSON.stringify(result));
    return 0;
  }
  const rows = [
    `${target.unit} (${platform})`,
    `  file:      ${target.recordFile}${fileExists ? '' : ' (not installed: rpctl service install)'}`,
    ...(result.config ? [`  config:    ${result.config}`] : []),
    ...(result.stateDir ? [`  state:     ${result.stateDir}`] : []),
    `  enabled:   ${enabled ?? 'unknown'}`,
    `  active:    ${active ?? 'unknown'}${pid !== undefined ? ` (pid ${pid})` : ''}`,
    `  logs:      ${logs}`,
    ...(fileExists && result.config ? [`  progress:  rpctl status --config ${shellLine([result.config])}`] : []),
  ];
  if (linger === false) rows.push(`  Note: ${lingerNote(deps)}`);
  const others = installed.filter((u) => u !== target.unit);
  if (others.length > 0) rows.push(`  also installed: ${others.join(', ')} (rpctl service status --name NAME)`);
  for (const problem of problems) rows.push(`  could not ask: ${problem}`);
  ctx.out(rows.join('\n'));
  return 0;
}

const SUBCOMMANDS = { install, uninstall, status } as const;

/** Runs a subcommand against the given machine; the Command below binds it to this one. */
export async function runService(ctx: CommandContext, deps: ServiceDeps): Promise<number> {
  const [sub, ...extra] = ctx.positionals;
  const run = sub === undefined ? undefined : SUBCOMMANDS[sub as keyof typeof SUBCOMMANDS];
  if (!run || extra.length > 0) {
    process.stderr.write(`rpctl service: expected install, uninstall or status\nusage: ${serviceCommand.usage}\n`);
    return 2;
  }
  // Errors propagate to main(), which maps ConfigError to exit 3 naming the file, line and key.
  return run(ctx, deps);
}

export const serviceCommand: Command = {
  name: 'service',
  summary: 'install|uninstall|status: run rpcopyd as a systemd user service or a launchd agent',
  usage: `rpctl service install [--config PATH] [--name NAME] [--platform systemd|launchd] [--no-enable] [--dry-run] [--json]
       rpctl service uninstall [--name NAME] [--platform systemd|launchd] [--json]
       rpctl service status [--name NAME] [--platform systemd|launchd] [--json]

  --name NAME        an instance of the template unit rpcopyd@.service (launchd: ${LAUNCHD_LABEL}.NAME),
                     running ~/.config/rpcopy/NAME.toml; several account pairs then run side by side,
                     each config with its own daemon.state_dir (install refuses a state directory in use)
  --platform P       systemd (default, writes $XDG_CONFIG_HOME/systemd/user) or launchd (default on macOS,
                     writes ~/Library/LaunchAgents)
  --no-enable        write the unit only (systemd: and daemon-reload); print the commands that start it
  --dry-run          print the unit and the commands; write and run nothing

install validates the config, writes the unit with absolute paths to this node and rpcopyd, passes on
AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE and AWS_ENDPOINT_URL* from this shell (never credentials),
then runs systemctl --user daemon-reload and enable --now (launchd: launchctl bootstrap gui/UID). If the
service manager cannot be reached, it says so and prints the commands to run by hand: the exit code is
non-zero only when the unit could not be written (or the config is invalid: 3). Install again after
changing daemon.shutdown_timeout or upgrading Node. status shows the unit file, whether it is enabled and
active, and where its logs are.`,
  options: {
    name: { type: 'string' },
    platform: { type: 'string' },
    'no-enable': { type: 'boolean', default: false },
    'dry-run': { type: 'boolean', default: false },
  },
  run(ctx) {
    return runService(ctx, defaultDeps());
  },
};
