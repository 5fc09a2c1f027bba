import { ReloadResponse, ROUTES } from '../shared/api.js';
import { isRedacted, type KeyValue, redactValue, valueText } from '../shared/config-view.js';
import { RpcopyError } from '../shared/errors.js';
import type { Command } from './command.js';
import { daemonClient } from './config.js';

export const reloadCommand: Command = {
  name: 'reload',
  summary: 're-read the config file and apply what can change live; names the keys that need a restart',
  usage: 'rpctl reload [--json]',
  async run(ctx) {
    if (ctx.positionals.length > 0) {
      throw new RpcopyError('BAD_REQUEST', `rpctl reload: unexpected argument ${ctx.positionals[0]}`);
    }
    const answer = await daemonClient(ctx).post(ROUTES.reload, ReloadResponse);
    ctx.out(ctx.json ? JSON.stringify(redactChanges(answer), null, 2) : reloadText(answer));
    return 0;
  },
};

/** The changes with secret keys' values redacted, as in the text. */
function redactChanges(a: ReloadResponse): ReloadResponse {
  const hide = <T extends { key: string; from: KeyValue; to: KeyValue }>(c: T): T => ({
    ...c,
    from: redactValue(c.key, c.from),
    to: redactValue(c.key, c.to),
  });
  return { ...a, applied: a.applied.map(hide), needsRestart: a.needsRestart.map(hide) };
}

function reloadText(a: ReloadResponse): string {
  const width = Math.max(0, ...[...a.applied, ...a.needsRestart].map((c) => c.key.length));
  // A secret key (notify.command) is printed as rpctl config show prints it: redacted.
  const change = (c: { key: string; from: KeyValue; to: KeyValue }) =>
    `  ${c.key.padEnd(width)}  ${valueText(redactValue(c.key, c.from))} → ${valueText(redactValue(c.key, c.to))}` +
    (isRedacted(c.key, c.from) || isRedacted(c.key, c.to) ? ' (redacted: rpctl config show --show-secrets)' : '');
  const lines = [`reloaded ${a.file}`];
  if (a.applied.length === 0 && a.needsRestart.length === 0) {
    lines.push(`the file matches what rpcopyd runs: nothing to apply (${a.unchanged.length} keys unchanged)`);
    return lines.join('\n');
  }
  if (a.applied.length > 0) {
    lines.push('applied:');
    for (const c of a.applied) {
      const override = a.overridden.find((o) => o.key === c.key);
      lines.push(`${change(c)}  (${c.note})`);
      if (override) {
        lines.push(
          `  ${''.padEnd(width)}  but rpctl set ${override.setting} ${override.value} still overrides it ` +
            `(rpctl set ${override.setting} VALUE changes it)`,
        );
      }
    }
  }
  if (a.needsRestart.length > 0) {
    lines.push('changed, not applied: restart rpcopyd to apply:');
    for (const c of a.needsRestart) lines.push(change(c));
  }
  lines.push(`unchanged: ${a.unchanged.length} keys`);
  return lines.join('\n');
}
