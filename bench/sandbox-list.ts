/**
 * Benchmark: list 1,000,000 recovery points (12 vaults) from the sandbox through
 * the SDK paginator (maxResults 1000), as rpcopy's inventory does.
 *
 *   npm run build && npx tsx bench/sandbox-list.ts [--points N] [--runs 3]
 *
 * The sandbox runs as a child process from the BUILT js (dist/test/sandbox/main.js)
 * so its peak RSS (VmHWM in /proc/PID/status) is its own. Throttling is off: the
 * point is the sandbox's own cost, not AWS's 20 calls/s. Writes medians to
 * bench/results/sandbox-list.md.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { BackupClient, ListBackupVaultsCommand, paginateListRecoveryPointsByBackupVault } from '@aws-sdk/client-backup';
import { fromIni } from '@aws-sdk/credential-providers';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const { values } = parseArgs({ options: { points: { type: 'string' }, runs: { type: 'string' } } });
const POINTS = Number(values.points ?? 1_000_000);
const RUNS = Number(values.runs ?? 3);
const MAIN = 'dist/test/sandbox/main.js';

interface Run {
  startupMs: number;
  listMs: number;
  points: number;
  pointsPerSec: number;
  peakRssMb: number;
}

function vmHwmMb(pid: number): number {
  const m = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

async function once(): Promise<Run> {
  const out = mkdtempSync(join(tmpdir(), 'sandbox-bench-'));
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    [MAIN, '--points', String(POINTS), '--seed', '1', '--out', out, '--no-throttling'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`sandbox exited with ${code}`)));
  });
  const startupMs = performance.now() - t0;
  const { port } = JSON.parse(line) as { port: number };
  const client = new BackupClient({
    region: 'eu-west-2',
    endpoint: `http://127.0.0.1:${port}`,
    credentials: fromIni({
      profile: 'rpcopy-source',
      filepath: join(out, 'credentials'),
      configFilepath: join(out, 'aws-config'),
      ignoreCache: true,
    }),
  });
  const t1 = performance.now();
  const vaults = (await client.send(new ListBackupVaultsCommand({ MaxResults: 1000 }))).BackupVaultList ?? [];
  let points = 0;
  for (const v of vaults) {
    for await (const page of paginateListRecoveryPointsByBackupVault(
      { client, pageSize: 1000 },
      { BackupVaultName: v.BackupVaultName },
    )) {
      points += page.RecoveryPoints?.length ?? 0;
    }
  }
  const listMs = performance.now() - t1;
  const peakRssMb = vmHwmMb(child.pid as number);
  client.destroy();
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
  rmSync(out, { recursive: true, force: true });
  if (points !== POINTS) throw new Error(`listed ${points} points, expected ${POINTS}`);
  return { startupMs, listMs, points, pointsPerSec: points / (listMs / 1000), peakRssMb };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

async function main(): Promise<void> {
  if (!existsSync(MAIN))
    throw new Error(`${MAIN} not found: run \`npm run build\` (or npx tsc -p tsconfig.build.json) first`);
  const runs: Run[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await once();
    runs.push(r);
    process.stdout.write(
      `run ${i + 1}: startup ${r.startupMs.toFixed(0)} ms, listed ${r.points} in ${(r.listMs / 1000).toFixed(2)} s (${r.pointsPerSec.toFixed(0)} points/s), sandbox peak RSS ${r.peakRssMb.toFixed(0)} MB\n`,
    );
  }
  const med = (k: keyof Run) => median(runs.map((r) => r[k]));
  const md = `# Sandbox listing benchmark

Command: \`npm run build && npx tsx bench/sandbox-list.ts --points ${POINTS} --runs ${RUNS}\`
Date: ${new Date().toISOString()}
Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}

The sandbox (\`node ${MAIN} --points ${POINTS} --no-throttling\`) runs as a child
process; the benchmark lists every recovery point of its 12 source vaults
through \`paginateListRecoveryPointsByBackupVault\` (pageSize 1000), the way
rpcopy's inventory does, then reads the child's VmHWM (peak RSS).
Throttling is off: at AWS's published 20 calls/s the same listing takes
≥ ${Math.ceil(POINTS / 1000 / 20)} s whatever the server does.

| metric | median of ${RUNS} | runs |
| --- | --- | --- |
| sandbox start-up to ready (ms) | ${med('startupMs').toFixed(0)} | ${runs.map((r) => r.startupMs.toFixed(0)).join(', ')} |
| list ${POINTS.toLocaleString('en')} points (s) | ${(med('listMs') / 1000).toFixed(2)} | ${runs.map((r) => (r.listMs / 1000).toFixed(2)).join(', ')} |
| points/s | ${med('pointsPerSec').toFixed(0)} | ${runs.map((r) => r.pointsPerSec.toFixed(0)).join(', ')} |
| sandbox peak RSS (MB) | ${med('peakRssMb').toFixed(0)} | ${runs.map((r) => r.peakRssMb.toFixed(0)).join(', ')} |

Start-up includes writing apm.csv for every generated resource. The client
(SDK parsing 1,000 points per page) shares the two cores with the server, so
points/s is an end-to-end figure, not the server's ceiling.
`;
  writeFileSync('bench/results/sandbox-list.md', md);
  process.stdout.write(md);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
