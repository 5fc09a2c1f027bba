import { ROUTES, StopResponse } from '../shared/api.js';
import type { Command } from './command.js';

export const stopCommand: Command = {
  name: 'stop',
  summary: 'stop the daemon gracefully: finish in-flight calls, save, exit',
  usage: 'rpctl stop [--json]',
  async run(ctx) {
    const answer = await ctx.client().post(ROUTES.stop, StopResponse);
    ctx.out(ctx.json ? JSON.stringify(answer) : answer.message);
    return 0;
  },
};
