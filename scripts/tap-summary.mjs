// Pipe filter for tap's output: passes everything through and adds the plain
// closing line CI reads ("tap: N passed, N failed, N skipped"). tap's own
// summary counts assertions; so does this line.
// CI keeps only the end of a long log, and the coverage table that tap prints
// last pushes a failure's own lines out of it. So every failed assertion is
// named again after the closing line: its file, its subtests, its name and
// the first lines of its diagnostic.
// With --failed-files FILE it also writes the test files that failed, one a line, for scripts/test.sh's retry.
// usage: set -o pipefail; npx tap 2>&1 | node scripts/tap-summary.mjs [--failed-files FILE]
import { writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

const { values: options } = parseArgs({ options: { 'failed-files': { type: 'string' } } });

const DIAGNOSTIC_LINES = 24;
/** Diagnostic keys that repeat the code around the assertion; `at`'s fileName and lineNumber already say where. */
const NOISE = new Set(['stack', 'source', 'typeName', 'columnNumber', 'isToplevel']);

/** Subtest names by indentation depth (4 spaces a level), as tap's TAP stream nests them. */
const subtests = [];
const failures = [];
let diagnostic = null;
let summary = '';

function track(line) {
  const indent = line.length - line.trimStart().length;
  const depth = Math.floor(indent / 4);
  const text = line.trim();
  if (diagnostic) {
    // The YAML block opens with '---' on the line after 'not ok' and closes with '...' at the same indentation.
    if (diagnostic.indent === undefined) {
      if (text === '---') {
        diagnostic.indent = indent;
        return;
      }
      diagnostic = null;
    } else if (text === '...' && indent === diagnostic.indent) {
      diagnostic = null;
      return;
    } else {
      diagnostic.lines.push(line.slice(diagnostic.indent));
      return;
    }
  }
  const subtest = /^# Subtest: (.*)$/.exec(text);
  if (subtest) {
    subtests.length = depth;
    subtests[depth] = subtest[1];
    return;
  }
  const notOk = /^not ok \d+ - (.*?)(?: # time=[\d.]+ms)?$/.exec(text);
  // A TODO or SKIP directive makes a 'not ok' expected, not a failure (TAP 14).
  if (notOk && !/ # (TODO|SKIP)\b/i.test(text)) {
    const failure = { path: [...subtests.slice(0, depth), notOk[1]], lines: [], indent: undefined };
    failures.push(failure);
    diagnostic = failure;
    return;
  }
  if (/^# \{ total: \d+/.test(text)) summary = text;
}

/** A failed subtest is reported by its failed assertions; only the innermost failures are listed. */
function innermost(all) {
  const key = (f) => f.path.join('\u0000');
  return all.filter((f) => !all.some((g) => g !== f && key(g).startsWith(`${key(f)}\u0000`)));
}

/** The diagnostic's YAML without the sections named in NOISE (a section runs to the next key, at any depth). */
function withoutNoise(yaml) {
  let skipping = false;
  return yaml.filter((line) => {
    const key = /^\s*([\w-]+):/.exec(line);
    if (key) skipping = NOISE.has(key[1]);
    return !skipping;
  });
}

const lines = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
lines.on('line', (line) => {
  process.stdout.write(`${line}\n`);
  track(line);
});
lines.on('close', () => {
  const counts = Object.fromEntries(
    [...summary.matchAll(/(\w+): (\d+)/g)].map(([, key, value]) => [key, Number(value)]),
  );
  const skipped = (counts.skip ?? 0) + (counts.todo ?? 0);
  console.log(`tap: ${counts.pass ?? 0} passed, ${counts.fail ?? 0} failed, ${skipped} skipped`);
  const named = innermost(failures);
  for (const failure of named) {
    console.log(`failed: ${failure.path.join(' › ')}`);
    for (const line of withoutNoise(failure.lines).slice(0, DIAGNOSTIC_LINES)) console.log(`  ${line}`);
  }
  if (options['failed-files']) {
    const files = [...new Set(named.map((f) => f.path[0]))];
    writeFileSync(options['failed-files'], files.map((file) => `${file}\n`).join(''));
  }
});
