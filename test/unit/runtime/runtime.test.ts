// The layered runtime: value parsing as Envoy's, layer order, the admin layer, /runtime's JSON.
import t from 'tap';
import { parseEntry, RuntimeLoader } from '../../../proxy/runtime/index.ts';

t.test('values parse as Envoy reads them', async (t) => {
  t.same(parseEntry('true'), { raw: 'true', bool: true });
  t.same(parseEntry('FALSE'), { raw: 'FALSE', bool: false });
  t.same(parseEntry('42'), { raw: '42', double: 42, uint: 42 });
  t.same(parseEntry('2.5'), { raw: '2.5', double: 2.5, uint: 2 });
  t.same(parseEntry(-3), { raw: '-3', double: -3 }, 'a negative number is no integer value');
  t.same(parseEntry('abc'), { raw: 'abc' });
  t.same(parseEntry(''), { raw: '' });
  t.equal(parseEntry({ numerator: 50, denominator: 'TEN_THOUSAND' }).percent, 0.5);
});

t.test('layers override in order; the admin layer is set and cleared by modify', async (t) => {
  const loader = new RuntimeLoader();
  t.equal(loader.snapshot.getInteger('a', 7), 7, 'empty: defaults');
  loader.configure([
    { name: 'base', kind: 'static', values: { a: 1, b: 'x', flag: true, share: { numerator: 25, denominator: 'HUNDRED' } } },
    { name: 'over', kind: 'static', values: { a: 2 } },
    { name: 'admin', kind: 'admin' },
  ]);
  const s = loader.snapshot;
  t.equal(s.getInteger('a', 0), 2);
  t.equal(s.get('b'), 'x');
  t.equal(s.getInteger('b', 9), 9, 'a string is no integer');
  t.equal(s.getBoolean('flag', false), true);
  t.equal(s.percent('share', 100), 25);
  t.equal(s.percent('a', 100, 10_000), 0.02, 'an integer is a numerator over the default denominator');
  t.ok(loader.hasAdminLayer());
  loader.modify({ a: '5', c: 'new' });
  t.equal(loader.snapshot.getInteger('a', 0), 5, 'the admin layer is last');
  t.equal(s.getInteger('a', 0), 2, 'a snapshot taken before does not change');
  t.same(loader.adminValues(), { a: '5', c: 'new' });
  t.same(loader.json(), {
    layers: ['base', 'over', 'admin'],
    entries: {
      a: { layer_values: ['1', '2', '5'], final_value: '5' },
      b: { layer_values: ['x', '', ''], final_value: 'x' },
      c: { layer_values: ['', '', 'new'], final_value: 'new' },
      flag: { layer_values: ['true', '', ''], final_value: 'true' },
      share: { layer_values: ['{"numerator":25,"denominator":"HUNDRED"}', '', ''], final_value: '{"numerator":25,"denominator":"HUNDRED"}' },
    },
  });
  loader.modify({ a: '' });
  t.equal(loader.snapshot.getInteger('a', 0), 2, 'an empty value removes the admin key');
  const worker = new RuntimeLoader();
  worker.configure([{ name: 'admin', kind: 'admin' }]);
  worker.setAdminValues(loader.adminValues());
  t.equal(worker.snapshot.get('c'), 'new', 'a worker takes the primary\'s admin layer');
});

t.test('without an admin layer nothing is modified', async (t) => {
  const loader = new RuntimeLoader();
  loader.configure([{ name: 'static', kind: 'static', values: { a: 1 } }]);
  t.notOk(loader.hasAdminLayer());
  loader.modify({ a: '3' });
  t.equal(loader.snapshot.getInteger('a', 0), 1);
});
