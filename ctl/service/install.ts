// rpctl service install: plan the unit from the config (--dry-run prints the plan), write each file whole,
// then ask the service manager to load and start it.

import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Config, ConfigError, DEFAULT_CONFIG_PATH, loadConfig } from '../../shared/config.js';
import { formatDuration } from '../../shared/duration.js';
import { RpcopyError } from '../../shared/errors.js';
import type { CommandContext } from '../command.js';
import type { Platform, ServiceDeps } from './deps.js';
import {
  describeResult,
  type FileWrite,
  launchctl,
  publicResult,
  runSteps,
  type Step,
  shellLine,
  systemctl,
  writeWhole,
} from './steps.js';
import {
  installedStateDir,
  lingering,
  lingerNote,
  listInstalled,
  logsHint,
  parseOptions,
  readText,
  samePath,
  serviceEnv,
  type Target,
  targetOf,
  usage,
} from './targets.js';
import {
  CREDENTIAL_ENVIRONMENT,
  type InstallRecord,
  instanceConfigPath,
  passedEnvironment,
  renderLaunchdPlist,
  renderSystemdDropIn,
  renderSystemdTemplate,
  renderSystemdUnit,
  STOP_MARGIN_SECONDS,
  stopTimeoutSeconds,
  systemdTemplateName,
  UnitError,
} from './units.js';

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

export async function install(ctx: CommandContext, deps: ServiceDeps): Promise<number> {
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
