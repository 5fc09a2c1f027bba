// docs/config.example.toml: loads with the real loader, and names every key the schema knows.

import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { CONFIG_KEYS, effectiveToml, findKeyLine, loadEffectiveConfig, nearestKey } from '../../shared/config.js';
import { ROOT, shortTempDir } from '../helpers/process.js';

const EXAMPLE = join(ROOT, 'docs/config.example.toml');

t.test('the example config loads with the real loader', async (t) => {
  const dir = shortTempDir(t);
  copyFileSync(EXAMPLE, join(dir, 'config.toml'));
  writeFileSync(join(dir, 'apm.csv'), 'resourceArn,APMID\n');
  const effective = loadEffectiveConfig(join(dir, 'config.toml'), {}, {});
  t.equal(effective.config.copy.maxInFlight, 100);
  t.equal(effective.config.metadata.csv, join(dir, 'apm.csv'), 'relative paths are taken from the file');
  t.match(effectiveToml(effective), /expiry_margin = "2d"/, 'durations print as written');
});

t.test('every key of the schema appears in the example, in its section', async (t) => {
  const { readFileSync } = await import('node:fs');
  // Commented-out keys count: the example shows optional keys at their defaults as comments.
  const uncommented = readFileSync(EXAMPLE, 'utf8').replace(/^# ([a-z_]+|Default) = /gm, '$1 = ');
  t.ok(CONFIG_KEYS.length > 30, 'the key list is derived from the schema');
  for (const key of CONFIG_KEYS) {
    const line = findKeyLine(uncommented, key);
    const written = line !== undefined && uncommented.split('\n')[line - 1]!.trimStart();
    t.ok(
      written && (written.startsWith(`${key.split('.').at(-1)} =`) || written.startsWith(`[${key}]`)),
      `${key} is in docs/config.example.toml`,
    );
  }
});

t.test('an unknown key gets the nearest known key', async (t) => {
  t.equal(nearestKey('copy.max_inflight'), 'copy.max_in_flight');
  t.equal(nearestKey('window.max_in_flight'), 'copy.max_in_flight', 'the right key in the wrong section');
  t.equal(nearestKey('daemon.statedir'), 'daemon.state_dir');
  t.equal(nearestKey('frobnicate.everything'), undefined);
});
