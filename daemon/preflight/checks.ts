// Preflight: can this job run with these identities, in this region, against
// these accounts? (product.md "Two checks"; aws-backup.md §3, §6.)
//
// Read-only: every check reads, nothing is changed in either account. Each
// check yields one line { check, status, detail, fix }: `fail` when AWS says
// no, `unknown` when rpcopy could not find out (with a hint how to), `pass`
// otherwise. The daemon runs it as a phase (phase.ts) and pauses on a fail;
// `rpctl preflight` runs it on demand through the control API.
//
// IAM simulation (SimulatePrincipalPolicy) evaluates the identity's own
// policies, SCPs and boundaries, not vault or key policies (aws-backup.md
// §6.4); those are checked separately (vault policies, the destination key).

import type { Config } from '../../shared/config.js';
import { REQUIRED_ACTIONS, type RequiredAction } from '../../shared/permissions.js';
import type { Account, OperationName, Operations } from '../aws/operations.js';
import { AwsCallError, type AwsPort, type CallOptions } from '../aws/port.js';
import type { Store } from '../store/store.js';
import { consentNeeded } from '../vaults/consent.js';
import { admission, PolicyParseError, parsePolicy } from '../vaults/policy.js';
import { destinationVaultRows, vaultTargets } from '../vaults/repo.js';

export type CheckStatus = 'pass' | 'fail' | 'unknown';

export interface CheckResult {
  check: string;
  status: CheckStatus;
  detail: string;
  fix?: string;
}

export interface PreflightOptions {
  port: AwsPort;
  store: Store;
  config: Config;
  signal?: AbortSignal;
  callOptions?: CallOptions;
  /**
   * `strict` (rpctl preflight): a destination vault that is missing or does not admit the source fails, once the
   * vaults phase has recorded it (before, it is `unknown` as below).
   * `before-vaults` (the daemon, before its vaults phase): such a vault is `unknown`, since that phase creates it
   * or adds the statement; a statement that denies the source still fails (rpcopy never removes statements).
   */
  vaultPolicies: 'strict' | 'before-vaults';
}

type Attempt<T> = { ok: true; value: T } | { ok: false; error: AwsCallError };

async function attempt<T>(work: Promise<T>): Promise<Attempt<T>> {
  try {
    return { ok: true, value: await work };
  } catch (err) {
    if (err instanceof AwsCallError) return { ok: false, error: err };
    throw err;
  }
}

const why = (e: AwsCallError) => `${e.failure.name}: ${e.failure.message}`;
const ACTION_OF: Record<string, string> = {
  getCallerIdentity: 'sts:GetCallerIdentity',
  getRole: 'iam:GetRole',
  simulatePrincipalPolicy: 'iam:SimulatePrincipalPolicy',
  describeOrganization: 'organizations:DescribeOrganization',
  describeKeyDetail: 'kms:DescribeKey',
  describeGlobalSettings: 'backup:DescribeGlobalSettings',
  listBackupVaults: 'backup:ListBackupVaults',
  describeVault: 'backup:DescribeBackupVault',
  getVaultAccessPolicy: 'backup:GetBackupVaultAccessPolicy',
};
const deniedAction = (e: AwsCallError) => ACTION_OF[e.operation] ?? e.operation;

/** The region in an ARN (arn:partition:service:region:account:...). */
export function arnRegion(arn: string): string | undefined {
  return arn.split(':')[3] || undefined;
}

/**
 * The IAM ARN to simulate for a caller: a user's ARN as is; for an assumed-role session, the role's full ARN
 * (with its path, which the session ARN drops: aws-backup.md key fact 12), looked up with iam:GetRole.
 */
export function roleNameOfSession(callerArn: string): { kind: 'role'; name: string } | { kind: 'user' } | undefined {
  if (/^arn:aws[a-z-]*:iam::\d{12}:user\//.test(callerArn)) return { kind: 'user' };
  const m = /^arn:aws[a-z-]*:sts::\d{12}:assumed-role\/([^/]+)\//.exec(callerArn);
  return m ? { kind: 'role', name: m[1] as string } : undefined;
}

/** Does a trust policy let AWS Backup assume the role? */
export function trustsBackup(trustPolicy: string): boolean {
  let doc: { Statement?: unknown };
  try {
    doc = JSON.parse(trustPolicy) as { Statement?: unknown };
  } catch {
    return false;
  }
  const statements = (Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement]) as Record<string, unknown>[];
  return statements.some((s) => {
    if (s?.Effect !== 'Allow') return false;
    const services = [(s.Principal as { Service?: unknown } | undefined)?.Service].flat();
    const actions = [s.Action].flat();
    return (
      services.includes('backup.amazonaws.com') &&
      actions.some((a) => typeof a === 'string' && /^sts:(AssumeRole|\*)$|^\*$/i.test(a))
    );
  });
}

type Identity = Operations['getCallerIdentity']['output'];

/** 1. Identities: each profile is the configured account, and the two differ. */
function identityChecks(config: Config, identities: Record<Account, Attempt<Identity>>): CheckResult[] {
  const results: CheckResult[] = [];
  const accounts = { source: config.source, destination: config.destination };
  for (const side of ['source', 'destination'] as const) {
    const id = identities[side];
    const expected = accounts[side].accountId;
    if (!id.ok) {
      results.push({
        check: `${side}.identity`,
        status: 'fail',
        detail: `profile ${accounts[side].profile}: STS GetCallerIdentity failed (${why(id.error)})`,
        fix: `refresh the credentials of profile ${accounts[side].profile}, or set ${side}.profile to a working one`,
      });
    } else if (id.value.account !== expected) {
      results.push({
        check: `${side}.identity`,
        status: 'fail',
        detail: `profile ${accounts[side].profile} is account ${id.value.account} (${id.value.arn}), but ${side}.account_id is ${expected}`,
        fix: `use a profile of account ${expected} in ${side}.profile, or correct ${side}.account_id`,
      });
    } else {
      results.push({
        check: `${side}.identity`,
        status: 'pass',
        detail: `profile ${accounts[side].profile} is ${id.value.arn}`,
      });
    }
  }
  const sourceId = identities.source.ok ? identities.source.value : undefined;
  const destId = identities.destination.ok ? identities.destination.value : undefined;
  if (sourceId && destId) {
    results.push(
      sourceId.account === destId.account
        ? {
            check: 'accounts.differ',
            status: 'fail',
            detail: `both profiles are account ${sourceId.account}`,
            fix: 'source.profile and destination.profile must be identities in two different accounts',
          }
        : {
            check: 'accounts.differ',
            status: 'pass',
            detail: `${sourceId.account} → ${destId.account}`,
          },
    );
  }
  return results;
}

/** 2. Region: what AWS answers from on each side (read from ARNs it returned) is the configured region. */
function regionChecks(config: Config, sourceRegion: string | undefined, destRegion: string | undefined) {
  const results: CheckResult[] = [];
  for (const [side, region, evidence] of [
    ['source', sourceRegion, 'its backup vault ARNs'],
    ['destination', destRegion, 'the destination key ARN'],
  ] as const) {
    if (region === undefined) {
      results.push({
        check: `${side}.region`,
        status: 'unknown',
        detail: `no ARN to read the region from (${evidence})`,
      });
    } else if (region !== config.region) {
      results.push({
        check: `${side}.region`,
        status: 'fail',
        detail: `AWS answers for ${side} from ${region} (${evidence}), but region is ${config.region}; rpcopy copies within one region only`,
        fix: `set region = "${region}" if that is the job's region, or point the ${side} profile/endpoint at ${config.region}`,
      });
    } else {
      results.push({ check: `${side}.region`, status: 'pass', detail: `${region} (${evidence})` });
    }
  }
  return results;
}

export async function runPreflight(options: PreflightOptions): Promise<CheckResult[]> {
  const { port, config, signal, callOptions } = options;
  const on: On = (account, operation, input) => attempt(port.call(account, operation, input, signal, callOptions));

  // 1. Identities.
  const identities = {
    source: await on('source', 'getCallerIdentity', {}),
    destination: await on('destination', 'getCallerIdentity', {}),
  };
  const results = identityChecks(config, identities);
  if (results.some((r) => r.status === 'fail')) {
    // Every other check would run against the wrong account: nothing else is worth asking.
    results.push({
      check: 'other checks',
      status: 'unknown',
      detail: 'skipped until both identities are the configured accounts',
    });
    return results;
  }

  // 2. Region.
  const [sourceVaults, destKey] = await Promise.all([
    on('source', 'listBackupVaults', {}),
    on('destination', 'describeKeyDetail', { keyArn: config.destination.encryptionKeyArn }),
  ]);
  const sourceRegion = sourceVaults.ok ? arnRegion(sourceVaults.value.vaults[0]?.arn ?? '') : undefined;
  const destRegion = destKey.ok ? arnRegion(destKey.value.arn) : undefined;
  results.push(...regionChecks(config, sourceRegion, destRegion));

  // 3. Organization: both accounts in the same one (cross-account copy requires it).
  const orgs = {
    source: await on('source', 'describeOrganization', {}),
    destination: await on('destination', 'describeOrganization', {}),
  };
  const organizationId = orgs.source.ok ? orgs.source.value.id : null;
  results.push(organizationCheck(orgs.source, orgs.destination));

  // 4. Permissions of each side's identity, by IAM policy simulation.
  for (const side of ['source', 'destination'] as const) {
    const id = identities[side];
    const arn = id.ok ? id.value.arn : '';
    results.push(...(await permissionChecks(side, arn, config, on)));
  }

  // 5. The copy role: exists under the configured ARN and trusts AWS Backup (PassRole is simulated above).
  results.push(await copyRoleCheck(config, on));

  // 6. The destination key: customer-managed, enabled, in the destination account and region.
  results.push(destinationKeyCheck(config, destKey));

  // 7. Destination vault access policies admit the source account.
  results.push(...(await vaultPolicyChecks(options, organizationId, on)));

  // 8. The organization's cross-account backup setting.
  results.push(await crossAccountSettingCheck(on));
  return results;
}

type On = <K extends OperationName>(
  account: Account,
  operation: K,
  input: Operations[K]['input'],
) => Promise<Attempt<Operations[K]['output']>>;

function organizationCheck(source: Attempt<{ id: string }>, destination: Attempt<{ id: string }>): CheckResult {
  const notInOrg = (a: Attempt<unknown>) => !a.ok && a.error.failure.name === 'AWSOrganizationsNotInUseException';
  if (notInOrg(source) || notInOrg(destination)) {
    const side = notInOrg(source) ? 'source' : 'destination';
    return {
      check: 'organization',
      status: 'fail',
      detail: `the ${side} account is not a member of an organization`,
      fix: 'both accounts must be members of the same AWS Organization for cross-account copies',
    };
  }
  if (source.ok && destination.ok) {
    return source.value.id === destination.value.id
      ? { check: 'organization', status: 'pass', detail: `both accounts are in ${source.value.id}` }
      : {
          check: 'organization',
          status: 'fail',
          detail: `the source is in ${source.value.id}, the destination in ${destination.value.id}`,
          fix: 'both accounts must be members of the same AWS Organization for cross-account copies',
        };
  }
  const failed = [source, destination].find((a): a is { ok: false; error: AwsCallError } => !a.ok);
  return {
    check: 'organization',
    status: 'unknown',
    detail: `cannot read the organization (${failed ? why(failed.error) : 'no answer'})`,
    fix: 'allow organizations:DescribeOrganization to both identities, or check both accounts in the Organizations console',
  };
}

async function permissionChecks(side: Account, callerArn: string, config: Config, on: On): Promise<CheckResult[]> {
  const who = roleNameOfSession(callerArn);
  if (!who) {
    return [
      {
        check: `${side}.permissions`,
        status: 'unknown',
        detail: `${callerArn} is neither an IAM user nor an assumed role; IAM cannot simulate its policies`,
        fix: 'use a profile that assumes an IAM role (for example an SSO permission set), or check the permissions by hand',
      },
    ];
  }
  let principal = callerArn;
  if (who.kind === 'role') {
    const role = await on(side, 'getRole', { name: who.name });
    if (!role.ok) {
      return [
        {
          check: `${side}.permissions`,
          status: role.error.failure.kind === 'denied' ? 'fail' : 'unknown',
          detail: `cannot look up the role ${who.name} behind ${callerArn} (${why(role.error)}); its permissions are not checked`,
          fix: `allow iam:GetRole and iam:SimulatePrincipalPolicy to ${who.name}`,
        },
      ];
    }
    principal = role.value.arn;
  }
  const required = REQUIRED_ACTIONS[side];
  const onStar = required.filter((a) => a.resource === undefined);
  const onRole = required.filter((a) => a.resource === 'copyRole');
  const simulations = await Promise.all([
    on(side, 'simulatePrincipalPolicy', { policySourceArn: principal, actions: onStar.map((a) => a.action) }),
    ...(onRole.length > 0
      ? [
          on(side, 'simulatePrincipalPolicy', {
            policySourceArn: principal,
            actions: onRole.map((a) => a.action),
            resourceArns: [config.source.copyRoleArn],
            context: [{ key: 'iam:PassedToService', type: 'string' as const, values: ['backup.amazonaws.com'] }],
          }),
        ]
      : []),
  ]);
  const failed = simulations.find((s): s is { ok: false; error: AwsCallError } => !s.ok);
  if (failed) {
    return [
      {
        check: `${side}.permissions`,
        status: failed.error.failure.kind === 'denied' ? 'fail' : 'unknown',
        detail: `cannot simulate the policies of ${principal} (${why(failed.error)})`,
        fix: `allow ${deniedAction(failed.error)} to ${principal}`,
      },
    ];
  }
  const decisions = new Map<string, string>();
  for (const s of simulations) if (s.ok) for (const r of s.value.results) decisions.set(r.action, r.decision);
  const rows: CheckResult[] = [];
  for (const a of required) {
    const decision = decisions.get(a.action) ?? 'implicitDeny';
    if (decision === 'allowed') continue;
    rows.push(deniedRow(side, a, decision, principal, config));
  }
  if (!rows.some((r) => r.status === 'fail')) {
    rows.unshift({
      check: `${side}.permissions`,
      status: 'pass',
      detail: `${required.length - rows.length} of ${required.length} actions allowed for ${principal}`,
    });
  }
  return rows;
}

function deniedRow(
  side: Account,
  action: RequiredAction,
  decision: string,
  principal: string,
  config: Config,
): CheckResult {
  const on = action.resource === 'copyRole' ? ` on ${config.source.copyRoleArn}` : '';
  return {
    check: `${side}.permission ${action.action}`,
    status: action.optional ? 'unknown' : 'fail',
    detail: `${action.action}${on} is ${decision === 'explicitDeny' ? 'explicitly denied' : 'not allowed'} for ${principal} (${action.why})`,
    fix:
      decision === 'explicitDeny'
        ? `remove the Deny of ${action.action} (an IAM policy, permissions boundary or SCP) for ${principal}`
        : `allow ${action.action}${on} in a policy attached to ${principal}` +
          (action.resource === 'copyRole' ? ' (condition iam:PassedToService = backup.amazonaws.com)' : ''),
  };
}

async function copyRoleCheck(config: Config, on: On): Promise<CheckResult> {
  const arn = config.source.copyRoleArn;
  const name = arn.slice(arn.lastIndexOf('/') + 1);
  const role = await on('source', 'getRole', { name });
  if (!role.ok) {
    if (role.error.failure.kind === 'not_found') {
      return {
        check: 'source.copy_role',
        status: 'fail',
        detail: `the copy role ${name} does not exist in the source account`,
        fix: `create ${arn} trusting backup.amazonaws.com with the AWSBackupServiceRolePolicyForBackup managed policy, or correct source.copy_role_arn`,
      };
    }
    return {
      check: 'source.copy_role',
      status: role.error.failure.kind === 'denied' ? 'fail' : 'unknown',
      detail: `cannot read the copy role ${name} (${why(role.error)})`,
      fix: 'allow iam:GetRole to the source identity',
    };
  }
  if (role.value.arn !== arn) {
    return {
      check: 'source.copy_role',
      status: 'fail',
      detail: `the role ${name} is ${role.value.arn}, not ${arn}`,
      fix: `set source.copy_role_arn = "${role.value.arn}"`,
    };
  }
  if (!trustsBackup(role.value.trustPolicy)) {
    return {
      check: 'source.copy_role',
      status: 'fail',
      detail: `${arn} does not trust backup.amazonaws.com`,
      fix: 'add a trust policy statement: Allow, Principal { Service: backup.amazonaws.com }, Action sts:AssumeRole',
    };
  }
  return { check: 'source.copy_role', status: 'pass', detail: `${arn} exists and trusts backup.amazonaws.com` };
}

function destinationKeyCheck(
  config: Config,
  key: Attempt<{ arn: string; keyManager: string; keyState: string; enabled: boolean }>,
): CheckResult {
  const arn = config.destination.encryptionKeyArn;
  if (!key.ok) {
    const kind = key.error.failure.kind;
    return {
      check: 'destination.key',
      status: kind === 'denied' || kind === 'not_found' || kind === 'permanent' ? 'fail' : 'unknown',
      detail: `cannot describe ${arn} (${why(key.error)})`,
      fix:
        kind === 'not_found'
          ? 'set destination.encryption_key_arn to an existing customer-managed key of the destination account'
          : 'allow kms:DescribeKey on the key to the destination identity (IAM policy and key policy)',
    };
  }
  const k = key.value;
  if (k.keyManager !== 'CUSTOMER') {
    return {
      check: 'destination.key',
      status: 'fail',
      detail: `${arn} is an AWS-managed key: copies of EBS, EC2, RDS, Aurora and FSx points cannot use it`,
      fix: 'create a customer-managed key in the destination account and set destination.encryption_key_arn',
    };
  }
  if (!k.enabled || k.keyState !== 'Enabled') {
    return {
      check: 'destination.key',
      status: 'fail',
      detail: `${arn} is ${k.keyState}`,
      fix: 'enable the key (or cancel its deletion) in the destination account',
    };
  }
  const account = k.arn.split(':')[4];
  if (account !== config.destination.accountId) {
    return {
      check: 'destination.key',
      status: 'fail',
      detail: `${arn} belongs to account ${account}, not the destination ${config.destination.accountId}`,
      fix: 'use a key of the destination account',
    };
  }
  return { check: 'destination.key', status: 'pass', detail: `${k.arn}: customer-managed, enabled` };
}

async function vaultPolicyChecks(
  options: PreflightOptions,
  organizationId: string | null,
  on: On,
): Promise<CheckResult[]> {
  const { store, config, vaultPolicies } = options;
  const targets = vaultTargets(store, config);
  if (targets.length === 0) {
    return [
      {
        check: 'destination.vault_policies',
        status: 'unknown',
        detail: 'no plan yet: the vaults to copy into are known once inventory, enrich and plan have run',
      },
    ];
  }
  const vaultTypes = new Map(
    store.sqlite.prepare<[], [string, string]>('SELECT name, vault_type FROM source_vaults').raw().all(),
  );
  // A vault the vaults phase has not yet created or found is one it will create or admit the source to: rpctl
  // preflight before the first run gives the daemon's own verdict (not a failure), and strict once it has run.
  const handled = new Set(
    destinationVaultRows(store)
      .filter((v) => v.state !== 'proposed')
      .map((v) => v.destination),
  );
  const rows: CheckResult[] = [];
  for (const target of targets) {
    const check = `destination.vault_policy ${target.destination}`;
    const lenient = vaultPolicies === 'before-vaults' || !handled.has(target.destination);
    const vault = await on('destination', 'describeVault', { name: target.destination });
    if (!vault.ok) {
      if (vault.error.failure.kind === 'not_found') {
        // The same verdict as the plan's and the vaults phase's (vaults/consent.ts): its points wait, skipped with
        // a named reason, so nothing fails for it here either, on demand or before the vaults phase.
        const consent = consentNeeded(
          { name: target.source, vaultType: vaultTypes.get(target.source) ?? 'BACKUP_VAULT' },
          false,
          config.vaults.confirmComplianceLock,
        );
        rows.push(
          consent
            ? { check, status: 'unknown', detail: `does not exist: ${consent.detail}`, fix: consent.fix }
            : {
                check,
                status: lenient ? 'unknown' : 'fail',
                detail: 'does not exist yet',
                fix: 'rpcopyd creates it (with a policy admitting the source account) in its vaults phase',
              },
        );
      } else {
        rows.push({
          check,
          status: vault.error.failure.kind === 'denied' ? 'fail' : 'unknown',
          detail: `cannot describe it (${why(vault.error)})`,
          fix: 'allow backup:DescribeBackupVault to the destination identity',
        });
      }
      continue;
    }
    const policy = await on('destination', 'getVaultAccessPolicy', { name: target.destination });
    if (!policy.ok) {
      rows.push({
        check,
        status: policy.error.failure.kind === 'denied' ? 'fail' : 'unknown',
        detail: `cannot read its access policy (${why(policy.error)})`,
        fix: 'allow backup:GetBackupVaultAccessPolicy to the destination identity',
      });
      continue;
    }
    let verdict: ReturnType<typeof admission>;
    try {
      verdict = admission(parsePolicy(policy.value.policy), config.source.accountId, organizationId);
    } catch (err) {
      if (!(err instanceof PolicyParseError)) throw err;
      rows.push({ check, status: 'fail', detail: err.message, fix: 'repair the vault access policy' });
      continue;
    }
    if (verdict.admitted) {
      rows.push({
        check,
        status: 'pass',
        detail: `admits ${config.source.accountId} (${verdict.allowedBy.join(', ')})`,
      });
    } else if (verdict.deniedBy.length > 0) {
      rows.push({
        check,
        status: 'fail',
        detail: `statement(s) ${verdict.deniedBy.join(', ')} deny backup:CopyIntoBackupVault to ${config.source.accountId}`,
        fix: 'remove or narrow the Deny (rpcopy never removes statements)',
      });
    } else {
      rows.push({
        check,
        status: lenient ? 'unknown' : 'fail',
        detail:
          `${policy.value.policy === null ? 'has no access policy' : 'its access policy does not admit'} ` +
          `the source account ${config.source.accountId}` +
          (verdict.uncertain.length > 0 ? ` (conditions rpcopy cannot evaluate: ${verdict.uncertain.join(', ')})` : ''),
        fix: 'rpcopyd adds an Allow of backup:CopyIntoBackupVault for the source account in its vaults phase',
      });
    }
  }
  return rows;
}

async function crossAccountSettingCheck(on: On): Promise<CheckResult> {
  const hint =
    'from the management account: aws backup describe-global-settings; enable with ' +
    'aws backup update-global-settings --global-settings isCrossAccountBackupEnabled=true';
  let last: AwsCallError | undefined;
  for (const side of ['source', 'destination'] as const) {
    const settings = await on(side, 'describeGlobalSettings', {});
    if (!settings.ok) {
      last = settings.error;
      continue;
    }
    const value = settings.value.settings.isCrossAccountBackupEnabled;
    if (value === 'true') {
      return { check: 'cross_account_backup', status: 'pass', detail: `enabled (read from the ${side} account)` };
    }
    if (value === 'false') {
      return {
        check: 'cross_account_backup',
        status: 'fail',
        detail: `cross-account backup is disabled for the organization (read from the ${side} account)`,
        fix: hint,
      };
    }
  }
  return {
    check: 'cross_account_backup',
    status: 'unknown',
    detail: `cannot read the organization's cross-account backup setting${last ? ` (${why(last)})` : ''}`,
    fix: hint,
  };
}
