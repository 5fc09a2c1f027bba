// rpctl fleet against several real daemons on one sandbox, each with its own state directory: one found from an
// installed template instance (its drop-in, as `rpctl service install --name` writes it), one paused by the
// operator, one started and stopped (unreachable), one socket that accepts and never answers (time-boxed). The
// command succeeds, lists the down and paused pairs first, and its HTML page renders in headless Chromium with
// the unreachable pair in red.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { DROP_IN_FILE, renderSystemdDropIn, systemdUnitName } from '../../ctl/service/units.js';
import { tuneConfig } from '../helpers/copy.js';
import { runUntilDone } from '../helpers/pipeline.js';
import { chromium, NO_CHROMIUM, pixelsOf, screenshot } from '../helpers/png.js';
import { runCtlAsync, shortTempDir, spawnDaemon, waitFor, waitForSocket } from '../helpers/process.js';
import { startSandboxProcess } from '../helpers/sandbox.js';

t.setTimeout(400_000);

t.test('fleet status, forecast and report over running, paused, stopped and silent daemons', async (t) => {
  const sandbox = await startSandboxProcess(t, {
    points: 300,
    seed: 2,
    timeFactor: 100_000,
    extraArgs: ['--no-throttling'],
  });
  tuneConfig(sandbox);
  const dir = shortTempDir(t);
  // The home folder of the fleet: an installed template instance `alpha` whose drop-in records its state directory.
  const home = join(dir, 'home');
  const units = join(home, '.config', 'systemd', 'user', `${systemdUnitName('alpha')}.d`);
  mkdirSync(units, { recursive: true });
  writeFileSync(
    join(units, DROP_IN_FILE),
    renderSystemdDropIn({
      name: 'alpha',
      shutdownTimeoutMs: 20_000,
      environment: {},
      record: { config: sandbox.config, stateDir: sandbox.stateDir },
    }),
  );
  const env = { ...sandbox.env, HOME: home, XDG_CONFIG_HOME: join(home, '.config'), RPCOPY_STATE_DIR: undefined };

  // alpha: runs to done. bravo: paused by the operator. charlie: started, then stopped.
  const alpha = await runUntilDone(t, sandbox);
  const bravoDir = join(dir, 'bravo');
  const bravo = spawnDaemon(['--state-dir', bravoDir, '--no-copy'], sandbox.env, t);
  await waitForSocket(join(bravoDir, 'rpcopyd.sock'), bravo);
  t.equal((await runCtlAsync(['pause', '--state-dir', bravoDir], sandbox.env)).code, 0, 'bravo paused');
  const charlieDir = join(dir, 'charlie');
  const charlie = spawnDaemon(['--state-dir', charlieDir, '--no-copy'], sandbox.env, t);
  await waitForSocket(join(charlieDir, 'rpcopyd.sock'), charlie);
  await runCtlAsync(['stop', '--state-dir', charlieDir], sandbox.env);
  await charlie.exited;
  // delta: something listens on the socket and never answers.
  const deltaDir = join(dir, 'delta');
  mkdirSync(deltaDir);
  const silent = createServer(() => undefined);
  await new Promise<void>((resolve) => silent.listen(join(deltaDir, 'rpcopyd.sock'), resolve));
  t.teardown(() => silent.close());

  const list = join(dir, 'fleet.list');
  writeFileSync(list, `# shared list of state directories\n${charlieDir}\n${deltaDir}\n`);
  const args = ['--state-dir', bravoDir, '--list', list, '--timeout', '2s'];
  const status = await runCtlAsync(['fleet', 'status', '--json', ...args], env);
  t.equal(status.code, 0, `the fleet command succeeds with daemons down: ${status.stderr}`);
  const view = JSON.parse(status.stdout);
  t.equal(view.pairs.length, 4, 'one entry per daemon');
  const byName = (name: string) => view.pairs.find((p: { name: string }) => p.name.endsWith(name));
  t.match(byName('alpha'), { source: 'systemd', unit: 'rpcopyd@alpha.service', reachable: true, state: 'done' });
  t.match(byName('bravo'), { reachable: true, state: 'paused', pauseReason: 'operator', attention: true });
  t.match(byName('charlie'), { reachable: false, state: 'unreachable', unreachableReason: 'down', source: 'list' });
  t.match(byName('delta'), { reachable: false, state: 'unreachable', unreachableReason: 'timeout' });
  t.same(
    view.pairs.map((p: { state: string }) => p.state),
    ['unreachable', 'unreachable', 'paused', 'done'],
    'down and paused pairs first',
  );
  t.equal(view.totals.unreachable, 2);
  t.equal(view.totals.paused, 1);

  const forecast = JSON.parse((await runCtlAsync(['fleet', 'forecast', '--json', ...args], env)).stdout);
  const alphaCost = forecast.pairs.find((p: { name: string }) => p.name === 'alpha').cost;
  t.ok(
    alphaCost && alphaCost.monthlyCostHigh >= alphaCost.monthlyCostLow && alphaCost.monthlyCostHigh > 0,
    'alpha has a cost range',
  );
  const own = JSON.parse((await runCtlAsync(['forecast', '--cost', '--json'], sandbox.env)).stdout);
  t.equal(alphaCost.totalCostHigh, own.totalCostHigh, 'the same cost as rpctl forecast --cost on the pair');
  const sum = forecast.pairs.reduce(
    (s: number, p: { cost: { totalCostHigh: number } | null }) => s + (p.cost?.totalCostHigh ?? 0),
    0,
  );
  t.equal(forecast.totals.totalCostHigh, Math.round(sum * 100) / 100, 'the total adds the pairs that answer');

  const text = await runCtlAsync(['fleet', 'forecast', ...args], env);
  t.equal(text.code, 0);
  t.match(text.stdout, /UNREACHABLE \(down\)/);
  t.match(text.stdout, /PAUSED\s+operator/);
  t.match(text.stdout, /^TOTAL \(4\)/m);

  const page = join(dir, 'fleet.html');
  const report = await runCtlAsync(['fleet', 'report', '--format', 'html', '--out', page, ...args], env);
  t.equal(report.code, 0, report.stderr);
  const html = readFileSync(page, 'utf8');
  t.match(html, /unreachable: down/);
  t.notMatch(html, /<script/i, 'no script: a self-contained page');
  const browser = chromium();
  if (!browser) {
    t.comment(NO_CHROMIUM);
  } else {
    const shot = join(dir, 'fleet.png');
    const failure = screenshot(browser, page, shot, { width: 1280, height: 900 }, dir);
    if (failure !== undefined) t.comment(failure);
    t.ok(existsSync(shot), 'Chromium wrote the screenshot');
    if (existsSync(shot)) {
      const red = pixelsOf(readFileSync(shot), [0xdc, 0x26, 0x26]);
      const amber = pixelsOf(readFileSync(shot), [0xf5, 0x9e, 0x0b]);
      const green = pixelsOf(readFileSync(shot), [0x15, 0x80, 0x3d]);
      t.ok(red > 500, `the unreachable pairs' badges are drawn in red (${red} pixels)`);
      t.ok(amber > 200, `the paused pair's badge in amber (${amber} pixels)`);
      t.ok(green > 200, `the done pair's progress bar in green (${green} pixels)`);
    }
  }
  await runCtlAsync(['stop', '--state-dir', bravoDir], sandbox.env);
  await runCtlAsync(['stop'], sandbox.env);
  await Promise.all([bravo.exited, alpha.exited]);
  await waitFor(() => !existsSync(join(bravoDir, 'rpcopyd.sock')), 'bravo to remove its socket');
});
