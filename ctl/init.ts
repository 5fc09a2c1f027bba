// rpctl init: write a starting config. It reads the profiles from the shared
// credentials/config files, asks STS which account each profile is, lists the
// source vaults, and reads the CSV's header to propose the key and APMID
// columns. Every value the operator must confirm is marked "CONFIRM". Missing
// flags are asked for on a terminal; elsewhere they are an error naming the flag.
// Needs neither the daemon nor an existing config.

import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { BackupClient, paginateListBackupVaults } from '@aws-sdk/client-backup';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { DEFAULT_STATE_DIR, INIT_PLACEHOLDER } from '../shared/config.js';
import { RpcopyError } from '../shared/errors.js';
import { listProfiles, readCsvHeader, sharedFilePaths } from '../shared/local-files.js';
import type { Command } from './command.js';

interface Answers {
  sourceProfile: string;
  destinationProfile: string;
  csv: string;
}

interface Discovered {
  region: string;
  sourceAccount: string;
  destinationAccount: string;
  vaults: { name: string; points: number }[];
  header: string[];
}

function usage(message: string): never {
  throw new RpcopyError('BAD_REQUEST', message);
}

/** Ask on the terminal for what the flags did not give; elsewhere name the first missing flag. */
async function answers(values: Record<string, unknown>, profiles: string[]): Promise<Answers> {
  const given = {
    sourceProfile: values['source-profile'] as string | undefined,
    destinationProfile: values['destination-profile'] as string | undefined,
    csv: values.csv as string | undefined,
  };
  const flags = [
    ['sourceProfile', '--source-profile', 'source profile (the account that holds the recovery points)'],
    ['destinationProfile', '--destination-profile', 'destination profile (the account that receives the copies)'],
    ['csv', '--csv', 'metadata CSV file (resource ARN → APMID)'],
  ] as const;
  const missing = flags.filter(([key]) => !given[key]);
  if (missing.length === 0) return given as Answers;
  const interactive = Boolean(process.stdin.isTTY && process.stderr.isTTY);
  if (!interactive) {
    const known = profiles.length > 0 ? ` (profiles found: ${profiles.join(', ')})` : '';
    usage(`missing ${missing.map(([, flag]) => flag).join(', ')}${known}`);
  }
  // Prompts go to stderr so that `rpctl init > config.toml` still writes only the config.
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    if (profiles.length > 0) process.stderr.write(`Profiles in the shared AWS files: ${profiles.join(', ')}\n`);
    for (const [key, , question] of missing) {
      let answer = '';
      while (!answer) answer = (await prompt.question(`${question}: `)).trim();
      given[key] = answer;
    }
  } finally {
    prompt.close();
  }
  return given as Answers;
}

async function accountOf(profile: string, region: string | undefined): Promise<{ account: string; region: string }> {
  const sts = new STSClient({ profile, ...(region ? { region } : {}) });
  try {
    const identity = await sts.send(new GetCallerIdentityCommand({}));
    return { account: identity.Account ?? '', region: region ?? (await sts.config.region()) };
  } catch (err) {
    const message = (err as Error).message;
    if (/region/i.test(message) && !region) {
      usage(`profile "${profile}" has no region: pass --region or set region in its [profile] section`);
    }
    throw new RpcopyError('BAD_REQUEST', `sts:GetCallerIdentity for profile "${profile}" failed: ${message}`);
  } finally {
    sts.destroy();
  }
}

async function discover(given: Answers, regionFlag: string | undefined): Promise<Discovered> {
  const csv = resolve(given.csv);
  if (!existsSync(csv)) usage(`--csv: file not found: ${csv}`);
  const header = readCsvHeader(csv);
  const source = await accountOf(given.sourceProfile, regionFlag);
  const destination = await accountOf(given.destinationProfile, source.region);
  const backup = new BackupClient({ profile: given.sourceProfile, region: source.region });
  const vaults: Discovered['vaults'] = [];
  try {
    for await (const page of paginateListBackupVaults({ client: backup }, {})) {
      for (const vault of page.BackupVaultList ?? []) {
        vaults.push({ name: vault.BackupVaultName ?? '', points: vault.NumberOfRecoveryPoints ?? 0 });
      }
    }
  } catch (err) {
    throw new RpcopyError(
      'BAD_REQUEST',
      `backup:ListBackupVaults in the source account failed: ${(err as Error).message}`,
    );
  } finally {
    backup.destroy();
  }
  return {
    region: source.region,
    sourceAccount: source.account,
    destinationAccount: destination.account,
    vaults,
    header,
  };
}

/** The column the operator most likely means: an exact name, else a case-insensitive one, else one containing it. */
function proposeColumn(header: string[], exact: string, fragment: RegExp): string | undefined {
  return (
    header.find((c) => c === exact) ??
    header.find((c) => c.toLowerCase() === exact.toLowerCase()) ??
    header.find((c) => fragment.test(c))
  );
}

const q = (value: string) => JSON.stringify(value);

function renderConfig(given: Answers, found: Discovered): string {
  const csv = resolve(given.csv);
  const key = proposeColumn(found.header, 'resourceArn', /arn/i);
  const apmid = proposeColumn(found.header, 'APMID', /apm/i);
  const columnNote = (chosen: string | undefined, what: string) =>
    chosen
      ? `# CONFIRM: the column holding ${what} (columns in the CSV: ${found.header.join(', ')})`
      : `# CONFIRM: no column looked like ${what}; name it (columns in the CSV: ${found.header.join(', ') || 'none'})`;
  const vaultLines = found.vaults.length
    ? found.vaults.map(
        (v) => `#   ${v.name} (${v.points.toLocaleString('en-US')} recovery point${v.points === 1 ? '' : 's'})`,
      )
    : ['#   (none found)'];
  return `# rpcopy config written by rpctl init. Lines marked CONFIRM need the operator's decision.
# Check it with: rpcopyd --check-config --config THIS_FILE
# Every key and its default: docs/config.example.toml; reference: docs/config.md.

# The region both profiles resolved to; copies never cross regions.
region = ${q(found.region)}

[source]
profile = ${q(given.sourceProfile)}
# From sts:GetCallerIdentity for profile ${given.sourceProfile}.
account_id = ${q(found.sourceAccount)}
# CONFIRM: the IAM role AWS Backup uses to copy (the default service role is assumed).
copy_role_arn = ${q(`arn:aws:iam::${found.sourceAccount}:role/service-role/AWSBackupDefaultServiceRole`)}
# CONFIRM: which source vaults to copy (glob patterns). Vaults found in the source account:
${vaultLines.join('\n')}
vaults = ["*"]

[destination]
profile = ${q(given.destinationProfile)}
# From sts:GetCallerIdentity for profile ${given.destinationProfile}.
account_id = ${q(found.destinationAccount)}
# CONFIRM: replace with the customer-managed KMS key in the destination account that new vaults use.
encryption_key_arn = ${q(`arn:aws:kms:${found.region}:${found.destinationAccount}:key/${INIT_PLACEHOLDER}`)}

[metadata]
csv = ${q(csv)}
${columnNote(key, 'the resource ARN')}
key_column = ${q(key ?? 'resourceArn')}
${columnNote(apmid, 'the application id (APMID)')}
apmid_column = ${q(apmid ?? 'APMID')}

[filter]
# CONFIRM: the APMIDs to copy (nothing is copied while the list is empty), or use
# allowed_apmids_file = "FILE" with one APMID per line instead.
allowed_apmids = []

[copy]
# max_in_flight = 100

# CONFIRM: the change window, if the job may run only at certain times (default: always open).
[window]
# start = "22:00"
# stop = "05:30"
# days = ["mon", "tue", "wed", "thu", "fri"]
# timezone = "Europe/London"
# drain = "30m"

[vaults]
# CONFIRM: true lets rpcopy create compliance-mode locked and air-gapped destination vaults like their
# source vaults; compliance locks become irreversible after their grace period.
confirm_compliance_lock = false

[daemon]
state_dir = ${q(DEFAULT_STATE_DIR)}
`;
}

export const initCommand: Command = {
  name: 'init',
  summary: 'write a starting config from the AWS profiles, the source vaults and the CSV header',
  usage:
    'rpctl init --source-profile P --destination-profile P --csv FILE [--region R] [--out FILE [--force]]\n' +
    '  (prints to stdout without --out; on a terminal, missing values are asked for)',
  options: {
    'source-profile': { type: 'string' },
    'destination-profile': { type: 'string' },
    csv: { type: 'string' },
    region: { type: 'string' },
    out: { type: 'string' },
    force: { type: 'boolean', default: false },
  },
  async run(ctx) {
    const out = ctx.values.out as string | undefined;
    if (out && existsSync(out) && ctx.values.force !== true) {
      usage(`--out: ${resolve(out)} exists; pass --force to overwrite it`);
    }
    const profiles = listProfiles();
    const given = await answers(ctx.values, profiles);
    for (const [flag, profile] of [
      ['--source-profile', given.sourceProfile],
      ['--destination-profile', given.destinationProfile],
    ] as const) {
      if (!profiles.includes(profile)) {
        const files = sharedFilePaths();
        usage(
          `${flag}: profile "${profile}" is in neither ${files.credentials} nor ${files.config}` +
            (profiles.length > 0 ? ` (profiles found: ${profiles.join(', ')})` : ''),
        );
      }
    }
    const found = await discover(given, ctx.values.region as string | undefined);
    const text = renderConfig(given, found);
    if (ctx.json) {
      ctx.out(JSON.stringify({ ...found, out: out ? resolve(out) : null, config: text }));
      if (!out) return 0;
    }
    if (!out) {
      process.stdout.write(text);
      return 0;
    }
    // Written whole or not at all: a temporary file beside it, then a rename.
    const target = resolve(out);
    // The default place (~/.config/rpcopy) does not exist on a fresh machine.
    mkdirSync(dirname(target), { recursive: true });
    const temporary = join(dirname(target), `.${Date.now()}.rpctl-init.tmp`);
    writeFileSync(temporary, text, { mode: 0o644 });
    renameSync(temporary, target);
    if (!ctx.json) {
      process.stderr.write(
        `wrote ${target}\nnext: edit the lines marked CONFIRM, then rpcopyd --check-config --config ${target}\n`,
      );
    }
    return 0;
  },
};
