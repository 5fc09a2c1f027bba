import { ROUTES, SetResponse } from '../shared/api.js';
import { RpcopyError } from '../shared/errors.js';
import type { Command } from './command.js';

export const setCommand: Command = {
  name: 'set',
  summary: 'change a setting of the running daemon, kept across restarts: max-in-flight N, drain 45m; --clear lifts it',
  usage:
    'rpctl set max-in-flight N | rpctl set drain DURATION | rpctl set KEY --clear [--json]\n' +
    '  (--clear: the config key applies again, copy.max_in_flight or window.drain)',
  options: { clear: { type: 'boolean', default: false } },
  async run(ctx) {
    const [key, value, ...extra] = ctx.positionals;
    if (ctx.values.clear === true) {
      if (key === undefined || value !== undefined) {
        throw new RpcopyError(
          'BAD_REQUEST',
          'rpctl set --clear: expected KEY alone, e.g. rpctl set max-in-flight --clear',
        );
      }
      const answer = await ctx.client().post(ROUTES.settings, SetResponse, { key, clear: true });
      ctx.out(ctx.json ? JSON.stringify(answer) : answer.message);
      return 0;
    }
    if (key === undefined || value === undefined || extra.length > 0) {
      throw new RpcopyError(
        'BAD_REQUEST',
        'rpctl set: expected KEY VALUE (e.g. rpctl set max-in-flight 50), or KEY --clear',
      );
    }
    const answer = await ctx.client().post(ROUTES.settings, SetResponse, { key, value });
    ctx.out(ctx.json ? JSON.stringify(answer) : answer.message);
    return 0;
  },
};
