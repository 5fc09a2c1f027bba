// Access policy merge (never removes a statement) and admission of the source account: daemon/vaults/policy.ts.

import t from 'tap';
import {
  admission,
  COPY_STATEMENT_SID,
  canonical,
  copyStatement,
  mergePolicy,
  mirroredDenies,
  parsePolicy,
} from '../../daemon/vaults/policy.js';
import { creatorRequestId, destinationTopic, planNotifications, planTags } from '../../daemon/vaults/settings.js';

const SRC = '111111111111';
const DST = '222222222222';
const ORG = 'o-abc1234567';

const denyDelete = {
  Sid: 'DenyRecoveryPointDeletion',
  Effect: 'Deny',
  Principal: { AWS: '*' },
  Action: ['backup:DeleteRecoveryPoint', 'backup:UpdateRecoveryPointLifecycle'],
  Resource: '*',
  Condition: { StringNotLike: { 'aws:PrincipalArn': `arn:aws:iam::${SRC}:role/BackupBreakGlass` } },
};

t.test('parsePolicy: null, a single statement, bad JSON', async (t) => {
  t.equal(parsePolicy(null), null);
  t.equal(parsePolicy('  '), null);
  t.same(parsePolicy(JSON.stringify({ Version: '2012-10-17', Statement: denyDelete }))?.Statement, [denyDelete]);
  t.throws(() => parsePolicy('{'), { name: 'PolicyParseError', message: /not valid JSON/ });
  t.throws(() => parsePolicy('[]'), { name: 'PolicyParseError', message: /not a JSON object/ });
});

t.test('admission: who may copy in', async (t) => {
  const doc = (s: object[]) => ({ Version: '2012-10-17', Statement: s as never[] });
  t.notOk(admission(null, SRC, ORG).admitted, 'no policy admits nobody');
  t.ok(admission(doc([copyStatement(SRC)]), SRC, ORG).admitted);
  t.notOk(admission(doc([copyStatement('333333333333')]), SRC, ORG).admitted, 'another account');
  t.ok(admission(doc([{ Effect: 'Allow', Principal: '*', Action: 'backup:*', Resource: '*' }]), SRC, null).admitted);
  const org = {
    Effect: 'Allow',
    Principal: { AWS: '*' },
    Action: 'backup:CopyIntoBackupVault',
    Resource: '*',
    Condition: { StringEquals: { 'aws:PrincipalOrgID': ORG } },
  };
  t.ok(admission(doc([org]), SRC, ORG).admitted, 'the organization condition holds');
  t.notOk(admission(doc([org]), SRC, 'o-other').admitted, 'another organization');
  t.same(admission(doc([org]), SRC, null).uncertain, ['statement 1'], 'unknown organization: uncertain');
  const deny = { Sid: 'NoCopies', Effect: 'Deny', Principal: '*', Action: 'backup:Copy*', Resource: '*' };
  const denied = admission(doc([copyStatement(SRC), deny]), SRC, ORG);
  t.notOk(denied.admitted, 'Deny wins');
  t.same(denied.deniedBy, ['NoCopies']);
  t.notOk(admission(doc([denyDelete]), SRC, ORG).admitted, 'a Deny of other actions does not admit');
});

t.test('mergePolicy: adds what is missing, removes nothing, is idempotent', async (t) => {
  const mirror = mirroredDenies(parsePolicy(JSON.stringify({ Statement: [denyDelete, copyStatement(DST)] })), SRC, DST);
  t.equal(mirror.length, 1, 'only Deny statements are mirrored');
  t.match(JSON.stringify(mirror[0]), `arn:aws:iam::${DST}:role/BackupBreakGlass`, 'account ids rewritten');

  const fresh = mergePolicy(null, { sourceAccount: SRC, organizationId: ORG, mirror });
  t.same(fresh.added, ['DenyRecoveryPointDeletion', COPY_STATEMENT_SID]);
  t.ok(fresh.policy && admission(fresh.policy, SRC, ORG).admitted);

  const existing = {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'OperatorOwn',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${DST}:root` },
        Action: 'backup:*',
        Resource: '*',
      },
    ],
  };
  const merged = mergePolicy(existing, { sourceAccount: SRC, organizationId: ORG, mirror });
  t.same(
    merged.policy?.Statement.map((s) => s.Sid),
    ['OperatorOwn', 'DenyRecoveryPointDeletion', COPY_STATEMENT_SID],
    'existing statements first and untouched',
  );
  t.same(existing.Statement.length, 1, 'the input is not mutated');
  const again = mergePolicy(merged.policy ?? null, { sourceAccount: SRC, organizationId: ORG, mirror });
  t.equal(again.policy, undefined, 'a second merge changes nothing');
  t.same(again.added, []);

  // Already admitted through the organization: no extra statement.
  const viaOrg = {
    Statement: [
      {
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Action: 'backup:CopyIntoBackupVault',
        Resource: '*',
        Condition: { StringEquals: { 'aws:PrincipalOrgID': ORG } },
      },
    ],
  };
  t.equal(mergePolicy(viaOrg, { sourceAccount: SRC, organizationId: ORG, mirror: [] }).policy, undefined);

  // A Sid taken by a different statement is reported, never replaced.
  const taken = { Statement: [{ ...copyStatement('333333333333') }] };
  const clash = mergePolicy(taken, { sourceAccount: SRC, organizationId: ORG, mirror: [] });
  t.equal(clash.policy, undefined);
  t.match(clash.conflicts[0], /different statement with Sid RpcopyAllowCopyFromSourceAccount/);

  // A Deny of copies is reported (rpcopy never removes statements) and nothing is added around it.
  const denying = {
    Statement: [{ Sid: 'NoCopies', Effect: 'Deny', Principal: '*', Action: 'backup:*', Resource: '*' }],
  };
  const blocked = mergePolicy(denying, { sourceAccount: SRC, organizationId: ORG, mirror: [] });
  t.equal(blocked.policy, undefined);
  t.match(blocked.conflicts[0], /NoCopies deny backup:CopyIntoBackupVault/);
});

t.test('canonical: key order and one-element lists do not matter', async (t) => {
  t.equal(canonical({ b: 1, a: ['x'] }), canonical({ a: 'x', b: 1 }));
  t.not(canonical({ a: ['x', 'y'] }), canonical({ a: ['y', 'x'] }));
});

t.test('tags and notifications are only ever added', async (t) => {
  const plan = planTags({ Env: 'prod', Team: 'a', 'aws:backup:source-resource': 'x' }, { Env: 'dev', Other: '1' });
  t.same(plan, { add: { Team: 'a' }, differing: ['Env'], reserved: ['aws:backup:source-resource'] });
  t.equal(destinationTopic(`arn:aws:sns:eu-west-2:${SRC}:topic-a`, DST), `arn:aws:sns:eu-west-2:${DST}:topic-a`);
  const source = { topicArn: `arn:aws:sns:eu-west-2:${SRC}:t`, events: ['COPY_JOB_FAILED', 'BACKUP_JOB_FAILED'] };
  t.same(planNotifications(null, null, DST), { drift: [] });
  t.same(planNotifications(source, null, DST).put, {
    topicArn: `arn:aws:sns:eu-west-2:${DST}:t`,
    events: ['BACKUP_JOB_FAILED', 'COPY_JOB_FAILED'],
  });
  const partial = { topicArn: `arn:aws:sns:eu-west-2:${DST}:t`, events: ['RESTORE_JOB_FAILED', 'COPY_JOB_FAILED'] };
  t.same(planNotifications(source, partial, DST).put?.events, [
    'BACKUP_JOB_FAILED',
    'COPY_JOB_FAILED',
    'RESTORE_JOB_FAILED',
  ]);
  t.same(planNotifications(source, { ...partial, events: [...partial.events, 'BACKUP_JOB_FAILED'] }, DST), {
    drift: [],
  });
  const elsewhere = planNotifications(
    source,
    { topicArn: 'arn:aws:sns:eu-west-2:222222222222:other', events: [] },
    DST,
  );
  t.equal(elsewhere.put, undefined, 'another topic is not replaced');
  t.equal(elsewhere.drift.length, 1);
});

t.test('creatorRequestId: deterministic and within AWS limits', async (t) => {
  const id = creatorRequestId(DST, 'eu-west-2', 'prod-ebs-daily');
  t.equal(id, creatorRequestId(DST, 'eu-west-2', 'prod-ebs-daily'));
  t.not(id, creatorRequestId(DST, 'eu-west-2', 'prod-rds-monthly'));
  t.match(id, /^[A-Za-z0-9\-_.]{1,50}$/);
});
