// The run loop (daemon/run-supervisor.ts) on a virtual clock: a rerun after the pipeline is done waits for the
// window like the first run; window.max_runtime caps the work per window occurrence, across restarts; the state
// and window it reports say what it is doing.

import t from 'tap';
import type { PhaseContext } from '../../daemon/pipeline.js';
import {
  RunSupervisor,
  type RunSupervisorOptions,
  type RunWork,
  type SupervisorClock,
  type SupervisorOutcome,
} from '../../daemon/run-supervisor.js';
import { ChangeWindow } from '../../daemon/window.js';
import type { WindowConfig } from '../../shared/config.js';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
const flush = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

/** Virtual time: sleeps resolve when advance() reaches them, in order. */
class FakeClock implements SupervisorClock {
  private timers: { at: number; resolve: () => void }[] = [];
  constructor(public time: number) {}
  now(): number {
    return this.time;
  }
  sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const timer = { at: this.time + ms, resolve };
      this.timers.push(timer);
      signal.addEventListener('abort', () => {
        this.timers = this.timers.filter((x) => x !== timer);
        resolve();
      });
    });
  }
  /** Move time to `until`, firing every timer due on the way (and the work they set off). */
  async advance(until: number): Promise<void> {
    await flush();
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next || next.at > until) break;
      this.timers.shift();
      this.time = Math.max(this.time, next.at);
      next.resolve();
      await flush();
    }
    this.time = until;
    await flush();
  }
}

interface Harness {
  supervisor: RunSupervisor;
  calls: { work: RunWork; at: number; context: PhaseContext }[];
  outcomes: SupervisorOutcome[];
  events: { kind: string; data?: Record<string, unknown> }[];
  shutdown: AbortController;
}

/** A supervisor whose work runs until its signal ends it (or finishes at once with `finish`). */
function harness(
  clock: FakeClock,
  options: Partial<RunSupervisorOptions> & { finish?: boolean; occurrences?: Map<number, number> } = {},
): Harness {
  const calls: Harness['calls'] = [];
  const outcomes: SupervisorOutcome[] = [];
  const events: Harness['events'] = [];
  const shutdown = new AbortController();
  const occurrences = options.occurrences ?? new Map<number, number>();
  const supervisor = new RunSupervisor({
    window: new ChangeWindow({ start: '22:00', stop: '23:00', timezone: 'UTC' }),
    once: false,
    drainMs: () => 60_000,
    occurrence: {
      read: (openedAt) => occurrences.get(openedAt),
      claim: (openedAt, now) => {
        if (!occurrences.has(openedAt)) occurrences.set(openedAt, now);
        return occurrences.get(openedAt) as number;
      },
    },
    work: async (work, context) => {
      calls.push({ work, at: clock.now(), context });
      if (options.finish) return 'done';
      await new Promise((r) => context.signal.addEventListener('abort', r, { once: true }));
      return 'stopped';
    },
    signal: shutdown.signal,
    track: (work) => work,
    record: (_level, kind, _message, data) => events.push({ kind, ...(data ? { data } : {}) }),
    onEnd: (outcome) => outcomes.push(outcome),
    onError: (err) => {
      throw err;
    },
    clock,
    ...options,
  });
  return { supervisor, calls, outcomes, events, shutdown };
}

t.test('a rerun asked for after the pipeline is done waits for the next window', async (t) => {
  const clock = new FakeClock(at('2026-11-23T22:00:00Z'));
  const h = harness(clock, { finish: true });
  h.supervisor.request('pipeline');
  await clock.advance(at('2026-11-23T22:30:00Z'));
  t.same(h.outcomes, ['done']);
  t.equal(h.supervisor.state, 'done');
  t.equal(h.calls.length, 1);

  // The window closed; rpctl retry then asks for the copy phase again.
  await clock.advance(at('2026-11-23T23:30:00Z'));
  t.equal(h.supervisor.window().open, false, 'idle, status shows the schedule as it is now');
  t.equal(h.supervisor.request('copy'), 'started');
  await flush();
  t.equal(h.supervisor.state, 'waiting_for_window', 'the rerun waits for the window');
  t.equal(h.calls.length, 1, 'no work outside the window');
  t.notOk(h.supervisor.startAllowed(), 'no copy job may start while waiting');
  t.same(
    { open: h.supervisor.window().open, opensAt: iso(h.supervisor.window().opensAt) },
    { open: false, opensAt: '2026-11-24T22:00:00.000Z' },
  );
  t.equal(h.supervisor.drainFrom, undefined, 'no drain time of a finished run');
  // rpctl reset while it waits: the whole pipeline runs, once.
  t.equal(h.supervisor.request('pipeline'), 'queued');
  await clock.advance(at('2026-11-24T21:59:00Z'));
  t.equal(h.calls.length, 1, 'still nothing before the window opens');

  await clock.advance(at('2026-11-24T22:00:00Z'));
  t.equal(h.calls.length, 2, 'the rerun starts when the window opens');
  t.equal(h.calls[1]?.work, 'pipeline', 'the reset widened the rerun to the whole pipeline');
  t.equal(h.calls[1]?.at, at('2026-11-24T22:00:00Z'));
  t.same(h.outcomes, ['done', 'done']);
});

t.test('work asked for while a run is going runs after it, inside the window', async (t) => {
  const clock = new FakeClock(at('2026-11-23T22:00:00Z'));
  let release: (() => void) | undefined;
  const calls: RunWork[] = [];
  const h = harness(clock, {
    work: async (work) => {
      calls.push(work);
      if (calls.length === 1) await new Promise<void>((r) => (release = r));
      return 'done';
    },
  });
  h.supervisor.request('pipeline');
  await flush();
  t.ok(h.supervisor.running);
  t.equal(h.supervisor.request('copy'), 'queued');
  release?.();
  await flush();
  t.same(calls, ['pipeline', 'copy'], 'the copy phase runs again after the run that was going');
  t.same(h.outcomes, ['done']);
});

t.test('max_runtime caps the work per window occurrence, and a restart gets no fresh budget', async (t) => {
  const clock = new FakeClock(at('2026-11-23T22:00:00Z'));
  const occurrences = new Map<number, number>();
  const h = harness(clock, { maxRuntimeMs: 10 * 60_000, occurrences });
  h.supervisor.request('pipeline');
  await flush();
  t.equal(h.supervisor.state, 'running');
  t.equal(iso(h.supervisor.deadline), '2026-11-23T22:10:00.000Z');
  t.equal(iso(h.supervisor.drainFrom), '2026-11-23T22:09:00.000Z');
  t.ok(h.supervisor.startAllowed());

  await clock.advance(at('2026-11-23T22:50:00Z'));
  t.equal(h.calls.length, 1, 'no second run in the same window once max_runtime is used up');
  t.ok(h.calls[0]?.context.signal.aborted, 'the run was ended at its max runtime');
  t.equal(h.supervisor.state, 'waiting_for_window');
  t.same(
    { open: h.supervisor.window().open, opensAt: iso(h.supervisor.window().opensAt) },
    { open: false, opensAt: '2026-11-24T22:00:00.000Z' },
    'the window is closed for work until the next occurrence',
  );
  t.ok(h.events.some((e) => e.kind === 'window.waiting' && e.data?.maxRuntimeSpent === true));
  t.equal(h.events.filter((e) => e.kind === 'window.open').length, 1);

  // The next occurrence gets its own budget.
  await clock.advance(at('2026-11-24T22:05:00Z'));
  t.equal(h.calls.length, 2);
  t.equal(h.calls[1]?.at, at('2026-11-24T22:00:00Z'));
  t.equal(iso(h.supervisor.deadline), '2026-11-24T22:10:00.000Z');

  // A restart inside the occurrence (a new supervisor over the same store) keeps the first start's budget.
  h.shutdown.abort();
  await flush();
  const restarted = harness(clock, { maxRuntimeMs: 10 * 60_000, occurrences });
  restarted.supervisor.request('pipeline');
  await flush();
  t.equal(iso(restarted.supervisor.deadline), '2026-11-24T22:10:00.000Z', 'the deadline of the first start');
  await clock.advance(at('2026-11-24T22:20:00Z'));
  t.equal(restarted.calls.length, 1);
  t.equal(restarted.supervisor.state, 'waiting_for_window');
  const late = harness(clock, { maxRuntimeMs: 10 * 60_000, occurrences });
  late.supervisor.request('pipeline');
  await flush();
  t.equal(late.calls.length, 0, 'a restart after the budget is spent starts no work in this occurrence');
  t.equal(late.supervisor.state, 'waiting_for_window');
  t.equal(late.supervisor.window().open, false);
  restarted.shutdown.abort();
  late.shutdown.abort();
  await flush();
});

t.test('without daily windows max_runtime caps the process run, and --once ends when its time is up', async (t) => {
  const clock = new FakeClock(at('2026-11-23T12:00:00Z'));
  const h = harness(clock, { window: new ChangeWindow({}), maxRuntimeMs: 60_000 });
  h.supervisor.request('pipeline');
  await clock.advance(at('2026-11-23T12:05:00Z'));
  t.same(h.outcomes, ['window_closed']);
  t.equal(h.calls.length, 1);

  const once = harness(new FakeClock(at('2026-11-23T23:30:00Z')), { once: true });
  once.supervisor.request('pipeline');
  await flush();
  t.same(once.outcomes, ['window_closed'], '--once outside the window ends at once');
  t.equal(once.calls.length, 0);
});

t.test('shutdown ends a loop waiting for its window', async (t) => {
  const clock = new FakeClock(at('2026-11-23T23:30:00Z'));
  const h = harness(clock);
  h.supervisor.request('pipeline');
  await flush();
  t.equal(h.supervisor.state, 'waiting_for_window');
  h.shutdown.abort();
  await flush();
  t.same(h.outcomes, ['stopped']);
  t.equal(h.calls.length, 0);
});

t.test('a reloaded schedule: a waiting loop starts at once, a run takes the new close or stops', async (t) => {
  const clock = new FakeClock(at('2026-11-23T12:00:00Z'));
  const config: WindowConfig = { start: '22:00', stop: '23:00', timezone: 'UTC' };
  const window = new ChangeWindow(config);
  const h = harness(clock, { window });
  h.supervisor.request('pipeline');
  await flush();
  t.equal(h.supervisor.state, 'waiting_for_window');

  // The operator opens the window now (rpctl reload): the waiting loop looks again without waiting a minute.
  window.configure({ ...config, start: '11:00', stop: '14:00' });
  h.supervisor.rescheduled();
  await flush();
  t.equal(h.calls.length, 1, 'the work starts under the new window');
  t.equal(iso(h.supervisor.deadline), '2026-11-23T14:00:00.000Z');
  t.equal(iso(h.supervisor.drainFrom), '2026-11-23T13:59:00.000Z', 'the drain is taken from the new close');

  // A later close: the run goes on past the old one.
  window.configure({ ...config, start: '11:00', stop: '16:00' });
  h.supervisor.rescheduled();
  await clock.advance(at('2026-11-23T15:00:00Z'));
  t.notOk(h.calls[0]?.context.signal.aborted, 'still running after the old close');
  t.equal(iso(h.supervisor.deadline), '2026-11-23T16:00:00.000Z');
  t.ok(h.events.some((e) => e.kind === 'window.rescheduled'));

  // A window that is closed now: the run stops claiming, as at a close, and waits for the next opening.
  window.configure({ ...config, start: '22:00', stop: '23:00' });
  h.supervisor.rescheduled();
  await flush();
  t.ok(h.calls[0]?.context.signal.aborted, 'the run ends');
  t.equal(h.supervisor.state, 'waiting_for_window');
  t.equal(iso(h.supervisor.window().opensAt), '2026-11-23T22:00:00.000Z');
  await clock.advance(at('2026-11-23T22:00:00Z'));
  t.equal(h.calls.length, 2, 'and runs again when the new window opens');
  h.shutdown.abort();
  await flush();
});
