// rpcopyd --check-config: the config, the profiles it names, the CSV's columns and the files it points at,
// checked without writing anything; the effective config printed back as TOML.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import t from 'tap';
import { writeTestConfig } from '../helpers/config.js';
import { RPCOPYD, shortTempDir } from '../helpers/process.js';

function check(dir: string, config: string) {
  const result = spawnSync(process.execPath, [RPCOPYD, '--check-config', '--config', config], {
    env: {
      ...process.env,
      AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials'),
      AWS_CONFIG_FILE: join(dir, 'aws-config'),
    },
    encoding: 'utf8',
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

t.test('a valid config prints back as TOML with defaults and durations as written, and creates nothing', async (t) => {
  const dir = shortTempDir(t);
  const config = writeTestConfig(dir, { extra: '\n[window]\nmax_runtime = "6h"\ndrain = "90m"\n' });
  const result = check(dir, config);
  t.equal(result.code, 0, result.stderr);
  const printed = parseToml(result.stdout) as Record<string, Record<string, unknown>>;
  t.equal(printed.window!.drain, '90m', 'a duration is printed as written');
  t.equal(printed.copy!.max_in_flight, 100, 'defaults are filled in');
  t.equal(printed.source!.profile, 'rpcopy-source');
  t.match(result.stdout, /config\.toml: OK/);
  t.notOk(existsSync(join(dir, 'state')), 'no state directory created');
});

t.test('a profile in neither shared file is named with its key and line', async (t) => {
  const dir = shortTempDir(t);
  const config = writeTestConfig(dir);
  writeFileSync(join(dir, 'config.toml'), readFileSync(config, 'utf8').replace('"rpcopy-dest"', '"dr-typo"'));
  // A profile only in the config file counts.
  writeFileSync(join(dir, 'credentials'), '[rpcopy-source]\naws_access_key_id = A\naws_secret_access_key = B\n');
  writeFileSync(join(dir, 'aws-config'), '[profile rpcopy-other]\nregion = eu-west-2\n');
  const result = check(dir, config);
  t.equal(result.code, 3);
  t.match(result.stderr, /config\.toml:\d+: destination\.profile: profile "dr-typo" is in neither/);
  t.match(result.stderr, /profiles there: rpcopy-other, rpcopy-source/);
  t.notMatch(result.stderr, /source\.profile/, 'the source profile is found');
});

t.test('the CSV must have the named columns', async (t) => {
  const dir = shortTempDir(t);
  const config = writeTestConfig(dir);
  writeFileSync(join(dir, 'apm.csv'), 'arn;APMID\n');
  const result = check(dir, config);
  t.equal(result.code, 3);
  t.match(result.stderr, /metadata\.key_column: .*apm\.csv has no column "resourceArn" on its first line/);
  t.match(result.stderr, /columns: arn;APMID/, 'a wrong delimiter shows as one column');
});

t.test('a missing allowed-APMIDs file and an unknown key are named', async (t) => {
  const dir = shortTempDir(t);
  const text = readFileSync(writeTestConfig(dir), 'utf8')
    .replace('allowed_apmids = ["APM0001234"]', 'allowed_apmids_file = "allowed.txt"')
    .replace('[daemon]', '[copy]\nmax_inflight = 5\n\n[daemon]');
  writeFileSync(join(dir, 'config.toml'), text);
  const result = check(dir, join(dir, 'config.toml'));
  t.equal(result.code, 3);
  t.match(result.stderr, /copy\.max_inflight: unknown key: did you mean copy\.max_in_flight\?/);
  writeFileSync(join(dir, 'config.toml'), text.replace('max_inflight = 5', 'max_in_flight = 5'));
  const again = check(dir, join(dir, 'config.toml'));
  t.equal(again.code, 3);
  t.match(again.stderr, /filter\.allowed_apmids_file: file not found: .*allowed\.txt/);
});

t.test('an empty list of allowed APMIDs is valid but noted: a run would copy nothing', async (t) => {
  const dir = shortTempDir(t);
  const config = writeTestConfig(dir);
  writeFileSync(config, readFileSync(config, 'utf8').replace('allowed_apmids = ["APM0001234"]', 'allowed_apmids = []'));
  const result = check(dir, config);
  t.equal(result.code, 0, result.stderr);
  t.match(result.stdout, /# note: filter\.allowed_apmids is empty: a run copies nothing/);
  t.notMatch(check(dir, writeTestConfig(dir)).stdout, /# note:/, 'a finished config has no note');
});
