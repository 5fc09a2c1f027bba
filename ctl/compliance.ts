import { ComplianceResponse, ROUTES } from '../shared/api.js';
import type { Command } from './command.js';
import { columns } from './format.js';
import { CHECK_FAILED_EXIT, slowClient } from './preflight.js';

export const complianceCommand: Command = {
  name: 'compliance',
  summary: 'each destination vault against its source vault and the [compliance] config; one line per drift',
  usage: 'rpctl compliance [--json]',
  async run(ctx) {
    const result = await slowClient(ctx).get(ROUTES.compliance, ComplianceResponse);
    if (ctx.json) {
      ctx.out(JSON.stringify(result, null, 2));
      return result.ok ? 0 : CHECK_FAILED_EXIT;
    }
    const lines = [
      columns([
        ['SOURCE', 'DESTINATION', 'STATUS', 'SOURCE LOCK', 'DESTINATION LOCK'],
        ...result.vaults.map((v) => [
          v.source,
          v.destination,
          v.status,
          v.sourceLock,
          v.destinationLock ?? '(missing)',
        ]),
      ]),
    ];
    if (result.drift.length > 0) {
      lines.push('', 'Drift:');
      for (const d of result.drift) lines.push(`  ${d.destination}: ${d.kind}: ${d.detail}`);
    }
    const notes = result.vaults.flatMap((v) => v.notes.map((n) => `  ${v.destination}: ${n}`));
    if (notes.length > 0) lines.push('', 'Notes:', ...notes);
    lines.push(
      '',
      result.vaults.length === 0
        ? 'no destination vaults yet: the plan copies from no vault'
        : `${result.vaults.filter((v) => v.status === 'ok').length} of ${result.vaults.length} vaults compliant, ` +
            `${result.drift.length} drift`,
    );
    ctx.out(lines.join('\n'));
    return result.ok ? 0 : CHECK_FAILED_EXIT;
  },
};
