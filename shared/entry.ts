import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** True when the module at moduleUrl is the program node was started with (also through an npm bin symlink). */
export function isEntryPoint(moduleUrl: string): boolean {
  const invoked = process.argv[1];
  if (!invoked) return false;
  try {
    return realpathSync(invoked) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}
