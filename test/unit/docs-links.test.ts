// The docs point into the code: every file a link in docs/ names exists, and every function, class or constant
// named next to a link to a source file is declared or defined in that file. So a rename that leaves
// docs/invariants.md pointing at nothing fails here, not in a contributor's search.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const docsDir = join(root, 'docs');
const LINK = /\[[^\]]*\]\(([^)#\s]+)(?:#[^)]*)?\)/g;
// A name in backticks: an identifier, or Class.member. Config keys (copy.resend_window) fail the first test and
// are not checked: they are looked up in the config schema, not next to a link.
const NAME = /`([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)?)`/g;

interface Reference {
  doc: string;
  line: number;
  target: string;
  names: string[];
}

/** Each link on each line, with the backticked names between it and the next link (those it names). */
function references(doc: string): Reference[] {
  const text = readFileSync(join(docsDir, doc), 'utf8');
  const out: Reference[] = [];
  text.split('\n').forEach((lineText, index) => {
    const links = [...lineText.matchAll(LINK)];
    links.forEach((link, i) => {
      const target = link[1];
      if (target === undefined || /^[a-z]+:/.test(target)) return; // https:, mailto:
      const from = (link.index ?? 0) + link[0].length;
      const to = links[i + 1]?.index ?? lineText.length;
      const names = [...lineText.slice(from, to).matchAll(NAME)]
        .map((m) => m[1] ?? '')
        .filter((name) => !/^[a-z]+\.[a-z_]+$/.test(name)); // a config key such as copy.resend_window
      out.push({ doc, line: index + 1, target, names });
    });
  });
  return out;
}

const docs = readdirSync(docsDir).filter((name) => name.endsWith('.md'));
const all = docs.flatMap(references);

t.ok(
  all.filter((r) => r.doc === 'invariants.md' && r.names.length > 0).length >= 20,
  'invariants.md links its invariants to named code',
);

t.test('every linked file exists', async (t) => {
  const missing = all
    .filter((r) => !existsSync(resolve(docsDir, r.target)))
    .map((r) => `docs/${r.doc}:${r.line}: ${r.target}`);
  t.same(missing, []);
});

t.test('every name next to a link to a source file is in that file', async (t) => {
  const missing: string[] = [];
  for (const r of all) {
    const path = resolve(docsDir, r.target);
    if (!/\.(?:ts|mjs|js)$/.test(path) || !existsSync(path)) continue;
    const source = readFileSync(path, 'utf8');
    for (const name of r.names) {
      for (const part of name.split('.')) {
        if (!new RegExp(`\\b${part.replace(/\$/g, '\\$')}\\b`).test(source)) {
          missing.push(`docs/${r.doc}:${r.line}: ${r.target}: ${name}`);
        }
      }
    }
  }
  t.same(missing, []);
});

t.test('every invariant says where it is enforced, with a link', async (t) => {
  const text = readFileSync(join(docsDir, 'invariants.md'), 'utf8');
  const unlinked = text
    .split('\n')
    .map((line, i) => ({ line, n: i + 1 }))
    .filter(({ line }) => line.startsWith('- ') && !/\]\(\.\.\/[^)]+\)/.test(line))
    .map(({ n, line }) => `docs/invariants.md:${n}: ${line.slice(0, 80)}`);
  t.same(unlinked, []);
});
