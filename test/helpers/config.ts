// Writes a valid config (and the files it points at) into a folder, with overrides per test.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestConfigOptions {
  /** Extra TOML appended at the end (later tables win only if they are new tables). */
  extra?: string;
  /** Replace the whole text; {{dir}} is replaced with the folder. */
  text?: string;
  stateDir?: string;
}

export const VALID_CONFIG = `region = "eu-west-2"

[source]
profile = "rpcopy-source"
account_id = "111111111111"
copy_role_arn = "arn:aws:iam::111111111111:role/service-role/AWSBackupDefaultServiceRole"
vaults = ["*"]

[destination]
profile = "rpcopy-dest"
account_id = "222222222222"
encryption_key_arn = "arn:aws:kms:eu-west-2:222222222222:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"

[metadata]
csv = "{{dir}}/apm.csv"

[filter]
allowed_apmids = ["APM0001234"]

[daemon]
state_dir = "{{state}}"
`;

/** Profiles named by VALID_CONFIG, for `rpcopyd --check-config` (AWS_SHARED_CREDENTIALS_FILE=dir/credentials). */
const TEST_CREDENTIALS = `[rpcopy-source]
aws_access_key_id = AKIDSOURCE
aws_secret_access_key = source-secret

[rpcopy-dest]
aws_access_key_id = AKIDDEST
aws_secret_access_key = dest-secret
`;

/** Write config.toml, apm.csv and a credentials file into dir; returns the config path. */
export function writeTestConfig(dir: string, options: TestConfigOptions = {}): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'apm.csv'), 'resourceArn,APMID\n');
  writeFileSync(join(dir, 'credentials'), TEST_CREDENTIALS, { mode: 0o600 });
  const stateDir = options.stateDir ?? join(dir, 'state');
  const text = (options.text ?? VALID_CONFIG + (options.extra ?? ''))
    .replaceAll('{{dir}}', dir)
    .replaceAll('{{state}}', stateDir);
  const path = join(dir, 'config.toml');
  writeFileSync(path, text);
  return path;
}
