// rpctl reload, SIGHUP and rpctl config show: the built daemon against the sandbox, rpctl over the socket, the
// config file edited as an operator would.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { copySandbox } from '../helpers/copy.js';
import { runUntilDone, stopDaemon } from '../helpers/pipeline.js';
import { runCtlAsync, spawnDaemon, waitFor } from '../helpers/process.js';

t.test('reload applies live keys, reports restart keys, refuses a broken file; SIGHUP does the same', async (t) => {
  const sandbox = await copySandbox(t, 40);
  const env = sandbox.env;
  const edit = (from: RegExp, to: string) => {
    const text = readFileSync(sandbox.config, 'utf8');
    t.match(text, from, `the config holds ${from}`);
    writeFileSync(sandbox.config, text.replace(from, to));
  };
  const ctl = async (...args: string[]) => runCtlAsync(args, env);
  // --state-dir: rpctl status finds the daemon while the file is broken too.
  const status = async () => JSON.parse((await ctl('status', '--json', '--state-dir', sandbox.stateDir)).stdout);
  const shown = async () => JSON.parse((await ctl('config', 'show', '--json')).stdout);
  const key = (config: { keys: { key: string }[] }, name: string) =>
    config.keys.find((k) => k.key === name) as Record<string, unknown>;

  const daemon = await runUntilDone(t, sandbox);
  t.equal((await status()).copy.maxInFlight, 100, 'the in-flight limit starts at the file’s max_in_flight');
  const unchanged = await ctl('reload');
  t.equal(unchanged.code, 0, unchanged.stderr);
  t.match(unchanged.stdout, /nothing to apply/);

  // The operator edits a live key, a restart key and the notification command.
  const notified = join(sandbox.dir, 'notified.json');
  edit(/max_in_flight = 100/, 'max_in_flight = 7');
  edit(/workers = 2/, 'workers = 3');
  edit(/\[daemon\]/, `[notify]\ndesktop = false\ncommand = "cat > ${notified}"\n\n[daemon]`);

  const before = await ctl('config', 'show');
  t.equal(before.code, 0, before.stderr);
  t.match(before.stdout, /^copy\.max_in_flight\s+100\s+# the file now says 7: rpctl reload applies it$/m);
  t.match(before.stdout, /^copy\.workers\s+2\s+# the file now says 3: restart rpcopyd to apply$/m);
  t.match(before.stdout, /^region\s+"eu-west-2"$/m, 'an unchanged key carries no mark');
  const beforeJson = await shown();
  t.equal(beforeJson.answeredBy, 'daemon');
  t.equal(beforeJson.copy.maxInFlight, 100, 'the running config, not the file');
  t.same(key(beforeJson, 'copy.max_in_flight'), {
    key: 'copy.max_in_flight',
    value: 100,
    file: 7,
    differs: true,
    apply: 'live',
  });

  const retry = await ctl('retry', '--reason', 'organization');
  t.equal(retry.code, 0, retry.stderr);
  t.match(retry.stdout, /the config file changed since rpcopyd loaded it \(.*copy\.max_in_flight.*\)/);
  t.match(retry.stdout, /the retried points meet the same config/);

  const reload = await ctl('reload');
  t.equal(reload.code, 0, reload.stderr);
  t.match(reload.stdout, /applied:\n\s+copy\.max_in_flight\s+100 → 7/);
  t.match(reload.stdout, /restart rpcopyd to apply:\n\s+copy\.workers\s+2 → 3/);
  t.equal((await status()).copy.maxInFlight, 7, 'the in-flight limit follows the reloaded key');
  const after = await shown();
  t.equal(key(after, 'copy.max_in_flight').differs, false);
  t.equal(key(after, 'copy.workers').differs, true, 'the restart key still differs');
  t.equal(after.copy.workers, 2, 'and still runs with its old value');
  // The reloaded notify.command receives the next operator event.
  t.equal((await ctl('pause')).code, 0);
  await waitFor(() => existsSync(notified) && readFileSync(notified, 'utf8').includes('"paused"'), 'notify.command');
  t.equal((await ctl('resume')).code, 0);

  // A broken file: refused with file:line: key, and nothing changes.
  edit(/max_in_flight = 7/, 'max_in_flight = "lots"');
  const broken = await ctl('reload');
  t.equal(broken.code, 3, 'exit 3: invalid config');
  t.match(broken.stderr, /config\.toml:\d+: copy\.max_in_flight: expected a whole number/);
  t.match(broken.stderr, /nothing changed/);
  t.equal((await status()).copy.maxInFlight, 7, 'the running value is kept');
  t.match((await shown()).fileError, /copy\.max_in_flight/);

  // SIGHUP: the same reload, answered in the journal and the log.
  daemon.child.kill('SIGHUP');
  await waitFor(() => /"event":"config\.reload_refused","trigger":"SIGHUP"/.test(daemon.output()), 'the refusal');
  t.equal((await status()).copy.maxInFlight, 7, 'a refused SIGHUP changes nothing');
  edit(/max_in_flight = "lots"/, 'max_in_flight = 5');
  daemon.child.kill('SIGHUP');
  await waitFor(async () => (await status()).copy.maxInFlight === 5, 'SIGHUP to apply max_in_flight');
  t.match(daemon.output(), /"event":"config\.reloaded","trigger":"SIGHUP"/);
  t.equal(daemon.child.exitCode, null, 'SIGHUP does not end the daemon');

  await stopDaemon(daemon, env);
  const noDaemon = await ctl('config', 'show');
  t.equal(noDaemon.code, 0, noDaemon.stderr);
  t.match(noDaemon.stdout, /no daemon answered .*: this is the file's effective config/);
  t.match(noDaemon.stdout, /^copy\.workers\s+3$/m, 'the file’s value');
  t.equal(JSON.parse((await ctl('config', 'show', '--json')).stdout).answeredBy, 'file');
});

t.test('a reloaded change window: a daemon waiting for its window starts, a closed one is shown', async (t) => {
  const sandbox = await copySandbox(t, 20);
  const env = sandbox.env;
  const hhmm = (offsetMinutes: number) => {
    const now = new Date();
    const m = (((now.getUTCHours() * 60 + now.getUTCMinutes() + offsetMinutes) % 1440) + 1440) % 1440;
    return `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
  };
  const base = readFileSync(sandbox.config, 'utf8');
  const withWindow = (start: string, stop: string) =>
    writeFileSync(
      sandbox.config,
      base.replace('[daemon]', `[window]\nstart = "${start}"\nstop = "${stop}"\ntimezone = "UTC"\n\n[daemon]`),
    );
  const status = async () => JSON.parse((await runCtlAsync(['status', '--json'], env)).stdout);

  withWindow(hhmm(120), hhmm(180));
  const daemon = spawnDaemon([], env, t);
  await waitFor(async () => (await runCtlAsync(['status'], env)).code === 0, 'the daemon to answer', 60_000);
  await waitFor(async () => (await status()).state === 'waiting_for_window', 'the daemon to wait', 60_000);
  t.equal((await status()).phase, 'idle', 'nothing runs outside the window');

  withWindow(hhmm(-60), hhmm(120));
  const reload = await runCtlAsync(['reload'], env);
  t.equal(reload.code, 0, reload.stderr);
  t.match(reload.stdout, /applied:\n\s+window\.start/);
  await waitFor(async () => (await status()).state !== 'waiting_for_window', 'the work to start', 60_000);
  t.equal((await status()).window.open, true);

  withWindow(hhmm(120), hhmm(180));
  t.equal((await runCtlAsync(['reload'], env)).code, 0);
  await waitFor(async () => (await status()).window.open === false, 'the window to show closed', 60_000);
  await stopDaemon(daemon, env);
});
