// rpctl without a config file, and with bad arguments: what the operator reads.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { runCtl, shortTempDir } from '../helpers/process.js';

t.test('rpctl status with no config file says no daemon runs and where it looked (exit 4)', async (t) => {
  const home = shortTempDir(t);
  mkdirSync(join(home, '.config'), { recursive: true });
  const human = runCtl(['status'], { HOME: home, RPCOPY_CONFIG: undefined, RPCOPY_STATE_DIR: undefined });
  t.equal(human.code, 4, human.stderr);
  t.match(human.stderr, /rpcopyd is not running/);
  t.match(human.stderr, new RegExp(`no config file at ${home}/\\.config/rpcopy/config\\.toml`));
  t.match(human.stderr, new RegExp(`${home}/\\.local/state/rpcopy/rpcopyd\\.sock`), 'names the socket it tried');
  t.notMatch(human.stderr, /CONFIG_INVALID|fix the config/, 'a missing config is not a config error');

  const json = runCtl(['status', '--json'], { HOME: home, RPCOPY_CONFIG: undefined, RPCOPY_STATE_DIR: undefined });
  t.equal(json.code, 4);
  t.equal(JSON.parse(json.stdout).error.code, 'DAEMON_NOT_RUNNING');
});

t.test('argument errors print the problem and the usage of that command', async (t) => {
  const unknown = runCtl(['status', '--bogus']);
  t.equal(unknown.code, 2);
  t.equal(unknown.stderr.split('\n')[0], 'rpctl status: unknown option --bogus');
  t.match(unknown.stderr, /Usage: rpctl status/);
  t.notMatch(unknown.stderr, /positional argument/, 'not the raw parser message');

  const noValue = runCtl(['plan', '--list']);
  t.equal(noValue.code, 2);
  t.equal(noValue.stderr.split('\n')[0], 'rpctl plan: --list needs a value');
  t.match(noValue.stderr, /Usage: rpctl plan/);

  const flagValue = runCtl(['status', '--json=yes']);
  t.equal(flagValue.code, 2);
  t.equal(flagValue.stderr.split('\n')[0], 'rpctl status: --json takes no value');
});
