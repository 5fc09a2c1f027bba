// Renders the rehearsal environment as files: the two CloudFormation
// templates, the metadata CSV with the sandbox's APMID cases, an rpcopy
// config, the on-demand backup and teardown scripts and a README.txt with
// the commands. Pure: returns file names and contents; ctl/testenv.ts writes
// them. ARNs AWS assigns at deployment (volume, instance and file-system
// ids, key ids) come from the stacks' outputs once deployed; before that the
// CSV and the config carry visible placeholders and README.txt says how to
// render again with the outputs.

// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${...} here is CloudFormation Fn::Sub or shell syntax, on purpose.

import { templateSizeProblem } from './cfn-validate.js';
import {
  AIRGAP_STAGING_VAULT,
  COPY_ROLE,
  DESTINATION_PROFILE,
  DESTINATION_STACK,
  DESTINATION_VAULT_NAMES,
  GRACE_CHANGEABLE_FOR_DAYS,
  IMMUTABLE_CHANGEABLE_FOR_DAYS,
  lifecycleShorthand,
  OPERATOR_ROLE,
  REHEARSAL_RESOURCES,
  type RehearsalResource,
  rehearsalVaults,
  resourcesIn,
  SOURCE_PROFILE,
  SOURCE_STACK,
} from './rehearsal.js';
import {
  ALLOWED_APMIDS,
  APPS,
  appByKey,
  CSV_HEADER,
  CSV_MIN_ORPHANS,
  type CsvCategory,
  conflictingApmid,
  csvFileText,
  csvRow,
  fiveColumnRow,
  ownerOf,
  threeColumnRow,
  unbalancedQuoteRow,
} from './shape.js';
import { destinationTemplate, sourceTemplate, type Template } from './templates.js';

const DEFAULT_REGION = 'eu-west-2';
/** Example account ids (the product's own examples) used until real ones are given. */
export const PLACEHOLDER_ACCOUNTS = { source: '111111111111', destination: '222222222222' } as const;
const PLACEHOLDER_ORGANIZATION = 'o-exampleorgid';

export const FILES = {
  sourceTemplate: 'source.template.json',
  destinationTemplate: 'destination.template.json',
  csv: 'apm.csv',
  config: 'config.toml',
  readme: 'README.txt',
  backupNow: 'backup-now.sh',
  teardown: 'teardown.sh',
} as const;

export interface RenderOptions {
  region?: string;
  sourceAccountId?: string;
  destinationAccountId?: string;
  organizationId?: string;
  /** Output key → value of the deployed source stack. */
  sourceOutputs?: Readonly<Record<string, string>>;
  /** Output key → value of the deployed destination stack. */
  destinationOutputs?: Readonly<Record<string, string>>;
}

export interface RenderedFile {
  name: string;
  content: string;
  executable?: boolean;
}

export interface Rendered {
  files: RenderedFile[];
  /** What is still a placeholder (empty once accounts and both stacks' outputs are given). */
  placeholders: string[];
  csvTruth: RehearsalCsvTruth;
}

export class TestenvError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TestenvError';
  }
}

const ACCOUNT_ID = /^\d{12}$/;
const REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$/;
const ORGANIZATION_ID = /^o-[a-z0-9]{10,32}$/;

/** Read `aws cloudformation describe-stacks` output: the whole answer, `Stacks[0]`, or `Stacks[0].Outputs`. */
export function parseStackOutputs(text: string, file: string): Record<string, string> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new TestenvError(`${file}: not JSON (${(err as Error).message})`);
  }
  let outputs: unknown = doc;
  if (outputs && typeof outputs === 'object' && !Array.isArray(outputs) && 'Stacks' in outputs) {
    outputs = (outputs as { Stacks: unknown[] }).Stacks?.[0];
  }
  if (outputs && typeof outputs === 'object' && !Array.isArray(outputs) && 'Outputs' in outputs) {
    outputs = (outputs as { Outputs: unknown }).Outputs;
  }
  if (!Array.isArray(outputs)) {
    throw new TestenvError(
      `${file}: expected the output of "aws cloudformation describe-stacks --query 'Stacks[0].Outputs'" (a list of {OutputKey, OutputValue})`,
    );
  }
  const out: Record<string, string> = {};
  outputs.forEach((o, i) => {
    const key = (o as { OutputKey?: unknown })?.OutputKey;
    const value = (o as { OutputValue?: unknown })?.OutputValue;
    if (typeof key !== 'string' || typeof value !== 'string') {
      throw new TestenvError(`${file}: entry ${i} has no string OutputKey and OutputValue`);
    }
    out[key] = value;
  });
  return out;
}

interface Resolved {
  region: string;
  source: string;
  destination: string;
  organization: string;
  placeholders: string[];
}

function resolve(options: RenderOptions): Resolved {
  const placeholders: string[] = [];
  const region = options.region ?? DEFAULT_REGION;
  if (!REGION.test(region))
    throw new TestenvError(`--region: expected a region name such as "eu-west-2", got "${region}"`);
  const account = (value: string | undefined, flag: string, fallback: string) => {
    if (value === undefined) {
      placeholders.push(`${flag} (using ${fallback})`);
      return fallback;
    }
    if (!ACCOUNT_ID.test(value)) throw new TestenvError(`${flag}: expected a 12-digit account id, got "${value}"`);
    return value;
  };
  const source = account(options.sourceAccountId, '--source-account', PLACEHOLDER_ACCOUNTS.source);
  const destination = account(options.destinationAccountId, '--destination-account', PLACEHOLDER_ACCOUNTS.destination);
  if (source === destination) throw new TestenvError('--destination-account must differ from --source-account');
  let organization = options.organizationId ?? PLACEHOLDER_ORGANIZATION;
  if (options.organizationId === undefined) placeholders.push(`--organization-id (using ${PLACEHOLDER_ORGANIZATION})`);
  else if (!ORGANIZATION_ID.test(options.organizationId)) {
    throw new TestenvError(`--organization-id: expected an id such as "o-a1b2c3d4e5", got "${options.organizationId}"`);
  }
  organization = organization.toLowerCase();
  return { region, source, destination, organization, placeholders };
}

export interface RehearsalCsvTruth {
  /** Data lines after the header. */
  rows: number;
  byCategory: Record<CsvCategory, string[]>;
  orphanArns: string[];
  /** 1-based physical line numbers (the header is line 1). */
  malformedLines: number[];
}

/**
 * The rehearsal's metadata CSV, written like the sandbox's (generator.ts): the same line formats and the same
 * cases, one resource per case, then rows for resources that do not exist, a five-column row and, last, the
 * first malformed resource's row with a quote that never closes.
 */
function rehearsalCsv(
  arnOf: (r: RehearsalResource) => string,
  region: string,
  accountId: string,
): { text: string; truth: RehearsalCsvTruth } {
  const lines: string[] = [CSV_HEADER];
  const truth: RehearsalCsvTruth = {
    rows: 0,
    byCategory: { valid: [], duplicateSame: [], empty: [], notAllowed: [], absent: [], conflict: [], malformed: [] },
    orphanArns: [],
    malformedLines: [],
  };
  let unbalanced: string | undefined;
  for (const r of REHEARSAL_RESOURCES) {
    const arn = arnOf(r);
    const app = appByKey(r.app);
    const owner = ownerOf(app.key);
    truth.byCategory[r.csv].push(arn);
    switch (r.csv) {
      case 'valid':
      case 'notAllowed':
        lines.push(csvRow(arn, app.apmid, app.name, owner));
        break;
      case 'duplicateSame':
        lines.push(csvRow(arn, app.apmid, app.name, owner), csvRow(arn, app.apmid, app.name, owner));
        break;
      case 'empty':
        lines.push(csvRow(arn, '', app.name, owner));
        break;
      case 'conflict':
        lines.push(csvRow(arn, app.apmid, app.name, owner), csvRow(arn, conflictingApmid(app.apmid), app.name, owner));
        break;
      case 'malformed':
        if (unbalanced === undefined) unbalanced = unbalancedQuoteRow(arn, app);
        else {
          lines.push(threeColumnRow(arn, app));
          truth.malformedLines.push(lines.length);
        }
        break;
      case 'absent':
        break;
    }
  }
  for (let n = 0; n < CSV_MIN_ORPHANS; n++) {
    const app = APPS[n % APPS.length] as (typeof APPS)[number];
    const arn = `arn:aws:ec2:${region}:${accountId}:volume/vol-0deadbeef0000000${n}`;
    lines.push(csvRow(arn, app.apmid, app.name, ownerOf(app.key)));
    truth.orphanArns.push(arn);
  }
  lines.push(fiveColumnRow(`arn:aws:s3:::rpcopy-${accountId}-orphan-bucket`));
  truth.malformedLines.push(lines.length);
  if (unbalanced !== undefined) {
    lines.push(unbalanced);
    truth.malformedLines.push(lines.length);
  }
  truth.rows = lines.length - 1;
  return { text: csvFileText(lines), truth };
}

function toml(s: string): string {
  return JSON.stringify(s);
}

function configToml(r: Resolved, destinationKeyArn: string | undefined): string {
  const keyArn =
    destinationKeyArn ??
    `arn:aws:kms:${r.region}:${r.destination}:key/PLACEHOLDER-render-again-with-destination-outputs`;
  return [
    '# rpcopy config for the rehearsal in two real AWS accounts. Written by `rpctl testenv render`; see README.txt.',
    ...(r.placeholders.length > 0 || !destinationKeyArn
      ? ["# PLACEHOLDERS inside: render again with the account ids and the stacks' outputs before running rpcopyd."]
      : []),
    `region = ${toml(r.region)}`,
    '',
    '[source]',
    `profile = ${toml(SOURCE_PROFILE)}`,
    `account_id = ${toml(r.source)}`,
    `copy_role_arn = ${toml(`arn:aws:iam::${r.source}:role${COPY_ROLE.path}${COPY_ROLE.name}`)}`,
    'vaults = ["*"]',
    '',
    '[destination]',
    `profile = ${toml(DESTINATION_PROFILE)}`,
    `account_id = ${toml(r.destination)}`,
    `encryption_key_arn = ${toml(keyArn)}`,
    '',
    '# The two source vaults that cannot be recreated under their own name (what `rpctl plan` proposes).',
    '[destination.vault_names]',
    ...Object.entries(DESTINATION_VAULT_NAMES).map(([from, to]) => `${toml(from)} = ${toml(to)}`),
    '',
    '[metadata]',
    `csv = ${toml('apm.csv')}`,
    'key_column = "resourceArn"',
    'apmid_column = "APMID"',
    '',
    '[filter]',
    `allowed_apmids = [${ALLOWED_APMIDS.map(toml).join(', ')}]`,
    '',
    '[copy]',
    'workers = 2',
    'max_in_flight = 20',
    '',
    '# Leave false in the rehearsal: true lets rpcopy create compliance-mode locks and air-gapped vaults in the',
    '# destination, which cannot be removed after their grace time (the destination then cannot be torn down).',
    '[vaults]',
    'confirm_compliance_lock = false',
    '',
    '[compliance]',
    'require_vault_lock = true',
    'min_retention_days = 7',
    '',
    '[daemon]',
    `state_dir = ${toml('state')}`,
    '',
  ].join('\n');
}

const SH_HEADER = (what: string) => [
  '#!/bin/sh',
  `# ${what}`,
  '# Written by `rpctl testenv render` for the rpcopy rehearsal; see README.txt. Needs the AWS CLI v2.',
];

/** On-demand backups of every resource into every vault the shape gives it, then copies into the air-gapped vault. */
function backupNowScript(r: Resolved): string {
  const vaults = rehearsalVaults();
  const lag = vaults.find((v) => v.spec.type === 'LOGICALLY_AIR_GAPPED_BACKUP_VAULT');
  const lines = [
    ...SH_HEADER('On-demand backups: one recovery point of each resource in each vault, round by round.'),
    '# A resource has at most one backup job at a time, so each round (one vault) waits for its jobs to end.',
    '# Run it with an administrator profile of the SOURCE account: SOURCE_ADMIN_PROFILE=... sh backup-now.sh',
    'set -eu',
    ': "${SOURCE_ADMIN_PROFILE:?set SOURCE_ADMIN_PROFILE to an administrator profile of the source account}"',
    `REGION=${r.region}`,
    `STACK=${SOURCE_STACK}`,
    'aws_src() { aws --profile "$SOURCE_ADMIN_PROFILE" --region "$REGION" "$@"; }',
    'OUTPUTS=$(mktemp)',
    'trap \'rm -f "$OUTPUTS"\' EXIT',
    'aws_src cloudformation describe-stacks --stack-name "$STACK" \\',
    '  --query \'Stacks[0].Outputs[].[OutputKey,OutputValue]\' --output text >"$OUTPUTS"',
    'output() { awk -v k="$1" \'$1 == k { print $2 }\' "$OUTPUTS"; }',
    'ROLE=$(output CopyRoleArn)',
    'JOBS=""',
    '',
    '# start VAULT OUTPUT-KEY LIFECYCLE',
    'start() {',
    '  arn=$(output "$2")',
    '  if id=$(aws_src backup start-backup-job --backup-vault-name "$1" --resource-arn "$arn" \\',
    '      --iam-role-arn "$ROLE" --lifecycle "$3" --query BackupJobId --output text); then',
    '    echo "started $id: $2 into $1"',
    '    JOBS="$JOBS $id"',
    '  else',
    '    echo "could not start a backup of $2 into $1 (see the error above); continuing" >&2',
    '  fi',
    '}',
    '',
    'wait_jobs() {',
    '  for id in $JOBS; do',
    '    while :; do',
    '      state=$(aws_src backup describe-backup-job --backup-job-id "$id" --query State --output text) || state=UNKNOWN',
    '      case "$state" in',
    '        COMPLETED | FAILED | ABORTED | EXPIRED | PARTIAL) echo "$id: $state"; break ;;',
    '      esac',
    '      sleep 30',
    '    done',
    '  done',
    '  JOBS=""',
    '}',
    '',
  ];
  for (const v of vaults) {
    if (v.origin === 'efs-automatic-backups') {
      lines.push(`# ${v.spec.name}: filled by the EFS file system's automatic daily backups, not here.`, '');
      continue;
    }
    if (v.spec.type === 'LOGICALLY_AIR_GAPPED_BACKUP_VAULT') continue;
    const members = resourcesIn(v.spec.name);
    if (members.length === 0) continue;
    lines.push(`# ${v.spec.name} (${v.variant})`);
    for (const m of members) lines.push(`start ${v.spec.name} ${m.id}Arn ${lifecycleShorthand(v.lifecycle)}`);
    lines.push('wait_jobs', '');
  }
  if (lag) {
    const members = resourcesIn(lag.spec.name);
    lines.push(
      `# ${lag.spec.name}: backups never land in an air-gapped vault; copy the newest ${AIRGAP_STAGING_VAULT} points in.`,
      `LAG_ARN=$(output Vault${lag.stem}Arn)`,
      `for key in ${members.map((m) => `${m.id}Arn`).join(' ')}; do`,
      '  arn=$(output "$key")',
      `  rp=$(aws_src backup list-recovery-points-by-backup-vault --backup-vault-name ${AIRGAP_STAGING_VAULT} \\`,
      '    --by-resource-arn "$arn" --query \'reverse(sort_by(RecoveryPoints[?Status==`COMPLETED`], &CreationDate))[0].RecoveryPointArn\' \\',
      '    --output text) || rp=""',
      '  if [ -z "$rp" ] || [ "$rp" = None ]; then echo "no completed point of $key to copy"; continue; fi',
      `  aws_src backup start-copy-job --recovery-point-arn "$rp" --source-backup-vault-name ${AIRGAP_STAGING_VAULT} \\`,
      `    --destination-backup-vault-arn "$LAG_ARN" --iam-role-arn "$ROLE" --lifecycle ${lifecycleShorthand(lag.lifecycle)} \\`,
      '    --query CopyJobId --output text || echo "could not copy $key into the air-gapped vault; continuing" >&2',
      'done',
      '',
    );
  }
  lines.push(
    'echo "Done. Continuous backups (RDS, S3) start with the first daily run of their plans\' continuous rule."',
    '',
  );
  return lines.join('\n');
}

/** Empties the rehearsal's vaults in both accounts and deletes both stacks. Idempotent: run it again to finish. */
function teardownScript(r: Resolved): string {
  const vaults = rehearsalVaults();
  const sourceVaults = vaults.map((v) => v.spec.name);
  const lag = vaults.find((v) => v.spec.type === 'LOGICALLY_AIR_GAPPED_BACKUP_VAULT');
  const destinationVaults = vaults.map((v) => DESTINATION_VAULT_NAMES[v.spec.name] ?? v.spec.name);
  return [
    ...SH_HEADER(
      'Teardown: empty the rehearsal vaults of both accounts, delete the vaults rpcopy created, delete both stacks.',
    ),
    '# Run with administrator profiles of both accounts:',
    '#   SOURCE_ADMIN_PROFILE=... DESTINATION_ADMIN_PROFILE=... sh teardown.sh',
    '# It deletes recovery points: only in the vaults named below. Run it again if a step reports leftovers.',
    'set -u',
    ': "${SOURCE_ADMIN_PROFILE:?set SOURCE_ADMIN_PROFILE to an administrator profile of the source account}"',
    ': "${DESTINATION_ADMIN_PROFILE:?set DESTINATION_ADMIN_PROFILE to an administrator profile of the destination account}"',
    `REGION=${r.region}`,
    `SOURCE_VAULTS="${sourceVaults.join(' ')}"`,
    `DESTINATION_VAULTS="${destinationVaults.join(' ')}"`,
    '',
    '# empty PROFILE VAULT: remove the access policy (it may deny deletion) and the lock (allowed in governance mode',
    '# and in grace time), then delete every recovery point.',
    'empty() {',
    '  aws --profile "$1" --region "$REGION" backup describe-backup-vault --backup-vault-name "$2" >/dev/null 2>&1 || return 0',
    '  aws --profile "$1" --region "$REGION" backup delete-backup-vault-access-policy --backup-vault-name "$2" 2>/dev/null',
    '  aws --profile "$1" --region "$REGION" backup delete-backup-vault-lock-configuration --backup-vault-name "$2" 2>/dev/null',
    '  aws --profile "$1" --region "$REGION" backup list-recovery-points-by-backup-vault --backup-vault-name "$2" \\',
    "    --query 'RecoveryPoints[].RecoveryPointArn' --output text | tr '\\t' '\\n' | while read -r rp; do",
    '    [ -n "$rp" ] && [ "$rp" != None ] || continue',
    '    aws --profile "$1" --region "$REGION" backup delete-recovery-point --backup-vault-name "$2" \\',
    '      --recovery-point-arn "$rp" && echo "deleted $rp" || echo "KEPT $rp (locked or expiring later: run again after it expires)"',
    '  done',
    '}',
    '',
    'delete_stack() {',
    '  echo "deleting stack $2"',
    '  aws --profile "$1" --region "$REGION" cloudformation delete-stack --stack-name "$2"',
    '  aws --profile "$1" --region "$REGION" cloudformation wait stack-delete-complete --stack-name "$2" \\',
    '    && echo "stack $2 deleted" || echo "stack $2 not fully deleted yet (a vault still holds points?)"',
    '}',
    '',
    '# 1. Source: delete the stack first (plans, resources; it stops at vaults that still hold points), empty the',
    '#    vaults, then delete the stack again.',
    `delete_stack "$SOURCE_ADMIN_PROFILE" ${SOURCE_STACK}`,
    'for v in $SOURCE_VAULTS; do empty "$SOURCE_ADMIN_PROFILE" "$v"; done',
    `delete_stack "$SOURCE_ADMIN_PROFILE" ${SOURCE_STACK}`,
    ...(lag
      ? [
          `# The air-gapped vault is kept by the stack (DeletionPolicy Retain): its points expire after ${lag.lifecycle.DeleteAfterDays} days,`,
          '# then it can be deleted.',
          `aws --profile "$SOURCE_ADMIN_PROFILE" --region "$REGION" backup delete-backup-vault --backup-vault-name '${lag.spec.name}' \\`,
          `  && echo "deleted ${lag.spec.name}" || echo "KEPT ${lag.spec.name}: run again once its points have expired"`,
        ]
      : []),
    '',
    '# 2. Destination: the vaults rpcopy created (the names it uses for the shape), then the stack.',
    'for v in $DESTINATION_VAULTS; do',
    '  empty "$DESTINATION_ADMIN_PROFILE" "$v"',
    '  aws --profile "$DESTINATION_ADMIN_PROFILE" --region "$REGION" backup describe-backup-vault --backup-vault-name "$v" >/dev/null 2>&1 || continue',
    '  aws --profile "$DESTINATION_ADMIN_PROFILE" --region "$REGION" backup delete-backup-vault --backup-vault-name "$v" \\',
    '    && echo "deleted destination vault $v" || echo "KEPT destination vault $v: run again once it is empty"',
    'done',
    `delete_stack "$DESTINATION_ADMIN_PROFILE" ${DESTINATION_STACK}`,
    '',
    '# Default and aws/efs/automatic-backup-vault stay (AWS manages them; empty they cost nothing). The KMS keys are',
    '# scheduled for deletion in 7 days.',
    '',
  ].join('\n');
}

function readme(r: Resolved, placeholders: string[]): string {
  const vaults = rehearsalVaults();
  const lockText = (v: (typeof vaults)[number]): string => {
    const l = v.spec.lock;
    if (v.variant === 'logically-air-gapped') return `air-gapped, min ${l?.min} / max ${l?.max} days`;
    if (!l) return 'no lock';
    const range = `min ${l.min ?? 1} / max ${l.max ?? '-'} days`;
    if (v.variant === 'governance-lock') return `governance, ${range}`;
    if (v.variant === 'compliance-lock-in-grace') {
      return `compliance in grace time (ChangeableForDays ${GRACE_CHANGEABLE_FOR_DAYS}), ${range}`;
    }
    return `compliance (ChangeableForDays ${IMMUTABLE_CHANGEABLE_FOR_DAYS} if ImmutableComplianceLocks=true, else ${GRACE_CHANGEABLE_FOR_DAYS}), ${range}`;
  };
  const origin = (v: (typeof vaults)[number]) =>
    v.origin === 'console'
      ? 'exists already (see step 0)'
      : v.origin === 'efs-automatic-backups'
        ? 'created by EFS automatic backups'
        : 'source template';
  const lines = [
    'rpcopy rehearsal in two real AWS accounts',
    '=========================================',
    '',
    'Written by `rpctl testenv render` from the same shape as the sandbox (shared/testenv/shape.ts).',
    'The repository README, section "Rehearsal in two real AWS accounts", explains the costs.',
    '',
    ...(placeholders.length > 0
      ? [
          'PLACEHOLDERS: config.toml and apm.csv are not final yet. Missing:',
          ...placeholders.map((p) => `  - ${p}`),
          'Deploy (steps 1-2), then render again (step 3).',
          '',
        ]
      : []),
    'Set these first (your own administrator profiles in each account):',
    `  export REGION=${r.region}`,
    `  export SOURCE_ACCOUNT=${r.source} DESTINATION_ACCOUNT=${r.destination} ORGANIZATION_ID=${r.organization}`,
    '  export SOURCE_ADMIN_PROFILE=... DESTINATION_ADMIN_PROFILE=...',
    '',
    '0. Prerequisites (once)',
    '   - Both accounts in one AWS Organization, and cross-account backup turned on by the management account:',
    '       aws backup update-global-settings --global-settings isCrossAccountBackupEnabled=true   (management account)',
    '   - The source Default vault: open the Backup vaults page of the AWS Backup console in $REGION once',
    '     (it creates Default; CloudFormation cannot), then check:',
    '       aws --profile "$SOURCE_ADMIN_PROFILE" --region "$REGION" backup describe-backup-vault --backup-vault-name Default',
    '   - AWS Backup advanced features for DynamoDB on in the source account (new accounts have it):',
    '       aws --profile "$SOURCE_ADMIN_PROFILE" --region "$REGION" backup update-region-settings \\',
    '         --resource-type-opt-in-preference DynamoDB=true --resource-type-management-preference DynamoDB=true',
    "   - AWS Backup's service-linked role in the destination (it performs the copies):",
    '       aws --profile "$DESTINATION_ADMIN_PROFILE" iam create-service-linked-role --aws-service-name backup.amazonaws.com',
    '     ("has been taken" means it exists already).',
    '',
    '1. Deploy the destination, then the source (the source takes up to about 30 minutes; Aurora and FSx are the slow ones):',
    `   aws cloudformation deploy --profile "$DESTINATION_ADMIN_PROFILE" --region "$REGION" \\`,
    `     --stack-name ${DESTINATION_STACK} --template-file destination.template.json \\`,
    '     --capabilities CAPABILITY_NAMED_IAM --parameter-overrides SourceAccountId="$SOURCE_ACCOUNT"',
    `   aws cloudformation deploy --profile "$SOURCE_ADMIN_PROFILE" --region "$REGION" \\`,
    `     --stack-name ${SOURCE_STACK} --template-file source.template.json \\`,
    '     --capabilities CAPABILITY_NAMED_IAM --parameter-overrides DestinationAccountId="$DESTINATION_ACCOUNT" \\',
    '     OrganizationId="$ORGANIZATION_ID" ImmutableComplianceLocks=false',
    '   ImmutableComplianceLocks=true makes the prod-ebs-daily lock immutable after 3 days: IRREVERSIBLE, the vault',
    '   and its points then stay until they expire (35 days after the last backup). Leave it false unless you must.',
    '',
    '2. Recovery points now (the plans run daily, weekly or monthly; this does not wait for them):',
    '   SOURCE_ADMIN_PROFILE=... sh backup-now.sh      (about an hour: the rounds wait for their jobs)',
    '',
    "3. Render again with the accounts and the stacks' outputs (final config.toml and apm.csv):",
    `   aws cloudformation describe-stacks --profile "$SOURCE_ADMIN_PROFILE" --region "$REGION" --stack-name ${SOURCE_STACK} \\`,
    "     --query 'Stacks[0].Outputs' >source-outputs.json",
    `   aws cloudformation describe-stacks --profile "$DESTINATION_ADMIN_PROFILE" --region "$REGION" --stack-name ${DESTINATION_STACK} \\`,
    "     --query 'Stacks[0].Outputs' >destination-outputs.json",
    '   rpctl testenv render --out . --region "$REGION" --source-account "$SOURCE_ACCOUNT" \\',
    '     --destination-account "$DESTINATION_ACCOUNT" --organization-id "$ORGANIZATION_ID" \\',
    '     --source-outputs source-outputs.json --destination-outputs destination-outputs.json',
    '',
    `4. Profiles rpcopy uses (in ~/.aws/config), assuming the operator roles the stacks created:`,
    `   [profile ${SOURCE_PROFILE}]`,
    `   role_arn = arn:aws:iam::${r.source}:role${OPERATOR_ROLE.path}${OPERATOR_ROLE.name}`,
    '   source_profile = <your source administrator profile>',
    `   region = ${r.region}`,
    `   [profile ${DESTINATION_PROFILE}]`,
    `   role_arn = arn:aws:iam::${r.destination}:role${OPERATOR_ROLE.path}${OPERATOR_ROLE.name}`,
    '   source_profile = <your destination administrator profile>',
    `   region = ${r.region}`,
    '   (To rehearse token expiry instead, write short-lived keys of these roles into the credentials file under',
    '   the same profile names, e.g. from `aws sts assume-role`, and let them lapse.)',
    '',
    '5. Run rpcopy (from this folder):',
    '   rpcopyd --config config.toml --dry-run         and in another shell:',
    '   rpctl plan --config config.toml                (skip reasons: aws_managed_key, continuous_backup, apmid_*)',
    '   rpctl preflight --config config.toml           (every check should pass)',
    '   rpctl stop --config config.toml, then: rpcopyd --config config.toml --once',
    '',
    '6. Tear down (both accounts; run again if it reports leftovers):',
    '   SOURCE_ADMIN_PROFILE=... DESTINATION_ADMIN_PROFILE=... sh teardown.sh',
    '',
    'How the shape maps to the source account',
    '----------------------------------------',
    ...vaults.flatMap((v) => [
      `${v.spec.name}: ${lockText(v)}; ${origin(v)}${v.spec.policy ? `; access policy ${v.spec.policy}` : ''}${
        v.spec.notifications ? `; notifications (${v.spec.notifications.join(', ')})` : ''
      }`,
      `    resources: ${
        [
          ...resourcesIn(v.spec.name).map((x) => x.id),
          ...REHEARSAL_RESOURCES.filter((x) => x.continuousIn === v.spec.name).map((x) => `${x.id} (continuous)`),
        ].join(', ') || '-'
      }`,
      ...(v.lifecycleNote ? [`    note: ${v.lifecycleNote}`] : []),
      ...(v.droppedTags.length > 0
        ? [`    note: tag ${v.droppedTags.join(', ')} left out (aws: keys are reserved; the sandbox keeps it)`]
        : []),
    ]),
    '',
    'Resources',
    '---------',
    ...REHEARSAL_RESOURCES.map((x) => `${x.id} (${x.type}, CSV ${x.csv}): ${x.why}`),
    '',
    'Not rehearsed here (sandbox only): points in cold storage (they go cold after 30 or 60 days), EXPIRED,',
    'PARTIAL or DELETING points, DynamoDB backups without advanced features, and 1,000,000 points.',
    '',
  ];
  return lines.join('\n');
}

/**
 * JSON with one line per parameter, condition, resource and output: readable and diffable, yet small enough to
 * stay under the 51,200 bytes `aws cloudformation deploy` sends inline (indented JSON would not).
 */
function formatTemplate(template: Template): string {
  const sections = Object.entries(template).map(([key, value]) => {
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      const entries = Object.entries(value).map(([k, v]) => `  ${JSON.stringify(k)}: ${JSON.stringify(v)}`);
      return ` ${JSON.stringify(key)}: {\n${entries.join(',\n')}\n }`;
    }
    return ` ${JSON.stringify(key)}: ${JSON.stringify(value)}`;
  });
  return `{\n${sections.join(',\n')}\n}\n`;
}

/** Every file of the rehearsal environment. */
export function renderTestEnv(options: RenderOptions = {}): Rendered {
  const r = resolve(options);
  const placeholders = [...r.placeholders];
  const src = options.sourceOutputs;
  const dst = options.destinationOutputs;
  if (!src) placeholders.push('--source-outputs (resource ARNs in apm.csv)');
  if (!dst) placeholders.push('--destination-outputs (destination.encryption_key_arn in config.toml)');

  const missing: string[] = [];
  const arnOf = (res: RehearsalResource): string => {
    const key = `${res.id}Arn`;
    if (!src) return `PLACEHOLDER:${key}`;
    const value = src[key];
    if (value === undefined) missing.push(`source output ${key}`);
    return value ?? `PLACEHOLDER:${key}`;
  };
  const destinationKeyArn = dst?.DestinationKeyArn;
  if (dst && destinationKeyArn === undefined) missing.push('destination output DestinationKeyArn');
  const csv = rehearsalCsv(arnOf, r.region, r.source);
  if (missing.length > 0) {
    throw new TestenvError(
      `the stack outputs lack ${missing.join(', ')}: are they the outputs of the rehearsal stacks?`,
    );
  }
  if (src?.CopyRoleArn !== undefined && !src.CopyRoleArn.startsWith(`arn:aws:iam::${r.source}:`)) {
    throw new TestenvError(`--source-outputs: CopyRoleArn ${src.CopyRoleArn} is not in the source account ${r.source}`);
  }
  if (
    destinationKeyArn !== undefined &&
    !destinationKeyArn.startsWith(`arn:aws:kms:${r.region}:${r.destination}:key/`)
  ) {
    throw new TestenvError(
      `--destination-outputs: DestinationKeyArn ${destinationKeyArn} is not a key of the destination account ${r.destination} in ${r.region}`,
    );
  }

  const templates: [string, Template][] = [
    [FILES.sourceTemplate, sourceTemplate()],
    [FILES.destinationTemplate, destinationTemplate()],
  ];
  const files: RenderedFile[] = [];
  for (const [name, template] of templates) {
    const content = formatTemplate(template);
    const problem = templateSizeProblem(name, Buffer.byteLength(content));
    if (problem) throw new Error(`internal: ${problem}`);
    files.push({ name, content });
  }
  files.push(
    { name: FILES.csv, content: csv.text },
    { name: FILES.config, content: configToml(r, destinationKeyArn) },
    { name: FILES.backupNow, content: backupNowScript(r), executable: true },
    { name: FILES.teardown, content: teardownScript(r), executable: true },
    { name: FILES.readme, content: readme(r, placeholders) },
  );
  return { files, placeholders, csvTruth: csv.truth };
}
