// The control API: thin hono routes over the daemon's services, served on a
// Unix socket in the state directory (0600 inside a 0700 directory). No TCP.
// Handlers never run long work: they read cheap summaries or flip flags.

import { existsSync, lstatSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { connect } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { Hono } from 'hono';
import { z } from 'zod';
import type {
  ComplianceResponse,
  ConfigResponse,
  CsvProblemsResponse,
  ForecastResponse,
  HealthResponse,
  PauseResponse,
  PlanPointsResponse,
  PlanResponse,
  PreflightResponse,
  ReconcileResponse,
  ReloadResponse,
  ReportPointsResponse,
  ReportSummaryResponse,
  ResetResponse,
  ResumeResponse,
  RetryResponse,
  SetResponse,
  StatusResponse,
  StopResponse,
} from '../shared/api.js';
import { ResetRequest, RetryRequest, ROUTES, SetRequest } from '../shared/api.js';
import { type ApiErrorBody, ERROR_CODES, type ErrorCode, RpcopyError } from '../shared/errors.js';
import type { Logger } from './log.js';

export interface ApiServices {
  health(): HealthResponse;
  status(): StatusResponse;
  stop(): StopResponse;
  /** Verifies refreshed credentials with STS before work restarts: a few seconds at most, never blocking. */
  resume(): Promise<ResumeResponse>;
  /** The running config key by key, against the config file as it is now (a small file read). */
  config(): ConfigResponse;
  /** Re-read and validate the config file and apply what changes live (synchronous, a small file read). */
  reload(): ReloadResponse;
  /** Scans the whole plan on a read worker, so the main thread stays free however large the plan. */
  plan(): Promise<PlanResponse>;
  planPoints(query: PlanPointsQuery): PlanPointsResponse;
  /** One page of the metadata CSV's problems in line order (a scan of the load's problems). */
  csvProblems(query: CsvProblemsQuery): CsvProblemsResponse;
  /** Runs the checks now (read-only AWS calls, a few seconds): not a cheap read, but it never blocks. */
  preflight(): Promise<PreflightResponse>;
  compliance(): Promise<ComplianceResponse>;
  /** The operator's pause: closes the gate (a flag), never waits. */
  pause(): PauseResponse;
  /** rpctl reset: one transaction, then the pipeline runs again. */
  reset(request: { target: string; vault?: string | undefined }): ResetResponse;
  /** Live re-tuning: validates, stores and applies one setting, or lifts it (`clear`). */
  set(request: { key: string; value: string } | { key: string; clear: true }): SetResponse;
  /** The forecast: one GROUP BY over the open items, on demand only and cached until the next commit; its cost
   * section reads on a worker thread. */
  forecast(): Promise<ForecastResponse>;
  /** Requeue the failed points of one failure reason (a short transaction). */
  retry(request: { reason: string }): RetryResponse;
  /** Lists copy jobs and destination vaults (read-only AWS calls): seconds to minutes at scale, never blocking. */
  reconcile(): Promise<ReconcileResponse>;
  /** One page of the per-point report (one indexed read). */
  reportPoints(query: ReportPointsQuery): ReportPointsResponse;
  /** The report's aggregates, computed on a worker thread (a scan of every point), never blocking. */
  reportSummary(): Promise<ReportSummaryResponse>;
  /** A text/event-stream for rpctl watch (daemon/watch.ts): a snapshot, a status every second, journal records. */
  watch(): Response;
}

/** A page's size in the paged listings (plan points, CSV problems, report points). */
const PageLimit = z.coerce
  .number({ error: 'limit: expected a number' })
  .int()
  .min(1, 'limit: expected at least 1')
  .max(10_000, 'limit: expected at most 10000')
  .default(1000);

const PlanPointsQuery = z.strictObject({
  reason: z.string().min(1).optional(),
  after: z.coerce.number({ error: 'after: expected a point id' }).int().nonnegative().default(0),
  limit: PageLimit,
});
export type PlanPointsQuery = z.infer<typeof PlanPointsQuery>;

const CsvProblemsQuery = z.strictObject({
  afterLine: z.coerce.number({ error: 'afterLine: expected a line number' }).int().optional(),
  afterId: z.coerce.number({ error: 'afterId: expected a problem id' }).int().nonnegative().optional(),
  limit: PageLimit,
});
export type CsvProblemsQuery = z.infer<typeof CsvProblemsQuery>;

// The same keyset paging as plan points, without the reason filter.
const ReportPointsQuery = PlanPointsQuery.omit({ reason: true });
export type ReportPointsQuery = z.infer<typeof ReportPointsQuery>;

function badRequest(error: z.ZodError): RpcopyError {
  return new RpcopyError(
    'BAD_REQUEST',
    error.issues.map((i) => `${i.path.join('.') || 'query'}: ${i.message}`).join('; '),
  );
}

const STATUS_OF: Partial<Record<ErrorCode, 400 | 404 | 409 | 503>> = {
  BAD_REQUEST: 400,
  CONFIG_INVALID: 400,
  NOT_FOUND: 404,
  SHUTTING_DOWN: 503,
  WINDOW_CLOSED: 409,
};

function errorBody(code: ErrorCode, message: string): ApiErrorBody {
  return { error: { code, message } };
}

export function buildApi(services: ApiServices, log: Logger): Hono {
  const app = new Hono();
  app.get(ROUTES.health, (c) => c.json(services.health()));
  app.get(ROUTES.status, (c) => c.json(services.status()));
  app.post(ROUTES.stop, (c) => c.json(services.stop(), 202));
  app.post(ROUTES.resume, async (c) => c.json(await services.resume()));
  app.get(ROUTES.config, (c) => c.json(services.config()));
  app.post(ROUTES.reload, (c) => c.json(services.reload()));
  app.get(ROUTES.plan, async (c) => c.json(await services.plan()));
  app.get(ROUTES.planPoints, (c) => {
    const query = PlanPointsQuery.safeParse(c.req.query());
    if (!query.success) throw badRequest(query.error);
    return c.json(services.planPoints(query.data));
  });
  app.get(ROUTES.csvProblems, (c) => {
    const query = CsvProblemsQuery.safeParse(c.req.query());
    if (!query.success) throw badRequest(query.error);
    return c.json(services.csvProblems(query.data));
  });
  app.post(ROUTES.preflight, async (c) => c.json(await services.preflight()));
  app.get(ROUTES.compliance, async (c) => c.json(await services.compliance()));
  app.get(ROUTES.forecast, async (c) => c.json(await services.forecast()));
  app.post(ROUTES.pause, (c) => c.json(services.pause()));
  app.post(ROUTES.reset, async (c) => {
    const body = ResetRequest.safeParse(await c.req.json().catch(() => undefined));
    if (!body.success) throw badRequest(body.error);
    return c.json(services.reset(body.data));
  });
  app.post(ROUTES.settings, async (c) => {
    const body = SetRequest.safeParse(await c.req.json().catch(() => undefined));
    if (!body.success) throw badRequest(body.error);
    return c.json(services.set(body.data));
  });
  app.post(ROUTES.retry, async (c) => {
    const body = RetryRequest.safeParse(await c.req.json().catch(() => undefined));
    if (!body.success) throw badRequest(body.error);
    return c.json(services.retry(body.data));
  });
  app.post(ROUTES.reconcile, async (c) => c.json(await services.reconcile()));
  app.get(ROUTES.reportPoints, (c) => {
    const query = ReportPointsQuery.safeParse(c.req.query());
    if (!query.success) throw badRequest(query.error);
    return c.json(services.reportPoints(query.data));
  });
  app.get(ROUTES.reportSummary, async (c) => c.json(await services.reportSummary()));
  app.get(ROUTES.watch, () => services.watch());
  app.notFound((c) => c.json(errorBody('NOT_FOUND', `no route ${c.req.method} ${new URL(c.req.url).pathname}`), 404));
  app.onError((err, c) => {
    if (err instanceof RpcopyError && err.code in ERROR_CODES) {
      return c.json(errorBody(err.code, err.message), STATUS_OF[err.code] ?? 500);
    }
    log.error('control API handler failed', { route: new URL(c.req.url).pathname, error: err });
    return c.json(errorBody('INTERNAL', 'internal error; see the daemon log'), 500);
  });
  return app;
}

/** True when something answers on the socket (a live daemon), false when the path is dead. */
function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

/**
 * Listen on the Unix socket. A leftover socket from a killed daemon is removed,
 * but only after a failed connect and only if the path really is a socket.
 */
export async function listenOnSocket(app: Hono, path: string): Promise<Server> {
  if (existsSync(path)) {
    if (!lstatSync(path).isSocket()) {
      throw new RpcopyError('DAEMON_ALREADY_RUNNING', `${path} exists and is not a socket; remove it by hand`);
    }
    if (await socketAnswers(path)) {
      throw new RpcopyError('DAEMON_ALREADY_RUNNING', `a daemon already answers on ${path}`);
    }
    rmSync(path);
  }
  const server = createAdaptorServer({ fetch: app.fetch, hostname: 'localhost' }) as Server;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // The socket file is created inside listen(): a umask around the call makes it 0600 with no window.
    const previous = process.umask(0o177);
    try {
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    } finally {
      process.umask(previous);
    }
  });
  return server;
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
