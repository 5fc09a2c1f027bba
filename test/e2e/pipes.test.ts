// Every rpctl listing through a real pipe: complete when the reader reads it all (| wc -l), and no error trace
// when the reader stops early (| head -1; the long listings outgrow the pipe's buffer, so rpctl meets EPIPE).

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import { runUntilDone, stopDaemon } from '../helpers/pipeline.js';
import { RPCTL } from '../helpers/process.js';
import { startSandboxProcess } from '../helpers/sandbox.js';

const LISTINGS: { args: string[]; long?: boolean }[] = [
  { args: ['plan', '--list', 'copy'], long: true },
  { args: ['plan', '--list', 'csv-problems'] },
  { args: ['report', '--format', 'csv'], long: true },
  { args: ['report', '--format', 'json'], long: true },
  { args: ['plan'] },
  { args: ['status'] },
  { args: ['forecast'] },
  { args: ['preflight'] },
  { args: ['compliance'] },
];

function shell(script: string, env: NodeJS.ProcessEnv): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', script], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', () => resolve({ stdout, stderr }));
  });
}

t.test('rpctl listings through a pipe', async (t) => {
  const sandbox = await startSandboxProcess(t, { points: 1000 });
  const daemon = await runUntilDone(t, sandbox, ['--dry-run']);
  const quoted = (args: string[]) => [process.execPath, RPCTL, ...args].map((a) => `'${a}'`).join(' ');

  await Promise.all(
    LISTINGS.map(async ({ args, long }, index) => {
      const name = `rpctl ${args.join(' ')}`;
      const file = join(sandbox.dir, `listing-${index}.out`);
      // Into a file, through wc -l, and into head -1 (whose rpctl exit code and stderr are kept).
      const { stdout, stderr } = await shell(
        `${quoted(args)} > '${file}'; echo "file-exit=$?"; wc -l < '${file}'; ${quoted(args)} | wc -l; ` +
          `${quoted(args)} 2>'${file}.err' | head -1 >/dev/null; echo "head-exit=\${PIPESTATUS[0]}"; cat '${file}.err'`,
        sandbox.env,
      );
      const [fileExit, fileLines, pipedLines, headExit, ...headErr] = stdout.split('\n');
      // preflight and compliance exit 12 when a check fails; the listing is what is tested here.
      t.match(fileExit, /^file-exit=(0|12)$/, `${name} runs: ${stderr}`);
      t.ok(Number(fileLines) > (long ? 200 : 1), `${name} printed a listing (${fileLines} lines)`);
      t.equal(pipedLines?.trim(), fileLines?.trim(), `${name} | wc -l counts every line`);
      t.match(headExit, /^head-exit=(0|12)$/, `${name} | head -1 exits as into a file`);
      t.equal(headErr.join('\n').trim(), '', `${name} | head -1: nothing on stderr`);
    }),
  );
  await stopDaemon(daemon, sandbox.env);
});
