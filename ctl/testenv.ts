// rpctl testenv render: write the rehearsal environment (two CloudFormation
// templates, the metadata CSV, an rpcopy config, the on-demand backup and
// teardown scripts, README.txt) into a directory. Needs neither the daemon
// nor AWS: everything is rendered from shared/testenv. Each file is written to
// a temporary name and renamed, so an interrupted run leaves whole files; a
// directory that holds other files is only written to with --force.

import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { RpcopyError } from '../shared/errors.js';
import { parseStackOutputs, renderTestEnv, TestenvError } from '../shared/testenv/render.js';
import type { Command } from './command.js';
import { columns } from './format.js';

/** Marks a directory as written by this command, so that rendering again into it needs no --force. */
export const MARKER_FILE = '.rpcopy-testenv';

const DESCRIPTIONS: Record<string, string> = {
  'source.template.json': 'CloudFormation template for the source account',
  'destination.template.json': 'CloudFormation template for the destination account',
  'apm.csv': 'metadata CSV with the sandbox APMID cases',
  'config.toml': 'rpcopy config for the two accounts',
  'backup-now.sh': 'on-demand backups into every vault',
  'teardown.sh': 'empties the vaults, deletes the stacks',
  'README.txt': 'deploy, run and teardown commands',
};

function fail(message: string): never {
  throw new RpcopyError('BAD_REQUEST', message);
}

function readOutputs(flag: string, file: string | undefined): Record<string, string> | undefined {
  if (file === undefined) return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return fail(`${flag}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseStackOutputs(text, `${flag} ${file}`);
}

function prepareDirectory(dir: string, force: boolean): void {
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) fail(`--out ${dir} exists and is not a directory`);
    const entries = readdirSync(dir);
    if (entries.length > 0 && !entries.includes(MARKER_FILE) && !force) {
      fail(
        `--out ${dir} is not empty and was not written by rpctl testenv render; choose an empty or new directory, or pass --force to write into it`,
      );
    }
  } else {
    // One level at a time: mkdirSync's recursive mode can spin forever where mkdir answers ENOENT under an
    // existing parent (as in /proc).
    const missing: string[] = [];
    for (let d = dir; !existsSync(d); d = dirname(d)) missing.unshift(d);
    for (const d of missing) {
      try {
        mkdirSync(d);
      } catch (err) {
        fail(`cannot create ${d}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    }
  }
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    fail(`cannot write into ${dir}: permission denied`);
  }
}

function writeWhole(path: string, content: string, mode: number): void {
  const temporary = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(temporary, content, { mode });
    renameSync(temporary, path);
  } catch (err) {
    fail(`cannot write ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

export const testenvCommand: Command = {
  name: 'testenv',
  summary: 'render: write the rehearsal environment for two real AWS accounts (templates, CSV, config)',
  usage: `rpctl testenv render --out DIR [--region REGION] [--source-account ID] [--destination-account ID]
       [--organization-id o-...] [--source-outputs FILE] [--destination-outputs FILE] [--force] [--json]

  --out DIR                  where to write (created if missing; refused if it holds other files, unless --force)
  --region REGION            region of both accounts (default eu-west-2)
  --source-account ID        source account id (until given: 111111111111 as a placeholder)
  --destination-account ID   destination account id (until given: 222222222222 as a placeholder)
  --organization-id o-...    the accounts' organization (a source vault policy admits it)
  --source-outputs FILE      outputs of the deployed source stack (aws cloudformation describe-stacks
                             --query 'Stacks[0].Outputs'): the resource ARNs in apm.csv
  --destination-outputs FILE outputs of the deployed destination stack: the key in config.toml
  --force                    write into a directory that holds other files

Writes source.template.json, destination.template.json, apm.csv, config.toml, backup-now.sh,
teardown.sh and README.txt (deploy, run and teardown steps). Needs neither the daemon nor AWS.`,
  options: {
    out: { type: 'string' },
    region: { type: 'string' },
    'source-account': { type: 'string' },
    'destination-account': { type: 'string' },
    'organization-id': { type: 'string' },
    'source-outputs': { type: 'string' },
    'destination-outputs': { type: 'string' },
    force: { type: 'boolean', default: false },
  },
  async run(ctx) {
    const [sub, ...extra] = ctx.positionals;
    if (sub !== 'render' || extra.length > 0) {
      process.stderr.write(`rpctl testenv: expected the subcommand "render"\nusage: ${this.usage}\n`);
      return 2;
    }
    const value = (name: string) => ctx.values[name] as string | undefined;
    const out = value('out');
    if (!out) {
      process.stderr.write(`rpctl testenv render: --out DIR is required\nusage: ${this.usage}\n`);
      return 2;
    }
    const dir = resolve(out);
    let rendered: ReturnType<typeof renderTestEnv>;
    try {
      rendered = renderTestEnv({
        region: value('region'),
        sourceAccountId: value('source-account'),
        destinationAccountId: value('destination-account'),
        organizationId: value('organization-id'),
        sourceOutputs: readOutputs('--source-outputs', value('source-outputs')),
        destinationOutputs: readOutputs('--destination-outputs', value('destination-outputs')),
      });
    } catch (err) {
      if (err instanceof TestenvError) fail(err.message);
      throw err;
    }
    prepareDirectory(dir, ctx.values.force === true);
    writeWhole(
      join(dir, MARKER_FILE),
      'Written by `rpctl testenv render`: rendering again into this directory replaces its files.\n',
      0o644,
    );
    for (const file of rendered.files) writeWhole(join(dir, file.name), file.content, file.executable ? 0o755 : 0o644);

    if (ctx.json) {
      ctx.out(
        JSON.stringify({ out: dir, files: rendered.files.map((f) => f.name), placeholders: rendered.placeholders }),
      );
      return 0;
    }
    const lines = [
      `Wrote the rehearsal environment to ${dir}:`,
      columns(rendered.files.map((f) => [`  ${f.name}`, DESCRIPTIONS[f.name] ?? ''])),
    ];
    if (rendered.placeholders.length > 0) {
      lines.push(
        '',
        'Placeholders remain in config.toml and apm.csv; render again once deployed, with:',
        ...rendered.placeholders.map((p) => `  ${p}`),
      );
    }
    lines.push('', `Next: ${join(dir, 'README.txt')} (deploy, run, costs, teardown).`);
    ctx.out(lines.join('\n'));
    return 0;
  },
};
