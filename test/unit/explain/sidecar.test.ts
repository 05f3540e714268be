// explain on a sidecar's listeners (legate run --mode sidecar): a captured connection handed by
// virtualOutbound's use_original_dst to the listener for its original destination, or passed
// through to that destination by the ORIGINAL_DST cluster when there is none.
import t from 'tap';
import { translateBootstrap } from '../../../proxy/config/index.ts';
import { explain } from '../../../proxy/explain/index.ts';
import { withSidecarDefaults } from '../../../proxy/server/sidecar.ts';
import { bootstrap, httpListener, routes, socketAddress, staticCluster, TCP_PROXY_TYPE } from '../../support/bootstrap.ts';

// A service VIP's HTTP listener on every address of port 9080, and a database on 10.0.0.9:5432.
const reviews = { ...httpListener('0.0.0.0_9080', routes([{ match: { prefix: '/' }, route: { cluster: 'reviews' } }])), address: socketAddress('0.0.0.0', 9080), bind_to_port: false };
const db = {
  name: '10.0.0.9_5432',
  address: socketAddress('10.0.0.9', 5432),
  bind_to_port: false,
  filter_chains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TCP_PROXY_TYPE, stat_prefix: 'db', cluster: 'db' } }] }],
};
const { boot } = withSidecarDefaults(translateBootstrap(bootstrap([reviews, db], [staticCluster('reviews', [{ port: 9001 }]), staticCluster('db', [{ port: 9002 }])])));

t.test('handed to the listener for the original destination: wildcard, then exact', async (t) => {
  const http = explain(boot, { url: 'http://reviews.default:9080/ratings' }, { meshRetries: true });
  t.equal(http.listener.name, '0.0.0.0_9080');
  t.equal(http.listener.why, "captured by 'virtualOutbound' (use_original_dst), handed to the listener for reviews.default:9080");
  t.same(http.clusters.map((c) => c.name), ['reviews']);
  t.match(http.action, { kind: 'route', retry: { source: 'mesh default', numRetries: 3 } });
  const tcp = explain(boot, { url: 'http://10.0.0.9:5432/' });
  t.equal(tcp.listener.name, '10.0.0.9_5432');
  t.match(tcp.action, { kind: 'tcp_proxy', clusters: [{ name: 'db' }] });
});

t.test('no listener for the destination: it stays on virtualOutbound and passes through', async (t) => {
  const e = explain(boot, { url: 'http://10.0.0.7:7777/' });
  t.equal(e.listener.name, 'virtualOutbound');
  t.match(e.listener.why, /no listener for 10\.0\.0\.7:7777, so it stays there/);
  t.match(e.filterChain, { name: 'PassthroughFilterChain', index: -1, why: ['no filter chain matched: the default_filter_chain'] });
  t.match(e.clusters, [{ name: 'PassthroughCluster', type: 'ORIGINAL_DST', pick: '10.0.0.7:7777' }]);
});

t.test('a connection dialled to the capture port itself is blackholed', async (t) => {
  const e = explain(boot, { url: 'http://10.0.0.7:15001/' });
  t.equal(e.listener.name, 'virtualOutbound');
  t.match(e.filterChain, { name: 'virtualOutbound-blackhole', why: ['destination_port 15001'] });
  t.match(e.clusters, [{ name: 'BlackHoleCluster', hosts: [] }]);
});
