// Bench-only preload (`npx tsx bench/inventory.ts ... --node-arg=--require=./bench/main-thread-probe.cjs`): the main
// thread's event-loop delay, GC pauses and memory (process.memoryUsage and V8's heap spaces, every 500 ms), written
// to /tmp/eld-<pid>.json when the daemon exits; and each worker thread's V8 heap at its largest, to
// /tmp/eld-<pid>-t<threadId>.json (rewritten when it grows: a worker may end without an exit event).
const { monitorEventLoopDelay, PerformanceObserver, performance } = require('node:perf_hooks');
const { isMainThread, threadId } = require('node:worker_threads');
const { writeFileSync } = require('node:fs');
const v8 = require('node:v8');
const mb = (n) => Math.round(n / 1048576);
if (!isMainThread) {
  let largest = 0;
  setInterval(() => {
    const h = v8.getHeapStatistics();
    if (h.total_physical_size <= largest) return;
    largest = h.total_physical_size;
    writeFileSync(
      `/tmp/eld-${process.pid}-t${threadId}.json`,
      JSON.stringify({
        threadId,
        physicalMb: mb(largest),
        heapUsedMb: mb(h.used_heap_size),
        externalMb: mb(h.external_memory),
      }),
    );
  }, 500).unref();
} else {
  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  const gcs = [];
  // The main thread's memory every 500 ms: the sample with the largest resident set, and each field's largest.
  const memory = { atPeak: undefined, largest: {} };
  setInterval(() => {
    const m = process.memoryUsage();
    const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, mb(s.space_size)]));
    const sample = {
      rss: mb(m.rss),
      heapTotal: mb(m.heapTotal),
      physical: mb(v8.getHeapStatistics().total_physical_size),
      heapUsed: mb(m.heapUsed),
      external: mb(m.external),
      arrayBuffers: mb(m.arrayBuffers),
      spaces,
    };
    if (!memory.atPeak || sample.rss > memory.atPeak.rss) memory.atPeak = sample;
    for (const k of ['rss', 'heapTotal', 'physical', 'heapUsed', 'external', 'arrayBuffers'])
      memory.largest[k] = Math.max(memory.largest[k] ?? 0, sample[k]);
  }, 500).unref();
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcs.push([Math.round(e.startTime), e.duration, e.detail?.kind]);
  }).observe({ entryTypes: ['gc'] });
  const dump = () => {
    const ms = (n) => +(n / 1e6).toFixed(1);
    const d = gcs.map((g) => g[1]).sort((a, b) => a - b);
    const kinds = {};
    for (const g of gcs) {
      const k = g[2];
      kinds[k] = kinds[k] || { n: 0, total: 0, max: 0 };
      kinds[k].n++;
      kinds[k].total += g[1];
      kinds[k].max = Math.max(kinds[k].max, g[1]);
    }
    writeFileSync(
      `/tmp/eld-${process.pid}.json`,
      JSON.stringify({
        eld: { p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max), mean: ms(h.mean) },
        gc: { count: d.length, p99: d[Math.floor(d.length * 0.99)], max: d.at(-1), kinds },
        uptimeMs: performance.now(),
        memory,
      }),
    );
  };
  process.on('exit', dump);
}
