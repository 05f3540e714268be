import t from 'tap';
import { LiveList } from '../../../proxy/collections/live-list.ts';

t.test('add, delete anywhere, size and order', async (t) => {
  const list = new LiveList<string>();
  const a = list.add('a');
  const b = list.add('b');
  const c = list.add('c');
  t.equal(list.size, 3);
  t.strictSame(list.values(), ['c', 'b', 'a']);
  list.delete(b);
  t.strictSame(list.values(), ['c', 'a']);
  list.delete(c);
  t.strictSame(list.values(), ['a']);
  list.delete(a);
  t.equal(list.size, 0);
  t.strictSame(list.values(), []);
});

t.test('a removed entry points nowhere, and deleting it again changes nothing', async (t) => {
  const list = new LiveList<number>();
  const one = list.add(1);
  list.add(2);
  list.delete(one);
  const links = one as unknown as { prev: unknown; next: unknown; list: unknown };
  t.equal(links.prev, null);
  t.equal(links.next, null);
  t.equal(links.list, null);
  t.equal(list.delete(one), false);
  t.equal(list.size, 1);
  const other = new LiveList<number>();
  other.delete(list.add(3));
  t.equal(list.size, 2);
});

t.test('iterating while members leave sees each member once', async (t) => {
  const list = new LiveList<number>();
  const entries = [1, 2, 3, 4].map((n) => list.add(n));
  const seen: number[] = [];
  for (const n of list) {
    seen.push(n);
    for (const e of entries) list.delete(e); // a drain that closes every connection at once
  }
  t.strictSame(seen, [4, 3, 2, 1]);
  t.equal(list.size, 0);
});

t.test('clear lets every entry go', async (t) => {
  const list = new LiveList<number>();
  const entries = [1, 2, 3].map((n) => list.add(n));
  list.clear();
  t.equal(list.size, 0);
  t.strictSame(list.values(), []);
  for (const e of entries) t.equal(list.delete(e), false);
  list.add(4);
  t.strictSame(list.values(), [4]);
});
