// The daemon's stdout off a terminal: one JSON object per line, warnings from Node and the AWS SDK included.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import t from 'tap';
import { spawnDaemon } from '../helpers/process.js';
import { startSandboxProcess } from '../helpers/sandbox.js';

t.test('every stdout line is one JSON object; process warnings are logged as JSON', async (t) => {
  const sandbox = await startSandboxProcess(t, { points: 40 });
  const warn = join(sandbox.dir, 'warn.mjs');
  // Emitted in the main thread once the daemon has replaced Node's own warning printer.
  writeFileSync(
    warn,
    `import { isMainThread } from 'node:worker_threads';
if (isMainThread) {
  const initial = process.listeners('warning');
  const poll = setInterval(() => {
    if (initial.some((l) => process.listeners('warning').includes(l))) return;
    clearInterval(poll);
    process.emitWarning('rpcopy test warning');
  }, 10);
  poll.unref();
}
`,
  );
  const env: NodeJS.ProcessEnv = {
    ...sandbox.env,
    // A warning emitted after start-up, through Node's own process.emitWarning.
    NODE_OPTIONS: `--import=${pathToFileURL(warn).href}`,
  };
  // The test command switches the SDK's Node-version warning off (scripts/test.sh); this test wants it on. An
  // empty value, not a deleted key: spawnDaemon lays the environment over the test runner's own.
  env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = '';
  const child = spawnDaemon(['--once', '--dry-run'], env, t);
  let stdout = '';
  let stderr = '';
  child.child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exit = await child.exited;
  t.equal(exit.code, 0, child.output());

  const lines = stdout.split('\n').filter((l) => l !== '');
  t.ok(lines.length > 3, 'the daemon logged');
  const records = lines.map((line) => {
    try {
      return JSON.parse(line) as Record<string, unknown>;
    } catch {
      t.fail(`not one JSON object: ${line}`);
      return {};
    }
  });
  t.ok(
    records.some((r) => r.level === 'warn' && r.msg === 'rpcopy test warning' && r.warning === 'Warning'),
    'a process warning is a JSON log line',
  );
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 22) {
    t.ok(
      records.some((r) => r.level === 'warn' && r.warning === 'NodeVersionSupportWarning' && r.required === '>=22'),
      "the AWS SDK's Node version warning is one JSON log line",
    );
  }
  t.notMatch(stderr, /NodeVersionSupportWarning|rpcopy test warning/, `no warning text on stderr: ${stderr}`);
});
