// Destination vault access policies (aws-backup.md §3.2). Pure.
//
// The destination vault must Allow backup:CopyIntoBackupVault to the source
// account. rpcopy merges what it needs into whatever policy the vault has:
// statements are only ever added, never removed or rewritten. It also mirrors
// the source vault's Deny statements (e.g. "deny recovery point deletion"),
// with the source account id replaced by the destination's, because a Deny
// only ever makes the destination stricter. Source Allow statements are not
// mirrored: any cross-account Allow other than CopyIntoBackupVault is refused
// by AWS, and they concern the source vault's own callers.

export interface PolicyStatement {
  Sid?: string;
  Effect: string;
  Principal?: unknown;
  NotPrincipal?: unknown;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  Condition?: Record<string, Record<string, unknown>>;
  [key: string]: unknown;
}

export interface PolicyDocument {
  Version?: string;
  Id?: string;
  Statement: PolicyStatement[];
  [key: string]: unknown;
}

const COPY_ACTION = 'backup:CopyIntoBackupVault';
export const COPY_STATEMENT_SID = 'RpcopyAllowCopyFromSourceAccount';

export class PolicyParseError extends Error {
  override readonly name = 'PolicyParseError';
}

/** Parse a policy document; a single statement object becomes a one-element list. */
export function parsePolicy(text: string | null): PolicyDocument | null {
  if (text === null || text.trim() === '') return null;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new PolicyParseError(`the access policy is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new PolicyParseError('the access policy is not a JSON object');
  }
  const doc = raw as Record<string, unknown>;
  const statements = doc.Statement === undefined ? [] : Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
  return { ...doc, Statement: statements as PolicyStatement[] };
}

/** The statement that admits copies from the source account. */
export function copyStatement(sourceAccount: string): PolicyStatement {
  return {
    Sid: COPY_STATEMENT_SID,
    Effect: 'Allow',
    Principal: { AWS: `arn:aws:iam::${sourceAccount}:root` },
    Action: COPY_ACTION,
    Resource: '*',
  };
}

const list = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function globMatches(pattern: string, value: string): boolean {
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\?/g, '.'))
      .join('.*')}$`,
    'i',
  );
  return re.test(value);
}

function coversAction(statement: PolicyStatement, action: string): boolean {
  if (statement.NotAction !== undefined) return false;
  return list(statement.Action).some((a) => typeof a === 'string' && globMatches(a, action));
}

/** Does the statement's principal name the account (its id, root, any of its ARNs, or everyone)? */
function coversAccount(statement: PolicyStatement, account: string): boolean {
  if (statement.NotPrincipal !== undefined) return false;
  const p = statement.Principal;
  const principals = p === '*' ? ['*'] : typeof p === 'object' && p !== null ? list((p as { AWS?: unknown }).AWS) : [];
  return principals.some(
    (x) => typeof x === 'string' && (x === '*' || x === account || new RegExp(`:${account}:`).test(x)),
  );
}

/** Conditions rpcopy can evaluate for the source account; anything else makes the statement's effect unknown. */
function conditionHolds(statement: PolicyStatement, account: string, organizationId: string | null): boolean | null {
  const condition = statement.Condition;
  if (condition === undefined || Object.keys(condition).length === 0) return true;
  for (const [operator, keys] of Object.entries(condition)) {
    if (!/^String(Equals|Like)$/.test(operator)) return null;
    for (const [key, value] of Object.entries(keys)) {
      const values = list(value).filter((v): v is string => typeof v === 'string');
      if (/^aws:PrincipalOrgID$/i.test(key)) {
        if (organizationId === null) return null;
        if (!values.some((v) => globMatches(v, organizationId))) return false;
      } else if (/^aws:PrincipalAccount$/i.test(key)) {
        if (!values.some((v) => globMatches(v, account))) return false;
      } else {
        return null;
      }
    }
  }
  return true;
}

export interface Admission {
  admitted: boolean;
  /** The statements that grant it, or that deny it. */
  allowedBy: string[];
  deniedBy: string[];
  /** Statements whose conditions rpcopy cannot evaluate. */
  uncertain: string[];
}

const label = (s: PolicyStatement, i: number) => s.Sid ?? `statement ${i + 1}`;

/** Does the policy let the source account copy into the vault? Deny wins, as in IAM. */
export function admission(doc: PolicyDocument | null, account: string, organizationId: string | null): Admission {
  const result: Admission = { admitted: false, allowedBy: [], deniedBy: [], uncertain: [] };
  if (!doc) return result;
  doc.Statement.forEach((s, i) => {
    if (!coversAction(s, COPY_ACTION) || !coversAccount(s, account)) return;
    const holds = conditionHolds(s, account, organizationId);
    if (holds === null) result.uncertain.push(label(s, i));
    else if (holds && s.Effect === 'Deny') result.deniedBy.push(label(s, i));
    else if (holds && s.Effect === 'Allow') result.allowedBy.push(label(s, i));
  });
  result.admitted = result.allowedBy.length > 0 && result.deniedBy.length === 0;
  return result;
}

/** The source vault's Deny statements, rewritten for the destination account. */
export function mirroredDenies(
  sourcePolicy: PolicyDocument | null,
  sourceAccount: string,
  destinationAccount: string,
): PolicyStatement[] {
  if (!sourcePolicy) return [];
  return sourcePolicy.Statement.filter((s) => s.Effect === 'Deny').map(
    (s) => JSON.parse(JSON.stringify(s).replaceAll(sourceAccount, destinationAccount)) as PolicyStatement,
  );
}

/** JSON with sorted keys and one-element lists as scalars: equal statements compare equal. */
export function canonical(value: unknown): string {
  const normal = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.length === 1 ? normal(v[0]) : v.map(normal);
    if (typeof v === 'object' && v !== null) {
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, normal((v as Record<string, unknown>)[k])]),
      );
    }
    return v;
  };
  return JSON.stringify(normal(value));
}

export interface PolicyMerge {
  /** The merged document, or undefined when nothing needs to change. */
  policy?: PolicyDocument;
  /** Sids (or descriptions) of the statements added. */
  added: string[];
  /** Wanted statements that could not be added without replacing an existing one: drift. */
  conflicts: string[];
}

/**
 * Add the wanted statements to the existing policy. An identical statement is not added twice; one whose Sid is
 * taken by a different statement is reported, never replaced. The copy statement is added only if the policy
 * does not already admit the source account.
 */
export function mergePolicy(
  existing: PolicyDocument | null,
  options: {
    sourceAccount: string;
    organizationId: string | null;
    /** Statements to mirror from the source (Deny statements). */
    mirror: PolicyStatement[];
  },
): PolicyMerge {
  const base: PolicyDocument = existing
    ? { ...existing, Statement: [...existing.Statement] }
    : { Version: '2012-10-17', Statement: [] };
  const result: PolicyMerge = { added: [], conflicts: [] };
  const present = new Set(base.Statement.map((s) => canonical(s)));
  const sids = new Map(base.Statement.filter((s) => s.Sid).map((s) => [s.Sid as string, s]));
  const add = (statement: PolicyStatement, what: string) => {
    if (present.has(canonical(statement))) return;
    if (statement.Sid !== undefined && sids.has(statement.Sid)) {
      result.conflicts.push(`${what}: the policy already has a different statement with Sid ${statement.Sid}`);
      return;
    }
    base.Statement.push(statement);
    present.add(canonical(statement));
    if (statement.Sid) sids.set(statement.Sid, statement);
    result.added.push(statement.Sid ?? what);
  };
  for (const s of options.mirror) add(s, `the source's Deny statement ${s.Sid ?? ''}`.trim());
  const admits = admission(base, options.sourceAccount, options.organizationId);
  if (!admits.admitted && admits.deniedBy.length === 0) {
    add(copyStatement(options.sourceAccount), 'the statement admitting the source account');
  }
  const after = admission(base, options.sourceAccount, options.organizationId);
  if (after.deniedBy.length > 0) {
    result.conflicts.push(
      `statement(s) ${after.deniedBy.join(', ')} deny ${COPY_ACTION} to the source account; rpcopy never removes statements`,
    );
  }
  if (result.added.length > 0) result.policy = base;
  return result;
}
