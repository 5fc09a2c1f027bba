// rpctl service install|uninstall|status: run rpcopyd as a systemd user
// service (Linux) or a launchd agent (macOS) for the current user.
//
// install writes the unit (ctl/service/units.ts renders it) and then asks the
// service manager to load and start it. Writing is the part that must work:
// each file goes to a temporary name and is renamed, so a failed install never
// leaves half a unit, and only a failed write makes the command exit non-zero.
// The service manager often cannot be reached where the file can be written
// (a container without a user bus, CI, an ssh session without lingering): then
// the command says which call failed and prints the exact commands to run by
// hand. Nothing here writes credentials: only the locations of the shared
// credentials and config files (and endpoint overrides) are passed through.
//
// One file per subcommand (install.ts, uninstall.ts, status.ts); deps.ts, targets.ts and steps.ts hold what
// they share.

import type { Command, CommandContext } from '../command.js';
import { defaultDeps, type ServiceDeps } from './deps.js';
import { install } from './install.js';
import { status } from './status.js';
import { uninstall } from './uninstall.js';
import { LAUNCHD_LABEL } from './units.js';

const SUBCOMMANDS = { install, uninstall, status } as const;

/** Runs a subcommand against the given machine; the Command below binds it to this one. */
export async function runService(ctx: CommandContext, deps: ServiceDeps): Promise<number> {
  const [sub, ...extra] = ctx.positionals;
  const run = sub === undefined ? undefined : SUBCOMMANDS[sub as keyof typeof SUBCOMMANDS];
  if (!run || extra.length > 0) {
    process.stderr.write(`rpctl service: expected install, uninstall or status\nusage: ${serviceCommand.usage}\n`);
    return 2;
  }
  // Errors propagate to main(), which maps ConfigError to exit 3 naming the file, line and key.
  return run(ctx, deps);
}

export const serviceCommand: Command = {
  name: 'service',
  summary: 'install|uninstall|status: run rpcopyd as a systemd user service or a launchd agent',
  usage: `rpctl service install [--config PATH] [--name NAME] [--platform systemd|launchd] [--no-enable] [--dry-run] [--json]
       rpctl service uninstall [--name NAME] [--platform systemd|launchd] [--json]
       rpctl service status [--name NAME] [--platform systemd|launchd] [--json]

  --name NAME        an instance of the template unit rpcopyd@.service (launchd: ${LAUNCHD_LABEL}.NAME),
                     running ~/.config/rpcopy/NAME.toml; several account pairs then run side by side,
                     each config with its own daemon.state_dir (install refuses a state directory in use)
  --platform P       systemd (default, writes $XDG_CONFIG_HOME/systemd/user) or launchd (default on macOS,
                     writes ~/Library/LaunchAgents)
  --no-enable        write the unit only (systemd: and daemon-reload); print the commands that start it
  --dry-run          print the unit and the commands; write and run nothing

install validates the config, writes the unit with absolute paths to this node and rpcopyd, passes on
AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE and AWS_ENDPOINT_URL* from this shell (never credentials),
then runs systemctl --user daemon-reload and enable --now (launchd: launchctl bootstrap gui/UID). If the
service manager cannot be reached, it says so and prints the commands to run by hand: the exit code is
non-zero only when the unit could not be written (or the config is invalid: 3). Install again after
changing daemon.shutdown_timeout or upgrading Node. status shows the unit file, whether it is enabled and
active, and where its logs are.`,
  options: {
    name: { type: 'string' },
    platform: { type: 'string' },
    'no-enable': { type: 'boolean', default: false },
    'dry-run': { type: 'boolean', default: false },
  },
  run(ctx) {
    return runService(ctx, defaultDeps());
  },
};
