import { CsvProblemsResponse, PlanPointsResponse, PlanResponse, ROUTES } from '../shared/api.js';
import type { Command } from './command.js';
import { columns, count } from './format.js';

const PAGE = 5_000;
/** `--list` of the metadata CSV's problems rather than of points. */
const CSV_PROBLEMS = 'csv-problems';
const SHOWN_PROBLEMS = 10;

export const planCommand: Command = {
  name: 'plan',
  summary:
    'the dry run: counts by vault, resource type and skip reason; --list REASON exports points, ' +
    '--list csv-problems every problem of the metadata CSV',
  usage: 'rpctl plan [--json] [--list REASON|copy|csv-problems]',
  options: { list: { type: 'string' } },
  async run(ctx) {
    const client = ctx.client();
    const reason = ctx.values.list as string | undefined;
    if (reason === CSV_PROBLEMS) {
      // Every problem in line order (those without a line last): JSON lines with --json, else CSV.
      if (!ctx.json) ctx.out('line,kind,resourceArn,detail');
      let position = '';
      for (;;) {
        const page = await client.get(`${ROUTES.csvProblems}?limit=${PAGE}${position}`, CsvProblemsResponse);
        for (const p of page.problems) {
          ctx.out(
            ctx.json
              ? JSON.stringify(p)
              : [p.line === null ? '' : String(p.line), p.kind, p.resourceArn ?? '', p.detail].map(csvField).join(','),
          );
        }
        if (page.next === null) break;
        position = `&afterLine=${page.next.afterLine}&afterId=${page.next.afterId}`;
      }
      return 0;
    }
    if (reason !== undefined) {
      // One point per line (JSON lines with --json, else CSV), fetched page by page.
      if (!ctx.json) ctx.out('arn,vault,resourceType,resourceArn,apmid,state,reason,destinationVault');
      let after = 0;
      for (;;) {
        const page = await client.get(
          `${ROUTES.planPoints}?reason=${encodeURIComponent(reason)}&after=${after}&limit=${PAGE}`,
          PlanPointsResponse,
        );
        for (const p of page.points) {
          ctx.out(
            ctx.json
              ? JSON.stringify(p)
              : [
                  p.arn,
                  p.vault,
                  p.resourceType,
                  p.resourceArn,
                  p.apmid ?? '',
                  p.state,
                  p.reason ?? '',
                  p.destinationVault ?? '',
                ]
                  .map(csvField)
                  .join(','),
          );
        }
        if (page.next === null) break;
        after = page.next;
      }
      return 0;
    }

    const plan = await client.get(ROUTES.plan, PlanResponse);
    if (ctx.json) {
      ctx.out(JSON.stringify(plan, null, 2));
      return 0;
    }
    const skippedTotal = Object.values(plan.skipped).reduce((a, b) => a + b, 0);
    const lines = [
      ...(plan.warnings ?? []).map((w) => `WARNING: ${w}`),
      ...(plan.warnings?.length ? [''] : []),
      `${count(plan.points)} recovery points inventoried (${plan.inventory.vaultsDone} of ${plan.inventory.vaultsSelected} selected vaults listed)`,
      `${count(plan.toCopy)} to copy, ${count(skippedTotal)} skipped`,
      '',
      'Skipped, by reason:',
      columns(Object.entries(plan.skipped).map(([r, n]) => [`  ${r}`, count(n).padStart(9), plan.reasons[r] ?? ''])) ||
        '  (none)',
      '',
      'By vault:',
      columns([
        ['  vault', 'destination', 'to copy', 'skipped'],
        ...plan.byVault.map((v) => [
          `  ${v.vault}`,
          v.destination ?? '(needs mapping)',
          count(v.toCopy),
          count(v.skipped),
        ]),
      ]),
      '',
      'By resource type:',
      columns([
        ['  type', 'to copy', 'skipped'],
        ...plan.byType.map((t) => [`  ${t.resourceType}`, count(t.toCopy), count(t.skipped)]),
      ]),
    ];
    const unmapped = plan.vaultMappings.filter((m) => m.destination === null);
    if (unmapped.length > 0) {
      lines.push('', 'Vaults that cannot be recreated under their own name (confirm a name in the config):');
      lines.push('  [destination.vault_names]');
      for (const m of unmapped) lines.push(`  ${JSON.stringify(m.source)} = ${JSON.stringify(m.proposed)}`);
    }
    const problemTotal = Object.values(plan.metadata.problems).reduce((a, b) => a + b, 0);
    if (problemTotal > 0) {
      lines.push('', 'Metadata CSV problems:');
      lines.push(
        columns(
          Object.entries(plan.metadata.problems)
            .filter(([, n]) => n > 0)
            .map(([k, n]) => [`  ${k}`, count(n)]),
        ),
      );
      // In line order; the full list is one command away.
      const byLine = [...plan.metadata.examples].sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity));
      for (const e of byLine.slice(0, SHOWN_PROBLEMS)) {
        lines.push(`  ${e.line ? `line ${e.line}: ` : ''}${e.kind}: ${e.detail}`);
      }
      const more = problemTotal - Math.min(SHOWN_PROBLEMS, byLine.length);
      lines.push(
        `  ${more > 0 ? `and ${count(more)} more; ` : ''}every problem, by line: rpctl plan --list ${CSV_PROBLEMS}`,
      );
    }
    ctx.out(lines.join('\n'));
    return 0;
  },
};

function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
