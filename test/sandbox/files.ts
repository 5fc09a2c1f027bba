/**
 * What `main.ts --out DIR` writes for an operator or a test: a credentials
 * file with one profile per account, an AWS config file, the metadata CSV,
 * the allowed APMIDs, an rpcopy config.toml, a shell-sourceable sandbox.env
 * and sandbox.json (port, pid, admin URL, accounts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeCredentialsProfile } from './credentials.js';
import { ALLOWED_APMIDS } from './generator.js';
import type { SandboxHandle } from './server.js';

export const SOURCE_PROFILE = 'rpcopy-source';
export const DEST_PROFILE = 'rpcopy-dest';

export interface SandboxFiles {
  dir: string;
  credentials: string;
  config: string;
  csv: string;
  allowedApmids: string;
  rpcopyConfig: string;
  env: string;
  json: string;
}

function tomlString(s: string): string {
  return JSON.stringify(s);
}

export function writeSandboxFiles(h: SandboxHandle, outDir: string): SandboxFiles {
  const dir = resolve(outDir);
  mkdirSync(dir, { recursive: true });
  const f: SandboxFiles = {
    dir,
    credentials: join(dir, 'credentials'),
    config: join(dir, 'aws-config'),
    csv: join(dir, 'apm.csv'),
    allowedApmids: join(dir, 'allowed-apmids.txt'),
    rpcopyConfig: join(dir, 'config.toml'),
    env: join(dir, 'sandbox.env'),
    json: join(dir, 'sandbox.json'),
  };
  const sb = h.sandbox;
  const region = h.region;
  writeCredentialsProfile(f.credentials, SOURCE_PROFILE, h.credentialsFor('source'));
  writeCredentialsProfile(f.credentials, DEST_PROFILE, h.credentialsFor('destination'));
  // endpoint_url in a profile is honoured by the JS SDK v3; Debian's awscli 2.9 ignores it (use --endpoint-url).
  writeFileSync(
    f.config,
    [SOURCE_PROFILE, DEST_PROFILE]
      .map((p) => `[profile ${p}]\nregion = ${region}\noutput = json\nendpoint_url = ${h.url}\n`)
      .join('\n'),
  );
  writeFileSync(f.csv, sb.csv().text);
  writeFileSync(f.allowedApmids, `${ALLOWED_APMIDS.join('\n')}\n`);
  const copyRole = sb.world.source.roles.find((r) => r.name === 'AWSBackupDefaultServiceRole')?.arn ?? '';
  writeFileSync(
    f.rpcopyConfig,
    [
      '# Written by the rpcopy sandbox; points at the emulated accounts.',
      `region = ${tomlString(region)}`,
      '',
      '[source]',
      `profile = ${tomlString(SOURCE_PROFILE)}`,
      `account_id = ${tomlString(h.accounts.source)}`,
      `copy_role_arn = ${tomlString(copyRole)}`,
      'vaults = ["*"]',
      '',
      '[destination]',
      `profile = ${tomlString(DEST_PROFILE)}`,
      `account_id = ${tomlString(h.accounts.destination)}`,
      `encryption_key_arn = ${tomlString(sb.world.destVaultKeyArn)}`,
      '',
      '[metadata]',
      `csv = ${tomlString(f.csv)}`,
      'key_column = "resourceArn"',
      'apmid_column = "APMID"',
      '',
      '[filter]',
      `allowed_apmids = [${ALLOWED_APMIDS.map(tomlString).join(', ')}]`,
      '',
      '[copy]',
      'workers = 2',
      'max_in_flight = 100',
      '',
      '[daemon]',
      `state_dir = ${tomlString(join(dir, 'state'))}`,
      '',
    ].join('\n'),
  );
  writeFileSync(
    f.env,
    [
      `export AWS_SHARED_CREDENTIALS_FILE=${shellQuote(f.credentials)}`,
      `export AWS_CONFIG_FILE=${shellQuote(f.config)}`,
      `export AWS_ENDPOINT_URL=${shellQuote(h.url)}`,
      `export AWS_REGION=${shellQuote(region)}`,
      `export RPCOPY_CONFIG=${shellQuote(f.rpcopyConfig)}`,
      `export RPCOPY_SANDBOX_ADMIN=${shellQuote(h.adminUrl)}`,
      '',
    ].join('\n'),
  );
  writeFileSync(
    f.json,
    `${JSON.stringify(
      {
        url: h.url,
        port: h.port,
        pid: process.pid,
        adminUrl: h.adminUrl,
        region,
        accounts: h.accounts,
        profiles: { source: SOURCE_PROFILE, destination: DEST_PROFILE },
        seed: sb.options.seed,
        points: sb.options.points,
        files: f,
      },
      null,
      2,
    )}\n`,
  );
  return f;
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, "'\\''")}'`;
}
