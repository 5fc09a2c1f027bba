// The worker-thread pool (piscina) that runs AWS calls and page
// deserialisation off the main thread, so the control API and the store's
// single writer are never blocked by JSON parsing of large pages.
//
// Calls wait in this module's own queue until a worker has room, so a call is either still here (known not
// sent) or handed to piscina, whose worker may have sent it. A worker that dies while it runs calls (a crash,
// or piscina's destroy at shutdown) fails them with WorkerPoolError(sent: true): their outcome is unknown. The
// calls still queued here when the pool is destroyed fail with WorkerPoolError(sent: false). A call piscina
// itself queued (a replacement worker not ready yet) counts as sent: unknown is the safe side.

import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { WorkerPoolError } from '../aws/errors.js';
import type { OperationName } from '../aws/operations.js';
import type { AwsTask, AwsTaskResult, WorkerPool } from '../aws/task.js';
import type { Logger } from '../log.js';

export interface WorkerPoolOptions {
  /** Calls one thread holds at once (default 16). */
  tasksPerWorker?: number;
}

// '.ts' when running from sources (tsx, tap), '.js' from dist/: the worker file has the same extension.
const ext = extname(fileURLToPath(import.meta.url));

interface Waiting {
  task: AwsTask;
  resolve(result: AwsTaskResult): void;
  reject(err: WorkerPoolError): void;
}

export function createWorkerPool(threads: number, log: Logger, options: WorkerPoolOptions = {}): WorkerPool {
  // Many AWS calls wait on the network at once: let each thread hold several.
  const tasksPerWorker = options.tasksPerWorker ?? 16;
  const pool = new Piscina({
    filename: new URL(`./aws${ext}`, import.meta.url).href,
    minThreads: threads,
    maxThreads: threads,
    // Many AWS calls wait on the network at once: let each thread hold several.
    concurrentTasksPerWorker: tasksPerWorker,
    // A page's objects die young: a small young generation per thread trades more frequent, shorter scavenges
    // for a lower peak resident set (bench/results/design-notes.md).
    resourceLimits: { maxYoungGenerationSizeMb: 8 },
    idleTimeout: 60_000,
  });
  // Without a listener a worker that fails to load would crash the process.
  pool.on('error', (err: unknown) => log.error('worker thread failed', { error: err }));
  const capacity = threads * tasksPerWorker;
  const waiting: Waiting[] = [];
  let running = 0;
  let closed = false;
  const dispatch = (): void => {
    while (!closed && running < capacity && waiting.length > 0) {
      const call = waiting.shift() as Waiting;
      running += 1;
      (pool.run(call.task) as Promise<AwsTaskResult>).then(call.resolve, (err: unknown) => {
        log.warn('a worker thread failed while running an AWS call; its outcome is unknown', {
          operation: call.task.operation,
          account: call.task.account,
          error: err,
        });
        call.reject(
          new WorkerPoolError(true, `the worker thread running the call failed: ${(err as Error)?.message ?? err}`, {
            cause: err,
          }),
        );
      });
    }
  };
  return {
    threads,
    runAws: <K extends OperationName>(task: AwsTask<K>) =>
      new Promise<AwsTaskResult<K>>((resolve, reject) => {
        if (closed) {
          reject(new WorkerPoolError(false, 'the worker pool is closed: the call was not sent'));
          return;
        }
        // Settled either way, a call that ran makes room for the next one.
        waiting.push({
          task,
          resolve: (result) => {
            running -= 1;
            resolve(result as AwsTaskResult<K>);
            dispatch();
          },
          reject: (err) => {
            if (err.sent) running -= 1;
            reject(err);
            dispatch();
          },
        });
        dispatch();
      }),
    workerThreads: () => [...pool.threads],
    destroy: async () => {
      closed = true;
      for (const call of waiting.splice(0)) {
        call.reject(new WorkerPoolError(false, 'the worker pool closed before the call reached a worker'));
      }
      await pool.destroy();
    },
  };
}
