import { PauseResponse, ROUTES } from '../shared/api.js';
import type { Command } from './command.js';

export const pauseCommand: Command = {
  name: 'pause',
  summary: 'pause all work: calls in flight finish, nothing new starts (rpctl resume continues)',
  usage: 'rpctl pause [--json]',
  async run(ctx) {
    const answer = await ctx.client().post(ROUTES.pause, PauseResponse);
    ctx.out(ctx.json ? JSON.stringify(answer) : answer.message);
    return 0;
  },
};
