// The function-length check (scripts/function-length.mjs): every function with a body is measured from its first
// line to its closing brace, comments and blank lines included, nested functions on their own.

import t from 'tap';
// @ts-expect-error: a plain .mjs script without type declarations
import { functionSpans, MAX_FUNCTION_LINES } from '../../scripts/function-length.mjs';

interface Span {
  name: string;
  line: number;
  lines: number;
}

const body = (n: number) =>
  Array.from({ length: n }, (_, i) => (i % 3 === 0 ? '  // why' : `  step${i}();`)).join('\n');

t.test('declarations, methods and arrow functions, longest first, comments counted', async (t) => {
  const source = [
    'export function short() {',
    body(3),
    '}',
    'class Phase {',
    '  run(): void {',
    body(10),
    '  }',
    '}',
    'const arrow = () => {',
    body(1),
    '};',
  ].join('\n');
  const spans: Span[] = functionSpans('x.ts', source);
  t.same(
    spans.map((s) => [s.name, s.line, s.lines]),
    [
      ['run', 7, 12],
      ['short', 1, 5],
      ['arrow', 20, 3],
    ],
  );
});

t.test('a function one line over the limit is reported with its length', async (t) => {
  const source = `function long() {\n${body(MAX_FUNCTION_LINES - 1)}\n}\n`;
  const [span]: Span[] = functionSpans('x.ts', source);
  t.equal(span?.lines, MAX_FUNCTION_LINES + 1);
  t.ok((span?.lines ?? 0) > MAX_FUNCTION_LINES, 'over the limit');
});
