/**
 * CLI: start the sandbox and write its files.
 *
 *   node dist/test/sandbox/main.js --points 500 --seed 1 --out /tmp/sb [--port 0]
 *     [--time-factor 1] [--region eu-west-2] [--anchor ISO] [--knobs JSON]
 *     [--no-throttling] [--copy-job-quota N] [--latency-ms N]
 *
 * Prints one JSON line {"ready":true,"port":…,"out":…} on stdout once listening.
 * SIGTERM / SIGINT close the server and exit 0.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { writeSandboxFiles } from './files.js';
import type { DeepPartial, Knobs } from './knobs.js';
import { startSandbox } from './server.js';

const USAGE = `usage: sandbox --out DIR [--points N] [--seed S] [--port P] [--time-factor F] [--region R]
               [--anchor ISO-DATE] [--knobs JSON] [--no-throttling] [--copy-job-quota N] [--latency-ms N]`;

function intArg(name: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name}: expected a non-negative number, got ${v}`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      points: { type: 'string' },
      seed: { type: 'string' },
      port: { type: 'string' },
      'time-factor': { type: 'string' },
      region: { type: 'string' },
      anchor: { type: 'string' },
      knobs: { type: 'string' },
      'no-throttling': { type: 'boolean' },
      'copy-job-quota': { type: 'string' },
      'latency-ms': { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (!values.out) throw new Error(`--out is required\n${USAGE}`);
  const knobs: DeepPartial<Knobs> = values.knobs ? (JSON.parse(values.knobs) as DeepPartial<Knobs>) : {};
  if (values['no-throttling']) knobs.throttling = { ...knobs.throttling, enabled: false };
  if (values['copy-job-quota'] !== undefined)
    knobs.copyJobQuota = intArg('copy-job-quota', values['copy-job-quota'], 100);
  if (values['latency-ms'] !== undefined) knobs.latencyMs = intArg('latency-ms', values['latency-ms'], 0);
  const handle = await startSandbox({
    points: intArg('points', values.points, 500),
    seed: intArg('seed', values.seed, 1),
    port: intArg('port', values.port, 0),
    timeFactor: values['time-factor'] === undefined ? undefined : intArg('time-factor', values['time-factor'], 1),
    region: values.region,
    anchor: values.anchor,
    knobs,
  });
  writeSandboxFiles(handle, values.out);
  let closing = false;
  const shutdown = () => {
    if (closing) process.exit(0);
    closing = true;
    handle.close().then(
      () => process.exit(0),
      () => process.exit(0),
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  process.stdout.write(
    `${JSON.stringify({ ready: true, port: handle.port, url: handle.url, adminUrl: handle.adminUrl, out: resolve(values.out), pid: process.pid })}\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`sandbox: ${(err as Error)?.message ?? String(err)}\n`);
  process.exit(2);
});
