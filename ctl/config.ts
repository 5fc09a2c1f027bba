import type { Command } from './command.js';

export const configCommand: Command = {
  name: 'config',
  summary: 'config show: print the effective configuration (defaults, file, environment, flags)',
  usage: 'rpctl config show [--config PATH] [--json]',
  async run(ctx) {
    const [sub] = ctx.positionals;
    if (sub !== 'show') {
      process.stderr.write(`rpctl config: expected the subcommand "show"\nusage: ${this.usage}\n`);
      return 2;
    }
    // The file as this client would load it; it is also what the daemon validates at start-up.
    const config = ctx.config();
    ctx.out(JSON.stringify(config, null, 2));
    return 0;
  },
};
