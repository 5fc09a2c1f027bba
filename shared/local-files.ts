// What can be checked about the operator's setup from local files alone,
// without AWS and without writing anything: which profiles the shared
// credentials/config files define, and the header of the metadata CSV.
// Used by `rpcopyd --check-config` and `rpctl init`.

import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';

export interface SharedFiles {
  credentials: string;
  config: string;
}

/** The shared credentials and config files, where the AWS SDK looks for them. */
export function sharedFilePaths(env: NodeJS.ProcessEnv = process.env): SharedFiles {
  return {
    credentials: env.AWS_SHARED_CREDENTIALS_FILE ?? join(homedir(), '.aws', 'credentials'),
    config: env.AWS_CONFIG_FILE ?? join(homedir(), '.aws', 'config'),
  };
}

/** Section names of an INI file; in the config file "[profile x]" names profile x and "[default]" the default. */
function iniSections(text: string, configFile: boolean): string[] {
  const names: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*\[\s*([^\]]+?)\s*\]/.exec(line);
    if (!match) continue;
    const section = match[1]!;
    if (!configFile) names.push(section);
    else if (section === 'default') names.push(section);
    else if (section.startsWith('profile ')) names.push(section.slice('profile '.length).trim());
  }
  return names;
}

/** Every profile named in the shared credentials or config file, sorted, without duplicates. */
export function listProfiles(env: NodeJS.ProcessEnv = process.env): string[] {
  const files = sharedFilePaths(env);
  const names = new Set<string>();
  for (const [path, configFile] of [
    [files.credentials, false],
    [files.config, true],
  ] as const) {
    if (existsSync(path)) for (const name of iniSections(readFileSync(path, 'utf8'), configFile)) names.add(name);
  }
  return [...names].sort();
}

/** The column names on the first line of a CSV file; reads only the start of the file. */
export function readCsvHeader(file: string): string[] {
  const fd = openSync(file, 'r');
  let head = '';
  try {
    const buffer = Buffer.alloc(64 * 1024);
    let position = 0;
    // A header longer than a megabyte is not a header.
    while (position < 1024 * 1024) {
      const read = readSync(fd, buffer, 0, buffer.length, position);
      if (read === 0) break;
      head += buffer.subarray(0, read).toString('utf8');
      position += read;
      if (/[\r\n]/.test(head)) break;
    }
  } finally {
    closeSync(fd);
  }
  const firstLine = head.split(/\r?\n|\r/)[0] ?? '';
  if (firstLine.trim() === '') return [];
  const [row] = parseCsv(firstLine, { bom: true, relax_quotes: true, trim: true }) as string[][];
  return row ?? [];
}
