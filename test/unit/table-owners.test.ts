// The table-ownership check (scripts/table-owners.mjs): a write outside the owning module is named by file,
// line and table; reads, TEMP tables and the owner's own writes pass; a new table without an owner fails.

import t from 'tap';
// @ts-expect-error: a plain .mjs script without type declarations
import { findStrayWrites, schemaTables } from '../../scripts/table-owners.mjs';

const schema = `
export const copyItems = sqliteTable('copy_items', {});
export const events = sqliteTable('events', {});
`;
const owners = { copy_items: 'daemon/copy/repo.ts', events: 'daemon/events.ts' };
const tables = schemaTables(schema);

t.test('the schema tables are read by TypeScript and SQL name', async (t) => {
  t.same(
    [...tables],
    [
      ['copyItems', 'copy_items'],
      ['events', 'events'],
    ],
  );
});

t.test('writes outside the owner are named with file, line and table', async (t) => {
  const files = [
    { path: 'daemon/copy/repo.ts', source: "db.prepare('UPDATE copy_items SET state = 1');" },
    {
      path: 'daemon/plan/phase.ts',
      source: 'const a = 1;\ndb.prepare(`INSERT OR IGNORE INTO copy_items (x) VALUES (1)`);',
    },
    { path: 'daemon/reset.ts', source: 'db.delete(events).run();\nDELETE FROM copy_items' },
    { path: 'daemon/status.ts', source: "db.prepare('SELECT * FROM copy_items'); db.select().from(events);" },
  ];
  t.same(findStrayWrites(files, tables, owners), [
    'daemon/plan/phase.ts:2: copy_items: written outside its owner daemon/copy/repo.ts',
    'daemon/reset.ts:1: events: written outside its owner daemon/events.ts',
    'daemon/reset.ts:2: copy_items: written outside its owner daemon/copy/repo.ts',
  ]);
});

t.test('TEMP tables are anyone’s scratch', async (t) => {
  const files = [
    {
      path: 'daemon/plan/phase.ts',
      source: 'CREATE TEMP TABLE plan_vaults (n); INSERT INTO plan_vaults VALUES (1); DELETE FROM temp.staging',
    },
  ];
  t.same(findStrayWrites(files, tables, owners), []);
});

t.test('a stored table without an owner fails', async (t) => {
  const more = schemaTables(`${schema}\nexport const audits = sqliteTable('audits', {});`);
  t.same(findStrayWrites([], more, owners), ['daemon/store/schema.ts: audits: no owner in scripts/table-owners.mjs']);
});
