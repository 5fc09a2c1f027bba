// Watching the shared credentials file, so that a refreshed token ends a
// credentials pause without the operator (resume.ts decides what a change
// means: while paused for credentials, verify the new token with STS and
// resume; otherwise nothing).
//
// Tools that refresh tokens usually write a temporary file and rename it over
// the old one, so a watch on the file alone follows the old inode and misses
// the replacement: the file's directory is watched too (it reports creations,
// renames and writes of its entries). The file itself is watched as well,
// because it may be a symlink into another directory; that watch is re-armed
// after every change, since a replaced file is a new inode. If the directory
// cannot be watched (it does not exist yet), the file's content is polled
// instead: fs.watchFile would compare stats against a baseline it takes
// asynchronously, so a file created before that first stat lands is never
// reported; comparing content hashes against the hash taken here has no such
// window.
//
// Guarantees: events are debounced (one rewrite is several events); onChange
// runs only when the file's content differs from the last content it ran for
// (so reads, touches and rewrites with the same token cost no STS call), never
// concurrently with itself, and once more if the file changed while it ran.
// The content is only hashed here, never kept, logged or returned.
// close() stops every watcher and timer.

import { createHash } from 'node:crypto';
import { type FSWatcher, readFileSync, watch } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { expandHome } from '../../shared/config.js';
import type { Logger } from '../log.js';

/** Where the SDK reads the shared credentials file: AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials. */
export function sharedCredentialsFile(env: NodeJS.ProcessEnv = process.env): string {
  const configured = env.AWS_SHARED_CREDENTIALS_FILE;
  return configured ? expandHome(configured) : join(homedir(), '.aws', 'credentials');
}

export interface CredentialsWatchOptions {
  file: string;
  log: Logger;
  /** Called (debounced) after the file's content changed. Errors are logged. */
  onChange: () => Promise<void>;
  debounceMs?: number;
  /** Poll interval when the directory cannot be watched. */
  pollMs?: number;
}

export interface CredentialsWatch {
  close(): void;
}

function contentHash(file: string): string | undefined {
  try {
    return createHash('sha256').update(readFileSync(file)).digest('hex');
  } catch {
    // Missing or unreadable (between a delete and a create): no content to compare yet.
    return undefined;
  }
}

export function watchCredentialsFile(options: CredentialsWatchOptions): CredentialsWatch {
  const { file, log } = options;
  const debounceMs = options.debounceMs ?? 300;
  const dir = dirname(file);
  const name = basename(file);
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let again = false;
  let lastHash = contentHash(file);
  let dirWatcher: FSWatcher | undefined;
  let fileWatcher: FSWatcher | undefined;
  let poll: NodeJS.Timeout | undefined;

  const schedule = () => {
    if (closed) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(run, debounceMs);
    timer.unref();
  };

  const armFileWatch = () => {
    fileWatcher?.close();
    fileWatcher = undefined;
    if (closed) return;
    try {
      fileWatcher = watch(file, { persistent: false }, schedule);
      fileWatcher.on('error', () => {
        fileWatcher?.close();
        fileWatcher = undefined;
      });
    } catch {
      // Not there right now: the directory watch (or the poll) sees it appear.
    }
  };

  const startPolling = (reason: unknown) => {
    if (poll || closed) return;
    const pollMs = options.pollMs ?? 2000;
    log.warn('cannot watch the credentials file directory; polling the file instead', { file, error: reason, pollMs });
    // A credentials file is a few hundred bytes: reading and hashing it every couple of seconds costs nothing.
    poll = setInterval(() => {
      if (!running && timer === undefined && contentHash(file) !== lastHash) schedule();
    }, pollMs);
    poll.unref();
  };

  function run() {
    timer = undefined;
    if (closed) return;
    if (running) {
      again = true;
      return;
    }
    armFileWatch();
    const hash = contentHash(file);
    if (hash === undefined || hash === lastHash) return;
    lastHash = hash;
    running = true;
    log.info('the credentials file changed', { file });
    options
      .onChange()
      .catch((err: unknown) => log.warn('handling the changed credentials file failed', { file, error: err }))
      .finally(() => {
        running = false;
        if (again) {
          again = false;
          schedule();
        }
      });
  }

  try {
    dirWatcher = watch(dir, { persistent: false }, (_event, changed) => {
      // Some platforms do not name the entry: treat that as a possible change of ours.
      if (changed === null || changed === name) schedule();
    });
    dirWatcher.on('error', (err) => {
      dirWatcher?.close();
      dirWatcher = undefined;
      startPolling(err);
    });
  } catch (err) {
    startPolling(err);
  }
  armFileWatch();

  return {
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      dirWatcher?.close();
      fileWatcher?.close();
      if (poll) clearInterval(poll);
    },
  };
}
