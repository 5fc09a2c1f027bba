// `rpcopyd --check-config`: validate the config and what it points at, as far
// as local files allow, without writing anything and without calling AWS; then
// print the effective config as the TOML the operator would write.

import {
  ConfigError,
  type ConfigProblem,
  type EffectiveConfig,
  effectiveToml,
  findKeyLine,
  loadEffectiveConfig,
} from '../shared/config.js';
import { listProfiles, readCsvHeader, sharedFilePaths } from '../shared/local-files.js';

/** Problems the config loader cannot see: profiles in the shared files, the CSV's columns. */
function localProblems(effective: EffectiveConfig, text: string, env: NodeJS.ProcessEnv): ConfigProblem[] {
  const { config } = effective;
  const problems: ConfigProblem[] = [];
  const add = (key: string, message: string) => problems.push({ key, line: findKeyLine(text, key), message });

  const profiles = listProfiles(env);
  const files = sharedFilePaths(env);
  for (const key of ['source.profile', 'destination.profile'] as const) {
    const profile = key === 'source.profile' ? config.source.profile : config.destination.profile;
    if (!profiles.includes(profile)) {
      add(
        key,
        `profile "${profile}" is in neither ${files.credentials} nor ${files.config}` +
          (profiles.length > 0 ? ` (profiles there: ${profiles.join(', ')})` : ' (no profiles found)'),
      );
    }
  }

  let header: string[] | undefined;
  try {
    header = readCsvHeader(config.metadata.csv);
  } catch (err) {
    add('metadata.csv', `cannot read ${config.metadata.csv}: ${(err as Error).message}`);
  }
  if (header) {
    for (const key of ['metadata.key_column', 'metadata.apmid_column'] as const) {
      const column = key === 'metadata.key_column' ? config.metadata.keyColumn : config.metadata.apmidColumn;
      if (!header.includes(column)) {
        add(
          key,
          `${config.metadata.csv} has no column "${column}" on its first line` +
            (header.length > 0 ? ` (columns: ${header.join(', ')})` : ' (the first line is empty)'),
        );
      }
    }
  }
  return problems;
}

export interface CheckResult {
  /** The effective config as TOML, when the config is valid. */
  toml?: string;
  /** What is valid but probably not meant (a starting config not finished yet). */
  notes?: string[];
  error?: ConfigError;
}

export function checkConfig(
  file: string,
  stateDir: string | undefined,
  text: () => string,
  env: NodeJS.ProcessEnv = process.env,
): CheckResult {
  let effective: EffectiveConfig;
  try {
    effective = loadEffectiveConfig(file, { stateDir }, env);
  } catch (err) {
    if (err instanceof ConfigError) return { error: err };
    throw err;
  }
  const problems = localProblems(effective, text(), env);
  if (problems.length > 0) return { error: new ConfigError(file, problems) };
  const notes: string[] = [];
  const { allowedApmids, allowedApmidsFile } = effective.config.filter;
  if (allowedApmids?.length === 0 && allowedApmidsFile === undefined) {
    notes.push('filter.allowed_apmids is empty: a run copies nothing (a dry run still shows the plan by APMID)');
  }
  return { toml: effectiveToml(effective), notes };
}
