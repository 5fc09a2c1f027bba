import { ResumeResponse, ROUTES } from '../shared/api.js';
import type { Command } from './command.js';

export const resumeCommand: Command = {
  name: 'resume',
  summary: 'resume after a pause (for example once the token has been refreshed)',
  usage: 'rpctl resume [--json]',
  async run(ctx) {
    const answer = await ctx.client().post(ROUTES.resume, ResumeResponse);
    ctx.out(ctx.json ? JSON.stringify(answer) : answer.message);
    return 0;
  },
};
