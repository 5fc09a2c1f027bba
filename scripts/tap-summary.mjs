// Pipe filter for tap's output: passes everything through and adds the plain
// closing line CI reads ("tap: N passed, N failed, N skipped"). tap's own
// summary counts assertions; so does this line.
// usage: set -o pipefail; npx tap 2>&1 | node scripts/tap-summary.mjs
let tail = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  process.stdout.write(chunk);
  tail = (tail + chunk).slice(-20000);
});
process.stdin.on('end', () => {
  const match = [...tail.matchAll(/^# \{ (total: \d+[^}]*) \}\s*$/gm)].pop();
  const n = Object.fromEntries(
    (match?.[1] ?? '')
      .split(', ')
      .filter(Boolean)
      .map((kv) => {
        const [k, v] = kv.split(': ');
        return [k, Number(v)];
      }),
  );
  console.log(`tap: ${n.pass ?? 0} passed, ${n.fail ?? 0} failed, ${(n.skip ?? 0) + (n.todo ?? 0)} skipped`);
});
