/**
 * The HTTP front end: one node:http server on 127.0.0.1 that the real AWS SDK
 * and CLI talk to (AWS_ENDPOINT_URL / --endpoint-url). Requests are routed by
 * the service in the SigV4 credential scope; each passes through the same
 * pipeline AWS applies: authenticate (signature, key, token expiry), authorise
 * (configured IAM denials), rate-limit, then the operation. Paths under
 * /__sandbox/ are the admin API (no AWS operation uses that prefix).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleAdmin } from './admin.js';
import { BACKUP_ROUTES } from './backup-ops.js';
import type { IssuedCredential } from './credentials.js';
import { AwsError, backupErr } from './errors.js';
import { IAM_NS, iamDecision, iamOperation, STS_NS, stsOperation } from './iam-sts.js';
import { json11Operation, sendJson11, sendJson11Error } from './json11.js';
import { kmsOperation, organizationsOperation } from './kms-orgs.js';
import { parseQueryParams, sendQueryError, sendQueryResult } from './query.js';
import { matchRoute, sendRestJson, sendRestJsonError } from './rest-json.js';
import { Sandbox, type SandboxOptions } from './sandbox.js';
import { headerValue, parseAuthorization, verifySignature } from './sigv4.js';
import type { Account } from './world.js';

type Protocol = 'rest-json' | 'query' | 'json';

const SERVICES: Record<string, { protocol: Protocol; namespace?: string }> = {
  backup: { protocol: 'rest-json' },
  sts: { protocol: 'query', namespace: STS_NS },
  iam: { protocol: 'query', namespace: IAM_NS },
  kms: { protocol: 'json' },
  organizations: { protocol: 'json' },
};

const MAX_BODY = 16 * 1024 * 1024;

export interface SandboxHandle {
  url: string;
  port: number;
  adminUrl: string;
  region: string;
  accounts: { source: string; destination: string };
  sandbox: Sandbox;
  /** The newest credential of an account ('source', 'destination' or an id). */
  credentialsFor(account: string): IssuedCredential;
  close(): Promise<void>;
}

export async function startSandbox(options: SandboxOptions = {}): Promise<SandboxHandle> {
  const sandbox = new Sandbox(options);
  const server = createServer((req, res) => {
    handle(sandbox, req, res).catch((err: unknown) => {
      // A bug in the sandbox: answer 500 rather than hang the client, and say what it was.
      process.stderr.write(`sandbox: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ __type: 'InternalFailure', message: String(err) }));
      } else res.destroy();
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(sandbox.options.port, sandbox.options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const timer = setInterval(() => sandbox.tickAutoRotate(), 250);
  timer.unref();
  const port = (server.address() as AddressInfo).port;
  const url = `http://${sandbox.options.host}:${port}`;
  return {
    url,
    port,
    adminUrl: `${url}/__sandbox`,
    region: sandbox.options.region,
    accounts: { source: sandbox.world.source.id, destination: sandbox.world.dest.id },
    sandbox,
    credentialsFor: (account) => {
      const id = sandbox.account(account).id;
      return sandbox.current.get(id) as IssuedCredential;
    },
    close: () => closeServer(server, timer),
  };
}

function closeServer(server: Server, timer: NodeJS.Timeout): Promise<void> {
  clearInterval(timer);
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new AwsError('RequestEntityTooLargeException', 'Request body too large', 413));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

interface Call {
  requestId: string;
  service: string;
  protocol: Protocol;
  namespace: string;
  operation: string;
  /** Parsed input: JSON body, or query/form params for the Query protocol. */
  body: Record<string, unknown>;
  params: URLSearchParams;
  labels: Record<string, string>;
}

async function handle(sb: Sandbox, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const target = req.url ?? '/';
  const q = target.indexOf('?');
  const rawPath = q < 0 ? target : target.slice(0, q);
  const rawQuery = q < 0 ? '' : target.slice(q + 1);
  if (rawPath === '/__sandbox' || rawPath.startsWith('/__sandbox/')) {
    const body = await readBody(req);
    return handleAdmin(sb, req.method ?? 'GET', rawPath, rawQuery, body, res);
  }

  const requestId = randomUUID();
  const method = req.method ?? 'GET';
  let body: Buffer;
  try {
    body = await readBody(req);
  } catch (err) {
    if (err instanceof AwsError) return sendRestJsonError(res, requestId, err);
    throw err;
  }
  const auth = parseAuthorization(headerValue(req.headers.authorization));
  const service =
    typeof auth === 'object'
      ? auth.service
      : req.headers['x-amz-target']
        ? 'kms'
        : String(req.headers['content-type'] ?? '').includes('x-www-form-urlencoded')
          ? 'sts'
          : 'backup';
  const svc = SERVICES[service];
  if (!svc) {
    return sendRestJsonError(
      res,
      requestId,
      new AwsError('UnrecognizedClientException', `The sandbox does not emulate service ${service}.`, 400),
    );
  }

  const call: Call = {
    requestId,
    service,
    protocol: svc.protocol,
    namespace: svc.namespace ?? '',
    operation: 'Unknown',
    body: {},
    params: new URLSearchParams(),
    labels: {},
  };
  const fail = (err: AwsError, account?: Account) => {
    sb.count(`${service}:${call.operation}`, err.code);
    if (account) sb.count(`${service}:${call.operation}@${account.id}`, err.code);
    if (call.operation === 'StartCopyJob') {
      sb.engine.recordRejected(strOf(call.body.RecoveryPointArn), err.code, strOf(call.body.IdempotencyToken));
    }
    sendError(res, call, err);
  };

  // Identify the operation first, so counters and errors name it.
  try {
    parseCall(call, method, rawPath, rawQuery, req, body);
  } catch (err) {
    if (err instanceof AwsError) return fail(err);
    throw err;
  }

  const latency = sb.faults.latencyMs(call.operation);
  if (latency > 0) await new Promise((r) => setTimeout(r, latency));

  sb.tickAutoRotate();
  const authResult = authenticate(sb, call, req, rawPath, rawQuery, body, auth);
  if (authResult instanceof AwsError) return fail(authResult);
  const account = authResult;

  if (sb.knobs.enforceIamDenials && !(service === 'sts' && call.operation === 'GetCallerIdentity')) {
    const action = `${service}:${call.operation}`;
    if (iamDecision(sb.knobs, account.id, action) !== 'allowed') {
      const who = `arn:aws:sts::${account.id}:assumed-role/${account.operatorRole.name}/${account.sessionName}`;
      const code = svc.protocol === 'query' ? 'AccessDenied' : 'AccessDeniedException';
      return fail(new AwsError(code, `User: ${who} is not authorized to perform: ${action}`, 403), account);
    }
  }
  if (!sb.faults.admit(account.id, call.operation, service === 'backup')) {
    // Rate throttling is not in Backup's model; AWS JSON services send ThrottlingException, Query services Throttling.
    const code = svc.protocol === 'query' ? 'Throttling' : 'ThrottlingException';
    return fail(new AwsError(code, 'Rate exceeded', 400), account);
  }
  if (sb.faults.transient(call.operation)) {
    const status = sb.knobs.transientErrorStatus;
    const err =
      service === 'backup' && status === 503
        ? backupErr.unavailable()
        : new AwsError(
            status === 503 ? 'ServiceUnavailable' : 'InternalFailure',
            'We encountered an internal error. Please try again.',
            status,
          );
    return fail(err, account);
  }

  let result: unknown;
  try {
    result = dispatch(sb, call, account);
  } catch (err) {
    if (err instanceof AwsError) return fail(err, account);
    throw err;
  }
  sb.count(`${service}:${call.operation}`);
  sb.count(`${service}:${call.operation}@${account.id}`);

  if (call.operation === 'StartCopyJob' && sb.faults.dropAfterStartCopyJob()) {
    // The job exists, but the client never hears about it (and will typically retry).
    const arn = strOf(call.body.RecoveryPointArn);
    if (arn) sb.engine.markDropped(arn);
    req.socket.destroy();
    return;
  }
  const afterCommit = call.operation === 'StartCopyJob' ? sb.faults.errorAfterStartCopyJob() : undefined;
  if (afterCommit !== undefined) {
    // The job exists, but the client hears a server error (and the SDK retries the same body).
    const arn = strOf(call.body.RecoveryPointArn);
    const err =
      afterCommit === 503
        ? backupErr.unavailable()
        : new AwsError('InternalFailure', 'We encountered an internal error. Please try again.', 500);
    if (arn) sb.engine.markErrorAfterCommit(arn, err.code);
    sendError(res, call, err);
    return;
  }
  sendResult(res, call, result);
}

function strOf(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function parseCall(
  call: Call,
  method: string,
  rawPath: string,
  rawQuery: string,
  req: IncomingMessage,
  body: Buffer,
): void {
  if (call.protocol === 'rest-json') {
    call.params = new URLSearchParams(rawQuery);
    const m = matchRoute(BACKUP_ROUTES, method, rawPath);
    if (!m) throw new AwsError('UnknownOperationException', `No operation matches ${method} ${rawPath}`, 404);
    call.operation = m.route.operation;
    call.labels = m.labels;
    call.body = parseJsonBody(body);
  } else if (call.protocol === 'query') {
    call.params = parseQueryParams(body, rawQuery);
    call.operation = call.params.get('Action') ?? 'Unknown';
    if (call.operation === 'Unknown') throw new AwsError('MissingAction', 'Missing Action', 400);
  } else {
    call.operation = json11Operation(req) ?? 'Unknown';
    if (call.operation === 'Unknown') throw new AwsError('UnknownOperationException', 'Missing X-Amz-Target', 400);
    call.body = parseJsonBody(body);
  }
}

function parseJsonBody(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  try {
    const v = JSON.parse(body.toString('utf8')) as unknown;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new AwsError('SerializationException', 'Could not parse the request body as a JSON object', 400);
}

/** SigV4 + key + session token + expiry, with each protocol's error codes. */
function authenticate(
  sb: Sandbox,
  call: Call,
  req: IncomingMessage,
  rawPath: string,
  rawQuery: string,
  body: Buffer,
  auth: ReturnType<typeof parseAuthorization>,
): Account | AwsError {
  const query = call.protocol === 'query';
  if (auth === 'missing') {
    return query
      ? new AwsError('MissingAuthenticationToken', 'Request is missing Authentication Token', 403)
      : new AwsError('MissingAuthenticationTokenException', 'Missing Authentication Token', 403);
  }
  if (auth === 'malformed') {
    return new AwsError(
      query ? 'IncompleteSignature' : 'IncompleteSignatureException',
      'Authorization header is malformed',
      400,
    );
  }
  const invalidToken = () =>
    new AwsError(
      query ? 'InvalidClientTokenId' : 'UnrecognizedClientException',
      'The security token included in the request is invalid.',
      403,
    );
  const cred = sb.credentials.lookup(auth.accessKeyId);
  if (!cred) return invalidToken();
  const verdict = verifySignature(
    { method: req.method ?? 'GET', path: rawPath, query: rawQuery, headers: req.headers, body },
    auth,
    cred.secretAccessKey,
    Date.now(),
  );
  if (verdict === 'malformed') {
    return new AwsError(
      query ? 'IncompleteSignature' : 'IncompleteSignatureException',
      'The request signature is incomplete (X-Amz-Date or host not signed).',
      400,
    );
  }
  if (verdict === 'skew') {
    return new AwsError(
      query ? 'SignatureDoesNotMatch' : 'InvalidSignatureException',
      'Signature expired: the request time is too far from the server time (15 minutes).',
      403,
    );
  }
  if (verdict === 'signature') {
    return new AwsError(
      query ? 'SignatureDoesNotMatch' : 'InvalidSignatureException',
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
      403,
    );
  }
  if (headerValue(req.headers['x-amz-security-token']) !== cred.sessionToken) return invalidToken();
  if (sb.credentials.isExpired(cred)) {
    return new AwsError(
      query ? 'ExpiredToken' : 'ExpiredTokenException',
      'The security token included in the request is expired',
      403,
    );
  }
  return sb.account(cred.account);
}

function dispatch(sb: Sandbox, call: Call, account: Account): unknown {
  switch (call.service) {
    case 'backup':
      return sb.backup.handle({
        caller: account,
        operation: call.operation,
        labels: call.labels,
        query: call.params,
        body: call.body,
      });
    case 'sts':
      return stsOperation(call.operation, account);
    case 'iam':
      return iamOperation(call.operation, account, call.params, sb.knobs);
    case 'kms':
      return kmsOperation(sb.world, account, call.operation, call.body);
    case 'organizations':
      return organizationsOperation(sb.world, sb.knobs, account, call.operation);
    default:
      throw new AwsError('UnknownOperationException', `Unknown service ${call.service}`, 400);
  }
}

function sendResult(res: ServerResponse, call: Call, result: unknown): void {
  if (call.protocol === 'rest-json') sendRestJson(res, call.requestId, 200, result);
  else if (call.protocol === 'json') sendJson11(res, call.requestId, result);
  else
    sendQueryResult(
      res,
      call.requestId,
      call.operation,
      call.namespace,
      result as Parameters<typeof sendQueryResult>[4],
    );
}

function sendError(res: ServerResponse, call: Call, err: AwsError): void {
  if (call.protocol === 'rest-json') sendRestJsonError(res, call.requestId, err);
  else if (call.protocol === 'json') sendJson11Error(res, call.requestId, err);
  else sendQueryError(res, call.requestId, call.namespace || STS_NS, err);
}
