/**
 * Benchmark: daemon start-up to a ready socket, and `rpctl status` latency.
 *
 *   npm run build && npx tsx bench/startup.ts [--runs 20]
 *
 * Each run starts the built rpcopyd on a fresh state directory (a new store is
 * created and migrated) and times from spawn to the first 200 from /v1/health
 * over the socket; then, two seconds later, times `rpctl status --json` as an
 * operator runs it (a whole node process), and the status request alone. No AWS
 * calls are involved: the pipeline's first call goes to an unreachable endpoint
 * and simply retries in the background. Medians go to bench/results/startup.md.
 */
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { VALID_CONFIG } from '../test/helpers/config.js';

const { values } = parseArgs({ options: { runs: { type: 'string' } } });
const RUNS = Number(values.runs ?? 20);

function get(socketPath: string, path: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path, headers: { host: 'localhost' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.end();
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};

const startup: number[] = [];
const ctlStatus: number[] = [];
const apiStatus: number[] = [];
for (let i = 0; i < RUNS; i++) {
  const dir = mkdtempSync(join(tmpdir(), 'rpc-start-'));
  writeFileSync(join(dir, 'apm.csv'), 'resourceArn,APMID\n');
  const config = join(dir, 'config.toml');
  writeFileSync(config, VALID_CONFIG.replaceAll('{{dir}}', dir).replaceAll('{{state}}', join(dir, 'state')));
  const credentials = join(dir, 'credentials');
  writeFileSync(credentials, '[rpcopy-source]\naws_access_key_id = A\naws_secret_access_key = B\n');
  const env = {
    ...process.env,
    AWS_SHARED_CREDENTIALS_FILE: credentials,
    AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  const socket = join(dir, 'state', 'rpcopyd.sock');
  const t0 = performance.now();
  const daemon = spawn(process.execPath, ['dist/daemon/main.js', '--config', config], { env, stdio: 'ignore' });
  while (!(existsSync(socket) && (await get(socket, '/v1/health')) === 200)) {
    await new Promise((r) => setTimeout(r, 2));
  }
  startup.push(performance.now() - t0);
  // Measure status in steady state: right after start-up the worker threads are still loading the AWS SDK,
  // and on 2 cores that start-up work, not the status path, would dominate the timing.
  await new Promise((r) => setTimeout(r, 2_000));

  const t1 = performance.now();
  const ctl = spawnSync(process.execPath, ['dist/ctl/main.js', 'status', '--json', '--config', config], { env });
  if (ctl.status !== 0) throw new Error(`rpctl status failed: ${ctl.stderr}`);
  ctlStatus.push(performance.now() - t1);

  const t2 = performance.now();
  if ((await get(socket, '/v1/status')) !== 200) throw new Error('status failed');
  apiStatus.push(performance.now() - t2);

  const exited = new Promise((r) => daemon.once('exit', r));
  daemon.kill('SIGTERM');
  await exited;
  rmSync(dir, { recursive: true, force: true });
}

const text = `
## ${new Date().toISOString()}

Command: \`npm run build && npx tsx bench/startup.ts --runs ${RUNS}\`. Machine: ${cpus().length} × ${cpus()[0]?.model}, Node ${process.version}.

| metric (median of ${RUNS}) | ms | min | max |
| --- | --- | --- | --- |
| rpcopyd spawn → socket answers /v1/health (new store) | ${median(startup).toFixed(0)} | ${Math.min(...startup).toFixed(0)} | ${Math.max(...startup).toFixed(0)} |
| \`rpctl status --json\`, whole command | ${median(ctlStatus).toFixed(0)} | ${Math.min(...ctlStatus).toFixed(0)} | ${Math.max(...ctlStatus).toFixed(0)} |
| GET /v1/status over the socket | ${median(apiStatus).toFixed(1)} | ${Math.min(...apiStatus).toFixed(1)} | ${Math.max(...apiStatus).toFixed(1)} |
`;
console.log(text);
const out = 'bench/results/startup.md';
if (!existsSync(out)) writeFileSync(out, '# Start-up and status latency benchmark\n');
appendFileSync(out, text);
