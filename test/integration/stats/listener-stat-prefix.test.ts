// Listener.stat_prefix: a listener that sets it keeps its stats under listener.<stat_prefix>.,
// as Envoy roots them, and one that does not under listener.<ip>_<port>.
import t from 'tap';
import { bootstrap, httpListener, routes, staticCluster } from '../../support/bootstrap.ts';
import { fetchText, statsMap } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { startUpstream } from '../../support/upstream.ts';

t.test('a listener with stat_prefix is counted under it; one without under its address', async (t) => {
  const app = await startUpstream('app');
  t.teardown(() => app.close());
  const route = routes([{ match: { prefix: '/' }, route: { cluster: 'app' } }]);
  const named = { ...httpListener('named', route), stat_prefix: 'public_http' };
  const plain = httpListener('plain', route);
  const legate = await startLegate(bootstrap([named, plain], [staticCluster('app', [{ port: app.port }])]));
  t.teardown(() => legate.stop());

  for (const listener of ['named', 'named', 'plain']) t.equal((await fetchText(legate.url('/', listener))).status, 200, `through ${listener}`);
  const stats = await statsMap(legate.adminUrl(''));
  t.equal(stats.get('listener.public_http.downstream_cx_total'), 2, 'the named listener counts under listener.public_http.');
  t.equal(stats.get(`listener.127.0.0.1_${legate.port('named')}.downstream_cx_total`), undefined, 'and not under its address');
  t.equal(stats.get(`listener.127.0.0.1_${legate.port('plain')}.downstream_cx_total`), undefined, 'port 0 listeners are named by the configured address');
  t.equal(stats.get('listener.127.0.0.1_0.downstream_cx_total'), 1, 'the plain listener counts under its configured address');
});
