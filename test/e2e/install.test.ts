// The supported install: `npm pack` in the checkout, then `npm install -g` of
// the tarball into a prefix. The installed binaries run from outside the
// repository, find their migrations and complete a dry run against the sandbox.

import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ROOT, shortTempDir } from '../helpers/process.js';
import { startSandboxProcess } from '../helpers/sandbox.js';

const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

function run(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }) {
  const result = spawnSync(command, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    encoding: 'utf8',
    timeout: 180_000,
  });
  return { code: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
}

t.test('npm pack + npm install -g into a fresh prefix gives working rpcopyd and rpctl', async (t) => {
  const dir = shortTempDir(t);
  // --ignore-scripts: the tests run on the dist/ already built; pack must not rebuild it under them.
  const pack = run(NPM, ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT });
  t.equal(pack.code, 0, pack.stderr);
  const [packed] = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[];
  const files = packed!.files.map((f) => f.path);
  for (const needed of [
    'dist/daemon/main.js',
    'dist/ctl/main.js',
    'drizzle/meta/_journal.json',
    'docs/config.example.toml',
    'systemd/rpcopyd.service',
  ]) {
    t.ok(files.includes(needed), `the package carries ${needed}`);
  }
  t.notOk(
    files.some((f) => f.endsWith('.test.js') || f.startsWith('test/') || (f.endsWith('.ts') && !f.endsWith('.d.ts'))),
    'no tests or TypeScript sources in the package',
  );

  const prefix = join(dir, 'prefix');
  // Scripts off: better-sqlite3 would compile from source here (no prebuilt binary is reachable offline), which is
  // its own install, not ours; the binary this checkout built is the same ABI and is copied in instead.
  const install = run(
    NPM,
    [
      'install',
      '-g',
      join(dir, packed!.filename),
      '--prefix',
      prefix,
      '--ignore-scripts',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
    ],
    { cwd: dir },
  );
  t.equal(install.code, 0, install.stderr);
  const installed = join(prefix, 'lib/node_modules/rpcopy');
  const native = 'node_modules/better-sqlite3/build/Release/better_sqlite3.node';
  spawnSync('mkdir', ['-p', join(installed, 'node_modules/better-sqlite3/build/Release')]);
  copyFileSync(join(ROOT, native), join(installed, native));

  const bin = join(prefix, 'bin');
  const env = { PATH: `${bin}:${process.env.PATH}` };
  const outside = join(dir, 'elsewhere');
  spawnSync('mkdir', ['-p', outside]);

  const help = run('rpctl', ['--help'], { cwd: outside, env });
  t.equal(help.code, 0, help.stderr);
  t.match(help.stdout, /Usage: rpctl <command>/);
  const daemonHelp = run('rpcopyd', ['--help'], { cwd: outside, env });
  t.equal(daemonHelp.code, 0, daemonHelp.stderr);
  t.match(daemonHelp.stdout, /Usage: rpcopyd/);
  const daemonVersion = run('rpcopyd', ['--version'], { cwd: outside, env });
  t.equal(daemonVersion.stdout.trim(), `rpcopyd ${version}`);
  const ctlVersion = run('rpctl', ['--version'], { cwd: outside, env });
  t.equal(ctlVersion.stdout.trim(), `rpctl ${version}`);

  // A real run from the installed package: the store is created from the packaged migrations.
  const sandbox = await startSandboxProcess(t, { points: 60 });
  const dry = run('rpcopyd', ['--once', '--dry-run'], { cwd: outside, env: { ...sandbox.env, ...env } });
  t.equal(dry.code, 0, `${dry.stdout}\n${dry.stderr}`);
  const plan = run('rpctl', ['plan', '--json'], { cwd: outside, env: { ...sandbox.env, ...env } });
  // The daemon has exited: rpctl says so with its documented code rather than failing on the install.
  t.equal(plan.code, 4, plan.stderr);
});
