// The test command's summary filter (scripts/tap-summary.mjs): CI shows only the end of the log, so the closing
// line counts the assertions and every innermost failure is named after it with its diagnostic, without the
// code around it. The input is the shape tap 21 prints: files, subtests 4 spaces deeper, YAML 2 spaces deeper.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';

const STREAM = `TAP version 14
# Subtest: test/e2e/a.test.ts
    # Subtest: outer
        ok 1 - fine
        # Subtest: inner
            not ok 1 - one is two
              ---
              compare: ===
              at:
                fileName: test/e2e/a.test.ts
                lineNumber: 5
                columnNumber: 7
              stack: |
                Test.<anonymous> (test/e2e/a.test.ts:5:7)
              source: |2
                  t.equal(1, 2, 'one is two');
              diff: |
                -2
                +1
              ...
            1..1
        not ok 2 - inner # time=3.1ms
        1..2
    not ok 1 - outer # time=4.2ms
    1..1
not ok 1 - test/e2e/a.test.ts # time=40.0ms
  ---
  exitCode: 1
  ...

# Subtest: test/unit/b.test.ts
    ok 1 - all good
    1..1
ok 2 - test/unit/b.test.ts # time=10.0ms

# Subtest: test/unit/c.test.ts
    not ok 1 - top level # time=1.0ms
    not ok 2 - not yet # TODO the next stop
    1..2
not ok 3 - test/unit/c.test.ts # time=12.0ms

# { total: 4, pass: 2, fail: 2 }
`;

function summarize(t: Test, input: string, args: string[] = []): string[] {
  const run = spawnSync(process.execPath, ['scripts/tap-summary.mjs', ...args], { input, encoding: 'utf8' });
  t.equal(run.status, 0, 'the filter itself exits 0 (the exit code is tap’s)');
  const out = run.stdout.split('\n');
  t.same(out.slice(0, input.split('\n').length - 1), input.split('\n').slice(0, -1), 'every line passes through');
  return out.slice(out.findIndex((line) => line.startsWith('tap: ')));
}

t.test('the closing line counts assertions and each innermost failure follows it, TODOs not among them', async (t) => {
  t.same(summarize(t, STREAM), [
    'tap: 2 passed, 2 failed, 0 skipped',
    'failed: test/e2e/a.test.ts › outer › inner › one is two',
    '  compare: ===',
    '  at:',
    '    fileName: test/e2e/a.test.ts',
    '    lineNumber: 5',
    '  diff: |',
    '    -2',
    '    +1',
    'failed: test/unit/c.test.ts › top level',
    '',
  ]);
});

t.test('a clean run names no failure; a stream without a total counts zero', async (t) => {
  t.same(summarize(t, '# Subtest: x\n    ok 1 - y\nok 1 - x\n# { total: 1, pass: 1 }\n'), [
    'tap: 1 passed, 0 failed, 0 skipped',
    '',
  ]);
  t.same(summarize(t, 'Bail out! no tests\n'), ['tap: 0 passed, 0 failed, 0 skipped', '']);
});

t.test('--failed-files lists each failed file once, for the retry in scripts/test.sh', async (t) => {
  const list = join(t.testdir(), 'failed');
  summarize(t, STREAM, ['--failed-files', list]);
  t.equal(readFileSync(list, 'utf8'), 'test/e2e/a.test.ts\ntest/unit/c.test.ts\n');
  summarize(t, '# { total: 1, pass: 1 }\n', ['--failed-files', list]);
  t.equal(readFileSync(list, 'utf8'), '', 'a clean run leaves the list empty');
});
