/**
 * One error type for every protocol. Each protocol layer renders it the way
 * the real service does (JSON body + x-amzn-ErrorType header, or XML
 * ErrorResponse). `modeled` says whether the error shape is in the service
 * model (rendered with Code/Message members, as Backup's coral shapes are) or
 * produced by the AWS front end (auth, throttling: lower-case `message`).
 */
export class AwsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    readonly opts: { modeled?: boolean; fault?: 'client' | 'server' } = {},
  ) {
    super(message);
    this.name = code;
  }

  get fault(): 'client' | 'server' {
    return this.opts.fault ?? (this.status >= 500 ? 'server' : 'client');
  }
}

/** Backup's modeled exceptions (all carry Code, Message, Type, Context). */
export const backupErr = {
  notFound: (message: string) => new AwsError('ResourceNotFoundException', message, 400, { modeled: true }),
  invalidParam: (message: string) => new AwsError('InvalidParameterValueException', message, 400, { modeled: true }),
  missingParam: (message: string) => new AwsError('MissingParameterValueException', message, 400, { modeled: true }),
  invalidRequest: (message: string) => new AwsError('InvalidRequestException', message, 400, { modeled: true }),
  limitExceeded: (message: string) => new AwsError('LimitExceededException', message, 400, { modeled: true }),
  alreadyExists: (message: string) => new AwsError('AlreadyExistsException', message, 400, { modeled: true }),
  unavailable: (message = 'The request failed due to a temporary failure of the server.') =>
    new AwsError('ServiceUnavailableException', message, 503, { modeled: true }),
};
