// The text of the service definitions `rpctl service install` writes: a
// systemd user unit, a systemd template unit with a per-instance drop-in, and
// a launchd agent plist. Pure: no file, process or environment access, so the
// exact text is unit-tested and the examples in systemd/ are rendered from
// the same functions (test/unit/service-units.test.ts fails when they drift).
//
// What the units must agree with (daemon/main.ts, README "Exit codes"):
// - rpcopyd runs in the foreground and logs one JSON object per line on stdout.
// - SIGTERM stops it gracefully: in-flight calls get daemon.shutdown_timeout,
//   a notify.command still running gets up to 10 s more (it is killed then),
//   then the store is closed and it exits 0. So the supervisor's stop timeout
//   is shutdown_timeout plus STOP_MARGIN_SECONDS before it sends SIGKILL; a
//   SIGKILL leaves the store consistent anyway (every step is committed
//   before its AWS call), it only costs a reconciliation at the next start.
// - Exit 0 means stopped on request or done: never restarted. Exit codes a
//   restart cannot fix are not restarted either (RESTART_PREVENT_EXIT_CODES).

export const SERVICE_NAME = 'rpcopyd';
export const LAUNCHD_LABEL = 'com.rpcopy.rpcopyd';
/** The name of the drop-in file that carries one template instance's settings. */
export const DROP_IN_FILE = 'rpctl.conf';
/** A comment near the top of every file `rpctl service install` writes: this marker and what it was installed for. */
const MARKER = 'rpctl-service';

/** Seconds above daemon.shutdown_timeout: up to 10 s for a notify.command still running, then closing the store. */
export const STOP_MARGIN_SECONDS = 15;
/** The default daemon.shutdown_timeout (shared/config.ts), used where no config is known (the template unit). */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 20_000;
/**
 * Exit codes a restart cannot fix: usage error (the unit's own arguments), invalid config, another daemon holds
 * the state directory, the store belongs to another job or a newer rpcopy.
 */
export const RESTART_PREVENT_EXIT_CODES = [2, 3, 6, 7] as const;
const RESTART_DELAY_SECONDS = 10;
/** Starts allowed within START_LIMIT_INTERVAL before systemd gives up (a crash loop stays visible as failed). */
const START_LIMIT_BURST = 5;
const START_LIMIT_INTERVAL = '10min';

/**
 * Environment variables passed from the installing shell into the service: where the shared credentials and
 * config files are, and the endpoint overrides a sandbox rehearsal uses. Never the credentials themselves: the
 * service reads the profiles named in the config from the credentials file, which an external tool refreshes.
 */
const PASSED_ENVIRONMENT = ['AWS_SHARED_CREDENTIALS_FILE', 'AWS_CONFIG_FILE', 'AWS_ENDPOINT_URL'] as const;
const PASSED_ENVIRONMENT_PREFIX = 'AWS_ENDPOINT_URL_';
/** Variables that hold credentials: reported as not written, never copied. */
export const CREDENTIAL_ENVIRONMENT = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'] as const;

const INSTANCE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export class UnitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnitError';
  }
}

/** What an installed file was installed for; read back for `status` and the state-directory clash check. */
export interface InstallRecord {
  config: string;
  stateDir: string;
}

/** A value already written in systemd unit syntax (specifiers such as %h and %i are kept as they are). */
export interface UnitSyntax {
  unit: string;
}

export function stopTimeoutSeconds(shutdownTimeoutMs: number): number {
  return Math.ceil(shutdownTimeoutMs / 1000) + STOP_MARGIN_SECONDS;
}

/** Undefined when the name can be a template instance and a launchd label suffix; else the reason it cannot. */
export function instanceNameProblem(name: string): string | undefined {
  if (INSTANCE_NAME.test(name)) return undefined;
  return `--name ${JSON.stringify(name)}: expected 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit`;
}

export function systemdUnitName(name?: string): string {
  return name === undefined ? `${SERVICE_NAME}.service` : `${SERVICE_NAME}@${name}.service`;
}

export function systemdTemplateName(): string {
  return `${SERVICE_NAME}@.service`;
}

export function launchdLabel(name?: string): string {
  return name === undefined ? LAUNCHD_LABEL : `${LAUNCHD_LABEL}.${name}`;
}

/** The config a template instance runs, relative to the home directory (the template's ExecStart says the same). */
export function instanceConfigPath(name: string): string {
  return `.config/rpcopy/${name}.toml`;
}

/** The launchd agent's log files: launchd opens them itself, so they live in the daemon's state directory. */
export function launchdLogPaths(stateDir: string): { stdout: string; stderr: string } {
  return { stdout: `${stateDir}/rpcopyd.log`, stderr: `${stateDir}/rpcopyd.err.log` };
}

/**
 * The variables of PASSED_ENVIRONMENT set in env, with ~ and relative paths made absolute (the service starts in
 * another directory), sorted by name so that the unit text is stable.
 */
export function passedEnvironment(
  env: Record<string, string | undefined>,
  resolvePath: (path: string) => string,
): Record<string, string> {
  const passed: Record<string, string> = {};
  const names = Object.keys(env)
    .filter((k) => (PASSED_ENVIRONMENT as readonly string[]).includes(k) || k.startsWith(PASSED_ENVIRONMENT_PREFIX))
    .sort();
  for (const name of names) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    passed[name] = name.startsWith('AWS_ENDPOINT_URL') ? value : resolvePath(value);
  }
  return passed;
}

function checkText(what: string, value: string): void {
  // A newline or other control character would end a unit line or a plist string early.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused
  if (/[\u0000-\u001f\u007f]/.test(value)) throw new UnitError(`${what} contains a control character: ${value}`);
}

/** One ExecStart argument: % and $ escaped, quoted when it holds whitespace, quotes, backslashes or ';'. */
export function systemdArg(value: string | UnitSyntax): string {
  if (typeof value !== 'string') return value.unit;
  checkText('an ExecStart argument', value);
  const escaped = value.replaceAll('%', '%%').replaceAll('$', '$$$$');
  if (escaped !== '' && !/[\s"'\\;]/.test(escaped)) return escaped;
  return `"${escaped.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

function systemdEnvironment(environment: Record<string, string>): string[] {
  return Object.entries(environment).map(([name, value]) => {
    checkText(name, value);
    // Environment= expands specifiers but not variables: only % needs doubling; quoted so spaces survive.
    const text = `${name}=${value}`.replaceAll('%', '%%').replaceAll('\\', '\\\\').replaceAll('"', '\\"');
    return `Environment="${text}"`;
  });
}

/**
 * The marker line: the install record as JSON in a comment. Every '-' is written as \u002d so that the line is
 * also a valid XML comment (which may not contain "--") and reads back with JSON.parse unchanged.
 */
function markerText(record: InstallRecord): string {
  return `${MARKER} ${JSON.stringify({ config: record.config, stateDir: record.stateDir }).replaceAll('-', '\\u002d')}`;
}

/** The install record of a file this module rendered; undefined for any other text. */
export function readInstallRecord(text: string): InstallRecord | undefined {
  const at = text.indexOf(`${MARKER} {`);
  if (at < 0) return undefined;
  const start = at + MARKER.length + 1;
  const lineEnd = text.indexOf('\n', start);
  const line = text.slice(start, lineEnd < 0 ? undefined : lineEnd).replace(/\s*-->\s*$/, '');
  try {
    const value = JSON.parse(line) as Partial<InstallRecord>;
    if (typeof value.config !== 'string' || typeof value.stateDir !== 'string') return undefined;
    return { config: value.config, stateDir: value.stateDir };
  } catch {
    return undefined;
  }
}

export interface SystemdProgram {
  /** Absolute path of the node binary (process.execPath at install time). */
  node: string;
  /** Absolute path of rpcopyd's entry point (dist/daemon/main.js of the installed package). */
  daemon: string;
}

export interface SystemdUnitOptions extends SystemdProgram {
  config: string | UnitSyntax;
  shutdownTimeoutMs: number;
  environment: Record<string, string>;
  /** Omitted in the examples, which belong to no installation. */
  record?: InstallRecord;
}

function serviceSection(options: {
  execStart: string;
  shutdownTimeoutMs: number;
  environment: Record<string, string>;
  timeoutNote: string;
}): string[] {
  return [
    '[Service]',
    // exec, not simple: a missing node binary or entry point fails the start instead of a "started" that dies.
    'Type=exec',
    `ExecStart=${options.execStart}`,
    '# Stopping: SIGTERM makes rpcopyd stop claiming work, let in-flight calls finish within',
    `# daemon.shutdown_timeout, save and exit 0. TimeoutStopSec is that bound + ${STOP_MARGIN_SECONDS}s (a notify.command`,
    '# still running, closing the store) before SIGKILL, after which the next start reconciles.',
    `# ${options.timeoutNote}`,
    'KillSignal=SIGTERM',
    `TimeoutStopSec=${stopTimeoutSeconds(options.shutdownTimeoutMs)}`,
    '# systemctl --user reload: rpcopyd re-reads the config and applies what changes live (as rpctl reload).',
    'ExecReload=/bin/kill -HUP $MAINPID',
    '# Exit 0 (stopped on request, or done) is final; a crash restarts. Not restarted: usage error (2),',
    '# invalid config (3), another daemon on the state directory (6), the store is not this job’s (7).',
    'Restart=on-failure',
    `RestartSec=${RESTART_DELAY_SECONDS}`,
    `RestartPreventExitStatus=${RESTART_PREVENT_EXIT_CODES.join(' ')}`,
    '# One JSON object per line: journalctl --user -u <unit> -o cat',
    'StandardOutput=journal',
    'StandardError=journal',
    `SyslogIdentifier=${SERVICE_NAME}`,
    '# The store and the control socket are readable by this user only.',
    'UMask=0077',
    ...systemdEnvironment(options.environment),
  ];
}

function unitSection(description: string): string[] {
  return [
    '[Unit]',
    `Description=${description}`,
    // No After=network-online.target: a user manager cannot see system targets, and rpcopyd retries AWS anyway.
    `# After ${START_LIMIT_BURST} failed starts within ${START_LIMIT_INTERVAL} it stays failed (systemctl --user status shows why)`,
    '# rather than looping; systemctl --user reset-failed <unit> clears it.',
    `StartLimitIntervalSec=${START_LIMIT_INTERVAL}`,
    `StartLimitBurst=${START_LIMIT_BURST}`,
  ];
}

const INSTALL_SECTION = ['[Install]', 'WantedBy=default.target'];

function execStart(program: SystemdProgram, config: string | UnitSyntax): string {
  return [program.node, program.daemon, '--config', config].map(systemdArg).join(' ');
}

function header(lines: string[], record: InstallRecord | undefined): string[] {
  return [...(record ? [`# ${markerText(record)}`] : []), ...lines.map((l) => `# ${l}`)];
}

/** rpcopyd.service: one daemon for one config. */
export function renderSystemdUnit(options: SystemdUnitOptions): string {
  return `${[
    ...header(
      [
        'rpcopyd as a systemd user service. Written by `rpctl service install`, which fills in the paths and',
        'TimeoutStopSec from the config; install again after changing daemon.shutdown_timeout or moving Node.',
      ],
      options.record,
    ),
    ...unitSection('rpcopy: copy AWS Backup recovery points between accounts'),
    '',
    ...serviceSection({
      execStart: execStart(options, options.config),
      shutdownTimeoutMs: options.shutdownTimeoutMs,
      environment: options.environment,
      timeoutNote: `Here daemon.shutdown_timeout is ${options.shutdownTimeoutMs / 1000}s.`,
    }),
    '',
    ...INSTALL_SECTION,
  ].join('\n')}\n`;
}

/**
 * rpcopyd@.service: one daemon per config ~/.config/rpcopy/<instance>.toml, so that several account pairs run
 * side by side (each config needs its own daemon.state_dir: one daemon holds a state directory). What differs per
 * instance beyond the config name (stop timeout, environment) is in the instance's drop-in.
 */
export function renderSystemdTemplate(program: SystemdProgram): string {
  return `${[
    ...header(
      [
        'rpcopyd as a systemd user template: rpcopyd@NAME runs the config ~/.config/rpcopy/NAME.toml. Written by',
        '`rpctl service install --name NAME`, which also writes rpcopyd@NAME.service.d/rpctl.conf with the',
        'instance’s TimeoutStopSec and environment. Each config needs its own daemon.state_dir.',
      ],
      undefined,
    ),
    ...unitSection('rpcopy (%i): copy AWS Backup recovery points between accounts'),
    '',
    ...serviceSection({
      execStart: execStart(program, { unit: `%h/${instanceConfigPath('%i')}` }),
      shutdownTimeoutMs: DEFAULT_SHUTDOWN_TIMEOUT_MS,
      environment: {},
      timeoutNote: `This is for the default ${DEFAULT_SHUTDOWN_TIMEOUT_MS / 1000}s; each instance’s drop-in sets it from its config.`,
    }),
    '',
    ...INSTALL_SECTION,
  ].join('\n')}\n`;
}

export interface DropInOptions {
  name: string;
  shutdownTimeoutMs: number;
  environment: Record<string, string>;
  record: InstallRecord;
}

/** rpcopyd@NAME.service.d/rpctl.conf: the settings of one instance that come from its config and the install. */
export function renderSystemdDropIn(options: DropInOptions): string {
  return `${[
    ...header(
      [
        `Settings of rpcopyd@${options.name} from its config ~/${instanceConfigPath(options.name)} and the installing shell.`,
        `Written by \`rpctl service install --name ${options.name}\`; install again after changing the config.`,
      ],
      options.record,
    ),
    '[Service]',
    `TimeoutStopSec=${stopTimeoutSeconds(options.shutdownTimeoutMs)}`,
    ...systemdEnvironment(options.environment),
  ].join('\n')}\n`;
}

function xmlEscape(value: string): string {
  checkText('a plist value', value);
  return value.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

export interface LaunchdOptions {
  label: string;
  node: string;
  daemon: string;
  config: string;
  stateDir: string;
  shutdownTimeoutMs: number;
  environment: Record<string, string>;
  record?: InstallRecord;
}

/** ~/Library/LaunchAgents/<label>.plist: a launchd agent running rpcopyd for the logged-in user. */
export function renderLaunchdPlist(options: LaunchdOptions): string {
  const string = (value: string) => `<string>${xmlEscape(value)}</string>`;
  const logs = launchdLogPaths(options.stateDir);
  const environment = Object.entries(options.environment);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    ...(options.record ? [`<!-- ${markerText(options.record)} -->`] : []),
    '<!--',
    // No "--" in here: XML comments may not contain it.
    '  rpcopyd as a launchd agent. Written by `rpctl service install` (platform launchd), which fills in the paths',
    '  and ExitTimeOut from the config; install again after changing daemon.shutdown_timeout or moving Node.',
    '  Stopping: launchd sends SIGTERM, rpcopyd drains within daemon.shutdown_timeout, saves and exits 0;',
    `  ExitTimeOut adds ${STOP_MARGIN_SECONDS}s before SIGKILL. KeepAlive restarts any exit but 0 (launchd cannot exempt`,
    `  exit codes; ThrottleInterval spaces the attempts). Logs: the state directory's rpcopyd.log.`,
    '-->',
    '<plist version="1.0">',
    '<dict>',
    '  <key>Label</key>',
    `  ${string(options.label)}`,
    '  <key>ProgramArguments</key>',
    '  <array>',
    ...[options.node, options.daemon, '--config', options.config].map((a) => `    ${string(a)}`),
    '  </array>',
    '  <key>RunAtLoad</key>',
    '  <true/>',
    '  <key>KeepAlive</key>',
    '  <dict>',
    '    <key>SuccessfulExit</key>',
    '    <false/>',
    '  </dict>',
    '  <key>ThrottleInterval</key>',
    `  <integer>${RESTART_DELAY_SECONDS}</integer>`,
    '  <key>ExitTimeOut</key>',
    `  <integer>${stopTimeoutSeconds(options.shutdownTimeoutMs)}</integer>`,
    '  <key>Umask</key>',
    // launchd reads the umask as a decimal integer: 63 is 0077.
    `  <integer>${0o077}</integer>`,
    '  <key>StandardOutPath</key>',
    `  ${string(logs.stdout)}`,
    '  <key>StandardErrorPath</key>',
    `  ${string(logs.stderr)}`,
    ...(environment.length > 0
      ? [
          '  <key>EnvironmentVariables</key>',
          '  <dict>',
          ...environment.flatMap(([name, value]) => [`    <key>${xmlEscape(name)}</key>`, `    ${string(value)}`]),
          '  </dict>',
        ]
      : []),
    '</dict>',
    '</plist>',
  ];
  return `${lines.join('\n')}\n`;
}

/** Paths the examples in systemd/ are rendered with: Debian's node and a global npm install. */
const EXAMPLE_PROGRAM: SystemdProgram = {
  node: '/usr/bin/node',
  daemon: '/usr/local/lib/node_modules/rpcopy/dist/daemon/main.js',
};

/** The example files in systemd/, by file name. */
export function exampleFiles(): { name: string; content: string }[] {
  const macHome = '/Users/you';
  return [
    {
      name: systemdUnitName(),
      content: renderSystemdUnit({
        ...EXAMPLE_PROGRAM,
        config: { unit: '%h/.config/rpcopy/config.toml' },
        shutdownTimeoutMs: DEFAULT_SHUTDOWN_TIMEOUT_MS,
        environment: {},
      }),
    },
    { name: systemdTemplateName(), content: renderSystemdTemplate(EXAMPLE_PROGRAM) },
    {
      name: `${LAUNCHD_LABEL}.plist`,
      content: renderLaunchdPlist({
        label: LAUNCHD_LABEL,
        node: '/usr/local/bin/node',
        daemon: '/usr/local/lib/node_modules/rpcopy/dist/daemon/main.js',
        config: `${macHome}/.config/rpcopy/config.toml`,
        stateDir: `${macHome}/.local/state/rpcopy`,
        shutdownTimeoutMs: DEFAULT_SHUTDOWN_TIMEOUT_MS,
        environment: {},
      }),
    },
  ];
}
