// The control API's wire contract: routes and the zod schemas of their
// responses. The daemon builds responses that satisfy these types; rpctl
// parses what it receives with the same schemas, so a drift fails loudly.

import { z } from 'zod';

export const API_VERSION = 'v1';

export const ROUTES = {
  health: '/v1/health',
  status: '/v1/status',
  stop: '/v1/stop',
  config: '/v1/config',
} as const;

export const DAEMON_STATES = ['starting', 'running', 'paused', 'waiting_for_window', 'stopping', 'done'] as const;
export const DaemonState = z.enum(DAEMON_STATES);
export type DaemonState = z.infer<typeof DaemonState>;

/** The pipeline phase the daemon is in; `idle` before the first phase starts. */
export const PHASES = ['idle', 'inventory', 'enrich', 'plan', 'vaults', 'preflight', 'copy', 'done'] as const;
export const Phase = z.enum(PHASES);
export type Phase = z.infer<typeof Phase>;

export const Counts = z.object({
  discovered: z.number().int().nonnegative(),
  skipped: z.number().int().nonnegative(),
  queued: z.number().int().nonnegative(),
  inFlight: z.number().int().nonnegative(),
  completed: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
});
export type Counts = z.infer<typeof Counts>;

export const StatusResponse = z.object({
  state: DaemonState,
  pauseReason: z.string().optional(),
  phase: Phase,
  counts: Counts,
  daemon: z.object({
    pid: z.number().int(),
    version: z.string(),
    startedAt: z.string(),
    uptimeMs: z.number(),
    configFile: z.string(),
    stateDir: z.string(),
    runId: z.number().int(),
  }),
  source: z.object({ accountId: z.string(), region: z.string() }),
  destination: z.object({ accountId: z.string() }),
});
export type StatusResponse = z.infer<typeof StatusResponse>;

export const StopResponse = z.object({ state: DaemonState, message: z.string() });
export type StopResponse = z.infer<typeof StopResponse>;

export const HealthResponse = z.object({ ok: z.literal(true), pid: z.number().int(), version: z.string() });
export type HealthResponse = z.infer<typeof HealthResponse>;

export const ErrorResponse = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
