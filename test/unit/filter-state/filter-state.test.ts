// The filter state's rules as Envoy's FilterStateImpl has them: read-only objects stay, a stream
// sees its connection's objects, Connection objects set from a stream land on the connection, and
// sharing with the upstream drops ONCE objects' sharing and keeps TRANSITIVE ones.
import t from 'tap';
import { AddressObject, FilterState, StringAccessor, createObject, hasObjectFactory, poolKeyOf } from '../../../proxy/filter-state/index.ts';

t.test('set, get, read-only and levels', async (t) => {
  const connection = new FilterState();
  const stream = new FilterState(connection);
  t.ok(connection.set('a', new StringAccessor('1'), { lifeSpan: 'Connection' }));
  t.equal(stream.get('a')?.asString(), '1', 'a stream reads its connection\'s objects');
  t.notOk(stream.set('a', new StringAccessor('2')), 'a stream may not shadow a connection object');
  t.ok(stream.set('b', new StringAccessor('x'), { readOnly: true }));
  t.notOk(stream.set('b', new StringAccessor('y')), 'read-only stays');
  t.equal(stream.get('b')?.asString(), 'x');
  t.ok(stream.set('c', new StringAccessor('m')));
  t.ok(stream.set('c', new StringAccessor('n')), 'a mutable object is replaced');
  t.equal(stream.get('c')?.asString(), 'n');
  t.ok(stream.set('d', new StringAccessor('conn'), { lifeSpan: 'Connection' }));
  t.equal(connection.get('d')?.asString(), 'conn', 'a Connection life span lands on the connection');
  t.notOk(connection.has('b'));
  t.equal(new FilterState(connection).get('b'), undefined, 'another stream does not see it');
});

t.test('sharing with the upstream', async (t) => {
  const connection = new FilterState();
  const stream = new FilterState(connection);
  t.equal(stream.sharedWithUpstream(), undefined, 'nothing shared: undefined (the fast path)');
  connection.set('conn.once', new StringAccessor('c'), { sharing: 'ONCE', lifeSpan: 'Connection' });
  stream.set('none', new StringAccessor('n'));
  stream.set('once', AddressObject.parse('10.0.0.1:80')!, { sharing: 'ONCE' });
  stream.set('transitive', new StringAccessor('t', true), { sharing: 'TRANSITIVE', readOnly: true });
  const shared = stream.sharedWithUpstream()!;
  t.same(shared.map((s) => [s.key, s.sharing, s.readOnly]), [
    ['conn.once', 'NONE', false],
    ['once', 'NONE', false],
    ['transitive', 'TRANSITIVE', true],
  ]);
  const next = FilterState.fromShared(shared);
  t.equal(next.get('once')?.asString(), '10.0.0.1:80');
  t.same(next.sharedWithUpstream()!.map((s) => s.key), ['transitive'], 'ONCE went one hop; TRANSITIVE goes on');
  t.equal(poolKeyOf(shared), 'once=10.0.0.1:80\ntransitive=t\n', 'hashable objects key pools; a plain string does not');
  t.equal(poolKeyOf(undefined), '');
});

t.test('factories', async (t) => {
  t.ok(hasObjectFactory('envoy.string'));
  t.ok(hasObjectFactory('envoy.filters.listener.original_dst.local_ip'));
  t.notOk(hasObjectFactory('envoy.tcp_proxy.no_such'));
  t.equal(createObject('envoy.string', 'abc')?.hashKey, undefined, 'envoy.string is not hashable');
  t.equal(createObject('istio.hashable_string', 'abc')?.hashKey, 'abc');
  const v6 = createObject('envoy.filters.listener.original_dst.remote_ip', '[fd00::1]:8080') as AddressObject;
  t.equal(v6.ip, 'fd00::1');
  t.equal(v6.port, 8080);
  t.equal(v6.asString(), '[fd00::1]:8080');
  t.equal(v6.field?.('port'), 8080);
  for (const bad of ['10.0.0.1', 'svc.local:80', 'fd00::1:80', '10.0.0.1:70000', '']) {
    t.equal(createObject('envoy.filters.listener.original_dst.local_ip', bad), undefined, `'${bad}' makes no address`);
  }
});
