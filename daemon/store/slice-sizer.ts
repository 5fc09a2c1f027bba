// How many rows the next slice of a long write takes, so that each slice's transaction holds the main thread
// (and so the control API) for about a time budget.
//
// A write that is one SQL statement over a range of rows (the plan's INSERT … SELECT over an id range, say)
// cannot stop itself when its time is up, the way the inventory's row-by-row writes do. Its next range is sized
// instead from what the last one cost per row: that cost differs by machine, grows with the store, and doubles
// when the other loops compete for the same core, so any fixed count is too long under load or needlessly
// short when the machine is quiet.

export interface SliceLimits {
  /** How long one slice should hold the main thread, in ms. */
  budgetMs: number;
  /** The fewest rows a slice takes, however slow: each slice has a fixed cost (a statement, a turn of the loop). */
  min: number;
  /** The most rows a slice takes, however fast; also the first slice's size. */
  max: number;
}

/** Ids `from` to `to`, both included. */
export interface IdRange {
  from: number;
  to: number;
}

export class SliceSizer {
  private next: number;

  constructor(
    private readonly limits: SliceLimits,
    private readonly clock: () => number = () => performance.now(),
  ) {
    this.next = limits.max;
  }

  /** The rows the next slice should take. */
  get size(): number {
    return this.next;
  }

  /** The id ranges from `first` to `last` in order, each sized when it is reached: run each one through measure(). */
  *ranges(first: number, last: number): Generator<IdRange> {
    for (let from = first; from <= last; ) {
      const to = Math.min(from + this.next - 1, last);
      yield { from, to };
      from = to + 1;
    }
  }

  /**
   * Run one slice over `range` and size the next from its cost: the rows that fit the budget at this slice's
   * cost per row, but at most twice this slice (one fast slice, a page already in the cache, is not a trend).
   */
  measure<T>(range: IdRange, slice: () => T): T {
    const started = this.clock();
    const result = slice();
    const ms = this.clock() - started;
    const { budgetMs, min, max } = this.limits;
    const measured = Math.max(range.to - range.from + 1, 1);
    const fits = ms > 0 ? Math.floor((measured * budgetMs) / ms) : max;
    this.next = Math.max(min, Math.min(max, fits, measured * 2));
    return result;
  }
}
