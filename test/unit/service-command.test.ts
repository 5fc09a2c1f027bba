import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { type CommandContext, createContext } from '../../ctl/command.js';
import { main } from '../../ctl/main.js';
import { runService } from '../../ctl/service/command.js';
import { defaultDeps, type ServiceDeps } from '../../ctl/service/deps.js';
import {
  readInstallRecord,
  renderLaunchdPlist,
  renderSystemdDropIn,
  renderSystemdTemplate,
  renderSystemdUnit,
} from '../../ctl/service/units.js';
import { ConfigError } from '../../shared/config.js';
import { writeTestConfig } from '../helpers/config.js';

const DAEMON = '/opt/rpcopy/dist/daemon/main.js';
const UID = 1000;
const USER = 'operator';

/** Records each call as one line of arguments; FAKE_FAIL=<word> makes calls containing it fail like a missing bus. */
const FAKE_SYSTEMCTL = `#!/bin/sh
printf 'systemctl %s\\n' "$*" >> "$FAKE_LOG"
if [ -n "$FAKE_FAIL" ]; then
  case " $* " in *" $FAKE_FAIL "*) echo "Failed to connect to bus: No medium found" >&2; exit 1;; esac
fi
case "$2" in
  is-enabled) echo enabled ;;
  is-active) echo active ;;
esac
exit 0
`;

const FAKE_LAUNCHCTL = `#!/bin/sh
printf 'launchctl %s\\n' "$*" >> "$FAKE_LOG"
case "$1" in
  print) printf 'gui/1000/com.rpcopy.rpcopyd = {\\n\\tstate = running\\n\\tpid = 4242\\n}\\n' ;;
  bootout) [ -f "$FAKE_LOADED" ] || { echo "Boot-out failed: 3: No such process" >&2; exit 3; } ;;
esac
exit 0
`;

interface Machine {
  root: string;
  home: string;
  units: string;
  agents: string;
  log: string;
  deps: ServiceDeps;
  /** The recorded service-manager calls since the last look, then forgets them. */
  calls(): string[];
  run(args: string[]): Promise<{ code: number; out: string }>;
}

function machine(t: Test, options: { tools?: ('systemctl' | 'launchctl')[]; env?: NodeJS.ProcessEnv } = {}): Machine {
  const root = t.testdir({ home: {}, bin: {}, linger: {}, work: {} });
  const home = join(root, 'home');
  const bin = join(root, 'bin');
  const log = join(root, 'calls.log');
  for (const tool of options.tools ?? ['systemctl', 'launchctl']) {
    writeFileSync(join(bin, tool), tool === 'systemctl' ? FAKE_SYSTEMCTL : FAKE_LAUNCHCTL);
    chmodSync(join(bin, tool), 0o755);
  }
  const env: NodeJS.ProcessEnv = {
    HOME: home,
    XDG_CONFIG_HOME: join(home, 'xdg'),
    // Only the stand-ins (sh scripts using shell builtins): the machine's own systemctl is never reached.
    PATH: bin,
    FAKE_LOG: log,
    ...options.env,
  };
  const deps: ServiceDeps = {
    ...defaultDeps(env),
    platform: 'linux',
    home,
    cwd: join(root, 'work'),
    uid: UID,
    user: USER,
    node: '/usr/bin/node',
    daemon: () => DAEMON,
    lingerDir: join(root, 'linger'),
  };
  const m: Machine = {
    root,
    home,
    units: join(home, 'xdg', 'systemd', 'user'),
    agents: join(home, 'Library', 'LaunchAgents'),
    log,
    deps,
    calls() {
      const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
      writeFileSync(log, '');
      return text.split('\n').filter(Boolean);
    },
    async run(args) {
      const { code, out } = await runIn(deps, args);
      return { code, out };
    },
  };
  return m;
}

/** Runs `rpctl service ...` in-process against deps, the way main() parses it; returns the exit code and output. */
async function runIn(deps: ServiceDeps, args: string[]): Promise<{ code: number; out: string }> {
  const { values, positionals } = parse(args);
  let out = '';
  const ctx: CommandContext = { ...createContext(values, positionals, deps.env), out: (s) => (out += `${s}\n`) };
  const code = await runService(ctx, deps);
  return { code, out };
}

function parse(args: string[]) {
  const values: Record<string, string | boolean | undefined> = {};
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i]!;
    if (!arg.startsWith('--')) positionals.push(arg);
    else if (['--config', '--name', '--platform', '--state-dir'].includes(arg)) values[arg.slice(2)] = args[++i];
    else values[arg.slice(2)] = true;
  }
  return { values, positionals };
}

function config(m: Machine, file: string, stateDir: string, extra = ''): string {
  const dir = join(m.root, 'cfg', file);
  const written = writeTestConfig(dir, { stateDir, extra });
  mkdirSync(join(m.home, '.config', 'rpcopy'), { recursive: true });
  const target = join(m.home, '.config', 'rpcopy', `${file}.toml`);
  writeFileSync(target, readFileSync(written, 'utf8'));
  return target;
}

t.test('install writes the user unit and enables it; reinstalling restarts only when the unit changed', async (t) => {
  const m = machine(t, {
    env: {
      AWS_SHARED_CREDENTIALS_FILE: 'sb/credentials',
      AWS_CONFIG_FILE: '/etc/aws/config',
      AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'do-not-write-me',
    },
  });
  const path = config(m, 'config', join(m.root, 'state'));
  const { code, out } = await m.run(['install', '--json']);
  t.equal(code, 0);
  const unitPath = join(m.units, 'rpcopyd.service');
  const expected = renderSystemdUnit({
    node: '/usr/bin/node',
    daemon: DAEMON,
    config: path,
    shutdownTimeoutMs: 20_000,
    environment: {
      AWS_CONFIG_FILE: '/etc/aws/config',
      AWS_SHARED_CREDENTIALS_FILE: join(m.root, 'work/sb/credentials'),
    },
    record: { config: path, stateDir: join(m.root, 'state') },
  });
  t.equal(readFileSync(unitPath, 'utf8'), expected, 'the unit as rendered, with absolute paths');
  t.notMatch(readFileSync(unitPath, 'utf8'), /AKIA|do-not-write-me/, 'no credentials in the unit');
  t.same(m.calls(), ['systemctl --user daemon-reload', 'systemctl --user enable --now rpcopyd.service']);
  const answer = JSON.parse(out);
  t.match(answer, {
    platform: 'systemd',
    unit: 'rpcopyd.service',
    config: path,
    stateDir: join(m.root, 'state'),
    stopTimeoutSec: 35,
    command: ['/usr/bin/node', DAEMON, '--config', path],
    files: [{ path: unitPath, action: 'created' }],
    started: true,
    manual: [],
    logs: 'journalctl --user -u rpcopyd.service -f',
  });
  t.same(
    answer.commands.map((c: { command: string; ok: boolean }) => [c.command, c.ok]),
    [
      ['systemctl --user daemon-reload', true],
      ['systemctl --user enable --now rpcopyd.service', true],
    ],
  );
  t.match(answer.notes.join('\n'), /AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY are set in this shell and not written/);
  t.match(answer.notes.join('\n'), /loginctl enable-linger operator/, 'lingering is off: says how to keep it running');

  // Same config again: nothing to restart.
  writeFileSync(join(m.root, 'linger', USER), '');
  const again = await m.run(['install']);
  t.equal(again.code, 0);
  t.same(m.calls(), ['systemctl --user daemon-reload', 'systemctl --user enable --now rpcopyd.service']);
  t.match(again.out, /unchanged .*rpcopyd\.service/);
  t.notMatch(again.out, /enable-linger/, 'no linger note once lingering is on');

  // A longer shutdown_timeout: the unit changes, a running service is restarted to apply it.
  writeFileSync(path, `${readFileSync(path, 'utf8')}shutdown_timeout = "2m"\n`);
  const changed = await m.run(['install']);
  t.equal(changed.code, 0);
  t.match(readFileSync(unitPath, 'utf8'), /^TimeoutStopSec=135$/m);
  t.same(m.calls(), [
    'systemctl --user daemon-reload',
    'systemctl --user try-restart rpcopyd.service',
    'systemctl --user enable --now rpcopyd.service',
  ]);
  t.match(changed.out, /replaced .*rpcopyd\.service/);
  t.match(changed.out, /stop timeout: 135s \(daemon\.shutdown_timeout 2m \+ 15s\)/);
});

t.test('--dry-run prints the unit and the commands and does nothing; --no-enable only reloads', async (t) => {
  const m = machine(t);
  const path = config(m, 'config', join(m.root, 'state'));
  const dry = await m.run(['install', '--dry-run']);
  t.equal(dry.code, 0);
  t.notOk(existsSync(m.units), 'nothing written');
  t.same(m.calls(), [], 'nothing run');
  t.match(dry.out, `ExecStart=/usr/bin/node ${DAEMON} --config ${path}`);
  t.match(
    dry.out,
    /Would run:\n {2}systemctl --user daemon-reload\n {2}systemctl --user enable --now rpcopyd\.service/,
  );

  const dryJson = JSON.parse((await m.run(['install', '--dry-run', '--json'])).out);
  t.equal(dryJson.dryRun, true);
  t.equal(
    dryJson.files[0].content,
    renderSystemdUnit({
      node: '/usr/bin/node',
      daemon: DAEMON,
      config: path,
      shutdownTimeoutMs: 20_000,
      environment: {},
      record: { config: path, stateDir: join(m.root, 'state') },
    }),
  );

  const noEnable = await m.run(['install', '--no-enable', '--json']);
  t.equal(noEnable.code, 0);
  t.ok(existsSync(join(m.units, 'rpcopyd.service')));
  t.same(m.calls(), ['systemctl --user daemon-reload']);
  t.match(JSON.parse(noEnable.out), { started: false, manual: ['systemctl --user enable --now rpcopyd.service'] });
});

t.test('without a user bus or without systemctl: the file is written, the commands are printed, exit 0', async (t) => {
  const noBus = machine(t, { env: { FAKE_FAIL: 'daemon-reload' } });
  config(noBus, 'config', join(noBus.root, 'state'));
  const failed = await noBus.run(['install']);
  t.equal(failed.code, 0, 'only a failed write is an error');
  t.ok(existsSync(join(noBus.units, 'rpcopyd.service')));
  t.same(noBus.calls(), ['systemctl --user daemon-reload'], 'stops at the first failure');
  t.match(failed.out, /failed {2}systemctl --user daemon-reload \(exit 1\): Failed to connect to bus/);
  t.match(
    failed.out,
    /rpcopyd\.service is written but systemctl failed.*\n {2}systemctl --user daemon-reload\n {2}systemctl --user enable --now rpcopyd\.service/,
  );

  const enableFails = machine(t, { env: { FAKE_FAIL: 'enable' } });
  config(enableFails, 'config', join(enableFails.root, 'state'));
  const json = JSON.parse((await enableFails.run(['install', '--json'])).out);
  t.match(json, { started: false, manual: ['systemctl --user enable --now rpcopyd.service'] });
  t.match(json.commands, [{ ok: true }, { ok: false, exitCode: 1, output: /No medium found/ }]);

  const absent = machine(t, { tools: [] });
  config(absent, 'config', join(absent.root, 'state'));
  const missing = await absent.run(['install']);
  t.equal(missing.code, 0);
  t.ok(existsSync(join(absent.units, 'rpcopyd.service')));
  t.match(missing.out, /missing systemctl --user daemon-reload: systemctl is not on PATH/);
  t.match(missing.out, /systemctl is not on PATH, so rpcopyd\.service is written but not started/);
});

t.test('a failed write is the one error; an invalid config and bad options are refused before it', async (t) => {
  const m = machine(t);
  config(m, 'config', join(m.root, 'state'));
  // The unit directory cannot be created: XDG_CONFIG_HOME is a file.
  writeFileSync(join(m.home, 'xdg'), 'not a directory');
  await t.rejects(m.run(['install']), {
    name: 'RpcopyError',
    code: 'INTERNAL',
    message: /cannot write .*rpcopyd\.service/,
  });
  t.same(m.calls(), [], 'nothing run after a failed write');

  await t.rejects(m.run(['install', '--config', join(m.root, 'nope.toml')]), ConfigError);
  const bad = join(m.root, 'bad.toml');
  writeFileSync(bad, 'region = "eu-west-2"\n');
  await t.rejects(m.run(['install', '--config', bad]), ConfigError, 'an invalid config (exit 3) is not installed');
  await t.rejects(m.run(['install', '--platform', 'upstart']), { code: 'BAD_REQUEST', message: /--platform/ });
  await t.rejects(m.run(['install', '--name', 'a/b']), { code: 'BAD_REQUEST', message: /--name/ });
  await t.rejects(m.run(['install', '--state-dir', '/x']), { code: 'BAD_REQUEST', message: /daemon\.state_dir/ });
  t.same(m.calls(), []);
});

t.test('instances of the template: one drop-in each, distinct state directories, template removed last', async (t) => {
  const m = machine(t);
  const a = config(m, 'pair-a', join(m.root, 'state-a'), '');
  const b = config(m, 'pair-b', join(m.root, 'state-b'));
  config(m, 'pair-c', join(m.root, 'state-a'));

  t.equal((await m.run(['install', '--name', 'pair-a'])).code, 0);
  t.equal(
    readFileSync(join(m.units, 'rpcopyd@.service'), 'utf8'),
    renderSystemdTemplate({ node: '/usr/bin/node', daemon: DAEMON }),
  );
  t.equal(
    readFileSync(join(m.units, 'rpcopyd@pair-a.service.d', 'rpctl.conf'), 'utf8'),
    renderSystemdDropIn({
      name: 'pair-a',
      shutdownTimeoutMs: 20_000,
      environment: {},
      record: { config: a, stateDir: join(m.root, 'state-a') },
    }),
  );
  t.same(m.calls(), ['systemctl --user daemon-reload', 'systemctl --user enable --now rpcopyd@pair-a.service']);
  t.equal((await m.run(['install', '--name', 'pair-b', '--config', b])).code, 0, '--config naming the same file');
  t.same(m.calls(), ['systemctl --user daemon-reload', 'systemctl --user enable --now rpcopyd@pair-b.service']);

  await t.rejects(m.run(['install', '--name', 'pair-c']), {
    code: 'BAD_REQUEST',
    message: new RegExp(
      `daemon.state_dir ${join(m.root, 'state-a')} .* is already the state directory of rpcopyd@pair-a\\.service`,
    ),
  });
  t.notOk(existsSync(join(m.units, 'rpcopyd@pair-c.service.d')), 'nothing written for the refused instance');
  // The single unit with the same state directory as an instance is refused too, and the other way round.
  await t.rejects(m.run(['install', '--config', join(m.home, '.config/rpcopy/pair-c.toml')]), {
    code: 'BAD_REQUEST',
    message: /rpcopyd@pair-a\.service/,
  });
  await t.rejects(m.run(['install', '--name', 'pair-a', '--config', b]), {
    code: 'BAD_REQUEST',
    message: /instance name is the config name.*ln -s/,
  });
  t.same(m.calls(), []);

  const status = JSON.parse((await m.run(['status', '--name', 'pair-b', '--json'])).out);
  t.match(status, {
    unit: 'rpcopyd@pair-b.service',
    fileExists: true,
    config: b,
    stateDir: join(m.root, 'state-b'),
    enabled: 'enabled',
    active: 'active',
    logs: 'journalctl --user -u rpcopyd@pair-b.service -f',
    installed: ['rpcopyd@pair-a.service', 'rpcopyd@pair-b.service'],
  });
  m.calls();

  t.equal((await m.run(['uninstall', '--name', 'pair-a'])).code, 0);
  t.same(m.calls(), ['systemctl --user disable --now rpcopyd@pair-a.service', 'systemctl --user daemon-reload']);
  t.notOk(existsSync(join(m.units, 'rpcopyd@pair-a.service.d')));
  t.ok(existsSync(join(m.units, 'rpcopyd@.service')), 'the template stays while pair-b uses it');
  t.equal((await m.run(['install', '--name', 'pair-c'])).code, 0, 'state-a is free again');
  t.equal((await m.run(['uninstall', '--name', 'pair-c'])).code, 0);
  const last = JSON.parse((await m.run(['uninstall', '--name', 'pair-b', '--json'])).out);
  t.same(last.removed, [join(m.units, 'rpcopyd@pair-b.service.d', 'rpctl.conf'), join(m.units, 'rpcopyd@.service')]);
  t.notOk(existsSync(join(m.units, 'rpcopyd@.service')), 'the template goes with the last instance');
});

t.test('uninstall stops, disables and removes; status reports each state', async (t) => {
  const m = machine(t);
  const path = config(m, 'config', join(m.root, 'state'));
  const notInstalled = JSON.parse((await m.run(['status', '--json'])).out);
  t.match(notInstalled, { fileExists: false, enabled: null, active: null, installed: [], linger: false });
  t.same(m.calls(), [], 'nothing to ask about a unit that is not installed');
  t.match((await m.run(['uninstall'])).out, /not installed/);

  await m.run(['install']);
  m.calls();
  const status = await m.run(['status']);
  t.same(m.calls(), ['systemctl --user is-enabled rpcopyd.service', 'systemctl --user is-active rpcopyd.service']);
  t.match(status.out, /enabled: {3}enabled/);
  t.match(status.out, /active: {4}active/);
  t.match(status.out, /logs: {6}journalctl --user -u rpcopyd\.service -f/);
  t.match(status.out, new RegExp(`config: {4}${path}`));

  const removed = JSON.parse((await m.run(['uninstall', '--json'])).out);
  t.same(m.calls(), ['systemctl --user disable --now rpcopyd.service', 'systemctl --user daemon-reload']);
  t.same(removed.removed, [join(m.units, 'rpcopyd.service')]);
  t.same(removed.manual, []);
  t.notOk(existsSync(join(m.units, 'rpcopyd.service')));

  // Without a user bus: the file still goes, and the command to stop a survivor is printed.
  await m.run(['install']);
  m.deps.env.FAKE_FAIL = 'disable';
  const noBus = await m.run(['uninstall']);
  t.equal(noBus.code, 0);
  t.notOk(existsSync(join(m.units, 'rpcopyd.service')));
  t.match(noBus.out, /could not be told.*\n {2}systemctl --user stop rpcopyd\.service/);

  m.deps.env.FAKE_FAIL = 'is-active';
  await m.run(['install']);
  m.calls();
  const partial = JSON.parse((await m.run(['status', '--json'])).out);
  t.match(partial, {
    enabled: 'enabled',
    active: null,
    problems: [/is-active rpcopyd\.service: Failed to connect to bus/],
  });
});

t.test('launchd: the agent plist, launchctl bootstrap, reinstall unloads first, uninstall boots it out', async (t) => {
  const m = machine(t, { env: { AWS_CONFIG_FILE: '~/aws/config' } });
  m.deps.platform = 'darwin';
  const stateDir = join(m.root, 'state');
  const path = config(m, 'config', stateDir);
  t.equal((await m.run(['install'])).code, 0, 'launchd is the default on darwin');
  const plist = join(m.agents, 'com.rpcopy.rpcopyd.plist');
  t.equal(
    readFileSync(plist, 'utf8'),
    renderLaunchdPlist({
      label: 'com.rpcopy.rpcopyd',
      node: '/usr/bin/node',
      daemon: DAEMON,
      config: path,
      stateDir,
      shutdownTimeoutMs: 20_000,
      environment: { AWS_CONFIG_FILE: join(m.home, 'aws/config') },
      record: { config: path, stateDir },
    }),
  );
  t.equal(statSync(stateDir).mode & 0o777, 0o700, 'the state directory exists for launchd’s log files, private');
  t.same(m.calls(), [`launchctl enable gui/${UID}/com.rpcopy.rpcopyd`, `launchctl bootstrap gui/${UID} ${plist}`]);

  // Reinstall: bootout of an agent that is not loaded fails, and that is fine.
  const again = JSON.parse((await m.run(['install', '--json'])).out);
  t.same(m.calls(), [
    `launchctl bootout gui/${UID}/com.rpcopy.rpcopyd`,
    `launchctl enable gui/${UID}/com.rpcopy.rpcopyd`,
    `launchctl bootstrap gui/${UID} ${plist}`,
  ]);
  t.match(again, { started: true, manual: [], commands: [{ ok: false, exitCode: 3 }, { ok: true }, { ok: true }] });

  const status = JSON.parse((await m.run(['status', '--json'])).out);
  t.same(m.calls(), [`launchctl print gui/${UID}/com.rpcopy.rpcopyd`]);
  t.match(status, {
    platform: 'launchd',
    fileExists: true,
    enabled: 'loaded',
    active: 'running',
    pid: 4242,
    logs: `tail -f ${stateDir}/rpcopyd.log`,
  });
  t.notOk('linger' in status);

  writeFileSync(join(m.root, 'loaded'), '');
  m.deps.env.FAKE_LOADED = join(m.root, 'loaded');
  t.equal((await m.run(['uninstall'])).code, 0);
  t.same(m.calls(), [`launchctl bootout gui/${UID}/com.rpcopy.rpcopyd`]);
  t.notOk(existsSync(plist));

  // --platform launchd with --name on any system, and refused clashes across its agents.
  config(m, 'pair-a', join(m.root, 'state-a'));
  config(m, 'pair-b', join(m.root, 'state-a'));
  m.deps.platform = 'linux';
  t.equal((await m.run(['install', '--platform', 'launchd', '--name', 'pair-a', '--no-enable'])).code, 0);
  t.same(m.calls(), []);
  t.same(readInstallRecord(readFileSync(join(m.agents, 'com.rpcopy.rpcopyd.pair-a.plist'), 'utf8')), {
    config: join(m.home, '.config/rpcopy/pair-a.toml'),
    stateDir: join(m.root, 'state-a'),
  });
  await t.rejects(m.run(['install', '--platform', 'launchd', '--name', 'pair-b']), {
    code: 'BAD_REQUEST',
    message: /com\.rpcopy\.rpcopyd\.pair-a/,
  });
});

t.test('rpctl service through main(): help, and the usage errors', async (t) => {
  const written: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  const writeErr = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string) => written.push(s) > 0) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => written.push(s) > 0) as typeof process.stderr.write;
  // tap reports on stdout too: assert only once the streams are restored.
  const codes: number[] = [];
  try {
    for (const args of [
      ['service', '--help'],
      ['service'],
      ['service', 'reinstall'],
      ['service', 'install', '--bogus'],
    ]) {
      codes.push(await main(args));
    }
  } finally {
    process.stdout.write = write;
    process.stderr.write = writeErr;
  }
  t.same(codes, [0, 2, 2, 2]);
  const text = written.join('');
  t.match(text, /rpctl service install \[--config PATH\] \[--name NAME\]/);
  t.match(text, /expected install, uninstall or status/);
});
