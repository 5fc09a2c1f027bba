// The shipped price table and the lookup of one region's prices. Nothing is fetched at run time: the operator
// replaces the table with `cost.price_table` (shared/prices.ts), and docs/cost.md says where each number is from.

import { type Config, ConfigError } from '../../shared/config.js';
import { RpcopyError } from '../../shared/errors.js';
import { type PriceTable, readPriceTable } from '../../shared/prices.js';

const US_EAST_1 = {
  EBS: { warm: 0.05, cold: 0.0125 },
  EC2: { warm: 0.05 },
  RDS: { warm: 0.095 },
  Aurora: { warm: 0.021 },
  S3: { warm: 0.05 },
  EFS: { warm: 0.05, cold: 0.01 },
  DynamoDB: { warm: 0.1, cold: 0.03 },
  FSx: { warm: 0.05 },
};

export const DEFAULT_PRICES: PriceTable = {
  currency: 'USD',
  read_at: '2026-12-06',
  source: 'https://aws.amazon.com/backup/pricing/ (US East (N. Virginia)); see docs/cost.md',
  unconfirmed: [
    'every number: the AWS pricing page renders its tables with JavaScript and they were read from summaries of it (docs/cost.md lists them); check them against the page before quoting a figure',
    'regions other than us-east-1 use the us-east-1 prices (the "default" region): most regions cost more',
  ],
  regions: { 'us-east-1': US_EAST_1, default: US_EAST_1 },
  copy: { transfer_per_gb: 0, cold_minimum_days: 90 },
};

export interface RegionPrices {
  /** The table's region used: the configured one, or `default`. */
  region: string;
  prices: PriceTable['regions'][string];
}

export function pricesFor(table: PriceTable, region: string): RegionPrices | undefined {
  const own = table.regions[region];
  if (own) return { region, prices: own };
  const fallback = table.regions.default;
  return fallback ? { region: 'default', prices: fallback } : undefined;
}

/** The table in use: the config's cost.price_table (validated when the config was loaded), else the shipped one. */
export function loadPrices(config: Config): { table: PriceTable; tableFile: string | null } {
  const file = config.cost.priceTable;
  if (!file) return { table: DEFAULT_PRICES, tableFile: null };
  const { table, problems } = readPriceTable(file);
  // Checked when the config was loaded; a file edited since then fails this forecast with its key, not the daemon.
  if (!table) {
    const error = new ConfigError(
      config.file,
      problems.map((p) => ({ key: 'cost.price_table', message: `${file}: ${p.key ? `${p.key}: ` : ''}${p.message}` })),
    );
    throw new RpcopyError('CONFIG_INVALID', error.message);
  }
  return { table, tableFile: file };
}
