// The worker-thread pool (piscina) that runs AWS calls and page
// deserialisation off the main thread, so the control API and the store's
// single writer are never blocked by JSON parsing of large pages.

import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import type { AwsTaskResult, WorkerPool } from '../aws/task.js';
import type { Logger } from '../log.js';

// '.ts' when running from sources (tsx, tap), '.js' from dist/: the worker file has the same extension.
const ext = extname(fileURLToPath(import.meta.url));

export function createWorkerPool(threads: number, log: Logger): WorkerPool {
  const pool = new Piscina({
    filename: new URL(`./aws${ext}`, import.meta.url).href,
    minThreads: threads,
    maxThreads: threads,
    // Many AWS calls wait on the network at once: let each thread hold several.
    concurrentTasksPerWorker: 16,
    // A page's objects die young: a small young generation per thread trades more frequent, shorter scavenges
    // for a lower peak resident set (bench/results/design-notes.md).
    resourceLimits: { maxYoungGenerationSizeMb: 8 },
    idleTimeout: 60_000,
  });
  // Without a listener a worker that fails to load would crash the process.
  pool.on('error', (err: unknown) => log.error('worker thread failed', { error: err }));
  return {
    threads,
    runAws: (task) => pool.run(task) as Promise<AwsTaskResult<typeof task.operation>>,
    destroy: () => pool.destroy(),
  };
}
