// One store write per event-loop turn.
//
// Several loops (the inventory's vault lanes) await AWS answers that a worker
// pool may deliver in one burst; their continuations then run back to back as
// microtasks, and each commits a transaction of tens of milliseconds, so the
// control API would wait for all of them. Queued here, each write runs in its
// own setImmediate turn, after everything queued before it, with an I/O poll
// (and so any `rpctl status` request) in between.

import { setImmediate as nextTurn } from 'node:timers/promises';

export class WriteQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(write: () => T): Promise<T> {
    const result = this.tail.then(async () => {
      await nextTurn();
      return write();
    });
    this.tail = result.catch(() => undefined);
    return result;
  }
}
