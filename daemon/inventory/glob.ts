// Vault-name patterns from source.vaults: `*` any run of characters, `?` one
// character, everything else literal (vault names may contain `/`, `-`, `_`).

const cache = new Map<string, RegExp>();

function toRegExp(pattern: string): RegExp {
  let regexp = cache.get(pattern);
  if (!regexp) {
    const body = pattern
      .split('')
      .map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[\\^$.+()|[\]{}]/g, '\\$&')))
      .join('');
    regexp = new RegExp(`^${body}$`);
    cache.set(pattern, regexp);
  }
  return regexp;
}

export function matchesAny(name: string, patterns: readonly string[]): boolean {
  return patterns.some((pattern) => toRegExp(pattern).test(name));
}
