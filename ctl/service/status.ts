// rpctl service status: the unit file, whether the service manager has it enabled and active, and its logs.

import { join } from 'node:path';
import type { CommandContext } from '../command.js';
import type { RunResult, ServiceDeps } from './deps.js';
import { shellLine } from './steps.js';
import { lingering, lingerNote, listInstalled, logsHint, parseOptions, readText, targetOf } from './targets.js';
import { instanceConfigPath, readInstallRecord } from './units.js';

/** The first line systemctl printed on stdout (is-enabled/is-active answer there), or undefined. */
function answer(r: RunResult): string | undefined {
  if (r.error !== undefined) return undefined;
  const line = r.stdout.trim().split('\n')[0];
  return line ? line : undefined;
}

export async function status(ctx: CommandContext, deps: ServiceDeps): Promise<number> {
  const { platform, name } = parseOptions(ctx, deps);
  const target = targetOf(platform, name, deps);
  const text = readText(target.recordFile);
  const record = text === undefined ? undefined : readInstallRecord(text);
  const fileExists = text !== undefined;
  const installed = listInstalled(platform, deps).map((i) => i.target.unit);
  const problems: string[] = [];
  const ask = (argv: string[]): string | undefined => {
    const r = deps.run(argv);
    const value = answer(r);
    if (value === undefined) {
      problems.push(
        r.error === 'ENOENT'
          ? `${argv[0]} is not on PATH`
          : `${shellLine(argv)}: ${r.stderr.trim() || `exit ${r.status}`}`,
      );
    }
    return value;
  };

  let enabled: string | undefined;
  let active: string | undefined;
  let pid: number | undefined;
  // Not installed: nothing to ask the service manager, whose "no such unit" would only add noise.
  const known = installed.includes(target.unit);
  if (known && platform === 'systemd') {
    // is-enabled reads unit files (works without a user bus); is-active needs the running user manager.
    enabled = ask(['systemctl', '--user', 'is-enabled', target.unit]);
    active = ask(['systemctl', '--user', 'is-active', target.unit]);
  } else if (known) {
    const r = deps.run(['launchctl', 'print', `gui/${deps.uid}/${target.unit}`]);
    if (r.error === 'ENOENT') {
      problems.push('launchctl is not on PATH');
    } else if (r.status === 0) {
      enabled = 'loaded';
      active = /^\s*state = (\S+)/m.exec(r.stdout)?.[1] ?? 'unknown';
      const found = /^\s*pid = (\d+)/m.exec(r.stdout)?.[1];
      pid = found === undefined ? undefined : Number(found);
    } else {
      enabled = 'not loaded';
    }
  }
  const linger = platform === 'systemd' ? lingering(deps) : undefined;
  const logs = logsHint(target, record?.stateDir);
  const result = {
    platform,
    unit: target.unit,
    file: target.recordFile,
    fileExists,
    config: record?.config ?? (name !== undefined ? join(deps.home, instanceConfigPath(name)) : undefined),
    stateDir: record?.stateDir,
    enabled: enabled ?? null,
    active: active ?? null,
    ...(pid !== undefined ? { pid } : {}),
    ...(linger !== undefined ? { linger } : {}),
    logs,
    installed,
    problems,
  };
  if (ctx.json) {
    ctx.out(JSON.stringify(result));
    return 0;
  }
  const rows = [
    `${target.unit} (${platform})`,
    `  file:      ${target.recordFile}${fileExists ? '' : ' (not installed: rpctl service install)'}`,
    ...(result.config ? [`  config:    ${result.config}`] : []),
    ...(result.stateDir ? [`  state:     ${result.stateDir}`] : []),
    `  enabled:   ${enabled ?? 'unknown'}`,
    `  active:    ${active ?? 'unknown'}${pid !== undefined ? ` (pid ${pid})` : ''}`,
    `  logs:      ${logs}`,
    ...(fileExists && result.config ? [`  progress:  rpctl status --config ${shellLine([result.config])}`] : []),
  ];
  if (linger === false) rows.push(`  Note: ${lingerNote(deps)}`);
  const others = installed.filter((u) => u !== target.unit);
  if (others.length > 0) rows.push(`  also installed: ${others.join(', ')} (rpctl service status --name NAME)`);
  for (const problem of problems) rows.push(`  could not ask: ${problem}`);
  ctx.out(rows.join('\n'));
  return 0;
}
