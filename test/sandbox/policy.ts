/**
 * Just enough IAM policy evaluation to decide whether a destination vault's
 * access policy admits a copy from the source account: explicit Deny wins,
 * otherwise an Allow whose action, principal and conditions match is needed.
 * [doc XA, KC: the destination vault policy must allow backup:CopyIntoBackupVault
 * for the source account, its organization or OU.]
 *
 * Conditions understood: aws:PrincipalOrgID, aws:PrincipalAccount and
 * aws:PrincipalOrgPaths with StringEquals/StringLike (and ForAnyValue: forms).
 * A statement with any other condition key is treated as not matching, which
 * errs toward "not admitted" for Allow and "not denied" for Deny.
 */

export interface PrincipalContext {
  account: string;
  principalArn: string;
  orgId?: string;
}

type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

function asArray(v: Json | undefined): Json[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

function glob(pattern: string, value: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    'i',
  );
  return re.test(value);
}

function actionMatches(stmt: { [k: string]: Json }, action: string): boolean {
  if (stmt.NotAction !== undefined)
    return !asArray(stmt.NotAction).some((a) => typeof a === 'string' && glob(a, action));
  return asArray(stmt.Action).some((a) => typeof a === 'string' && glob(a, action));
}

function principalMatches(stmt: { [k: string]: Json }, ctx: PrincipalContext): boolean {
  const p = stmt.Principal;
  if (p === '*') return true;
  if (typeof p !== 'object' || p === null || Array.isArray(p)) return false;
  return asArray(p.AWS).some((v) => {
    if (typeof v !== 'string') return false;
    if (v === '*' || v === ctx.account) return true;
    const m = /^arn:aws:iam::(\d{12}):(.+)$/.exec(v);
    if (!m) return false;
    if (m[1] !== ctx.account) return false;
    return m[2] === 'root' || glob(`arn:aws:iam::${m[1]}:${m[2]}`, ctx.principalArn);
  });
}

function conditionsHold(stmt: { [k: string]: Json }, ctx: PrincipalContext): boolean {
  const cond = stmt.Condition;
  if (cond === undefined) return true;
  if (typeof cond !== 'object' || cond === null || Array.isArray(cond)) return false;
  for (const [op, block] of Object.entries(cond)) {
    if (typeof block !== 'object' || block === null || Array.isArray(block)) return false;
    const baseOp = op.replace(/^ForAnyValue:|^ForAllValues:/, '');
    for (const [key, expected] of Object.entries(block)) {
      const actual =
        key === 'aws:PrincipalOrgID'
          ? ctx.orgId
          : key === 'aws:PrincipalAccount'
            ? ctx.account
            : key === 'aws:PrincipalOrgPaths'
              ? ctx.orgId && `${ctx.orgId}/`
              : key === 'aws:PrincipalArn'
                ? ctx.principalArn
                : undefined;
      if (actual === undefined) return false;
      const values = asArray(expected).filter((e): e is string => typeof e === 'string');
      const hit = values.some((e) =>
        key === 'aws:PrincipalOrgPaths'
          ? e.startsWith(actual) || glob(e, actual)
          : baseOp.startsWith('StringLike')
            ? glob(e, actual)
            : e === actual,
      );
      const negated = baseOp.startsWith('StringNot');
      if (negated ? hit : !hit) return false;
    }
  }
  return true;
}

export function policyAllows(policyText: string | undefined, action: string, ctx: PrincipalContext): boolean {
  if (!policyText) return false;
  let doc: Json;
  try {
    doc = JSON.parse(policyText) as Json;
  } catch {
    return false;
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return false;
  const statements = asArray(doc.Statement).filter(
    (s): s is { [k: string]: Json } => typeof s === 'object' && s !== null && !Array.isArray(s),
  );
  const applies = (s: { [k: string]: Json }) =>
    actionMatches(s, action) && principalMatches(s, ctx) && conditionsHold(s, ctx);
  if (statements.some((s) => s.Effect === 'Deny' && applies(s))) return false;
  return statements.some((s) => s.Effect === 'Allow' && applies(s));
}

/** Parse a vault access policy as PutBackupVaultAccessPolicy does: it must be a JSON policy document. */
export function isPolicyDocument(text: string): boolean {
  try {
    const doc = JSON.parse(text) as Json;
    return typeof doc === 'object' && doc !== null && !Array.isArray(doc) && doc.Statement !== undefined;
  } catch {
    return false;
  }
}

export { glob };
