// One seed from number to verdict, and its report: shared by the CLI (main.ts) and the CI test.

import { runSchedule, type SeedResult } from './runner.js';
import { formatSchedule, generateSchedule } from './schedule.js';

export async function runSeed(seed: number, print?: (line: string) => void): Promise<SeedResult> {
  return runSchedule(generateSchedule(seed), print);
}

/** One line for a clean seed; for a failing one (or `full`) also the schedule, the violations and the run's log. */
export function formatResult(result: SeedResult, full: boolean): string {
  const { verdict } = result;
  const head = `seed ${result.schedule.seed}: ${verdict.violations.length === 0 ? 'ok' : 'FAIL'} in ${(
    result.totalMs / 1000
  ).toFixed(
    1,
  )} s (${verdict.pointsCopied} copied, ${verdict.mustCopy} required, ${verdict.exempted} exempted, ${verdict.jobs} jobs, ${
    result.unexpectedExits.length
  } unexpected daemon exits)`;
  // Exits nobody asked for do not fail a seed by themselves, but each one is a finding: name them.
  const exits = result.unexpectedExits.map((e) => `  unexpected: ${e.split('\n')[0]}`);
  if (!full) return [head, ...exits].join('\n');
  const byKind = new Map<string, string[]>();
  for (const v of verdict.violations) {
    const list = byKind.get(v.kind) ?? [];
    list.push(`    ${v.arn ?? ''} ${v.detail}`);
    byKind.set(v.kind, list);
  }
  const violations = [...byKind].flatMap(([kind, lines]) => [
    `  ${kind}: ${lines.length}`,
    ...lines.slice(0, 10),
    ...(lines.length > 10 ? [`    … ${lines.length - 10} more`] : []),
  ]);
  return [
    head,
    `replay: npm run chaos -- --seed ${result.schedule.seed}`,
    formatSchedule(result.schedule),
    'violations:',
    ...violations,
    'run:',
    ...result.log.map((l) => `  ${l}`),
    ...(result.unexpectedExits.length > 0
      ? ['unexpected exits (last output):', ...result.unexpectedExits.map((e) => `  ${e.replaceAll('\n', '\n    ')}`)]
      : []),
  ].join('\n');
}
