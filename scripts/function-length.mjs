// No function in daemon/ spans 120 lines or more, counted from its first line to its closing brace, comments and
// blank lines included (npm run function-length, part of npm run gate). A function that long does several jobs
// that could each have a name; split it into named parts. Biome's noExcessiveLinesPerFunction counts only a
// body's code lines, so it cannot state this limit.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const MAX_FUNCTION_LINES = 119;

/** Every function with a body in `source`, as { name, line, lines }, longest first. */
export function functionSpans(path, source) {
  const file = ts.createSourceFile(path, source, ts.ScriptTarget.Latest, true);
  const spans = [];
  const lineOf = (position) => file.getLineAndCharacterOfPosition(position).line + 1;
  const visit = (node) => {
    if (ts.isFunctionLike(node) && node.body) {
      const line = lineOf(node.getStart());
      const named = node.name?.getText() ?? (ts.isVariableDeclaration(node.parent) ? node.parent.name.getText() : '');
      spans.push({ name: named || '(anonymous)', line, lines: lineOf(node.end) - line + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return spans.sort((a, b) => b.lines - a.lines);
}

function sourceFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = join(fileURLToPath(import.meta.url), '../..');
  const spans = sourceFiles(join(root, 'daemon')).flatMap((path) =>
    functionSpans(path, readFileSync(path, 'utf8')).map((span) => ({ ...span, path: relative(root, path) })),
  );
  spans.sort((a, b) => b.lines - a.lines);
  const tooLong = spans.filter((span) => span.lines > MAX_FUNCTION_LINES);
  for (const span of tooLong) {
    console.error(`${span.path}:${span.line}: ${span.name}: ${span.lines} lines (at most ${MAX_FUNCTION_LINES})`);
  }
  if (tooLong.length > 0) process.exit(1);
  const longest = spans.slice(0, 3).map((span) => `${span.name} ${span.lines} (${span.path}:${span.line})`);
  console.log(`function length: ${spans.length} functions in daemon/, the longest ${longest.join(', ')}`);
}
