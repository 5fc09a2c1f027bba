import { join } from 'node:path';

/** The control socket lives in the state directory (mode 0700), itself mode 0600. */
export function socketPath(stateDir: string): string {
  return join(stateDir, 'rpcopyd.sock');
}

/** sun_path holds 108 bytes on Linux (104 on macOS), including the terminating NUL. */
export const MAX_SOCKET_PATH_BYTES = 103;
