// Live re-tuning without a restart (`rpctl set KEY VALUE`): validated here, applied by the daemon, kept in the
// settings table so a restart keeps them, and recorded in the event log by the caller.

import { parseDuration } from '../shared/duration.js';
import { RpcopyError } from '../shared/errors.js';
import type { Store } from './store/store.js';

const SETTING_KEYS = {
  'max-in-flight': 'ceiling on concurrent copy jobs (overrides copy.max_in_flight), 1-10000',
  drain: 'no new copy job starts this long before the run ends (overrides window.drain), e.g. 45m; 0 turns it off',
} as const;

export type SettingKey = keyof typeof SETTING_KEYS;
export type SettingValue = { key: 'max-in-flight'; value: number } | { key: 'drain'; value: number };

/** A setting's name as the operator gives it; an unknown one names the settings there are. */
export function parseSettingKey(key: string): SettingKey {
  if (Object.hasOwn(SETTING_KEYS, key)) return key as SettingKey;
  throw new RpcopyError(
    'BAD_REQUEST',
    `key: unknown setting ${JSON.stringify(key)}; expected one of ${Object.keys(SETTING_KEYS).join(', ')}`,
  );
}

/** Parse an operator's value; errors name the key and what is expected. */
export function parseSetting(name: string, raw: string): SettingValue {
  const key = parseSettingKey(name);
  if (key === 'max-in-flight') {
    const n = Number(raw);
    if (!/^\d+$/.test(raw.trim()) || !Number.isInteger(n) || n < 1 || n > 10_000) {
      throw new RpcopyError(
        'BAD_REQUEST',
        `max-in-flight: expected a whole number from 1 to 10000, got ${JSON.stringify(raw)}`,
      );
    }
    return { key, value: n };
  }
  const ms = raw.trim() === '0' ? 0 : parseDuration(raw.trim());
  if (ms === undefined || ms < 0) {
    throw new RpcopyError(
      'BAD_REQUEST',
      `drain: expected a duration such as 30m or 1h30m (0 for none), got ${JSON.stringify(raw)}`,
    );
  }
  return { key, value: ms };
}

/** One row of the settings table, as JSON: the operator's settings and the daemon's own small records. */
export function readSettingRow<T>(store: Store, key: string): T | undefined {
  const row = store.sqlite.prepare<[string], { value: string }>('SELECT value FROM settings WHERE key = ?').get(key);
  return row ? (JSON.parse(row.value) as T) : undefined;
}

export function writeSettingRow(store: Store, key: string, value: unknown, now = Date.now()): void {
  store.sqlite
    .prepare(
      `INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
    )
    .run(key, JSON.stringify(value), now);
}

export function saveSetting(store: Store, setting: SettingValue): void {
  writeSettingRow(store, setting.key, setting.value);
}

/** Remove the operator's setting; false when there was none. */
export function deleteSetting(store: Store, key: SettingKey): boolean {
  return store.sqlite.prepare('DELETE FROM settings WHERE key = ?').run(key).changes > 0;
}

export function loadSettings(store: Store): SettingValue[] {
  const rows = store.sqlite.prepare<[], { key: string; value: string }>('SELECT key, value FROM settings').all();
  return rows.flatMap((r) => {
    if (r.key !== 'max-in-flight' && r.key !== 'drain') return [];
    const value = JSON.parse(r.value) as unknown;
    return typeof value === 'number' ? [{ key: r.key, value } as SettingValue] : [];
  });
}

export interface LiveSettingsTargets {
  /** The copy engine's ceiling (absent without a copy phase). */
  copy?: { setMaxInFlight(n: number): void };
  /** window.drain as configured now (rpctl reload may change it), used until the operator sets one. */
  configuredDrainMs(): number;
  /** Apply a new drain to the run in progress. */
  setDrain(drainMs: number): void;
}

/** The operator's settings in effect: applied where they act, and the drain as the run loop reads it. */
export class LiveSettings {
  private drainOverrideMs: number | undefined;

  constructor(private readonly targets: LiveSettingsTargets) {}

  /** The drain at the next run start: the operator's, else window.drain. */
  drainMs(): number {
    return this.drainOverrideMs ?? this.targets.configuredDrainMs();
  }

  apply(setting: SettingValue): void {
    if (setting.key === 'max-in-flight') this.targets.copy?.setMaxInFlight(setting.value);
    else {
      this.drainOverrideMs = setting.value;
      this.targets.setDrain(setting.value);
    }
  }

  /** Lift the operator's setting: the config's value (`configuredMaxInFlight`, window.drain) applies again. */
  clear(key: SettingKey, configuredMaxInFlight: number): SettingValue {
    if (key === 'max-in-flight') {
      this.targets.copy?.setMaxInFlight(configuredMaxInFlight);
      return { key, value: configuredMaxInFlight };
    }
    this.drainOverrideMs = undefined;
    const drainMs = this.targets.configuredDrainMs();
    this.targets.setDrain(drainMs);
    return { key, value: drainMs };
  }
}

// The first start of work in the current window occurrence, so that window.max_runtime caps the work per
// occurrence across restarts. One row of the settings table, outside SETTING_KEYS: rpctl set cannot change it.
const WINDOW_RUN_KEY = 'window-run';

/** When work first started in the window occurrence that opened at `openedAt`, if it did. */
export function windowRunStart(store: Store, openedAt: number): number | undefined {
  const recorded = readSettingRow<{ openedAt?: unknown; startedAt?: unknown }>(store, WINDOW_RUN_KEY);
  return recorded?.openedAt === openedAt && typeof recorded.startedAt === 'number' ? recorded.startedAt : undefined;
}

/**
 * The recorded first start of the occurrence that opened at `openedAt`, or `now` recorded as its start
 * (replacing an earlier occurrence's row), in one transaction.
 */
export function claimWindowRunStart(store: Store, openedAt: number, now: number): number {
  const { sqlite } = store;
  return sqlite
    .transaction((): number => {
      const recorded = windowRunStart(store, openedAt);
      if (recorded !== undefined) return recorded;
      writeSettingRow(store, WINDOW_RUN_KEY, { openedAt, startedAt: now }, now);
      return now;
    })
    .immediate();
}
