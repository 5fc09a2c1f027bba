// Where a report goes: a file (--out) or stdout. A file is written under a
// temporary name next to it and renamed into place only when complete, so an
// export that fails or is interrupted never leaves a truncated file that looks
// like a whole report. Writes respect backpressure: memory stays at about one
// page however large the report.

import { once } from 'node:events';
import { createWriteStream, existsSync, renameSync, statSync, unlinkSync, type WriteStream } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { RpcopyError } from '../../shared/errors.js';

export interface ReportSink {
  /** False once the reader went away (stdout closed by `| head`): stop producing. */
  readonly open: boolean;
  write(text: string): Promise<void>;
  /** The report is complete: flush, and put the file in place. */
  commit(): Promise<void>;
  /** Something failed: remove the partial file. */
  abort(): void;
}

/** Checks the destination before anything is fetched, so a typo fails at once and clearly. */
export function openSink(out: string | undefined): ReportSink {
  if (out === undefined || out === '-') return stdoutSink();
  const file = resolve(out);
  const dir = dirname(file);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new RpcopyError('BAD_REQUEST', `--out ${out}: the directory ${dir} does not exist`);
  }
  if (existsSync(file) && statSync(file).isDirectory()) {
    throw new RpcopyError('BAD_REQUEST', `--out ${out}: is a directory; give a file name`);
  }
  const partial = join(dir, `.${basename(file)}.partial-${process.pid}`);
  const stream = createWriteStream(partial, { flags: 'w' });
  let failure: Error | undefined;
  stream.on('error', (err) => {
    failure = err;
  });
  const check = () => {
    if (failure) throw new RpcopyError('BAD_REQUEST', `--out ${out}: cannot write: ${failure.message}`);
  };
  return {
    open: true,
    async write(text) {
      check();
      if (!stream.write(text)) await drained(stream);
      check();
    },
    async commit() {
      check();
      stream.end();
      await once(stream, 'close');
      check();
      renameSync(partial, file);
    },
    abort() {
      stream.destroy();
      try {
        unlinkSync(partial);
      } catch {
        // Never created, or already gone: nothing to clean up.
      }
    },
  };
}

function drained(stream: WriteStream | NodeJS.WriteStream): Promise<void> {
  return new Promise((resolveDrain) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      stream.off('error', done);
      resolveDrain();
    };
    stream.once('drain', done);
    stream.once('close', done);
    stream.once('error', done);
  });
}

function stdoutSink(): ReportSink {
  const stdout = process.stdout;
  let open = true;
  let failure: Error | undefined;
  // A reader that stops early (`rpctl report | head`) closes the pipe: that ends the export, it is not an error.
  stdout.on('error', (err: NodeJS.ErrnoException) => {
    open = false;
    if (err.code !== 'EPIPE') failure = err;
  });
  const check = () => {
    if (failure) throw new RpcopyError('INTERNAL', `cannot write to stdout: ${failure.message}`);
  };
  return {
    get open() {
      return open;
    },
    async write(text) {
      check();
      if (!open) return;
      if (!stdout.write(text)) await drained(stdout);
      check();
    },
    async commit() {},
    abort() {},
  };
}
