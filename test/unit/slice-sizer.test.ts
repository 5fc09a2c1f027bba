// The slice sizer: the next slice takes the rows that fit the time budget at the last slice's cost per row,
// never fewer than the minimum, never more than the maximum or twice the last slice; its ranges cover an id span
// in order, each sized when it is reached.

import t from 'tap';
import { SliceSizer } from '../../daemon/store/slice-sizer.js';

/** A sizer on a fake clock where each row of a slice costs `msPerRow()`. */
function sizerAt(msPerRow: () => number, limits = { budgetMs: 10, min: 50, max: 2_000 }) {
  let now = 0;
  const sizer = new SliceSizer(limits, () => now);
  const slice = (rows = sizer.size) =>
    sizer.measure({ from: 1, to: rows }, () => {
      now += rows * msPerRow();
      return rows;
    });
  return { sizer, slice };
}

t.test('the first slice is the maximum; the next fits the budget at the measured cost', async (t) => {
  const { sizer, slice } = sizerAt(() => 0.025);
  t.equal(sizer.size, 2_000);
  t.equal(slice(), 2_000, 'the slice runs and its result comes back');
  t.equal(sizer.size, 400, '10 ms at 0.025 ms per row');
  slice();
  t.equal(sizer.size, 400, 'steady at a steady cost');
});

t.test('a slower machine gets smaller slices, down to the minimum', async (t) => {
  let cost = 0.025;
  const { sizer, slice } = sizerAt(() => cost);
  slice();
  cost = 0.1;
  slice();
  t.equal(sizer.size, 100, 'four times the cost, a quarter of the rows');
  cost = 10;
  slice();
  t.equal(sizer.size, 50, 'never below the minimum');
});

t.test('a cheap slice at most doubles the next, up to the maximum', async (t) => {
  let cost = 1;
  const { sizer, slice } = sizerAt(() => cost);
  slice();
  t.equal(sizer.size, 50);
  cost = 0.001;
  slice();
  t.equal(sizer.size, 100, 'twice the last slice, not the 10,000 rows the budget would allow');
  slice();
  slice();
  slice();
  slice();
  t.equal(sizer.size, 1_600);
  slice();
  t.equal(sizer.size, 2_000, 'never above the maximum');
  cost = 0;
  slice();
  t.equal(sizer.size, 2_000, 'a slice that took no measurable time keeps the maximum');
});

t.test('a short last slice sizes the next from its own rows', async (t) => {
  const { sizer, slice } = sizerAt(() => 0.01, { budgetMs: 10, min: 5, max: 2_000 });
  slice(10);
  t.equal(sizer.size, 20, 'ten rows in 0.1 ms: at most twice them');
  slice(0);
  t.equal(sizer.size, 5, 'an empty slice: the minimum, not zero');
});

t.test('ranges cover the span in order, each sized from the slice before it', async (t) => {
  let now = 0;
  const sizer = new SliceSizer({ budgetMs: 10, min: 50, max: 2_000 }, () => now);
  const seen: [number, number][] = [];
  for (const range of sizer.ranges(101, 2_700)) {
    seen.push([range.from, range.to]);
    sizer.measure(range, () => {
      now += (range.to - range.from + 1) * 0.025;
    });
  }
  t.same(seen, [
    [101, 2_100],
    [2_101, 2_500],
    [2_501, 2_700],
  ]);
  t.same([...sizer.ranges(5, 4)], [], 'an empty span has no range');
});
