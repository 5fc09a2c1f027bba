// The config reload against a real store and a real config file: what is applied, what is only reported,
// and that a file that does not validate changes nothing.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { createJournal, startRun } from '../../daemon/events.js';
import { createLogger } from '../../daemon/log.js';
import { createReloader, LIVE_KEYS } from '../../daemon/reload.js';
import { saveSetting } from '../../daemon/settings.js';
import { openStore } from '../../daemon/store/store.js';
import { ReloadResponse } from '../../shared/api.js';
import { CONFIG_KEYS, loadConfig } from '../../shared/config.js';
import { configValues, durationText, VIEW_KEYS } from '../../shared/config-view.js';
import { parseDuration } from '../../shared/duration.js';
import type { RpcopyError } from '../../shared/errors.js';
import { writeTestConfig } from '../helpers/config.js';
import { shortTempDir } from '../helpers/process.js';

function setup(t: Test) {
  const dir = shortTempDir(t);
  const file = writeTestConfig(dir, { extra: '\n[copy]\nmax_in_flight = 100\n' });
  const config = loadConfig(file);
  const store = openStore(
    join(dir, 'rpcopy.db'),
    { sourceAccountId: '111111111111', destinationAccountId: '222222222222', region: 'eu-west-2' },
    { version: 'test' },
  );
  t.teardown(() => store.close());
  const journal = createJournal(store, startRun(store, { pid: 1, version: 'test', mode: 'service' }), quiet);
  const calls: string[] = [];
  const reloader = createReloader({
    config,
    overrides: {},
    env: {},
    store,
    journal,
    startedAt: new Date(),
    hooks: {
      setMaxInFlight: (n) => calls.push(`max-in-flight ${n}`),
      setDrain: (ms) => calls.push(`drain ${ms}`),
      setNotify: (c) => calls.push(`notify ${c.desktop} ${c.command ?? '-'}`),
      setSchedule: () => calls.push(`schedule ${config.window.start ?? '-'}-${config.window.stop ?? '-'}`),
    },
  });
  const edit = (from: string | RegExp, to: string) => writeFileSync(file, readFileSync(file, 'utf8').replace(from, to));
  const events = () =>
    store.sqlite.prepare("SELECT kind, message, data FROM events WHERE kind LIKE 'config.%' ORDER BY id").all() as {
      kind: string;
      message: string;
      data: string;
    }[];
  return { file, config, store, reloader, calls, edit, events };
}

const quiet = createLogger({ level: 'error', write: () => undefined });

t.test('every key of the file is shown, and every live key is a key', async (t) => {
  t.same([...VIEW_KEYS].sort(), [...CONFIG_KEYS].sort(), 'config-view reads exactly the keys the file may hold');
  for (const key of Object.keys(LIVE_KEYS)) t.ok(VIEW_KEYS.includes(key), `${key} is a config key`);
  for (const ms of [0, 1_500, 10_000, 300_000, 5_400_000, 86_400_000, 93_784_005]) {
    t.equal(parseDuration(durationText(ms)), ms, `${durationText(ms)} reads back as ${ms} ms`);
  }
});

t.test('a live key is applied, a restart key is reported and kept, the rest is unchanged', async (t) => {
  const { reloader, config, calls, edit, events } = setup(t);
  edit('max_in_flight = 100', 'max_in_flight = 7');
  edit('profile = "rpcopy-dest"', 'profile = "other-dest"');
  edit('[daemon]', '[notify]\ncommand = "cat > /dev/null"\n\n[daemon]');
  const answer = ReloadResponse.parse(reloader.reload('rpctl reload'));
  t.same(
    answer.applied.map((c) => [c.key, c.from, c.to]),
    [
      ['copy.max_in_flight', 100, 7],
      ['notify.command', null, 'cat > /dev/null'],
    ],
  );
  t.same(answer.needsRestart, [{ key: 'destination.profile', from: 'rpcopy-dest', to: 'other-dest' }]);
  t.equal(answer.unchanged.length, VIEW_KEYS.length - 3);
  t.equal(config.copy.maxInFlight, 7, 'the running config holds the new value');
  t.equal(config.destination.profile, 'rpcopy-dest', 'a restart key keeps its running value');
  t.same(calls, ['max-in-flight 7', 'notify true cat > /dev/null']);
  const [event] = events();
  t.equal(event?.kind, 'config.reloaded');
  t.match(event?.message, /restart rpcopyd to apply\): destination\.profile/);
  t.notMatch(event?.data, /cat > \/dev\/null/, 'the journal names keys, not their values');

  const shown = reloader.show();
  const row = (key: string) => shown.keys.find((k) => k.key === key);
  t.same(row('destination.profile'), {
    key: 'destination.profile',
    value: 'rpcopy-dest',
    file: 'other-dest',
    differs: true,
    apply: 'restart',
  });
  t.equal(row('copy.max_in_flight')?.differs, false, 'an applied key matches the file');
  t.equal(shown.fileError, null);
  t.ok(shown.reloadedAt);
});

t.test('a file that does not validate is refused with file:line: key and changes nothing', async (t) => {
  const { reloader, config, calls, edit, events, file } = setup(t);
  const before = structuredClone(configValues(config));
  edit('max_in_flight = 100', 'max_in_flight = 7\nworkers = "many"');
  const err = t.throws(() => reloader.reload('SIGHUP')) as RpcopyError;
  t.equal(err.code, 'CONFIG_INVALID');
  t.match(err.message, new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+: copy\\.workers: `));
  t.match(err.message, /nothing changed/);
  t.same(configValues(config), before, 'the running config is untouched (max_in_flight too)');
  t.same(calls, []);
  t.equal(events()[0]?.kind, 'config.reload_refused');
  t.match(reloader.show().fileError, /copy\.workers/);
});

t.test('an rpctl set override is reported where it still wins over a reloaded key', async (t) => {
  const { reloader, config, calls, edit, store } = setup(t);
  saveSetting(store, { key: 'max-in-flight', value: 9 });
  edit('max_in_flight = 100', 'max_in_flight = 7');
  const answer = reloader.reload('rpctl reload');
  t.same(answer.overridden, [{ key: 'copy.max_in_flight', setting: 'max-in-flight', value: '9' }]);
  t.equal(config.copy.maxInFlight, 7, 'the file value is kept for when the override goes');
  t.same(calls, [], 'the in-flight limit keeps the override');
  t.same(reloader.show().keys.find((k) => k.key === 'copy.max_in_flight')?.overriddenBy, {
    setting: 'max-in-flight',
    value: '9',
  });
});

t.test('a new window schedule is applied as one, its drain after it', async (t) => {
  const { reloader, config, calls, edit } = setup(t);
  edit('[daemon]', '[window]\nstart = "22:00"\nstop = "05:30"\ndrain = "30m"\n\n[daemon]');
  const answer = reloader.reload('rpctl reload');
  t.same(
    answer.applied.map((c) => c.key),
    ['window.start', 'window.stop', 'window.drain'],
  );
  t.same(calls, ['schedule 22:00-05:30', 'drain 1800000'], 'the run loop is told once, with the whole schedule');
  t.same(
    { start: config.window.start, stop: config.window.stop, drainMs: config.window.drainMs },
    {
      start: '22:00',
      stop: '05:30',
      drainMs: 1_800_000,
    },
  );
  edit(/\[window\][^[]*/, '');
  reloader.reload('rpctl reload');
  t.same(config.window, {}, 'removing the window removes every key of it');
});
