// The price table of the cost forecast: AWS Backup storage prices per region, resource type and tier (USD per
// GB-month), and the charges that apply to copies. The daemon ships a default (daemon/cost/default-prices.ts);
// `cost.price_table` in the config names a TOML or JSON file that replaces it. It lives in shared/ because the
// config loader validates the file with the rest of the config, so a bad price fails at start, naming its key.

import { readFileSync } from 'node:fs';
import { parse as parseToml, TomlError } from 'smol-toml';
import { z } from 'zod';

const price = z
  .number({ error: 'expected a price in USD per GB-month (a number)' })
  .nonnegative('expected a price of 0 or more');

const TierPrices = z.strictObject({
  warm: price,
  /** Absent: the type has no cold tier (a lifecycle's cold setting does not apply to it). */
  cold: price.optional(),
});

export const PriceTableSchema = z.strictObject({
  currency: z.literal('USD', { error: 'expected "USD"' }).default('USD'),
  /** When the prices were read, and from where: shown with every cost. */
  read_at: z.string({ error: 'expected the date the prices were read, such as "2026-12-06"' }).min(1),
  source: z.string({ error: 'expected the page the prices were read from' }).min(1),
  /** Which numbers could not be checked against the source, in words. */
  unconfirmed: z.array(z.string()).default([]),
  /** Region name → resource type → tier prices; the region `default` stands in for a region not listed. */
  regions: z.record(
    z.string(),
    z.record(z.string(), TierPrices, { error: 'expected a table of resource types, each with warm (and cold) prices' }),
    { error: 'expected a [regions.NAME.TYPE] table of prices' },
  ),
  copy: z
    .strictObject({
      /** Data transfer per GB copied; 0 within one region (rpcopy copies within one region only). */
      transfer_per_gb: price.default(0),
      /** Cold storage is billed for at least this many days, even when deleted earlier. */
      cold_minimum_days: z.number({ error: 'expected a number of days' }).int().nonnegative().default(90),
    })
    .default({ transfer_per_gb: 0, cold_minimum_days: 90 }),
});
export type PriceTable = z.infer<typeof PriceTableSchema>;

export interface PriceProblem {
  key: string;
  line?: number;
  message: string;
}

/** Parse and validate a price table file; problems name the key inside the file. Throws nothing. */
export function readPriceTable(file: string): { table?: PriceTable; problems: PriceProblem[] } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return { problems: [{ key: '', message: `cannot read the price table (${(err as Error).message})` }] };
  }
  let raw: unknown;
  try {
    raw = file.endsWith('.json') ? JSON.parse(text) : parseToml(text);
  } catch (err) {
    const line = err instanceof TomlError ? err.line : undefined;
    return {
      problems: [
        {
          key: '',
          ...(line ? { line } : {}),
          message: `not valid ${file.endsWith('.json') ? 'JSON' : 'TOML'}: ${(err as Error).message.split('\n')[0]}`,
        },
      ],
    };
  }
  const parsed = PriceTableSchema.safeParse(raw);
  if (!parsed.success) {
    return {
      problems: parsed.error.issues.map((issue) => ({
        key: issue.path.map(String).join('.'),
        message: issue.code === 'unrecognized_keys' ? `unknown key ${issue.keys.join(', ')}` : issue.message,
      })),
    };
  }
  return { table: parsed.data, problems: [] };
}
