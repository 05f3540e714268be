import t from 'tap';
import { Backoff } from '../../../xds-client/backoff.ts';

t.test('the ceiling doubles from base up to max; each delay is a full-jitter share of it', async (t) => {
  const backoff = new Backoff({ baseMs: 500, maxMs: 30_000, random: () => 0.999999 });
  const delays = Array.from({ length: 10 }, () => backoff.next());
  t.same(delays, [499, 999, 1999, 3999, 7999, 15999, 29999, 29999, 29999, 29999]);
});

t.test('full jitter reaches down to zero', async (t) => {
  const backoff = new Backoff({ baseMs: 500, maxMs: 30_000, random: () => 0 });
  t.equal(backoff.next(), 0);
  t.equal(backoff.next(), 0);
});

t.test('reset starts again from base', async (t) => {
  const backoff = new Backoff({ baseMs: 100, maxMs: 1000, random: () => 0.5 });
  t.same([backoff.next(), backoff.next(), backoff.next()], [50, 100, 200]);
  backoff.reset();
  t.equal(backoff.next(), 50);
});

t.test('defaults are Envoy-like: 500 ms base, 30 s max', async (t) => {
  const backoff = new Backoff({ random: () => 0.999999 });
  let last = 0;
  for (let i = 0; i < 20; i++) last = backoff.next();
  t.equal(backoff.next(), last);
  t.ok(last < 30_000 && last >= 29_999);
  t.equal(new Backoff({ random: () => 0.999999 }).next(), 499);
});

t.test('real randomness stays within bounds', async (t) => {
  const backoff = new Backoff({ baseMs: 10, maxMs: 80 });
  const ceilings = [10, 20, 40, 80, 80, 80];
  for (const ceiling of ceilings) {
    const delay = backoff.next();
    t.ok(delay >= 0 && delay < ceiling, `${delay} in [0, ${ceiling})`);
  }
});

t.test('nonsense bounds are refused', async (t) => {
  t.throws(() => new Backoff({ baseMs: 0 }), RangeError);
  t.throws(() => new Backoff({ baseMs: 1000, maxMs: 10 }), RangeError);
});
