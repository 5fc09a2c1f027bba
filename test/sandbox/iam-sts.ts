/**
 * STS GetCallerIdentity and IAM GetRole / SimulatePrincipalPolicy (Query
 * protocol, XML). The operator's credentials are a session of an SSO role
 * whose ARN has a path; GetCallerIdentity reports the assumed-role ARN, which
 * drops that path, as AWS does [doc 6.4], so a client must use GetRole to get
 * the ARN SimulatePrincipalPolicy needs.
 */
import { AwsError } from './errors.js';
import type { Knobs } from './knobs.js';
import type { IamRole } from './model.js';
import { glob } from './policy.js';
import { memberList, type XmlValue } from './query.js';
import type { Account } from './world.js';

export const STS_NS = 'https://sts.amazonaws.com/doc/2011-06-15/';
export const IAM_NS = 'https://iam.amazonaws.com/doc/2010-05-08/';

const invalidInput = (m: string) => new AwsError('InvalidInput', m, 400);
const noSuchEntity = (m: string) => new AwsError('NoSuchEntity', m, 404);

export function stsOperation(operation: string, caller: Account): Record<string, XmlValue> {
  if (operation !== 'GetCallerIdentity')
    throw new AwsError('InvalidAction', `Could not find operation ${operation} for version 2011-06-15`, 400);
  return {
    Arn: `arn:aws:sts::${caller.id}:assumed-role/${caller.operatorRole.name}/${caller.sessionName}`,
    UserId: `${caller.operatorRole.roleId}:${caller.sessionName}`,
    Account: caller.id,
  };
}

export function iamOperation(
  operation: string,
  caller: Account,
  params: URLSearchParams,
  knobs: Knobs,
): Record<string, XmlValue> {
  switch (operation) {
    case 'GetRole':
      return getRole(caller, params);
    case 'SimulatePrincipalPolicy':
      return simulate(caller, params, knobs);
    default:
      throw new AwsError('InvalidAction', `Could not find operation ${operation} for version 2010-05-08`, 400);
  }
}

function roleXml(r: IamRole): Record<string, XmlValue> {
  return {
    Path: r.path,
    RoleName: r.name,
    RoleId: r.roleId,
    Arn: r.arn,
    CreateDate: new Date(r.createDate),
    AssumeRolePolicyDocument: encodeURIComponent(r.assumeRolePolicy),
    MaxSessionDuration: 3600,
  };
}

function getRole(caller: Account, params: URLSearchParams): Record<string, XmlValue> {
  const name = params.get('RoleName');
  if (!name)
    throw new AwsError(
      'ValidationError',
      "1 validation error detected: Value null at 'roleName' failed to satisfy constraint: Member must not be null",
      400,
    );
  const role = caller.roles.find((r) => r.name === name);
  if (!role) throw noSuchEntity(`The role with name ${name} cannot be found.`);
  return { Role: roleXml(role) };
}

/** Is `action` denied for `account` by the knobs? Returns the decision IAM simulation would give. */
export function iamDecision(
  knobs: Knobs,
  account: string,
  action: string,
): 'allowed' | 'implicitDeny' | 'explicitDeny' {
  const hit = (patterns: string[] | undefined) => (patterns ?? []).some((p) => glob(p, action));
  if (hit(knobs.iamExplicitDenies[account])) return 'explicitDeny';
  if (hit(knobs.iamDeniedActions[account])) return 'implicitDeny';
  return 'allowed';
}

function simulate(caller: Account, params: URLSearchParams, knobs: Knobs): Record<string, XmlValue> {
  const source = params.get('PolicySourceArn');
  if (!source)
    throw new AwsError(
      'ValidationError',
      "1 validation error detected: Value null at 'policySourceArn' failed to satisfy constraint: Member must not be null",
      400,
    );
  if (source.startsWith('arn:aws:sts::')) {
    // Only IAM users, groups and roles can be simulated; an assumed-role session ARN is rejected.
    throw invalidInput(`Invalid ARN: ${source}. Specify the ARN of an IAM user, group or role.`);
  }
  const m = /^arn:aws:iam::(\d{12}):(role|user|group)(\/.*)$/.exec(source);
  if (!m) throw invalidInput(`Invalid ARN: ${source}`);
  if (m[1] !== caller.id)
    throw new AwsError(
      'AccessDenied',
      `User is not authorized to perform: iam:SimulatePrincipalPolicy on resource: ${source}`,
      403,
    );
  if (m[2] !== 'role' || !caller.roles.some((r) => r.arn === source)) {
    // A role ARN without its path does not name the role. UNCONFIRMED whether AWS is this strict [doc 6.4].
    throw noSuchEntity(`The ${m[2]} with ARN ${source} cannot be found.`);
  }
  const actions = memberList(params, 'ActionNames');
  if (actions.length === 0) throw new AwsError('ValidationError', 'ActionNames must contain at least one action', 400);
  const resources = memberList(params, 'ResourceArns');
  const maxItems = Number(params.get('MaxItems') ?? '100');
  if (!Number.isInteger(maxItems) || maxItems < 1 || maxItems > 1000)
    throw invalidInput('MaxItems must be between 1 and 1000');
  const start = Number(params.get('Marker') ?? '0');
  if (!Number.isInteger(start) || start < 0 || start > actions.length) throw invalidInput('Invalid Marker');
  const page = actions.slice(start, start + maxItems);
  const truncated = start + maxItems < actions.length;
  return {
    EvaluationResults: page.map((action) => {
      const decision = iamDecision(knobs, caller.id, action);
      const resourceName = resources.length === 1 ? resources[0] : '*';
      return {
        EvalActionName: action,
        EvalResourceName: resourceName,
        EvalDecision: decision,
        MatchedStatements:
          decision === 'implicitDeny'
            ? []
            : [{ SourcePolicyId: 'rpcopy-sandbox-policy', SourcePolicyType: 'IAM Policy' }],
        MissingContextValues: [],
        ResourceSpecificResults:
          resources.length > 1
            ? resources.map((r) => ({
                EvalResourceName: r,
                EvalResourceDecision: decision,
                MatchedStatements: [],
                MissingContextValues: [],
              }))
            : undefined,
      };
    }),
    IsTruncated: truncated,
    Marker: truncated ? String(start + maxItems) : undefined,
  };
}
