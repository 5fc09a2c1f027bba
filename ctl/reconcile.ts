import { ReconcileResponse, ROUTES } from '../shared/api.js';
import type { Command } from './command.js';
import { columns, count } from './format.js';
import { CHECK_FAILED_EXIT, slowClient } from './preflight.js';

/** "372 for 371 points (1 retried)": more jobs than points is a point tried again after a failed job. */
export function copyJobsCell(v: ReconcileResponse['vaults'][number]): string {
  if (v.sourcePoints === undefined || v.sourcePoints === v.copyJobs) return count(v.copyJobs);
  const retried = v.copyJobs - v.sourcePoints;
  return `${count(v.copyJobs)} for ${count(v.sourcePoints)} points (${count(retried)} retried)`;
}

export const reconcileCommand: Command = {
  name: 'reconcile',
  summary: 'match source points, their copy jobs and the destination vaults through AWS: duplicates, orphans, missing',
  usage: 'rpctl reconcile [--json]',
  async run(ctx) {
    const r = await slowClient(ctx).post(ROUTES.reconcile, ReconcileResponse);
    const clean = r.counts.duplicates === 0 && r.counts.missing === 0 && r.counts.mismatched === 0;
    if (ctx.json) {
      ctx.out(JSON.stringify(r, null, 2));
      return clean ? 0 : CHECK_FAILED_EXIT;
    }
    const lines = [
      columns([
        ['DESTINATION VAULT', 'COPY JOBS', 'POINTS'],
        ...r.vaults.map((v) => [v.destination, copyJobsCell(v), count(v.destinationPoints)]),
      ]),
      '',
      `${count(r.counts.duplicates)} duplicates, ${count(r.counts.missing)} missing, ` +
        `${count(r.counts.mismatched)} store/AWS mismatches, ${count(r.counts.orphans)} destination points from no known copy job`,
    ];
    for (const d of r.duplicates) lines.push(`  duplicate: ${d.sourcePointArn}: jobs ${d.jobs.join(', ')}`);
    for (const m of r.missing)
      lines.push(`  missing: ${m.sourcePointArn} (${m.state}) → ${m.destinationPointArn ?? '?'}`);
    for (const m of r.mismatched) {
      lines.push(`  mismatch: ${m.sourcePointArn}: store ${m.storeJob ?? 'none'}, AWS ${m.awsJobs.join(', ')}`);
    }
    for (const o of r.orphans) lines.push(`  orphan: ${o.vault}: ${o.destinationPointArn}`);
    ctx.out(lines.join('\n'));
    return clean ? 0 : CHECK_FAILED_EXIT;
  },
};
