// The closed set of error codes that cross the control API, with the exit
// code each maps to (rpctl's, and rpcopyd --once's where they share one; the
// README's exit-code table lists them). The daemon maps AWS SDK exceptions into
// these in one place (daemon/aws/errors.ts); the API answers `{ error: { code, message } }`.

export const ERROR_CODES = {
  BAD_REQUEST: { exit: 2, retry: 'fix the request and try again' },
  NOT_FOUND: { exit: 2, retry: 'check the command name; rpctl --help lists them' },
  CONFIG_INVALID: { exit: 3, retry: 'fix the config file where the message says' },
  DAEMON_NOT_RUNNING: { exit: 4, retry: 'start it: rpcopyd --config PATH (or rpctl service install)' },
  SOCKET_ACCESS_DENIED: { exit: 5, retry: 'run as the user that runs rpcopyd' },
  DAEMON_ALREADY_RUNNING: { exit: 6, retry: 'stop the running daemon first: rpctl stop' },
  STORE_INCOMPATIBLE: { exit: 7, retry: 'point daemon.state_dir at this job’s own state directory' },
  CREDENTIALS_EXPIRED: { exit: 8, retry: 'refresh the token, then rpctl resume' },
  // Not thrown: rpcopyd --once exits 9 when the change window closes first (daemon/main.ts, ONCE_EXIT).
  WINDOW_CLOSED: { exit: 9, retry: 'wait for the next change window' },
  SHUTTING_DOWN: { exit: 11, retry: 'wait for the daemon to stop, then start it again' },
  // Not thrown: a check that ran and found a problem (preflight, reconcile, compliance drift) returns it.
  CHECK_FAILED: { exit: 12, retry: 'fix what the check names, then run it again' },
  INTERNAL: { exit: 1, retry: 'see the daemon log' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ApiErrorBody {
  error: { code: ErrorCode; message: string };
}

/** An error with a stable code; what the API returns and rpctl prints. */
export class RpcopyError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'RpcopyError';
  }

  get exitCode(): number {
    return ERROR_CODES[this.code].exit;
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}
