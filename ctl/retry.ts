import { ConfigResponse, RetryResponse, ROUTES } from '../shared/api.js';
import { RpcopyError } from '../shared/errors.js';
import type { ApiClient } from './client.js';
import type { Command } from './command.js';
import { daemonClient } from './config.js';

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
    const client = daemonClient(ctx);
    const result = await client.post(ROUTES.retry, RetryResponse, { reason });
    const changed = await configChange(client);
    if (ctx.json) ctx.out(JSON.stringify({ ...result, ...(changed ? { configChanged: changed } : {}) }, null, 2));
    else ctx.out(changed ? `${result.message}\n${changed.message}` : result.message);
    return 0;
  },
};

/**
 * When the config file says something the daemon does not run, the retried points meet the old config: the
 * operator who edited the file to fix their cause is told so. Undefined when the file matches (or the daemon
 * cannot say).
 */
async function configChange(
  client: ApiClient,
): Promise<{ keys: string[]; fileError: string | null; message: string } | undefined> {
  let running: ConfigResponse;
  try {
    running = await client.get(ROUTES.config, ConfigResponse);
  } catch {
    return undefined;
  }
  const keys = running.keys.filter((k) => k.differs).map((k) => k.key);
  if (keys.length === 0 && running.fileError === null) return undefined;
  const what =
    running.fileError !== null
      ? `the config file changed since rpcopyd loaded it and does not load now (${running.fileError.split('\n')[0]})`
      : `the config file changed since rpcopyd loaded it (${keys.join(', ')})`;
  const restart = running.keys.some((k) => k.differs && k.apply === 'restart');
  return {
    keys,
    fileError: running.fileError,
    message:
      `note: ${what}; ` +
      (running.fileError !== null
        ? 'fix it and run rpctl reload, or the retried points meet the same config'
        : restart
          ? 'rpctl reload applies what it can and names the keys that need a restart of rpcopyd; until then the retried points meet the same config'
          : 'rpctl reload first, or the retried points meet the same config'),
  };
}
