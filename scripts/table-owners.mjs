// Each stored table has one owning module, the only place in daemon/ that writes it (npm run owners, part of
// npm run gate). Writes are SQL INSERT/REPLACE/UPDATE/DELETE statements and drizzle's insert/update/delete;
// TEMP tables are a connection's scratch and belong to whoever creates them.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const OWNERS = {
  store_meta: 'daemon/store/store.ts',
  runs: 'daemon/events.ts',
  events: 'daemon/events.ts',
  event_rollups: 'daemon/events.ts',
  settings: 'daemon/settings.ts',
  source_vaults: 'daemon/inventory/repo.ts',
  recovery_points: 'daemon/inventory/repo.ts',
  kms_keys: 'daemon/inventory/repo.ts',
  metadata_sources: 'daemon/enrich/repo.ts',
  metadata_rows: 'daemon/enrich/repo.ts',
  metadata_problems: 'daemon/enrich/repo.ts',
  copy_items: 'daemon/copy/repo.ts',
  copy_attempts: 'daemon/copy/repo.ts',
  copy_combos: 'daemon/copy/repo.ts',
  copy_checkpoints: 'daemon/copy/repo.ts',
  destination_vaults: 'daemon/vaults/repo.ts',
};

const SQL_WRITE =
  /\b(?:INSERT(?:\s+OR\s+\w+)?\s+INTO|REPLACE\s+INTO|UPDATE(?:\s+OR\s+\w+)?|DELETE\s+FROM)\s+([a-z_][a-z0-9_.]*)/g;
const DRIZZLE_WRITE = /\.(?:insert|update|delete)\(\s*(?:schema\.)?([a-zA-Z_]\w*)\s*\)/g;
const TEMP_TABLE = /\bCREATE\s+TEMP(?:ORARY)?\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(?:temp\.)?([a-z_]\w*)/gi;
const SCHEMA_TABLE = /export const (\w+) = sqliteTable\(\s*'(\w+)'/g;

/** The stored tables of the schema, by their TypeScript name and their SQL name. */
export function schemaTables(schemaSource) {
  return new Map([...schemaSource.matchAll(SCHEMA_TABLE)].map((m) => [m[1], m[2]]));
}

/** Every write in `files` ({path, source}) to a table its file does not own, as `path:line: table: reason`. */
export function findStrayWrites(files, tables, owners = OWNERS) {
  const sqlNames = new Set(tables.values());
  const problems = [];
  for (const name of sqlNames) {
    if (!owners[name]) problems.push(`daemon/store/schema.ts: ${name}: no owner in scripts/table-owners.mjs`);
  }
  const temp = new Set(files.flatMap(({ source }) => [...source.matchAll(TEMP_TABLE)].map((m) => m[1])));
  for (const { path, source } of files) {
    if (path === 'daemon/store/schema.ts') continue;
    const lineOf = (index) => source.slice(0, index).split('\n').length;
    const writes = [
      ...[...source.matchAll(SQL_WRITE)].map((m) => ({ table: m[1], index: m.index })),
      ...[...source.matchAll(DRIZZLE_WRITE)]
        .filter((m) => tables.has(m[1]))
        .map((m) => ({ table: tables.get(m[1]), index: m.index })),
    ].sort((a, b) => a.index - b.index);
    for (const { table, index } of writes) {
      if (table.startsWith('temp.') || temp.has(table)) continue;
      if (!sqlNames.has(table)) continue; // a word after UPDATE in prose, or a table of another database
      if (owners[table] !== path) {
        problems.push(`${path}:${lineOf(index)}: ${table}: written outside its owner ${owners[table]}`);
      }
    }
  }
  return problems;
}

function listTs(dir) {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = join(fileURLToPath(import.meta.url), '..', '..');
  const files = listTs(join(root, 'daemon')).map((file) => ({
    path: relative(root, file),
    source: readFileSync(file, 'utf8'),
  }));
  const tables = schemaTables(readFileSync(join(root, 'daemon/store/schema.ts'), 'utf8'));
  const problems = findStrayWrites(files, tables);
  if (problems.length > 0) {
    console.error(`table owners: ${problems.length} write(s) outside the owning module\n${problems.join('\n')}`);
    process.exit(1);
  }
  console.log(`table owners: ${tables.size} tables, each written only by its owner`);
}
