// rpctl set's settings (daemon/settings.ts): names checked against the known settings only, and a lifted
// override hands each setting back to the config's value.

import t from 'tap';
import { LiveSettings, parseSetting, parseSettingKey } from '../../daemon/settings.js';

t.test('only the known settings are accepted, not names an object inherits', async (t) => {
  t.equal(parseSettingKey('drain'), 'drain');
  t.throws(() => parseSettingKey('toString'), /unknown setting "toString"; expected one of max-in-flight, drain/);
  t.throws(() => parseSetting('constructor', '5'), /unknown setting "constructor"/);
  t.same(parseSetting('max-in-flight', '12'), { key: 'max-in-flight', value: 12 });
});

t.test('clear gives each setting back to the config', async (t) => {
  const applied: { maxInFlight: number[]; drain: number[] } = { maxInFlight: [], drain: [] };
  const live = new LiveSettings({
    copy: { setMaxInFlight: (n) => applied.maxInFlight.push(n) },
    configuredDrainMs: () => 1_800_000,
    setDrain: (ms) => applied.drain.push(ms),
  });
  live.apply({ key: 'drain', value: 2_700_000 });
  live.apply({ key: 'max-in-flight', value: 9 });
  t.equal(live.drainMs(), 2_700_000, 'the operator’s drain');
  t.same(live.clear('drain', 100), { key: 'drain', value: 1_800_000 });
  t.equal(live.drainMs(), 1_800_000, 'window.drain again');
  t.same(live.clear('max-in-flight', 100), { key: 'max-in-flight', value: 100 });
  t.same(applied, { maxInFlight: [9, 100], drain: [2_700_000, 1_800_000] });
});
