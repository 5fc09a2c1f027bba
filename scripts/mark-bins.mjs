// tsc does not set the executable bit; npm links bins to these files, and the
// tests and the service unit run them directly.
import { chmodSync, existsSync } from 'node:fs';

for (const bin of ['dist/daemon/main.js', 'dist/ctl/main.js']) {
  if (existsSync(bin)) chmodSync(bin, 0o755);
}
