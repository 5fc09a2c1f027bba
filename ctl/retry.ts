import { RetryResponse, ROUTES } from '../shared/api.js';
import { RpcopyError } from '../shared/errors.js';
import type { Command } from './command.js';

export const retryCommand: Command = {
  name: 'retry',
  summary: 'requeue the failed points of one failure reason, once its cause is fixed (see rpctl status)',
  usage: 'rpctl retry --reason REASON [--json]',
  options: { reason: { type: 'string' } },
  async run(ctx) {
    const reason = ctx.values.reason;
    if (typeof reason !== 'string' || reason === '') {
      throw new RpcopyError(
        'BAD_REQUEST',
        'rpctl retry: --reason is required (the reasons are listed by rpctl status)',
      );
    }
    const result = await ctx.client().post(ROUTES.retry, RetryResponse, { reason });
    ctx.out(ctx.json ? JSON.stringify(result, null, 2) : result.message);
    return 0;
  },
};
