// The CLI entry point as a process: ready line, written files, SDK use through
// the written credentials/config files, SIGTERM exit 0.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { BackupClient, ListBackupVaultsCommand } from '@aws-sdk/client-backup';
import { fromIni } from '@aws-sdk/credential-providers';
import { parse } from 'smol-toml';
import t from 'tap';
import { SandboxAdmin } from './client.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const main = fileURLToPath(new URL('./main.ts', import.meta.url));

t.test('starts, writes its files, serves the SDK, exits 0 on SIGTERM', async (t) => {
  const out = t.testdir();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', main, '--points', '250', '--seed', '9', '--out', out, '--time-factor', '500'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', () => reject(new Error('sandbox exited before it was ready')));
  });
  const ready = JSON.parse(line) as { ready: boolean; port: number; out: string; adminUrl: string };
  t.equal(ready.ready, true);
  t.ok(ready.port > 0);

  const info = JSON.parse(readFileSync(join(out, 'sandbox.json'), 'utf8')) as {
    port: number;
    pid: number;
    accounts: { source: string };
  };
  t.equal(info.port, ready.port);
  t.equal(info.pid, child.pid);
  const env = readFileSync(join(out, 'sandbox.env'), 'utf8');
  t.match(env, /export AWS_ENDPOINT_URL='http:\/\/127\.0\.0\.1:\d+'/);
  t.match(env, /export AWS_SHARED_CREDENTIALS_FILE=/);
  const config = parse(readFileSync(join(out, 'config.toml'), 'utf8')) as Record<string, Record<string, unknown>>;
  t.equal(config.source?.profile, 'rpcopy-source');
  t.equal(config.destination?.account_id, '222222222222');
  t.match(String(config.destination?.encryption_key_arn), /^arn:aws:kms:eu-west-2:222222222222:key\//);
  t.equal(config.metadata?.csv, join(out, 'apm.csv'));
  t.ok(Array.isArray(config.filter?.allowed_apmids));
  t.match(readFileSync(join(out, 'credentials'), 'utf8'), /\[rpcopy-source\]\naws_access_key_id = ASIA/);

  const client = new BackupClient({
    region: 'eu-west-2',
    endpoint: `http://127.0.0.1:${ready.port}`,
    credentials: fromIni({
      profile: 'rpcopy-dest',
      filepath: join(out, 'credentials'),
      configFilepath: join(out, 'aws-config'),
      ignoreCache: true,
    }),
  });
  const vaults = await client.send(new ListBackupVaultsCommand({}));
  t.same(
    vaults.BackupVaultList?.map((v) => v.BackupVaultName),
    ['Default'],
    'the destination starts with its Default vault only',
  );
  client.destroy();
  const truth = await new SandboxAdmin(ready.adminUrl).truth();
  t.equal(truth.totalPoints, 250);

  child.kill('SIGTERM');
  t.equal(await exited, 0, 'SIGTERM exits 0');
});
