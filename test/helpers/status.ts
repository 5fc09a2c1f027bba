// A daemon status as rpctl receives it, for the unit tests of what rpctl status and rpctl watch print.

import type { CopyStatus, StatusResponse } from '../../shared/api.js';

/** The copy engine's part of a status: quiet (nothing started, no sweep yet) unless overridden. */
export function copyStatus(overrides: Partial<CopyStatus> = {}): CopyStatus {
  return {
    inFlightLimit: 10,
    window: 10,
    maxInFlight: 100,
    learnedQuota: null,
    awsInFlight: null,
    lastSweepAt: null,
    startedThisRun: 0,
    finishedThisRun: 0,
    verifiedThisRun: 0,
    quotaRejections: 0,
    throttled: 0,
    canaries: { pending: 0, probing: 0, open: 0, failed: 0 },
    meanJobSeconds: null,
    topFailures: [],
    retrying: [],
    ...overrides,
  };
}

/** A running daemon in its copy phase, three vaults listed, without a copy part unless overridden. */
export function daemonStatus(overrides: Partial<StatusResponse> = {}): StatusResponse {
  return {
    state: 'running',
    phase: 'copy',
    counts: { discovered: 100, skipped: 20, queued: 40, inFlight: 5, completed: 30, failed: 5 },
    inventory: { vaultsSelected: 3, vaultsDone: 3, pages: 9 },
    daemon: {
      pid: 1,
      version: '0.1.0',
      startedAt: '2026-01-01T00:00:00.000Z',
      uptimeMs: 60_000,
      configFile: '/c.toml',
      stateDir: '/s',
      runId: 1,
    },
    source: { accountId: '111111111111', region: 'eu-west-2' },
    destination: { accountId: '222222222222' },
    ...overrides,
  };
}
