// The one place AWS SDK exceptions are classified. Workers send errors back as
// plain data (WireError); the main thread classifies them here and decides:
// reload credentials, back off, retry, or give up. Match on the error name,
// never on the HTTP status alone (Backup, STS and IAM spell the same failure
// differently: aws-backup.md §9).

export type AwsErrorKind =
  /** Expired or invalid credentials: reload the account's credentials and retry. */
  | 'auth'
  /** Request rate exceeded: back off this operation and retry. */
  | 'throttle'
  /** An account quota (e.g. concurrent copy jobs) is full: retry later, lower the concurrency. */
  | 'quota'
  /** A server or network fault: retry with backoff. */
  | 'transient'
  /** The named resource does not exist. */
  | 'not_found'
  /** The identity may not perform the action. */
  | 'denied'
  /** The pagination token is no longer accepted: restart the listing. */
  | 'stale_token'
  /** The request is wrong and will stay wrong: report, never retry blindly. */
  | 'permanent';

/** An error as it crosses the worker boundary. */
export interface WireError {
  name: string;
  message: string;
  httpStatus?: number;
  /** Node's errno code for network errors (ECONNRESET, ...). */
  code?: string;
  fault?: 'client' | 'server';
}

export interface AwsFailure extends WireError {
  kind: AwsErrorKind;
  /** True when the request may have been applied although no answer came back (network loss, 5xx). */
  outcomeUnknown: boolean;
}

const AUTH = new Set([
  'ExpiredTokenException',
  'ExpiredToken',
  'RequestExpired',
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'InvalidAccessKeyId',
  'AuthFailure',
]);
const THROTTLE = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'SlowDown',
  'ProvisionedThroughputExceededException',
]);
const QUOTA = new Set(['LimitExceededException', 'ServiceQuotaExceededException']);
const TRANSIENT = new Set([
  'ServiceUnavailableException',
  'ServiceUnavailable',
  'InternalFailure',
  'InternalServerError',
  'InternalServerException',
  'InternalError',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
]);
const NETWORK = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED']);
const DENIED = new Set(['AccessDeniedException', 'AccessDenied', 'UnauthorizedOperation', 'AuthorizationError']);

/** Turn anything thrown by the SDK into plain data that survives postMessage. */
export function toWireError(err: unknown): WireError {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err) };
  const e = err as Error & { $metadata?: { httpStatusCode?: number }; $fault?: 'client' | 'server'; code?: string };
  return {
    name: e.name,
    message: e.message,
    ...(e.$metadata?.httpStatusCode !== undefined ? { httpStatus: e.$metadata.httpStatusCode } : {}),
    ...(typeof e.code === 'string' ? { code: e.code } : {}),
    ...(e.$fault ? { fault: e.$fault } : {}),
  };
}

export function classifyAwsError(error: WireError): AwsFailure {
  const { name, message, httpStatus, code } = error;
  const failure = (kind: AwsErrorKind, outcomeUnknown = false): AwsFailure => ({ ...error, kind, outcomeUnknown });
  if (AUTH.has(name)) return failure('auth');
  // The credential provider itself failing (profile missing from a half-written file) is an auth failure too.
  if (name === 'CredentialsProviderError') return failure('auth');
  if (THROTTLE.has(name)) return failure('throttle');
  if (QUOTA.has(name)) return failure('quota');
  if (name === 'ResourceNotFoundException' || name === 'NoSuchEntity' || name === 'NotFoundException') {
    return failure('not_found');
  }
  if (DENIED.has(name)) return failure('denied');
  // A pagination token AWS no longer accepts (expired, or from before a service change).
  if (name === 'InvalidNextTokenException' || (name === 'InvalidParameterValueException' && /token/i.test(message))) {
    return failure('stale_token');
  }
  if (TRANSIENT.has(name) || (httpStatus !== undefined && httpStatus >= 500)) return failure('transient', true);
  if ((code && NETWORK.has(code)) || NETWORK.has(name) || /socket hang up|ECONNRESET|network/i.test(message)) {
    return failure('transient', true);
  }
  if (name === 'AbortError') return failure('transient', true);
  return failure('permanent');
}

/**
 * The worker pool, not AWS, failed a call: a worker thread died (crashed, or was terminated when the pool was
 * destroyed after the shutdown timeout) while it ran the call, or the pool closed before the call reached a
 * worker. It says nothing about the credentials. `sent`: the call was handed to a worker, so AWS may have
 * applied it; otherwise it is known not to have been sent.
 */
export class WorkerPoolError extends Error {
  constructor(
    readonly sent: boolean,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'WorkerPoolError';
  }
}

/** A worker-pool failure as an AWS call's failure: transient, its outcome unknown if the call reached a worker. */
export function workerPoolFailure(err: WorkerPoolError): AwsFailure {
  return err.sent
    ? { name: 'WorkerFailed', message: err.message, kind: 'transient', outcomeUnknown: true }
    : { name: 'WorkerPoolClosed', message: err.message, kind: 'transient', outcomeUnknown: false };
}
