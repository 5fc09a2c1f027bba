// The service definitions (ctl/service/units.ts) as text: the settings that make systemd and launchd stop rpcopyd
// gracefully and restart it only when a restart can help; escaping of paths; the install record read back; the
// plist as a well-formed property list (python3's plistlib where present, and a strict reader here); the units
// accepted by `systemd-analyze verify` where present; and the examples in systemd/ rendered from the same code.
//
// RPCOPY_WRITE_EXAMPLES=1 npx tap test/unit/service-units.test.ts rewrites systemd/ from the renderer.

import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import t from 'tap';
import {
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  exampleFiles,
  type InstallRecord,
  instanceNameProblem,
  passedEnvironment,
  RESTART_PREVENT_EXIT_CODES,
  readInstallRecord,
  renderLaunchdPlist,
  renderSystemdDropIn,
  renderSystemdTemplate,
  renderSystemdUnit,
  STOP_MARGIN_SECONDS,
  stopTimeoutSeconds,
  systemdArg,
  UnitError,
} from '../../ctl/service/units.js';
import { EXIT } from '../../daemon/main.js';
import { loadConfig } from '../../shared/config.js';
import { ERROR_CODES } from '../../shared/errors.js';
import { writeTestConfig } from '../helpers/config.js';

const ROOT = resolve(import.meta.dirname, '../..');
const NODE = process.execPath;
const DAEMON = '/opt/rpcopy/dist/daemon/main.js';
const RECORD: InstallRecord = {
  config: '/home/op/.config/rpcopy/config.toml',
  stateDir: '/home/op/.local/state/rpcopy',
};

/** A unit file as { section: { key: [values] } }, comments dropped; keys may repeat (Environment=). */
function parseUnit(text: string): Record<string, Record<string, string[]>> {
  const sections: Record<string, Record<string, string[]>> = {};
  let current: Record<string, string[]> | undefined;
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section) {
      current = {};
      sections[section[1]!] = current;
      continue;
    }
    const eq = line.indexOf('=');
    if (!current || eq < 0) throw new Error(`not a unit line: ${line}`);
    const key = line.slice(0, eq);
    current[key] = [...(current[key] ?? []), line.slice(eq + 1)];
  }
  return sections;
}

/**
 * A strict reader for the XML property lists we write: prolog, DOCTYPE, comments (which may not contain "--"),
 * then one <plist> holding dict/array/string/key/integer/true/false, the five predefined entities only, and
 * nothing but whitespace between elements. Returns the value, or throws naming what is wrong.
 */
function parsePlist(text: string): unknown {
  let at = 0;
  const fail = (what: string): never => {
    throw new Error(`plist: ${what} at offset ${at}: ${JSON.stringify(text.slice(at, at + 40))}`);
  };
  const skipSpace = () => {
    while (at < text.length && /\s/.test(text[at]!)) at += 1;
  };
  const skipMisc = () => {
    for (;;) {
      skipSpace();
      if (text.startsWith('<!--', at)) {
        const end = text.indexOf('-->', at + 4);
        if (end < 0) fail('unterminated comment');
        if (text.slice(at + 4, end).includes('--')) fail('"--" inside a comment');
        at = end + 3;
      } else return;
    }
  };
  const decode = (raw: string): string =>
    raw.replace(/&([^;]*);|&|<|>/g, (whole, name: string | undefined) => {
      const entities: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
      if (name === undefined || !(name in entities)) fail(`bad character or entity ${whole}`);
      return entities[name!]!;
    });
  const open = (): { name: string; empty: boolean } => {
    const match = /^<([a-z]+)(?:\s+version="1\.0")?\s*(\/?)>/.exec(text.slice(at));
    if (!match) return fail('expected an element');
    at += match[0].length;
    return { name: match[1]!, empty: match[2] === '/' };
  };
  const close = (name: string) => {
    if (!text.startsWith(`</${name}>`, at)) fail(`expected </${name}>`);
    at += name.length + 3;
  };
  const textUntilClose = (name: string): string => {
    const end = text.indexOf('<', at);
    if (end < 0) fail('unterminated element');
    const raw = text.slice(at, end);
    at = end;
    close(name);
    return decode(raw);
  };
  const value = (): unknown => {
    skipMisc();
    const { name, empty } = open();
    if (name === 'true' || name === 'false') {
      if (!empty) close(name);
      return name === 'true';
    }
    if (empty) return fail(`empty <${name}/>`);
    if (name === 'string') return textUntilClose(name);
    if (name === 'integer') {
      const digits = textUntilClose(name);
      if (!/^-?\d+$/.test(digits)) fail(`bad integer ${digits}`);
      return Number(digits);
    }
    if (name === 'array') {
      const items: unknown[] = [];
      for (skipMisc(); !text.startsWith('</array>', at); skipMisc()) items.push(value());
      close(name);
      return items;
    }
    if (name === 'dict') {
      const dict: Record<string, unknown> = {};
      for (skipMisc(); !text.startsWith('</dict>', at); skipMisc()) {
        if (open().name !== 'key') fail('expected <key> in <dict>');
        const key = textUntilClose('key');
        if (key in dict) fail(`duplicate key ${key}`);
        dict[key] = value();
      }
      close(name);
      return dict;
    }
    return fail(`unexpected <${name}>`);
  };

  if (!text.startsWith('<?xml version="1.0" encoding="UTF-8"?>')) fail('expected the XML declaration');
  at = text.indexOf('?>') + 2;
  skipMisc();
  const doctype =
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">';
  if (!text.startsWith(doctype, at)) fail('expected the plist DOCTYPE');
  at += doctype.length;
  skipMisc();
  if (open().name !== 'plist') fail('expected <plist version="1.0">');
  const result = value();
  skipMisc();
  close('plist');
  skipMisc();
  if (at !== text.length) fail('text after </plist>');
  return result;
}

function hasPythonPlistlib(): boolean {
  return spawnSync('python3', ['-c', 'import plistlib'], { encoding: 'utf8' }).status === 0;
}

/** The plist as Apple's format reader in python3 (expat underneath) sees it, as JSON. */
function pythonPlist(text: string): unknown {
  const r = spawnSync(
    'python3',
    ['-c', 'import plistlib, sys, json; print(json.dumps(plistlib.loads(sys.stdin.buffer.read())))'],
    { input: text, encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`plistlib rejected the plist: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

t.test('the stop timeout leaves the graceful shutdown its bound and a margin', async (t) => {
  t.equal(stopTimeoutSeconds(DEFAULT_SHUTDOWN_TIMEOUT_MS), 20 + STOP_MARGIN_SECONDS);
  t.equal(stopTimeoutSeconds(1_500), 2 + STOP_MARGIN_SECONDS, 'rounded up, never below the bound');
  t.equal(stopTimeoutSeconds(3_600_000), 3600 + STOP_MARGIN_SECONDS);
  // The margin covers a notify.command still running when the drain ends: it is killed after 10 s.
  t.ok(STOP_MARGIN_SECONDS > 10);
});

t.test('the template’s stop timeout is for the config’s default shutdown_timeout', async (t) => {
  const dir = t.testdir({});
  const config = loadConfig(writeTestConfig(dir));
  t.equal(config.daemon.shutdownTimeoutMs, DEFAULT_SHUTDOWN_TIMEOUT_MS);
});

t.test('no restart for the exit codes a restart cannot fix, nor for a clean exit', async (t) => {
  t.same(
    [...RESTART_PREVENT_EXIT_CODES].sort(),
    [
      EXIT.usage,
      ERROR_CODES.CONFIG_INVALID.exit,
      ERROR_CODES.DAEMON_ALREADY_RUNNING.exit,
      ERROR_CODES.STORE_INCOMPATIBLE.exit,
    ].sort(),
  );
  t.notOk((RESTART_PREVENT_EXIT_CODES as readonly number[]).includes(EXIT.internal), 'a crash is restarted');
});

t.test('the user unit runs rpcopyd in the foreground with the graceful-stop settings', async (t) => {
  const text = renderSystemdUnit({
    node: NODE,
    daemon: DAEMON,
    config: RECORD.config,
    shutdownTimeoutMs: 45_000,
    environment: { AWS_CONFIG_FILE: '/home/op/.aws/config', AWS_SHARED_CREDENTIALS_FILE: '/home/op/.aws/credentials' },
    record: RECORD,
  });
  const unit = parseUnit(text);
  t.same(Object.keys(unit), ['Unit', 'Service', 'Install']);
  t.same(unit.Unit, {
    Description: ['rpcopy: copy AWS Backup recovery points between accounts'],
    StartLimitIntervalSec: ['10min'],
    StartLimitBurst: ['5'],
  });
  t.same(unit.Service, {
    Type: ['exec'],
    ExecStart: [`${NODE} ${DAEMON} --config ${RECORD.config}`],
    KillSignal: ['SIGTERM'],
    TimeoutStopSec: ['60'],
    ExecReload: ['/bin/kill -HUP $MAINPID'],
    Restart: ['on-failure'],
    RestartSec: ['10'],
    RestartPreventExitStatus: ['2 3 6 7'],
    StandardOutput: ['journal'],
    StandardError: ['journal'],
    SyslogIdentifier: ['rpcopyd'],
    UMask: ['0077'],
    Environment: ['"AWS_CONFIG_FILE=/home/op/.aws/config"', '"AWS_SHARED_CREDENTIALS_FILE=/home/op/.aws/credentials"'],
  });
  t.same(unit.Install, { WantedBy: ['default.target'] });
  t.same(readInstallRecord(text), RECORD, 'the install record reads back');
  t.notMatch(text, /AWS_ACCESS_KEY_ID|AWS_SECRET|AWS_SESSION_TOKEN/);
});

t.test('paths are escaped for ExecStart and Environment; control characters are refused', async (t) => {
  t.equal(systemdArg('/usr/bin/node'), '/usr/bin/node');
  t.equal(systemdArg('/home/o p/a.toml'), '"/home/o p/a.toml"');
  t.equal(systemdArg('/srv/100%/$HOME/x'), '/srv/100%%/$$HOME/x', 'no specifier and no variable expansion');
  t.equal(systemdArg('/a "b"\\c'), '"/a \\"b\\"\\\\c"');
  t.equal(systemdArg('a;b'), '"a;b"');
  t.equal(systemdArg(''), '""');
  t.equal(systemdArg({ unit: '%h/.config/rpcopy/%i.toml' }), '%h/.config/rpcopy/%i.toml', 'specifiers kept');
  const unit = parseUnit(
    renderSystemdUnit({
      node: NODE,
      daemon: '/opt/my rpcopy/main.js',
      config: '/home/op/50% "done".toml',
      shutdownTimeoutMs: 20_000,
      environment: { AWS_CONFIG_FILE: '/home/op/a b/%x "q"' },
    }),
  );
  t.same(unit.Service?.ExecStart, [`${NODE} "/opt/my rpcopy/main.js" --config "/home/op/50%% \\"done\\".toml"`]);
  t.same(unit.Service?.Environment, ['"AWS_CONFIG_FILE=/home/op/a b/%%x \\"q\\""']);
  t.throws(
    () => renderSystemdUnit({ node: NODE, daemon: DAEMON, config: '/a\nb', shutdownTimeoutMs: 1000, environment: {} }),
    UnitError,
  );
  t.throws(() => renderLaunchdPlist({ ...plistOptions(), config: '/a\u0007b' }), UnitError);
});

t.test(
  'the template runs ~/.config/rpcopy/<instance>.toml; the drop-in carries what differs per instance',
  async (t) => {
    const template = parseUnit(renderSystemdTemplate({ node: NODE, daemon: DAEMON }));
    t.same(template.Service?.ExecStart, [`${NODE} ${DAEMON} --config %h/.config/rpcopy/%i.toml`]);
    t.same(template.Service?.TimeoutStopSec, [String(stopTimeoutSeconds(DEFAULT_SHUTDOWN_TIMEOUT_MS))]);
    t.same(template.Service?.RestartPreventExitStatus, ['2 3 6 7']);
    t.match(template.Unit?.Description?.[0], /%i/);
    t.same(template.Install, { WantedBy: ['default.target'] });

    const record = { config: '/home/op/.config/rpcopy/pair-b.toml', stateDir: '/srv/state-b' };
    const dropInText = renderSystemdDropIn({
      name: 'pair-b',
      shutdownTimeoutMs: 90_000,
      environment: { AWS_SHARED_CREDENTIALS_FILE: '/srv/creds' },
      record,
    });
    t.same(parseUnit(dropInText), {
      Service: { TimeoutStopSec: ['105'], Environment: ['"AWS_SHARED_CREDENTIALS_FILE=/srv/creds"'] },
    });
    t.same(readInstallRecord(dropInText), record);
  },
);

t.test('install records survive odd paths, also inside an XML comment', async (t) => {
  for (const record of [
    { config: '/srv/a--b/c}d.toml', stateDir: '/srv/x -- y/é' },
    { config: '/x"y\\z', stateDir: '/-' },
  ]) {
    const unit = renderSystemdUnit({
      node: NODE,
      daemon: DAEMON,
      config: record.config,
      shutdownTimeoutMs: 1000,
      environment: {},
      record,
    });
    t.same(readInstallRecord(unit), record);
    const plist = renderLaunchdPlist({ ...plistOptions(), config: record.config, stateDir: record.stateDir, record });
    t.same(readInstallRecord(plist), record);
    t.doesNotThrow(() => parsePlist(plist), 'still a well-formed plist');
  }
  t.equal(readInstallRecord('[Unit]\nDescription=hand-written\n'), undefined);
  t.equal(readInstallRecord('# rpctl-service {"config":1}\n'), undefined);
});

function plistOptions() {
  return {
    label: 'com.rpcopy.rpcopyd',
    node: '/usr/local/bin/node',
    daemon: DAEMON,
    config: '/Users/op/.config/rpcopy/config.toml',
    stateDir: '/Users/op/.local/state/rpcopy',
    shutdownTimeoutMs: 30_000,
    environment: { AWS_SHARED_CREDENTIALS_FILE: '/Users/op/.aws/credentials & <more>' },
    record: RECORD,
  };
}

t.test('the launchd agent is a well-formed plist with the keep-alive and stop settings', async (t) => {
  const text = renderLaunchdPlist(plistOptions());
  const expected = {
    Label: 'com.rpcopy.rpcopyd',
    ProgramArguments: ['/usr/local/bin/node', DAEMON, '--config', '/Users/op/.config/rpcopy/config.toml'],
    RunAtLoad: true,
    KeepAlive: { SuccessfulExit: false },
    ThrottleInterval: 10,
    ExitTimeOut: 45,
    Umask: 63,
    StandardOutPath: '/Users/op/.local/state/rpcopy/rpcopyd.log',
    StandardErrorPath: '/Users/op/.local/state/rpcopy/rpcopyd.err.log',
    EnvironmentVariables: { AWS_SHARED_CREDENTIALS_FILE: '/Users/op/.aws/credentials & <more>' },
  };
  t.same(parsePlist(text), expected);
  t.same(readInstallRecord(text), RECORD);
  const noEnv = parsePlist(renderLaunchdPlist({ ...plistOptions(), environment: {} })) as Record<string, unknown>;
  t.notOk('EnvironmentVariables' in noEnv, 'no empty environment dict');
  t.throws(() => parsePlist(text.replace('<true/>', '<true>')), /plist/, 'the reader is strict');
  t.throws(() => parsePlist(text.replace('<!--', '<!-- a -- b')), /--/, 'and refuses "--" in comments');
});

t.test(
  'python3 plistlib reads the agent and the example as the strict reader does',
  { skip: hasPythonPlistlib() ? false : 'python3 with plistlib is not available: the strict reader is the check' },
  async (t) => {
    for (const [what, text] of [
      ['an installed agent', renderLaunchdPlist(plistOptions())],
      ['systemd/com.rpcopy.rpcopyd.plist', exampleFiles().find((f) => f.name.endsWith('.plist'))!.content],
    ] as const) {
      t.same(pythonPlist(text), parsePlist(text), what);
    }
  },
);

t.test('passed environment: file locations and endpoints only, made absolute', async (t) => {
  const env = {
    AWS_SHARED_CREDENTIALS_FILE: 'sb/credentials',
    AWS_CONFIG_FILE: '/etc/aws/config',
    AWS_ENDPOINT_URL: 'http://127.0.0.1:4566',
    AWS_ENDPOINT_URL_BACKUP: 'http://127.0.0.1:4567',
    AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'secret',
    AWS_SESSION_TOKEN: 'token',
    AWS_PROFILE: 'prod',
    AWS_REGION: '',
    HOME: '/home/op',
  };
  t.same(
    passedEnvironment(env, (p) => resolve('/work', p)),
    {
      AWS_CONFIG_FILE: '/etc/aws/config',
      AWS_ENDPOINT_URL: 'http://127.0.0.1:4566',
      AWS_ENDPOINT_URL_BACKUP: 'http://127.0.0.1:4567',
      AWS_SHARED_CREDENTIALS_FILE: '/work/sb/credentials',
    },
  );
  t.same(
    passedEnvironment({ AWS_CONFIG_FILE: '' }, (p) => p),
    {},
    'empty values are not passed',
  );
});

t.test('instance names fit a systemd instance and a launchd label', async (t) => {
  for (const ok of ['prod', 'pair-a', 'a.b_c', '0', 'x'.repeat(64)]) t.equal(instanceNameProblem(ok), undefined, ok);
  for (const bad of ['', '-a', '.a', 'a/b', 'a b', 'a@b', 'a\\x2d', 'é', 'x'.repeat(65)]) {
    t.match(instanceNameProblem(bad), /--name/, JSON.stringify(bad));
  }
});

t.test('the examples in systemd/ are what the renderer produces', async (t) => {
  const dir = join(ROOT, 'systemd');
  for (const file of exampleFiles()) {
    const path = join(dir, file.name);
    if (process.env.RPCOPY_WRITE_EXAMPLES === '1') writeFileSync(path, file.content);
    let actual = '';
    try {
      actual = readFileSync(path, 'utf8');
    } catch {}
    t.equal(
      actual,
      file.content,
      `systemd/${file.name} matches ctl/service/units.ts (RPCOPY_WRITE_EXAMPLES=1 npx tap ${'test/unit/service-units.test.ts'} rewrites it)`,
    );
  }
});

function hasSystemdAnalyze(): boolean {
  const probe = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
  return probe.error === undefined && probe.status === 0;
}

t.test(
  'systemd-analyze verify accepts the units',
  {
    skip: hasSystemdAnalyze()
      ? false
      : 'systemd-analyze is not installed (Debian: apt-get install systemd): the units are checked as text only',
  },
  async (t) => {
    const dir = t.testdir({ run: {} });
    const runtime = join(dir, 'run');
    const units = join(dir, 'units');
    mkdirSync(join(units, 'rpcopyd@pair-a.service.d'), { recursive: true });
    const env = {
      AWS_SHARED_CREDENTIALS_FILE: '/home/op/creds 100%',
      AWS_ENDPOINT_URL: 'http://127.0.0.1:4566',
    };
    // ExecStart must name an existing executable for verify to pass: this node.
    writeFileSync(
      join(units, 'rpcopyd.service'),
      renderSystemdUnit({
        node: NODE,
        daemon: DAEMON,
        config: '/home/op/my configs/50% "x".toml',
        shutdownTimeoutMs: 20_000,
        environment: env,
        record: RECORD,
      }),
    );
    writeFileSync(join(units, 'rpcopyd@.service'), renderSystemdTemplate({ node: NODE, daemon: DAEMON }));
    writeFileSync(
      join(units, 'rpcopyd@pair-a.service.d', 'rpctl.conf'),
      renderSystemdDropIn({ name: 'pair-a', shutdownTimeoutMs: 60_000, environment: env, record: RECORD }),
    );
    for (const unit of ['rpcopyd.service', 'rpcopyd@pair-a.service']) {
      const r = spawnSync('systemd-analyze', ['verify', '--user', join(units, unit)], {
        encoding: 'utf8',
        // The user mode wants a runtime directory; a private one keeps the test off the machine's.
        env: { ...process.env, XDG_RUNTIME_DIR: runtime, HOME: dir },
      });
      // verify exits 0 on mere warnings (unknown key, bad value): any line naming our files is a failure.
      const complaints = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.includes(units) || l.includes('rpcopyd'));
      t.equal(r.status, 0, `${unit}: exit 0\n${r.stderr}`);
      t.same(complaints, [], `${unit}: no warnings`);
    }
    // The check itself is live: a bad value in the drop-in is reported.
    writeFileSync(join(units, 'rpcopyd@pair-a.service.d', 'rpctl.conf'), '[Service]\nRestart=sometimes\n');
    const bad = spawnSync('systemd-analyze', ['verify', '--user', join(units, 'rpcopyd@pair-a.service')], {
      encoding: 'utf8',
      env: { ...process.env, XDG_RUNTIME_DIR: runtime, HOME: dir },
    });
    t.match(bad.stderr, /restart/i, 'a bad value is caught');
  },
);
