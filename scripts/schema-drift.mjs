// Fails when daemon/store/schema.ts has changes that no migration in drizzle/
// captures: drizzle-kit generate must find nothing new to write.
import { execFileSync } from 'node:child_process';

const out = execFileSync('npx', ['drizzle-kit', 'generate', '--name', 'drift-check'], { encoding: 'utf8' });
if (!/No schema changes/.test(out)) {
  execFileSync('git', ['checkout', '--', 'drizzle'], { stdio: 'inherit' });
  execFileSync('git', ['clean', '-fdq', 'drizzle'], { stdio: 'inherit' });
  console.error(
    `schema drift: daemon/store/schema.ts differs from drizzle/ migrations; run npm run db:generate\n${out}`,
  );
  process.exit(1);
}
console.log('schema: no drift');
