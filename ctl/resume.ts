import { ResumeResponse, ROUTES } from '../shared/api.js';
import { RpcopyError } from '../shared/errors.js';
import type { Command } from './command.js';

export const resumeCommand: Command = {
  name: 'resume',
  summary: 'resume after a pause (for example once the token has been refreshed)',
  usage: 'rpctl resume [--json]',
  async run(ctx) {
    const answer = await ctx.client().post(ROUTES.resume, ResumeResponse);
    // After a credentials pause the daemon checks the token with STS first; a token AWS still rejects (or one
    // for another account) leaves it paused, and that is an error the operator must act on, not an ok.
    if (answer.verified === false) throw new RpcopyError('CREDENTIALS_EXPIRED', answer.message);
    ctx.out(ctx.json ? JSON.stringify(answer) : answer.message);
    return 0;
  },
};
