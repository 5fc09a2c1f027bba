// Starts the sandbox (the built AWS emulator) as its own process for a test,
// with the credentials file, AWS config, CSV and rpcopy config it writes.

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { SandboxAdmin } from '../sandbox/client.js';
import { trackProcess } from './leaks.js';
import { ROOT, shortTempDir } from './process.js';

const SANDBOX_MAIN = join(ROOT, 'dist/test/sandbox/main.js');

export interface SandboxOptions {
  points?: number;
  seed?: number;
  timeFactor?: number;
  latencyMs?: number;
  knobs?: Record<string, unknown>;
  extraArgs?: string[];
}

export interface RunningSandbox {
  dir: string;
  url: string;
  admin: SandboxAdmin;
  /** rpcopy's config written by the sandbox. */
  config: string;
  stateDir: string;
  /** Environment for rpcopyd/rpctl/aws: credentials file, AWS config, endpoint. */
  env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

export async function startSandboxProcess(
  t: { teardown(fn: () => void | Promise<void>): void },
  options: SandboxOptions = {},
): Promise<RunningSandbox> {
  const dir = shortTempDir(t);
  const args = [
    SANDBOX_MAIN,
    '--out',
    dir,
    '--points',
    String(options.points ?? 500),
    '--seed',
    String(options.seed ?? 1),
    ...(options.timeFactor !== undefined ? ['--time-factor', String(options.timeFactor)] : []),
    ...(options.latencyMs !== undefined ? ['--latency-ms', String(options.latencyMs)] : []),
    ...(options.knobs ? ['--knobs', JSON.stringify(options.knobs)] : []),
    ...(options.extraArgs ?? []),
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = await new Promise<{ url: string; adminUrl: string }>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => {
      try {
        resolve(JSON.parse(line) as { url: string; adminUrl: string });
      } catch (err) {
        reject(new Error(`sandbox said ${line}: ${(err as Error).message}`));
      }
    });
    child.once('exit', (code) => reject(new Error(`sandbox exited with ${code} before it was ready`)));
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
  };
  t.teardown(stop);
  trackProcess(t, 'the sandbox', child);
  return {
    dir,
    url: ready.url,
    admin: new SandboxAdmin(ready.adminUrl),
    config: join(dir, 'config.toml'),
    stateDir: join(dir, 'state'),
    env: {
      AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials'),
      AWS_CONFIG_FILE: join(dir, 'aws-config'),
      AWS_ENDPOINT_URL: ready.url,
      AWS_REGION: 'eu-west-2',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      RPCOPY_CONFIG: join(dir, 'config.toml'),
    },
    stop,
  };
}

/** The Backup operations that write to the destination account, as the sandbox counts them. */
export const DESTINATION_WRITES = [
  'backup:CreateBackupVault',
  'backup:CreateLogicallyAirGappedBackupVault',
  'backup:PutBackupVaultLockConfiguration',
  'backup:PutBackupVaultAccessPolicy',
  'backup:PutBackupVaultNotifications',
  'backup:TagResource',
] as const;
