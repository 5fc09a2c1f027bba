// Reloading the config while the daemon runs (`rpctl reload`, SIGHUP), and showing the config it runs
// (`rpctl config show`).
//
// Guarantees: a reload reads the file the daemon started with through the same path as start-up (file,
// the daemon's environment, its start-up flags) and validates all of it before changing anything; a file that
// does not validate changes nothing. A changed key is applied only if it is in LIVE_KEYS: those are read at
// each use from the running Config (which a reload updates in place) or have a setter called here. Every
// other key keeps its running value and is reported as needing a restart. Nothing is written to the store but
// the journal record; a crash mid-reload leaves nothing to repair (the next start reads the file anyway).
//
// Why the rest needs a restart: the accounts, profiles, region, state directory and vault mapping are what
// the store and its checks were opened for; the copy role and destination key were checked by the preflight
// before the first write; the CSV, its columns and the APMID filter decided the plan (a restart plans again
// at once); max runtime is a budget counted under the value a run started with; the worker, inventory and
// rate settings size objects built at start-up; the log level and progress interval set up the logger and a
// timer.

import { resolve } from 'node:path';
import type { ConfigResponse, ReloadResponse } from '../shared/api.js';
import { type Config, ConfigError, type ConfigOverrides, loadConfig } from '../shared/config.js';
import { configValues, durationText, type KeyValue, sameValue, VIEW_KEYS } from '../shared/config-view.js';
import { RpcopyError } from '../shared/errors.js';
import type { EventJournal } from './events.js';
import { loadSettings } from './settings.js';
import type { Store } from './store/store.js';

/** What a reload may call to make a changed key take effect; the daemon provides them. */
export interface ReloadHooks {
  /** The in-flight limit's ceiling (absent without a copy phase: dry run, --no-copy). */
  setMaxInFlight?(n: number): void;
  /** The drain of the run in progress (later runs read it from the config). */
  setDrain(ms: number): void;
  /** The notifier's channels. */
  setNotify(channels: { desktop: boolean; command?: string }): void;
  /** The change window's schedule was replaced in the running config: the run loop looks at it again. */
  setSchedule(): void;
}

/** A setter a changed key needs; run once per reload however many of its keys changed. */
type Effect = (running: Config, hooks: ReloadHooks, overridden: boolean) => void;

interface LiveKey {
  /** When the new value is used, for the operator. */
  note: string;
  /** Copy the key from `next` into the running config (the phases read it there at each use). */
  apply(running: Config, next: Config): void;
  effect?: Effect;
}

const copyField =
  (field: 'expiryMarginMs' | 'listingLagMs' | 'resendWindowMs') =>
  (running: Config, next: Config): void => {
    running.copy[field] = next.copy[field];
  };

const notifyChannels = (running: Config, next: Config): void => {
  running.notify.desktop = next.notify.desktop;
  if (next.notify.command === undefined) delete running.notify.command;
  else running.notify.command = next.notify.command;
};
const notifyEffect: Effect = (running, hooks) => hooks.setNotify({ ...running.notify });

// The four keys of the schedule are validated together, so they are applied together, in place: the change
// window holds this object.
const schedule = (running: Config, next: Config): void => {
  for (const key of ['start', 'stop', 'days', 'timezone'] as const) {
    if (next.window[key] === undefined) delete running.window[key];
    else Object.assign(running.window, { [key]: next.window[key] });
  }
};
const scheduleEffect: Effect = (_running, hooks) => hooks.setSchedule();
const scheduleKey: LiveKey = {
  note: 'now: the run loop follows the new window (a run outside it stops claiming work)',
  apply: schedule,
  effect: scheduleEffect,
};

/** The keys a reload applies while the daemon runs; every other key needs a restart. */
export const LIVE_KEYS: Readonly<Record<string, LiveKey>> = {
  'copy.max_in_flight': {
    note: 'the ceiling on concurrent copy jobs, now',
    apply(running, next) {
      running.copy.maxInFlight = next.copy.maxInFlight;
    },
    effect(running, hooks, overridden) {
      if (!overridden) hooks.setMaxInFlight?.(running.copy.maxInFlight);
    },
  },
  'copy.expiry_margin': { note: 'from the next plan and the next copy claim', apply: copyField('expiryMarginMs') },
  'copy.listing_lag': {
    note: 'from the next verification, job lookup and unknown-outcome check',
    apply: copyField('listingLagMs'),
  },
  'copy.resend_window': { note: 'from the next unknown-outcome check', apply: copyField('resendWindowMs') },
  'window.start': scheduleKey,
  'window.stop': scheduleKey,
  'window.days': scheduleKey,
  'window.timezone': scheduleKey,
  'window.drain': {
    note: 'the run in progress and every later one',
    apply(running, next) {
      // In place: the change window reads this object.
      if (next.window.drainMs === undefined) delete running.window.drainMs;
      else running.window.drainMs = next.window.drainMs;
    },
    effect(running, hooks, overridden) {
      if (!overridden) hooks.setDrain(running.window.drainMs ?? 0);
    },
  },
  'notify.desktop': { note: 'from the next operator event', apply: notifyChannels, effect: notifyEffect },
  'notify.command': { note: 'from the next operator event', apply: notifyChannels, effect: notifyEffect },
  'compliance.require_vault_lock': {
    note: 'from the next compliance check',
    apply(running, next) {
      running.compliance.requireVaultLock = next.compliance.requireVaultLock;
    },
  },
  'compliance.min_retention_days': {
    note: 'from the next compliance check',
    apply(running, next) {
      running.compliance.minRetentionDays = next.compliance.minRetentionDays;
    },
  },
  'cost.price_table': {
    note: 'from the next rpctl forecast --cost',
    apply(running, next) {
      if (next.cost.priceTable === undefined) delete running.cost.priceTable;
      else running.cost.priceTable = next.cost.priceTable;
    },
  },
  'daemon.shutdown_timeout': {
    note: 'from the next stop (a systemd unit keeps its own stop timeout: rpctl service install rewrites it)',
    apply(running, next) {
      running.daemon.shutdownTimeoutMs = next.daemon.shutdownTimeoutMs;
    },
  },
};

/** rpctl set's settings (daemon/settings.ts) and the config key each one overrides. */
const OVERRIDDEN_KEY = { 'max-in-flight': 'copy.max_in_flight', drain: 'window.drain' } as const;

/** The rpctl set overrides in force, by the config key they win over. */
function overridesByKey(store: Store): Map<string, { setting: string; value: string }> {
  const found = new Map<string, { setting: string; value: string }>();
  for (const s of loadSettings(store)) {
    found.set(OVERRIDDEN_KEY[s.key], {
      setting: s.key,
      value: s.key === 'drain' ? durationText(s.value) : String(s.value),
    });
  }
  return found;
}

export interface ReloaderOptions {
  /** The running config: a reload updates its live keys in place (the phases hold this object). */
  config: Config;
  /** The start-up flags that override the file (rpcopyd --state-dir). */
  overrides: ConfigOverrides;
  env?: NodeJS.ProcessEnv;
  store: Store;
  journal: EventJournal;
  startedAt: Date;
  hooks: ReloadHooks;
  now?: () => Date;
}

export interface Reloader {
  /** Re-read, validate and apply; throws CONFIG_INVALID (changing nothing) when the file does not validate. */
  reload(trigger: string): ReloadResponse;
  /** The running config key by key, against the file as it is now. */
  show(): ConfigResponse;
}

export function createReloader(options: ReloaderOptions): Reloader {
  const { config: running, overrides, store, journal, hooks } = options;
  const env = options.env ?? process.env;
  const now = options.now ?? (() => new Date());
  let reloadedAt: Date | undefined;
  // Read as at start-up (a relative --config is relative to the daemon's working directory), shown absolute.
  const shownFile = resolve(running.file);
  const readFile = (): Config => loadConfig(running.file, overrides, env);

  const reload = (trigger: string): ReloadResponse => {
    let next: Config;
    try {
      next = readFile();
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      const message = `${err.message}\nconfig not reloaded: nothing changed, rpcopyd runs the config it had`;
      journal.record('warn', 'config.reload_refused', message, {
        trigger,
        file: shownFile,
        problems: err.problems.map(({ key, line }) => ({ key, line: line ?? null })),
      });
      throw new RpcopyError('CONFIG_INVALID', message);
    }
    const before = configValues(running);
    const after = configValues(next);
    const overridden = overridesByKey(store);
    const answer: ReloadResponse = {
      file: shownFile,
      trigger,
      applied: [],
      needsRestart: [],
      overridden: [],
      unchanged: [],
      message: '',
    };
    const effects = new Map<Effect, boolean>();
    for (const key of VIEW_KEYS) {
      const from = before[key] as KeyValue;
      const to = after[key] as KeyValue;
      if (sameValue(from, to)) {
        answer.unchanged.push(key);
        continue;
      }
      const live = LIVE_KEYS[key];
      if (!live) {
        answer.needsRestart.push({ key, from, to });
        continue;
      }
      const override = overridden.get(key);
      live.apply(running, next);
      if (live.effect && !effects.has(live.effect)) effects.set(live.effect, override !== undefined);
      answer.applied.push({ key, from, to, note: live.note });
      if (override) answer.overridden.push({ key, ...override });
    }
    // After every key is in place: a schedule and its drain are applied as one.
    for (const [effect, isOverridden] of effects) effect(running, hooks, isOverridden);
    if (answer.applied.length > 0) reloadedAt = now();
    answer.message = reloadMessage(answer);
    journal.record(answer.needsRestart.length > 0 ? 'warn' : 'info', 'config.reloaded', answer.message, {
      trigger,
      file: shownFile,
      applied: answer.applied.map((c) => c.key),
      needsRestart: answer.needsRestart.map((c) => c.key),
      overridden: answer.overridden.map((o) => o.key),
    });
    return answer;
  };

  const show = (): ConfigResponse => {
    const values = configValues(running);
    let fileValues: Record<string, KeyValue> | undefined;
    let fileError: string | null = null;
    try {
      fileValues = configValues(readFile());
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      fileError = err.message;
    }
    const overridden = overridesByKey(store);
    return {
      file: shownFile,
      pid: process.pid,
      startedAt: options.startedAt.toISOString(),
      reloadedAt: reloadedAt?.toISOString() ?? null,
      config: { ...running },
      keys: VIEW_KEYS.map((key) => {
        const value = values[key] as KeyValue;
        const override = overridden.get(key);
        return {
          key,
          value,
          ...(fileValues ? { file: fileValues[key] as KeyValue } : {}),
          differs: fileValues ? !sameValue(value, fileValues[key] as KeyValue) : false,
          apply: LIVE_KEYS[key] ? ('live' as const) : ('restart' as const),
          ...(override ? { overriddenBy: override } : {}),
        };
      }),
      fileError,
    };
  };

  return { reload, show };
}

/** One line for the journal and the log; rpctl prints the lists itself. */
function reloadMessage(a: ReloadResponse): string {
  const parts = [
    a.applied.length > 0 ? `applied ${a.applied.map((c) => c.key).join(', ')}` : 'nothing to apply',
    ...(a.needsRestart.length > 0
      ? [`not applied (restart rpcopyd to apply): ${a.needsRestart.map((c) => c.key).join(', ')}`]
      : []),
    ...(a.overridden.length > 0
      ? [
          `still overridden by rpctl set: ${a.overridden.map((o) => `${o.key} (${o.setting} ${o.value})`).join(', ')}` +
            ' (rpctl set KEY --clear lifts it)',
        ]
      : []),
    `${a.unchanged.length} keys unchanged`,
  ];
  return `config reloaded from ${a.file} (${a.trigger}): ${parts.join('; ')}`;
}
