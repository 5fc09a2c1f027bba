// The built rpctl installs the service for a temporary home, with a stand-in `systemctl` on PATH that records
// its arguments; then the unit's own ExecStart is run as the service manager would run it: the built daemon
// starts from the unit's command line, answers over its socket, and stops within TimeoutStopSec on SIGTERM
// with exit 0 (which Restart=on-failure does not restart). Where systemd-analyze is installed, the unit as
// installed (this machine's node and rpcopyd) is verified too.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { writeTestConfig } from '../helpers/config.js';
import { ROOT, RPCTL, runCtl, shortTempDir, waitForSocket } from '../helpers/process.js';
import { installFakeSystemctl, startUnit, unitCommand } from '../helpers/service.js';

function hasSystemdAnalyze(): boolean {
  const probe = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
  return probe.error === undefined && probe.status === 0;
}

t.test('rpctl service install writes a unit whose ExecStart runs and stops the daemon cleanly', async (t) => {
  const dir = shortTempDir(t);
  const home = join(dir, 'home');
  const bin = join(dir, 'bin');
  const log = join(dir, 'systemctl.log');
  installFakeSystemctl(bin);
  const stateDir = join(dir, 'state');
  const written = writeTestConfig(join(dir, 'cfg'), { stateDir, extra: '' });
  const config = join(home, '.config', 'rpcopy', 'config.toml');
  mkdirSync(join(home, '.config', 'rpcopy'), { recursive: true });
  writeFileSync(config, `${readFileSync(written, 'utf8')}shutdown_timeout = "5s"\n`);
  // Only the stand-in on PATH: the machine's own systemctl is never reached.
  const env = { HOME: home, PATH: bin, FAKE_LOG: log };

  const install = spawnSync(process.execPath, [RPCTL, 'service', 'install', '--json'], {
    env,
    encoding: 'utf8',
    timeout: 60_000,
  });
  t.equal(install.status, 0, install.stderr);
  const answer = JSON.parse(install.stdout);
  const daemonPath = realpathSync(join(ROOT, 'dist/daemon/main.js'));
  t.same(answer.command, [process.execPath, daemonPath, '--config', config], 'this node, the package’s rpcopyd');
  t.equal(answer.stopTimeoutSec, 20);
  t.same(readFileSync(log, 'utf8').split('\n').filter(Boolean), [
    '--user daemon-reload',
    '--user enable --now rpcopyd.service',
  ]);
  const unitFile = join(home, '.config', 'systemd', 'user', 'rpcopyd.service');
  const unit = readFileSync(unitFile, 'utf8');
  t.match(unit, /^TimeoutStopSec=20$/m);

  if (hasSystemdAnalyze()) {
    mkdirSync(join(dir, 'run'), { mode: 0o700 });
    const verify = spawnSync('systemd-analyze', ['verify', '--user', unitFile], {
      encoding: 'utf8',
      env: { ...process.env, HOME: home, XDG_RUNTIME_DIR: join(dir, 'run') },
    });
    t.equal(verify.status, 0, verify.stderr);
    t.same(
      verify.stderr.split('\n').filter((l) => l.includes('rpcopyd')),
      [],
      'systemd-analyze verify: no warnings on the installed unit',
    );
  } else {
    t.comment('systemd-analyze is not installed: the installed unit is not verified by systemd');
  }

  // Run ExecStart as systemd would: its words, no shell (the temporary paths need no quoting).
  t.notMatch(unitCommand(unit).execStart, /["'\\%$]/, 'plain words');
  const service = startUnit(t, unit, { home, path: bin });
  await waitForSocket(join(stateDir, 'rpcopyd.sock'));
  t.equal(runCtl(['status', '--config', config, '--json'], { HOME: home }).code, 0, 'rpctl reaches the service');

  service.child.kill('SIGTERM');
  const code = await service.exited;
  t.equal(code, 0, `SIGTERM: exit 0, which Restart=on-failure leaves stopped\n${service.output()}`);

  const status = spawnSync(process.execPath, [RPCTL, 'service', 'status', '--json'], { env, encoding: 'utf8' });
  t.match(JSON.parse(status.stdout), { unit: 'rpcopyd.service', fileExists: true, enabled: 'enabled', config });

  const uninstall = spawnSync(process.execPath, [RPCTL, 'service', 'uninstall'], { env, encoding: 'utf8' });
  t.equal(uninstall.status, 0, uninstall.stderr);
  t.notOk(existsSync(unitFile), 'uninstall removes the unit');
  t.match(readFileSync(log, 'utf8'), /--user disable --now rpcopyd\.service\n--user daemon-reload\n$/);
});
