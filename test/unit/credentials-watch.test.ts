// The credentials-file watcher (daemon/aws/credentials-watch.ts): a replacement by rename (how refresh tools
// write), an in-place write, a symlinked file and a directory that appears later are all noticed; unchanged
// content, overlapping runs and a closed watcher cost nothing.

import { mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import {
  type CredentialsWatch,
  sharedCredentialsFile,
  watchCredentialsFile,
} from '../../daemon/aws/credentials-watch.js';
import { createLogger } from '../../daemon/log.js';
import { waitFor } from '../helpers/process.js';

const log = createLogger({ level: 'error', write: () => undefined });
const profile = (n: number) => `[rpcopy-source]\naws_access_key_id = ASIA${n}\naws_secret_access_key = s${n}\n`;
const settle = (ms = 600) => new Promise((r) => setTimeout(r, ms));

function watching(t: Test, file: string, onChange: () => Promise<void>, pollMs?: number): CredentialsWatch {
  const watch = watchCredentialsFile({ file, log, onChange, debounceMs: 50, ...(pollMs ? { pollMs } : {}) });
  t.teardown(() => watch.close());
  return watch;
}

t.test('the SDK’s path: AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials', async (t) => {
  t.equal(sharedCredentialsFile({ AWS_SHARED_CREDENTIALS_FILE: '/x/creds' }), '/x/creds');
  t.match(sharedCredentialsFile({}), /\.aws\/credentials$/);
});

t.test('a replacement by rename and an in-place write are noticed; the same content is not', async (t) => {
  const dir = t.testdir();
  const file = join(dir, 'credentials');
  writeFileSync(file, profile(1));
  let changes = 0;
  watching(t, file, async () => {
    changes += 1;
  });

  // What the sandbox and most refresh tools do: write a temporary file, rename it over the old one.
  writeFileSync(`${file}.tmp`, profile(2));
  renameSync(`${file}.tmp`, file);
  await waitFor(() => changes === 1, 'the rename to be noticed');

  writeFileSync(file, profile(3));
  await waitFor(() => changes === 2, 'the in-place write to be noticed (the file watch was re-armed)');

  writeFileSync(file, profile(3));
  await settle();
  t.equal(changes, 2, 'rewriting the same content is no change');
});

t.test('a symlinked credentials file: a change of its target is noticed', async (t) => {
  const dir = t.testdir({ real: {}, link: {} });
  const target = join(dir, 'real', 'credentials');
  const link = join(dir, 'link', 'credentials');
  writeFileSync(target, profile(1));
  symlinkSync(target, link);
  let changes = 0;
  watching(t, link, async () => {
    changes += 1;
  });
  writeFileSync(target, profile(2));
  await waitFor(() => changes === 1, 'the target change to be noticed');
  t.pass();
});

t.test('runs never overlap; a change during a run causes one more run', async (t) => {
  const dir = t.testdir();
  const file = join(dir, 'credentials');
  writeFileSync(file, profile(1));
  let running = 0;
  let overlapped = false;
  let runs = 0;
  let release!: () => void;
  let gate = new Promise<void>((r) => {
    release = r;
  });
  watching(t, file, async () => {
    running += 1;
    if (running > 1) overlapped = true;
    runs += 1;
    await gate;
    running -= 1;
  });
  writeFileSync(file, profile(2));
  await waitFor(() => runs === 1, 'the first run');
  writeFileSync(file, profile(3));
  await settle();
  t.equal(runs, 1, 'no second run while the first is busy');
  const first = release;
  gate = new Promise<void>((r) => {
    release = r;
  });
  first();
  await waitFor(() => runs === 2, 'one more run afterwards');
  release();
  t.notOk(overlapped);
});

t.test('a directory that does not exist yet is polled', async (t) => {
  const dir = t.testdir();
  const file = join(dir, 'later', 'credentials');
  let changes = 0;
  watching(
    t,
    file,
    async () => {
      changes += 1;
    },
    50,
  );
  // Created at once, before any poll: the baseline is the content hash taken when watching began (none),
  // not a stat the poller takes later, so an early creation is not mistaken for the starting state.
  mkdirSync(join(dir, 'later'));
  writeFileSync(file, profile(1));
  await waitFor(() => changes === 1, 'the new file to be noticed by polling');
  writeFileSync(file, profile(2));
  await waitFor(() => changes === 2, 'a later change to be noticed by polling');
  writeFileSync(file, profile(2));
  await settle();
  t.equal(changes, 2, 'the same content again is no change');
});

t.test('close stops everything', async (t) => {
  const dir = t.testdir();
  const file = join(dir, 'credentials');
  writeFileSync(file, profile(1));
  let changes = 0;
  const watch = watching(t, file, async () => {
    changes += 1;
  });
  watch.close();
  writeFileSync(file, profile(2));
  await settle();
  t.equal(changes, 0);
});
