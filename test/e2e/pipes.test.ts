// Every rpctl listing through a real pipe: complete when the reader reads it all (| wc -l), and no error trace
// when the reader stops early (| head -1).

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import { runUntilDone, stopDaemon } from '../helpers/pipeline.js';
import { RPCTL } from '../helpers/process.js';
import { startSandboxProcess } from '../helpers/sandbox.js';

const LISTINGS: string[][] = [
  ['plan', '--list', 'copy'],
  ['plan'],
  ['report', '--format', 'csv'],
  ['report', '--format', 'json'],
  ['status'],
  ['forecast'],
  ['preflight'],
  ['compliance'],
];

function shell(script: string, env: NodeJS.ProcessEnv) {
  const result = spawnSync('bash', ['-c', script], { env: { ...process.env, ...env }, encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

t.test('rpctl listings through a pipe', async (t) => {
  const sandbox = await startSandboxProcess(t, { points: 1500 });
  const daemon = await runUntilDone(t, sandbox, ['--dry-run']);
  const quoted = (args: string[]) => [process.execPath, RPCTL, ...args].map((a) => `'${a}'`).join(' ');
  const file = join(sandbox.dir, 'listing.out');

  for (const args of LISTINGS) {
    const name = `rpctl ${args.join(' ')}`;
    // The same listing into a file and through `wc -l`; the exit code of rpctl is checked, not the pipe's.
    const whole = shell(
      `${quoted(args)} > '${file}'; echo "exit=$?"; wc -l < '${file}'; ${quoted(args)} | wc -l`,
      sandbox.env,
    );
    const [exitLine, fileLines, pipedLines] = whole.stdout.trim().split('\n');
    // preflight and compliance exit 12 when a check fails; the listing is what is tested here.
    t.match(exitLine, /^exit=(0|12)$/, `${name} runs: ${whole.stderr}`);
    t.equal(pipedLines?.trim(), fileLines?.trim(), `${name} | wc -l counts every line`);
    t.ok(Number(fileLines) > 1, `${name} printed a listing`);

    const head = shell(`${quoted(args)} | head -1; echo "exit=\${PIPESTATUS[0]}" >&2`, sandbox.env);
    t.equal(head.stdout.split('\n').length, 2, `${name} | head -1 gives one line`);
    t.notMatch(head.stderr, /EPIPE|Error|at /, `${name} | head -1: no error trace`);
    t.match(head.stderr, /exit=(0|12)\n$/, `${name} | head -1 exits as it would into a file`);
  }
  await stopDaemon(daemon, sandbox.env);
});
