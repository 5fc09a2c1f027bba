// rpctl init against the sandbox: account ids from STS through the real SDK, source vaults listed, columns
// proposed from the CSV header; the result loads with the real config loader.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { type ConfigError, parseConfig } from '../../shared/config.js';
import { RPCTL, runCtlAsync, waitFor } from '../helpers/process.js';
import { startSandboxProcess } from '../helpers/sandbox.js';

/** The one edit init's config needs before it loads: the destination's KMS key, which only the operator knows. */
const withKey = (text: string) => text.replace('key/REPLACE-WITH-KEY-ID', 'key/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b');

t.test('rpctl init writes a config that loads, with the accounts, vaults and columns it found', async (t) => {
  const sandbox = await startSandboxProcess(t, { points: 40 });
  const env = { ...sandbox.env, RPCOPY_CONFIG: join(sandbox.dir, 'absent.toml') };
  const csv = join(sandbox.dir, 'apm.csv');
  const flags = ['--source-profile', 'rpcopy-source', '--destination-profile', 'rpcopy-dest', '--csv', csv];

  const printed = await runCtlAsync(['init', ...flags], env);
  t.equal(printed.code, 0, printed.stderr);
  let refusedAsWritten: unknown;
  try {
    parseConfig(printed.stdout, join(sandbox.dir, 'init.toml'));
  } catch (err) {
    refusedAsWritten = err;
  }
  t.same(
    (refusedAsWritten as ConfigError | undefined)?.problems.map((p) => p.key),
    ['destination.encryption_key_arn'],
    'as written, only the KMS key placeholder keeps it from loading',
  );
  const config = parseConfig(withKey(printed.stdout), join(sandbox.dir, 'init.toml'));
  t.equal(config.source.accountId, '111111111111', 'source account from STS');
  t.equal(config.destination.accountId, '222222222222', 'destination account from STS');
  t.equal(config.region, 'eu-west-2');
  t.equal(config.metadata.keyColumn, 'resourceArn');
  t.equal(config.metadata.apmidColumn, 'APMID');
  t.match(printed.stdout, /#\s+prod-ebs-daily \(\d+ recovery points?\)/, 'the source vaults are listed');
  t.ok((printed.stdout.match(/CONFIRM/g) ?? []).length >= 6, 'the choices to confirm are marked');

  const out = join(sandbox.dir, 'init.toml');
  const written = await runCtlAsync(['init', ...flags, '--out', out], env);
  t.equal(written.code, 0, written.stderr);
  t.equal(written.stdout, '', 'nothing on stdout with --out');
  t.equal(readFileSync(out, 'utf8'), printed.stdout);

  writeFileSync(out, '# mine\n');
  const refused = await runCtlAsync(['init', ...flags, '--out', out], env);
  t.equal(refused.code, 2);
  t.match(refused.stderr, /exists; pass --force/);
  t.equal(readFileSync(out, 'utf8'), '# mine\n', 'an existing file is left alone');
  const forced = await runCtlAsync(['init', ...flags, '--out', out, '--force'], env);
  t.equal(forced.code, 0, forced.stderr);
  t.not(readFileSync(out, 'utf8'), '# mine\n');

  // The CSV's own column names are proposed when the usual ones are absent.
  const other = join(sandbox.dir, 'other.csv');
  writeFileSync(other, 'owner,ResourceARN,app_apm_id\n');
  const proposed = await runCtlAsync(['init', ...flags.slice(0, 4), '--csv', other], env);
  t.equal(proposed.code, 0, proposed.stderr);
  const otherConfig = parseConfig(withKey(proposed.stdout), join(sandbox.dir, 'other.toml'));
  t.equal(otherConfig.metadata.keyColumn, 'ResourceARN');
  t.equal(otherConfig.metadata.apmidColumn, 'app_apm_id');
});

t.test('rpctl init without a terminal names the missing flag and the profiles it found', async (t) => {
  const sandbox = await startSandboxProcess(t, { points: 10 });
  const result = await runCtlAsync(['init', '--source-profile', 'rpcopy-source', '--csv', 'x.csv'], sandbox.env);
  t.equal(result.code, 2);
  t.match(result.stderr, /missing --destination-profile \(profiles found: rpcopy-dest, rpcopy-source\)/);
  t.match(result.stderr, /Usage: rpctl init/, 'the usage of the command follows');

  const unknown = await runCtlAsync(
    ['init', '--source-profile', 'nope', '--destination-profile', 'rpcopy-dest', '--csv', join(sandbox.dir, 'apm.csv')],
    sandbox.env,
  );
  t.equal(unknown.code, 2);
  t.match(unknown.stderr, /--source-profile: profile "nope" is in neither/);
  t.notOk(existsSync(join(sandbox.dir, 'nope')));
});

const HAS_TMUX = spawnSync('tmux', ['-V'], { encoding: 'utf8' }).status === 0;
const shellQuote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

t.test(
  'rpctl init on a terminal asks for what the flags did not give',
  { skip: !HAS_TMUX && 'tmux is absent' },
  async (t) => {
    const sandbox = await startSandboxProcess(t, { points: 10 });
    const name = `rpci-${process.pid}`;
    const tmux = (...args: string[]) =>
      spawnSync('tmux', ['-L', name, '-f', '/dev/null', ...args], { encoding: 'utf8' });
    t.teardown(() => {
      tmux('kill-server');
    });
    const out = join(sandbox.dir, 'asked.toml');
    const env = Object.entries({ ...sandbox.env, TERM: 'xterm-256color' })
      .map(([k, v]) => `${k}=${shellQuote(String(v))}`)
      .join(' ');
    const command =
      `env ${env} ${shellQuote(process.execPath)} ${shellQuote(RPCTL)} init --source-profile rpcopy-source ` +
      `--out ${shellQuote(out)}; echo "init-exit=$?"; sleep 600`;
    t.equal(tmux('new-session', '-d', '-s', 'init', '-x', '200', '-y', '40', command).status, 0);
    const pane = () => tmux('capture-pane', '-p', '-t', 'init').stdout;
    await waitFor(() => /destination profile .*:\s*$/m.test(pane()), 'the destination profile question', 60_000, 100);
    t.match(pane(), /Profiles in the shared AWS files: rpcopy-dest, rpcopy-source/);
    tmux('send-keys', '-t', 'init', 'rpcopy-dest', 'Enter');
    await waitFor(() => /metadata CSV file .*:\s*$/m.test(pane()), 'the CSV question', 60_000, 100);
    tmux('send-keys', '-t', 'init', join(sandbox.dir, 'apm.csv'), 'Enter');
    await waitFor(() => /init-exit=\d+/.test(pane()), 'rpctl init to finish', 60_000, 100);
    t.match(pane(), /init-exit=0/, pane());
    const config = parseConfig(withKey(readFileSync(out, 'utf8')), out);
    t.equal(config.destination.profile, 'rpcopy-dest');
    t.equal(config.destination.accountId, '222222222222');
  },
);
