// The rest of the rehearsal environment (shared/testenv, ctl/testenv.ts), without AWS: the CSV matches the
// resources and has the sandbox's APMID cases, read by rpcopy's own CSV reader; the config is valid for rpcopy;
// the shape agrees with the sandbox's world; `rpctl testenv render` writes the files and fails clearly; the
// scripts are valid shell and, against a stand-in `aws`, back up and tear down what the shape says.

import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import t from 'tap';
import type { CommandContext } from '../../ctl/command.js';
import { main } from '../../ctl/main.js';
import { MARKER_FILE, testenvCommand } from '../../ctl/testenv.js';
import { type CsvItem, readCsv } from '../../daemon/enrich/csv.js';
import { proposeVaultName } from '../../daemon/plan/vault-names.js';
import { loadConfig } from '../../shared/config.js';
import { RpcopyError } from '../../shared/errors.js';
import {
  AIRGAP_STAGING_VAULT,
  DESTINATION_VAULT_NAMES,
  REHEARSAL_RESOURCES,
  type RehearsalResource,
  rehearsalVaults,
  resourcesIn,
} from '../../shared/testenv/rehearsal.js';
import {
  FILES,
  PLACEHOLDER_ACCOUNTS,
  parseStackOutputs,
  type RenderOptions,
  renderTestEnv,
  TestenvError,
} from '../../shared/testenv/render.js';
import {
  ALLOWED_APMIDS,
  appByKey,
  CSV_CATEGORIES,
  DESTINATION_VAULT_KEY_ALIAS,
  notificationTopicName,
  RESOURCE_TYPES,
  SOURCE_CUSTOMER_KEYS,
  VAULT_SPECS,
} from '../../shared/testenv/shape.js';
import { sourceTemplate } from '../../shared/testenv/templates.js';
import { RESOURCE_TYPES as SANDBOX_RESOURCE_TYPES } from '../sandbox/model.js';
import { World } from '../sandbox/world.js';

const SOURCE = '123456789012';
const DESTINATION = '210987654321';
const REGION = 'eu-west-2';

/** Outputs as `aws cloudformation describe-stacks --query 'Stacks[0].Outputs'` would give them. */
function fakeSourceOutputs(): { OutputKey: string; OutputValue: string }[] {
  const arnOf = (r: RehearsalResource, n: number): string => {
    const hex = n.toString(16).padStart(17, '0');
    switch (r.type) {
      case 'EBS':
        return `arn:aws:ec2:${REGION}:${SOURCE}:volume/vol-${hex}`;
      case 'EC2':
        return `arn:aws:ec2:${REGION}:${SOURCE}:instance/i-${hex}`;
      case 'RDS':
        return `arn:aws:rds:${REGION}:${SOURCE}:db:rpcopy-${n}`;
      case 'Aurora':
        return `arn:aws:rds:${REGION}:${SOURCE}:cluster:rpcopy-${n}`;
      case 'S3':
        return `arn:aws:s3:::rpcopy-${SOURCE}-${REGION}-${r.id.toLowerCase()}`;
      case 'EFS':
        return `arn:aws:elasticfilesystem:${REGION}:${SOURCE}:file-system/fs-${hex}`;
      case 'DynamoDB':
        return `arn:aws:dynamodb:${REGION}:${SOURCE}:table/rpcopy-${n}`;
      case 'FSx':
        return `arn:aws:fsx:${REGION}:${SOURCE}:file-system/fs-${hex}`;
    }
  };
  return [
    { OutputKey: 'CopyRoleArn', OutputValue: `arn:aws:iam::${SOURCE}:role/service-role/RpcopyRehearsalAWSBackupRole` },
    { OutputKey: 'OperatorRoleArn', OutputValue: `arn:aws:iam::${SOURCE}:role/rpcopy/rpcopy-rehearsal-operator` },
    {
      OutputKey: 'VaultAirgappedArchiveArn',
      OutputValue: `arn:aws:backup:${REGION}:${SOURCE}:backup-vault:airgapped-archive`,
    },
    ...REHEARSAL_RESOURCES.map((r, n) => ({ OutputKey: `${r.id}Arn`, OutputValue: arnOf(r, n + 1) })),
  ];
}
const DESTINATION_KEY = `arn:aws:kms:${REGION}:${DESTINATION}:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0`;
const fakeDestinationOutputs = () => [
  { OutputKey: 'DestinationKeyArn', OutputValue: DESTINATION_KEY },
  { OutputKey: 'OperatorRoleArn', OutputValue: `arn:aws:iam::${DESTINATION}:role/rpcopy/rpcopy-rehearsal-operator` },
];
const toMap = (list: { OutputKey: string; OutputValue: string }[]) =>
  Object.fromEntries(list.map((o) => [o.OutputKey, o.OutputValue]));
const FULL: RenderOptions = {
  region: REGION,
  sourceAccountId: SOURCE,
  destinationAccountId: DESTINATION,
  organizationId: 'o-a1b2c3d4e5',
  sourceOutputs: toMap(fakeSourceOutputs()),
  destinationOutputs: toMap(fakeDestinationOutputs()),
};
const content = (r: ReturnType<typeof renderTestEnv>, name: string) => {
  const f = r.files.find((x) => x.name === name);
  if (!f) throw new Error(`no ${name}`);
  return f.content;
};

async function csvItems(text: string): Promise<CsvItem[]> {
  const out: CsvItem[] = [];
  for await (const item of readCsv(Readable.from([Buffer.from(text)]))) out.push(item);
  return out;
}

t.test('the CSV matches the resources, case by case, as rpcopy reads it', async (t) => {
  const r = renderTestEnv(FULL);
  const text = content(r, FILES.csv);
  const arns = toMap(fakeSourceOutputs());
  const items = await csvItems(text);
  const records = items.filter((i): i is Extract<CsvItem, { kind: 'record' }> => i.kind === 'record');
  const broken = items.filter((i) => i.kind !== 'record');
  t.same(records[0]?.fields, ['resourceArn', 'APMID', 'appName', 'owner'], 'header');
  const rowsOf = (arn: string) => records.filter((x) => x.fields[0] === arn);
  const wellFormed = (arn: string) => rowsOf(arn).filter((x) => x.fields.length === 4);

  for (const res of REHEARSAL_RESOURCES) {
    const arn = arns[`${res.id}Arn`] as string;
    const app = appByKey(res.app);
    const rows = wellFormed(arn).map((x) => x.fields[1]);
    switch (res.csv) {
      case 'valid':
        t.same(rows, [app.apmid], `${res.id}: one row, allowed APMID`);
        t.ok(ALLOWED_APMIDS.includes(app.apmid));
        break;
      case 'notAllowed':
        t.same(rows, [app.apmid], `${res.id}: one row`);
        t.notOk(ALLOWED_APMIDS.includes(app.apmid), `${res.id}: APMID outside the allowed set`);
        break;
      case 'duplicateSame':
        t.same(rows, [app.apmid, app.apmid], `${res.id}: two agreeing rows`);
        break;
      case 'empty':
        t.same(rows, [''], `${res.id}: one row, empty APMID`);
        break;
      case 'conflict':
        t.equal(rows.length, 2, `${res.id}: two rows`);
        t.not(rows[0], rows[1], `${res.id}: conflicting APMIDs`);
        t.ok(
          rows.every((a) => ALLOWED_APMIDS.includes(a as string)),
          'both allowed: only the conflict skips it',
        );
        break;
      case 'absent':
        t.same(rowsOf(arn), [], `${res.id}: no row`);
        t.notOk(text.includes(arn), `${res.id}: not in the file at all`);
        break;
      case 'malformed':
        t.same(rows, [], `${res.id}: no well-formed row`);
        t.ok(text.includes(arn), `${res.id}: but a broken one`);
        break;
    }
  }
  // Every row names a rehearsal resource or an orphan; the orphans do not exist; the malformed lines are where
  // the truth says, and rpcopy's reader sees the unbalanced quote and the wrong column counts.
  const known = new Set([...Object.values(arns), ...r.csvTruth.orphanArns, 'resourceArn']);
  for (const rec of records) {
    const arn = rec.fields[0] as string;
    if (!known.has(arn) && !arn.startsWith('arn:aws:s3:::rpcopy-') && rec.fields.length === 4)
      t.fail(`unknown row ${arn}`);
  }
  t.equal(r.csvTruth.orphanArns.length, 3, 'rows for resources that do not exist');
  for (const o of r.csvTruth.orphanArns) t.notOk(Object.values(arns).includes(o));
  t.ok(
    records.some((x) => x.fields.length === 5),
    'a five-column row',
  );
  t.ok(
    records.some((x) => x.fields.length === 3),
    'a three-column row',
  );
  t.equal(broken.length, 1, 'the last line: a quote never closed');
  const lines = text.split('\r\n');
  t.equal(lines.at(-1), '', 'CRLF after the last line');
  t.ok(text.startsWith('\uFEFF'), 'UTF-8 BOM');
  t.ok(r.csvTruth.malformedLines.includes(lines.length - 1), 'the unbalanced line is last');
  t.same(
    [...new Set(REHEARSAL_RESOURCES.map((x) => x.csv))].sort(),
    [...CSV_CATEGORIES].sort(),
    'every CSV case of the shape is present',
  );
});

t.test('the same APMID cases and line formats as the sandbox', async (t) => {
  const world = new World({
    seed: 3,
    points: 3000,
    region: REGION,
    sourceAccount: '111111111111',
    destAccount: '222222222222',
    anchor: Date.parse('2026-11-01T12:00:00Z'),
  });
  const sandbox = world.dataset.csv();
  const sandboxCases = Object.entries(sandbox.truth.resources)
    .filter(([, n]) => n > 0)
    .map(([k]) => k)
    .sort();
  t.same(sandboxCases, [...CSV_CATEGORIES].sort(), 'the sandbox has every case too');
  const rehearsal = content(renderTestEnv(FULL), FILES.csv);
  t.equal(rehearsal.split('\r\n')[0], sandbox.text.split('\r\n')[0], 'same BOM and header');
  // The sandbox's last two lines are the five-column row and the unbalanced quote; so are ours.
  const tail = (text: string) => text.trimEnd().split('\r\n').slice(-2);
  t.match(tail(rehearsal)[0], /,extra$/);
  t.match(tail(sandbox.text)[0], /,extra$/);
  t.equal((tail(rehearsal)[1]?.match(/"/g) ?? []).length % 2, 1);
  t.equal((tail(sandbox.text)[1]?.match(/"/g) ?? []).length % 2, 1);
});

t.test('the shape agrees with the sandbox world it also generates', async (t) => {
  t.same([...RESOURCE_TYPES], [...SANDBOX_RESOURCE_TYPES], 'resource types');
  const world = new World({
    seed: 1,
    points: 500,
    region: REGION,
    sourceAccount: '111111111111',
    destAccount: '222222222222',
    anchor: Date.now(),
  });
  const customer = world.source.keys.filter((k) => k.manager === 'CUSTOMER');
  t.same(
    customer.map((k) => ({ ref: k.aliases[0]?.replace('alias/', ''), sharedWithDestination: k.sharedWith.length > 0 })),
    SOURCE_CUSTOMER_KEYS.map((k) => ({ ref: k.ref, sharedWithDestination: k.sharedWithDestination })),
    'source customer-managed keys and who they are shared with',
  );
  t.ok(
    world.dest.keys.some((k) => k.aliases.includes(`alias/${DESTINATION_VAULT_KEY_ALIAS}`)),
    'destination key',
  );
  t.same(
    [...world.source.vaults.keys()],
    VAULT_SPECS.map((s) => s.name),
    'vault names',
  );
  for (const v of world.source.vaults.values()) {
    if (v.notifications) t.match(v.notifications.topicArn, new RegExp(`:${notificationTopicName(v.name)}$`));
  }
  for (const [from, to] of Object.entries(DESTINATION_VAULT_NAMES)) {
    t.equal(to, proposeVaultName(from), `${from} → ${to}: what rpctl plan proposes`);
  }
  // Every vault the shape gives types to gets a resource of each of those types (EFS automatic and air gap too).
  for (const v of rehearsalVaults()) {
    const types = new Set(resourcesIn(v.spec.name).map((r) => r.type));
    for (const [type] of v.spec.types) t.ok(types.has(type), `${v.spec.name}: a ${type} resource`);
    for (const r of resourcesIn(v.spec.name)) {
      t.ok(
        v.spec.types.some(([x]) => x === r.type),
        `${v.spec.name}: ${r.id} is a type the shape puts there`,
      );
    }
  }
  for (const r of resourcesIn('airgapped-archive')) {
    t.ok(r.vaults.includes(AIRGAP_STAGING_VAULT), `${r.id} is staged in ${AIRGAP_STAGING_VAULT}`);
  }
});

t.test('the config is valid for rpcopy, and placeholders are visible until the outputs are given', async (t) => {
  const full = renderTestEnv(FULL);
  t.same(full.placeholders, [], 'nothing left to fill in');
  const dir = t.testdir(Object.fromEntries(full.files.map((f) => [f.name, f.content])));
  const config = loadConfig(join(dir, FILES.config), {}, {});
  t.equal(config.region, REGION);
  t.equal(config.source.accountId, SOURCE);
  t.equal(config.destination.accountId, DESTINATION);
  t.equal(config.source.copyRoleArn, toMap(fakeSourceOutputs()).CopyRoleArn, 'the copy role the stack creates');
  t.equal(config.destination.encryptionKeyArn, DESTINATION_KEY);
  t.equal(config.metadata.csv, join(dir, 'apm.csv'));
  t.same(config.filter.allowedApmids, [...ALLOWED_APMIDS]);
  t.same(config.destination.vaultNames, DESTINATION_VAULT_NAMES);
  t.equal(config.vaults.confirmComplianceLock, false, 'no irreversible destination locks by default');
  t.notMatch(content(full, FILES.config), /PLACEHOLDER/);
  t.notMatch(content(full, FILES.csv), /PLACEHOLDER/);
  t.notMatch(content(full, FILES.readme), /PLACEHOLDERS/);

  const bare = renderTestEnv();
  t.equal(bare.placeholders.length, 5);
  const bareDir = t.testdir(Object.fromEntries(bare.files.map((f) => [f.name, f.content])));
  const bareConfig = loadConfig(join(bareDir, FILES.config), {}, {});
  t.equal(bareConfig.source.accountId, PLACEHOLDER_ACCOUNTS.source, 'still a valid config');
  t.match(content(bare, FILES.config), /PLACEHOLDER/);
  t.match(content(bare, FILES.csv), /PLACEHOLDER:EbsVolumeArn/);
  t.match(content(bare, FILES.readme), /PLACEHOLDERS/);
  t.same(content(bare, FILES.sourceTemplate), content(full, FILES.sourceTemplate), 'templates need no accounts');
});

t.test('bad options and outputs fail with a message naming them', async (t) => {
  t.throws(() => renderTestEnv({ sourceAccountId: '12345' }), /--source-account: expected a 12-digit/);
  t.throws(() => renderTestEnv({ region: 'London' }), /--region/);
  t.throws(() => renderTestEnv({ organizationId: 'org-1' }), /--organization-id/);
  t.throws(() => renderTestEnv({ sourceAccountId: SOURCE, destinationAccountId: SOURCE }), /must differ/);
  t.throws(() => renderTestEnv({ ...FULL, sourceOutputs: { CopyRoleArn: 'x' } }), /lack source output EbsVolumeArn/);
  t.throws(
    () =>
      renderTestEnv({
        ...FULL,
        destinationOutputs: { DestinationKeyArn: DESTINATION_KEY.replace(DESTINATION, SOURCE) },
      }),
    /not a key of the destination account/,
  );
  t.throws(() => parseStackOutputs('{', 'f.json'), TestenvError);
  t.throws(() => parseStackOutputs('{"a":1}', 'f.json'), /f\.json: expected the output of/);
  t.throws(() => parseStackOutputs('[{"OutputKey":1}]', 'f.json'), /entry 0/);
  t.same(
    parseStackOutputs(JSON.stringify({ Stacks: [{ Outputs: fakeDestinationOutputs() }] }), 'f'),
    toMap(fakeDestinationOutputs()),
    'the whole describe-stacks answer works too',
  );
});

function context(values: CommandContext['values'], positionals: string[]): CommandContext & { printed: string[] } {
  const printed: string[] = [];
  return {
    values,
    positionals,
    json: values.json === true,
    printed,
    out: (text) => {
      printed.push(text);
    },
    client: () => {
      throw new Error('testenv needs no daemon');
    },
    config: () => {
      throw new Error('testenv needs no config');
    },
  };
}

t.test('rpctl testenv render writes the files, renders again in place, and refuses what it should', async (t) => {
  const base = t.testdir({ other: { 'notes.txt': 'mine' }, 'a-file': 'x' });
  const out = join(base, 'new', 'rehearsal');
  const ctx = context({ out }, ['render']);
  t.equal(await testenvCommand.run(ctx), 0);
  for (const name of Object.values(FILES)) t.ok(existsSync(join(out, name)), `${name} written`);
  t.ok(existsSync(join(out, MARKER_FILE)));
  t.ok((statSync(join(out, FILES.backupNow)).mode & 0o111) !== 0, 'scripts are executable');
  t.match(ctx.printed.join('\n'), /Placeholders remain/);

  const sourceOutputs = join(base, 'source-outputs.json');
  const destinationOutputs = join(base, 'destination-outputs.json');
  writeFileSync(sourceOutputs, JSON.stringify(fakeSourceOutputs()));
  writeFileSync(destinationOutputs, JSON.stringify(fakeDestinationOutputs()));
  const again = context(
    {
      out,
      region: REGION,
      'source-account': SOURCE,
      'destination-account': DESTINATION,
      'organization-id': 'o-a1b2c3d4e5',
      'source-outputs': sourceOutputs,
      'destination-outputs': destinationOutputs,
      json: true,
    },
    ['render'],
  );
  t.equal(await testenvCommand.run(again), 0, 'rendering again into its own directory needs no --force');
  const answer = JSON.parse(again.printed.join(''));
  t.same(answer.placeholders, []);
  t.same(
    answer.files,
    Object.values(FILES).sort((a, b) => order(a) - order(b)),
  );
  t.equal(readFileSync(join(out, FILES.csv), 'utf8'), content(renderTestEnv(FULL), FILES.csv));

  const refuse = async (values: CommandContext['values'], pattern: RegExp, what: string) => {
    await t.rejects(testenvCommand.run(context(values, ['render'])), pattern, what);
    await testenvCommand.run(context(values, ['render'])).catch((err: unknown) => {
      t.ok(err instanceof RpcopyError && err.exitCode === 2, `${what}: exit code 2`);
    });
  };
  await refuse({ out: join(base, 'other') }, /is not empty and was not written by rpctl testenv render/, 'foreign dir');
  await refuse({ out: join(base, 'a-file') }, /exists and is not a directory/, 'a file');
  await refuse({ out: join(base, 'a-file', 'sub') }, /cannot create .*ENOTDIR/, 'not writable');
  if (existsSync('/proc/self')) {
    // mkdir under /proc answers ENOENT under an existing parent, where a recursive mkdirSync spins forever.
    await refuse({ out: '/proc/rpcopy-testenv/sub' }, /cannot create \/proc\/rpcopy-testenv: ENOENT/, '/proc');
  }
  await refuse({ out, 'source-account': 'x' }, /--source-account/, 'bad account');
  await refuse({ out, 'source-outputs': join(base, 'missing.json') }, /cannot read .*ENOENT/, 'missing outputs file');
  t.equal(readFileSync(join(base, 'other', 'notes.txt'), 'utf8'), 'mine', 'nothing written into a refused directory');
  t.equal(await testenvCommand.run(context({ out: join(base, 'other'), force: true }, ['render'])), 0, '--force');

  t.equal(await testenvCommand.run(context({}, ['render'])), 2, 'no --out: usage');
  t.equal(await testenvCommand.run(context({ out }, [])), 2, 'no subcommand: usage');
});

function order(name: string): number {
  return [
    FILES.sourceTemplate,
    FILES.destinationTemplate,
    FILES.csv,
    FILES.config,
    FILES.backupNow,
    FILES.teardown,
    FILES.readme,
  ].indexOf(name as never);
}

t.test('rpctl lists the command and --help describes it', async (t) => {
  const written: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  const errWrite = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string) => {
    written.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = process.stdout.write;
  // No assertion while the streams are captured: tap reports through stdout.
  const codes: number[] = [];
  try {
    codes.push(await main(['--help']));
    codes.push(await main(['testenv', '--help']));
    codes.push(await main(['testenv', 'render', '--bogus']));
  } finally {
    process.stdout.write = write;
    process.stderr.write = errWrite;
  }
  t.same(codes, [0, 0, 2], 'help exits 0; an unknown option is a usage error');
  const text = written.join('');
  t.match(text, /testenv\s+render: write the rehearsal environment/);
  t.match(text, /rpctl testenv render --out DIR/);
  t.match(text, /--source-outputs FILE/);
});

t.test('the scripts are valid shell and do what the shape says against a stand-in aws', async (t) => {
  const r = renderTestEnv(FULL);
  const dir = t.testdir(Object.fromEntries(r.files.map((f) => [f.name, f.content])));
  for (const script of [FILES.backupNow, FILES.teardown]) {
    execFileSync('sh', ['-n', join(dir, script)]);
    t.pass(`${script}: sh -n`);
  }
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const outputs = join(dir, 'outputs.txt');
  writeFileSync(
    outputs,
    `${fakeSourceOutputs()
      .map((o) => `${o.OutputKey}\t${o.OutputValue}`)
      .join('\n')}\n`,
  );
  const log = join(dir, 'aws.log');
  writeFileSync(
    join(bin, 'aws'),
    [
      '#!/bin/sh',
      `echo "$*" >>'${log}'`,
      'case "$*" in',
      `  *"cloudformation describe-stacks"*) cat '${outputs}' ;;`,
      '  *"backup start-backup-job"*) echo "job-$$" ;;',
      '  *"backup describe-backup-job"*) echo COMPLETED ;;',
      '  *"backup list-recovery-points-by-backup-vault"*) printf "arn:rp:1\\tarn:rp:2\\n" ;;',
      '  *"backup start-copy-job"*) echo "copy-$$" ;;',
      'esac',
      'exit 0',
      '',
    ].join('\n'),
  );
  chmodSync(join(bin, 'aws'), 0o755);
  const env = {
    ...process.env,
    PATH: `${bin}:${process.env.PATH}`,
    SOURCE_ADMIN_PROFILE: 'src-admin',
    DESTINATION_ADMIN_PROFILE: 'dst-admin',
  };
  execFileSync('sh', [join(dir, FILES.backupNow)], { env, cwd: dir, stdio: 'pipe' });
  const calls = readFileSync(log, 'utf8').trim().split('\n');
  const arns = toMap(fakeSourceOutputs());
  const started = calls
    .filter((c) => c.includes('backup start-backup-job'))
    .map((c) => `${/--backup-vault-name (\S+)/.exec(c)?.[1]} ${/--resource-arn (\S+)/.exec(c)?.[1]}`)
    .sort();
  const expected = rehearsalVaults()
    .filter((v) => v.origin !== 'efs-automatic-backups' && v.spec.type === 'BACKUP_VAULT')
    .flatMap((v) => resourcesIn(v.spec.name).map((res) => `${v.spec.name} ${arns[`${res.id}Arn`]}`))
    .sort();
  t.same(started, expected, 'one on-demand backup per (vault, resource) of the shape');
  t.ok(
    calls
      .filter((c) => c.includes('start-backup-job'))
      .every((c) => c.includes('--profile src-admin') && c.includes(`--iam-role-arn ${arns.CopyRoleArn}`)),
    'with the admin profile and the copy role',
  );
  const copies = calls.filter((c) => c.includes('backup start-copy-job'));
  t.equal(copies.length, resourcesIn('airgapped-archive').length, 'one copy into the air-gapped vault per member');
  t.ok(copies.every((c) => c.includes(`--destination-backup-vault-arn ${arns.VaultAirgappedArchiveArn}`)));

  writeFileSync(log, '');
  execFileSync('sh', [join(dir, FILES.teardown)], { env, cwd: dir, stdio: 'pipe' });
  const down = readFileSync(log, 'utf8').trim().split('\n');
  const deletedIn = new Set(
    down.filter((c) => c.includes('delete-recovery-point')).map((c) => /--backup-vault-name (\S+)/.exec(c)?.[1]),
  );
  t.same(
    [...deletedIn].sort(),
    [
      ...new Set([
        ...VAULT_SPECS.map((s) => s.name),
        ...VAULT_SPECS.map((s) => DESTINATION_VAULT_NAMES[s.name] ?? s.name),
      ]),
    ].sort(),
    'points deleted only in the shape vaults of both accounts',
  );
  t.equal(down.filter((c) => c.includes('cloudformation delete-stack')).length, 3, 'source twice, destination once');
  t.notOk(
    down.some((c) => c.includes('delete-backup-vault ') && c.includes('--profile dst-admin') && c.includes('Default ')),
    'the destination Default vault is never deleted',
  );
  t.ok(
    down.some(
      (c) => c.includes('--profile dst-admin') && c.includes('delete-backup-vault --backup-vault-name Default-copy'),
    ),
    'the vaults rpcopy created are deleted',
  );
});

t.test('every source template output the CSV needs exists', async (t) => {
  const outputs = Object.keys(sourceTemplate().Outputs);
  for (const r of REHEARSAL_RESOURCES) t.ok(outputs.includes(`${r.id}Arn`), `${r.id}Arn`);
});
