// The built daemon as a process, rpctl over the real socket.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { writeTestConfig } from '../helpers/config.js';
import { type DaemonProcess, runCtl, shortTempDir, spawnDaemon, waitFor, waitForSocket } from '../helpers/process.js';

interface Setup {
  dir: string;
  config: string;
  socket: string;
  stateDir: string;
}

function setup(t: { teardown(fn: () => void): void }, extra = ''): Setup {
  const dir = shortTempDir(t);
  const config = writeTestConfig(dir, { extra });
  const stateDir = join(dir, 'state');
  return { dir, config, stateDir, socket: join(stateDir, 'rpcopyd.sock') };
}

async function startDaemon(t: Parameters<typeof setup>[0], s: Setup): Promise<DaemonProcess> {
  const daemon = spawnDaemon(['--config', s.config], {}, t);
  await waitForSocket(s.socket, daemon);
  return daemon;
}

t.test('start, status (human and --json), stop', async (t) => {
  const s = setup(t);
  const daemon = await startDaemon(t, s);

  const human = runCtl(['status', '--config', s.config]);
  t.equal(human.code, 0, human.stderr);
  // This daemon has no AWS credentials at all: depending on how fast its first calls fail it is still running
  // or already paused for the operator (three failed credential reads), never anything else.
  t.match(human.stdout, /state\s+(running|done|paused \(credentials\))/);
  t.match(human.stdout, /111111111111 → 222222222222 in eu-west-2/);

  const json = runCtl(['status', '--json', '--config', s.config]);
  t.equal(json.code, 0);
  const status = JSON.parse(json.stdout);
  t.ok(['starting', 'running', 'paused', 'waiting_for_window', 'stopping', 'done'].includes(status.state));
  t.type(status.phase, 'string');
  t.same(Object.keys(status.counts).sort(), ['completed', 'discovered', 'failed', 'inFlight', 'queued', 'skipped']);
  t.equal(status.daemon.pid, daemon.child.pid);

  const stop = runCtl(['stop', '--config', s.config]);
  t.equal(stop.code, 0);
  t.match(stop.stdout, /stopping/);
  const exit = await daemon.exited;
  t.equal(exit.code, 0, 'exit 0 after rpctl stop');
  t.notOk(existsSync(s.socket), 'socket removed');
  t.notOk(existsSync(join(s.stateDir, 'rpcopyd.lock')), 'lock released');
});

t.test('the socket is 0600 and the state directory 0700', async (t) => {
  const s = setup(t);
  const daemon = await startDaemon(t, s);
  t.equal(statSync(s.socket).mode & 0o777, 0o600);
  t.ok(statSync(s.socket).isSocket());
  t.equal(statSync(s.stateDir).mode & 0o777, 0o700);
  t.equal(statSync(join(s.stateDir, 'rpcopy.db')).mode & 0o077, 0, 'store not readable by others');
  daemon.child.kill('SIGTERM');
  await daemon.exited;
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  t.test(`${signal} exits 0 and removes the socket`, async (t) => {
    const s = setup(t);
    const daemon = await startDaemon(t, s);
    daemon.child.kill(signal);
    const exit = await daemon.exited;
    t.equal(exit.code, 0, daemon.output());
    t.notOk(existsSync(s.socket), 'socket removed');
    t.match(daemon.output(), /"event":"daemon.stopped"/);
  });
}

t.test('a second daemon on the same state directory is refused with the holder pid', async (t) => {
  const s = setup(t);
  const first = await startDaemon(t, s);
  const second = spawnDaemon(['--config', s.config], {}, t);
  const exit = await second.exited;
  t.equal(exit.code, 6);
  t.match(second.output(), new RegExp(`another rpcopyd \\(pid ${first.child.pid}\\) already runs`));
  t.ok(existsSync(s.socket), 'the first daemon keeps its socket');
  t.equal(runCtl(['status', '--config', s.config]).code, 0, 'and still answers');
  first.child.kill('SIGTERM');
  await first.exited;
});

t.test('a stale socket and lock after SIGKILL are recovered', async (t) => {
  const s = setup(t);
  const first = await startDaemon(t, s);
  first.child.kill('SIGKILL');
  await first.exited;
  t.ok(existsSync(s.socket), 'SIGKILL leaves the socket behind');
  t.ok(existsSync(join(s.stateDir, 'rpcopyd.lock')), 'and the lock');
  const status = runCtl(['status', '--config', s.config]);
  t.equal(status.code, 4, 'rpctl says the daemon is not running');
  t.match(status.stderr, /rpcopyd is not running/);

  const second = await startDaemon(t, s);
  await waitFor(() => runCtl(['status', '--config', s.config]).code === 0, 'the new daemon to answer');
  second.child.kill('SIGTERM');
  t.equal((await second.exited).code, 0);
});

t.test('a second SIGINT exits at once and the store stays consistent', async (t) => {
  const s = setup(t);
  const daemon = await startDaemon(t, s);
  daemon.child.kill('SIGINT');
  daemon.child.kill('SIGINT');
  const exit = await daemon.exited;
  t.ok(exit.code === 0 || exit.code === 130, `exit ${exit.code}`);
  const db = new Database(join(s.stateDir, 'rpcopy.db'), { readonly: true });
  t.same(db.pragma('integrity_check'), [{ integrity_check: 'ok' }]);
  db.close();
  const again = await startDaemon(t, s);
  again.child.kill('SIGTERM');
  t.equal((await again.exited).code, 0, 'the next start opens the store');
});

t.test('rpctl without a daemon, and with a socket it may not use', async (t) => {
  const s = setup(t);
  const status = runCtl(['status', '--json', '--config', s.config]);
  t.equal(status.code, 4);
  t.equal(JSON.parse(status.stdout).error.code, 'DAEMON_NOT_RUNNING');
  // No config file: rpctl status still answers whether a daemon runs (product.md: exit 4, config or not), and
  // says where it looked.
  const noConfig = runCtl(['status', '--config', join(s.dir, 'absent.toml')]);
  t.equal(noConfig.code, 4);
  t.match(noConfig.stderr, /there is no config file at .*absent\.toml, so rpctl looked in the default state directory/);
});

t.test('rpctl --help for every command, and usage errors', async (t) => {
  const top = runCtl(['--help']);
  t.equal(top.code, 0);
  for (const command of ['status', 'stop', 'config']) {
    t.match(top.stdout, new RegExp(`\\n  ${command}\\s`));
    const help = runCtl([command, '--help']);
    t.equal(help.code, 0, `${command} --help`);
    t.match(help.stdout, new RegExp(`Usage: rpctl ${command}`));
  }
  t.equal(runCtl(['frobnicate']).code, 2);
  t.equal(runCtl(['status', '--bogus']).code, 2);
});

t.test('rpcopyd --check-config: ok, and a bad config named by key with exit 3', async (t) => {
  const s = setup(t);
  const spawnCheck = async (config: string) => {
    const proc = spawnDaemon(
      ['--check-config', '--config', config],
      { AWS_SHARED_CREDENTIALS_FILE: join(s.dir, 'credentials') },
      t,
    );
    return { exit: await proc.exited, output: proc.output() };
  };
  const ok = await spawnCheck(s.config);
  t.equal(ok.exit.code, 0);
  t.match(ok.output, /config\.toml: OK/);

  writeFileSync(
    s.config,
    readFileSync(s.config, 'utf8')
      .replace('max_in_flight', 'x')
      .replace('[daemon]', '[copy]\nmax_in_flight = -5\n[daemon]'),
  );
  const bad = await spawnCheck(s.config);
  t.equal(bad.exit.code, 3);
  t.match(bad.output, /config\.toml:\d+: copy\.max_in_flight: expected at least 1 concurrent copy job/);
  t.notOk(existsSync(s.stateDir), 'nothing created for a bad config');

  const viaEnv = spawnDaemon(['--check-config'], { RPCOPY_CONFIG: join(s.dir, 'nope.toml') }, t);
  t.equal((await viaEnv.exited).code, 3);
  t.match(viaEnv.output(), /nope\.toml: cannot read the config file/, 'RPCOPY_CONFIG is honoured');
});

t.test('a foreign store file is refused at start-up and left unchanged', async (t) => {
  const s = setup(t);
  const { mkdirSync } = await import('node:fs');
  mkdirSync(s.stateDir, { recursive: true, mode: 0o700 });
  const file = join(s.stateDir, 'rpcopy.db');
  const foreign = new Database(file);
  foreign.exec('CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)');
  foreign.close();
  const before = createHash('sha256').update(readFileSync(file)).digest('hex');
  const daemon = spawnDaemon(['--config', s.config], {}, t);
  t.equal((await daemon.exited).code, 7);
  t.match(daemon.output(), /not an rpcopy store \(its tables: customers\)/);
  t.equal(createHash('sha256').update(readFileSync(file)).digest('hex'), before, 'unchanged');
  t.notOk(existsSync(s.socket), 'no socket');
  t.notOk(existsSync(join(s.stateDir, 'rpcopyd.lock')), 'lock released');
});

t.test('a store of another account pair is refused at start-up', async (t) => {
  const s = setup(t);
  const first = await startDaemon(t, s);
  first.child.kill('SIGTERM');
  await first.exited;
  writeFileSync(s.config, readFileSync(s.config, 'utf8').replaceAll('222222222222', '333333333333'));
  const second = spawnDaemon(['--config', s.config], {}, t);
  t.equal((await second.exited).code, 7);
  t.match(second.output(), /belongs to another job: destination account 222222222222 \(config says 333333333333\)/);
});
