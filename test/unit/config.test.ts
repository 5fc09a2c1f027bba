import { mkdtempSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ConfigError, loadConfig, parseConfig, resolveConfigPath } from '../../shared/config.js';
import { formatDuration, parseClockTime, parseDuration } from '../../shared/duration.js';
import { VALID_CONFIG, writeTestConfig } from '../helpers/config.js';

const dir = mkdtempSync(join(tmpdir(), 'rpc-config-'));
const validPath = writeTestConfig(dir);
const valid = VALID_CONFIG.replaceAll('{{dir}}', dir).replaceAll('{{state}}', join(dir, 'state'));

function problemsOf(text: string): ConfigError {
  try {
    parseConfig(text, join(dir, 'config.toml'), {}, {});
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected the config to be rejected');
}

t.test('a valid config loads with defaults filled in', async (t) => {
  const config = loadConfig(validPath, {}, {});
  t.equal(config.region, 'eu-west-2');
  t.same(config.source.vaults, ['*']);
  t.equal(config.copy.workers, 4);
  t.equal(config.copy.maxInFlight, 100);
  t.equal(config.metadata.keyColumn, 'resourceArn');
  t.equal(config.metadata.apmidColumn, 'APMID');
  t.equal(config.daemon.shutdownTimeoutMs, 20_000);
  t.equal(config.inventory.fullRefreshIntervalMs, 24 * 3_600_000, 'a full inventory pass a day');
  t.equal(config.notify.desktop, true);
  t.same(config.window, {
    start: undefined,
    stop: undefined,
    days: undefined,
    timezone: undefined,
    maxRuntimeMs: undefined,
    drainMs: undefined,
  });
});

t.test('window, durations, ~ and relative paths are normalised', async (t) => {
  const text = `${valid.replace(`csv = "${dir}/apm.csv"`, 'csv = "apm.csv"').replace(/state_dir = .*/, 'state_dir = "~/rpcopy-state"')}
[window]
start = "22:00"
stop = "05:30"
days = ["mon", "tue"]
timezone = "Europe/London"
max_runtime = "6h"
drain = "1h30m"
`;
  const config = parseConfig(text, join(dir, 'config.toml'), {}, {});
  t.equal(config.metadata.csv, join(dir, 'apm.csv'), 'relative path taken from the config folder');
  t.equal(config.daemon.stateDir, join(homedir(), 'rpcopy-state'), '~ expanded');
  t.equal(config.window.maxRuntimeMs, 6 * 3_600_000);
  t.equal(config.window.drainMs, 90 * 60_000);
  t.same(config.window.days, ['mon', 'tue']);
  const refresh = parseConfig(`${valid}\n[inventory]\nfull_refresh_interval = "6h30m"\n`, join(dir, 'c.toml'), {}, {});
  t.equal(refresh.inventory.fullRefreshIntervalMs, 6.5 * 3_600_000);
});

t.test('precedence: file < RPCOPY_STATE_DIR < flag', async (t) => {
  t.equal(loadConfig(validPath, {}, {}).daemon.stateDir, join(dir, 'state'));
  t.equal(loadConfig(validPath, {}, { RPCOPY_STATE_DIR: '/from/env' }).daemon.stateDir, '/from/env');
  t.equal(
    loadConfig(validPath, { stateDir: '/from/flag' }, { RPCOPY_STATE_DIR: '/from/env' }).daemon.stateDir,
    '/from/flag',
  );
  t.equal(resolveConfigPath('/flag.toml', { RPCOPY_CONFIG: '/env.toml' }), '/flag.toml');
  t.equal(resolveConfigPath(undefined, { RPCOPY_CONFIG: '/env.toml' }), '/env.toml');
  t.equal(resolveConfigPath(undefined, {}), join(homedir(), '.config/rpcopy/config.toml'));
});

// Each bad config must be refused with a message naming the key (and the file).
const BAD: [string, string, RegExp][] = [
  ['missing region', valid.replace('region = "eu-west-2"\n', ''), /config\.toml: region: missing/],
  ['malformed region', valid.replace('"eu-west-2"\n', '"europe"\n'), /:1: region: expected an AWS region/],
  [
    'account id not 12 digits',
    valid.replace('"111111111111"', '"1111"'),
    /:5: source\.account_id: expected a 12-digit/,
  ],
  [
    'account id as a number',
    valid.replace('"222222222222"', '222222222222'),
    /destination\.account_id: expected the 12-digit AWS account id as a quoted string/,
  ],
  [
    'same account on both sides',
    valid.replace('account_id = "222222222222"', 'account_id = "111111111111"'),
    /destination\.account_id: must differ/,
  ],
  [
    'copy role in the wrong account',
    valid.replace('arn:aws:iam::111111111111:role', 'arn:aws:iam::333333333333:role'),
    /source\.copy_role_arn: must be a role in the source account/,
  ],
  [
    'key in another region',
    valid.replace('kms:eu-west-2:', 'kms:us-east-1:'),
    /destination\.encryption_key_arn: is in region us-east-1 but region is eu-west-2/,
  ],
  [
    'key is not an ARN',
    valid.replace(/encryption_key_arn = .*/, 'encryption_key_arn = "alias/aws/backup"'),
    /destination\.encryption_key_arn: expected a KMS key ARN/,
  ],
  [
    'key still the placeholder rpctl init writes',
    valid.replace(/(encryption_key_arn = "arn:aws:kms:eu-west-2:222222222222:key\/)[^"]*/, '$1REPLACE-WITH-KEY-ID'),
    /:\d+: destination\.encryption_key_arn: still the placeholder rpctl init wrote/,
  ],
  ['unknown key', valid.replace('[source]\n', '[source]\nprofiel = "x"\n'), /:4: source\.profiel: unknown key/],
  ['unknown table', `${valid}\n[copyy]\nworkers = 2\n`, /copyy: unknown key/],
  [
    'workers not a number',
    `${valid}\n[copy]\nworkers = "four"\n`,
    /copy\.workers: expected a whole number of worker threads/,
  ],
  ['workers zero', `${valid}\n[copy]\nworkers = 0\n`, /copy\.workers: expected at least 1 worker thread/],
  [
    'bad window time',
    `${valid}\n[window]\nstart = "25:00"\nstop = "05:00"\n`,
    /window\.start: expected a time of day "HH:MM".*"25:00"/,
  ],
  [
    'window start without stop',
    `${valid}\n[window]\nstart = "22:00"\n`,
    /window\.stop: window\.start and window\.stop go together/,
  ],
  [
    'bad duration',
    `${valid}\n[window]\nmax_runtime = "six hours"\n`,
    /window\.max_runtime: expected a duration .*"six hours"/,
  ],
  [
    'bad refresh interval',
    `${valid}\n[inventory]\nfull_refresh_interval = "daily"\n`,
    /:\d+: inventory\.full_refresh_interval: expected a duration .*"daily"/,
  ],
  [
    'zero refresh interval',
    `${valid}\n[inventory]\nfull_refresh_interval = "0h"\n`,
    /inventory\.full_refresh_interval: expected a duration longer than zero .*"0h"/,
  ],
  [
    'bad time zone',
    `${valid}\n[window]\nstart = "22:00"\nstop = "05:00"\ntimezone = "Mars/Olympus"\n`,
    /window\.timezone: expected an IANA time zone name .*Mars\/Olympus/,
  ],
  [
    'bad day',
    `${valid}\n[window]\nstart = "22:00"\nstop = "05:00"\ndays = ["monday"]\n`,
    /window\.days\.0: expected day names/,
  ],
  [
    'no filter',
    valid.replace('[filter]\nallowed_apmids = ["APM0001234"]\n', ''),
    /filter: missing: set filter\.allowed_apmids or filter\.allowed_apmids_file/,
  ],
  ['csv file missing', valid.replace('apm.csv', 'nope.csv'), /metadata\.csv: file not found/],
  [
    'Default as a destination vault',
    `${valid}\n[destination.vault_names]\nDefault = "Default"\n`,
    /destination\.vault_names\.Default: the Default vault cannot receive copies/,
  ],
  ['not TOML', `${valid}\nthis is = = not toml\n`, /:\d+: not valid TOML/],
  [
    'a table written twice',
    `${valid}\n[window]\ndrain = "5m"\n\n[window]\nstart = "22:00"\n`,
    /:\d+: not valid TOML: \[window\] is already on line \d+: put these keys under that one/,
  ],
  [
    'bad log level',
    valid.replace(/\[daemon\]\n/, '[daemon]\nlog_level = "loud"\n'),
    /daemon\.log_level: expected debug, info, warn or error/,
  ],
];

for (const [name, text, expected] of BAD) {
  t.test(`refused: ${name}`, async (t) => {
    const error = problemsOf(text);
    t.match(error.message, expected);
    t.match(error.message, /config\.toml/, 'names the file');
  });
}

t.test('an unreadable config names the file and says how to point at another', async (t) => {
  t.throws(
    () => loadConfig(join(dir, 'absent.toml'), {}, {}),
    /absent\.toml: cannot read the config file \(no such file\); pass --config/,
  );
});

t.test('all problems are reported at once', async (t) => {
  const error = problemsOf(valid.replace('"111111111111"', '"1"').replace('"eu-west-2"\n', '"x"\n'));
  t.equal(error.problems.length, 2);
});

t.test('durations and clock times', async (t) => {
  t.equal(parseDuration('6h'), 21_600_000);
  t.equal(parseDuration('1h30m'), 5_400_000);
  t.equal(parseDuration('2d'), 172_800_000);
  t.equal(parseDuration('250ms'), 250);
  t.equal(parseDuration('6'), undefined);
  t.equal(parseDuration('h'), undefined);
  t.equal(parseDuration('-1h'), undefined);
  t.equal(formatDuration(5_400_000), '1h30m');
  t.equal(formatDuration(90_061_000), '1d1h');
  t.same(parseClockTime('05:30'), { hour: 5, minute: 30 });
  t.equal(parseClockTime('24:00'), undefined);
  t.equal(parseClockTime('5:30'), undefined);
});

writeFileSync(join(dir, 'unused'), '');
