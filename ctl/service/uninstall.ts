// rpctl service uninstall: stop the unit, remove its files (the template with the last instance), reload.

import { existsSync, rmdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { RpcopyError } from '../../shared/errors.js';
import type { CommandContext } from '../command.js';
import type { ServiceDeps } from './deps.js';
import { describeResult, launchctl, publicResult, runSteps, shellLine, systemctl } from './steps.js';
import { listDir, listInstalled, parseOptions, targetOf } from './targets.js';
import { systemdTemplateName } from './units.js';

export async function uninstall(ctx: CommandContext, deps: ServiceDeps): Promise<number> {
  const { platform, name } = parseOptions(ctx, deps);
  const target = targetOf(platform, name, deps);
  const files: string[] = [target.recordFile];
  let dropInDir: string | undefined;
  if (platform === 'systemd' && name !== undefined) {
    dropInDir = dirname(target.recordFile);
    const others = listInstalled(platform, deps).filter(
      (i) => i.target.name !== undefined && i.target.unit !== target.unit,
    );
    // The template is shared: it goes with the last instance.
    if (others.length === 0) files.push(join(target.dir, systemdTemplateName()));
  }
  const present = files.filter((f) => existsSync(f));
  if (present.length === 0) {
    if (ctx.json) ctx.out(JSON.stringify({ platform, unit: target.unit, installed: false, removed: [], commands: [] }));
    else ctx.out(`${target.unit} is not installed (no ${target.recordFile}); nothing to do.`);
    return 0;
  }

  const before =
    platform === 'systemd'
      ? [systemctl('disable', '--now', target.unit)]
      : // An agent that is not loaded (--no-enable, or no GUI session) fails bootout: nothing to stop then.
        [launchctl(true, 'bootout', `gui/${deps.uid}/${target.unit}`)];
  const stopped = runSteps(before, deps);
  for (const f of present) {
    try {
      rmSync(f, { force: true });
    } catch (err) {
      throw new RpcopyError(
        'INTERNAL',
        `cannot remove ${f}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
  }
  if (dropInDir && existsSync(dropInDir) && listDir(dropInDir).length === 0) rmdirSync(dropInDir);
  const after = platform === 'systemd' ? runSteps([systemctl('daemon-reload')], deps) : { results: [], remaining: [] };
  const results = [...stopped.results, ...after.results];
  // Without a reachable service manager nothing of ours runs under it; if something does, this stops it
  // (disable needs the unit file, which is gone now; stop does not).
  const manual =
    stopped.remaining.length > 0
      ? [shellLine(['systemctl', '--user', 'stop', target.unit]), shellLine(['systemctl', '--user', 'daemon-reload'])]
      : after.remaining.map((s) => shellLine(s.argv));

  if (ctx.json) {
    ctx.out(
      JSON.stringify({
        platform,
        unit: target.unit,
        installed: false,
        removed: present,
        commands: results.map(publicResult),
        manual,
      }),
    );
    return 0;
  }
  const lines = [
    ...stopped.results.map(describeResult),
    ...present.map((f) => `removed ${f}`),
    ...after.results.map(describeResult),
  ];
  if (manual.length > 0) {
    lines.push(
      `The files are removed, but the service manager could not be told. If ${target.unit} still runs, as ${deps.user}:`,
      ...manual.map((c) => `  ${c}`),
    );
  } else {
    lines.push(`${target.unit} is stopped and removed.`);
  }
  ctx.out(lines.join('\n'));
  return 0;
}
