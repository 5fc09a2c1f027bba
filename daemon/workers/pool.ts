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
    // A page's objects die young: an 8 MB young generation (V8's default is several times that, per thread)
    // costs more frequent, shorter scavenges and no measurable time; at 100,000 points the daemon's peak
    // resident set went from 369-381 MB to 332-349 MB (two runs each, bench/inventory.ts, session 3 note).
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
