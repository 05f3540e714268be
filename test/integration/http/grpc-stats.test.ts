// envoy.filters.http.grpc_stats through a real Legate: per-cluster counters of gRPC calls by
// service and method (allowlisted, or all methods with dots replaced), by status from a
// trailers-only answer or the trailers, and the messages each way.
import t from 'tap';
import { bootstrap, httpListener, ROUTER_TYPE, routes, staticCluster } from '../../support/bootstrap.ts';
import { grpcCall } from '../../support/grpc-http1.ts';
import { startLegate } from '../../support/legate.ts';
import { startUpstream } from '../../support/upstream.ts';

const GRPC_STATS_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.grpc_stats.v3.FilterConfig';

// Two response messages then OK in the trailers; /pkg.Svc/Fail answers NOT_FOUND trailers-only.
const app = await startUpstream('app', (req, res) => {
  req.resume();
  req.once('end', () => {
    if (req.url === '/pkg.Svc/Fail') {
      res.writeHead(200, { 'content-type': 'application/grpc', 'grpc-status': '5', 'content-length': '0' });
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/grpc', trailer: 'grpc-status' });
    res.write(Buffer.from([0, 0, 0, 0, 1, 42]));
    res.write(Buffer.from([0, 0, 0, 0, 0]));
    res.addTrailers({ 'grpc-status': '0' });
    res.end();
  });
});
t.teardown(() => app.close());

const stats = (config: object) => [
  { name: 'envoy.filters.http.grpc_stats', typed_config: { '@type': GRPC_STATS_TYPE, ...config } },
  { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } },
];
const legate = await startLegate(
  bootstrap(
    [
      httpListener('allowlisted', routes([{ match: { prefix: '/' }, route: { cluster: 'app' } }]), {
        http_filters: stats({ individual_method_stats_allowlist: { services: [{ name: 'pkg.Svc', method_names: ['Call'] }] } }),
      }),
      httpListener('all', routes([{ match: { prefix: '/' }, route: { cluster: 'app_all' } }]), {
        http_filters: stats({ stats_for_all_methods: true, replace_dots_in_grpc_service_name: true }),
      }),
    ],
    [staticCluster('app', [{ port: app.port }]), staticCluster('app_all', [{ port: app.port }], { alt_stat_name: 'all_stats' })],
  ),
);
t.teardown(() => legate.stop());

const counters = async () => (await legate.primary.stats()).counters;

t.test('allowlisted methods get their own counters; others share cluster.<name>.grpc.*', async (t) => {
  await grpcCall(legate.url('/pkg.Svc/Call', 'allowlisted'));
  await grpcCall(legate.url('/pkg.Svc/Call', 'allowlisted'));
  await grpcCall(legate.url('/pkg.Svc/Fail', 'allowlisted'));
  await grpcCall(legate.url('/pkg.Svc/Other', 'allowlisted'));
  const c = await counters();
  t.equal(c.get('cluster.app.grpc.pkg.Svc.Call.success'), 2);
  t.equal(c.get('cluster.app.grpc.pkg.Svc.Call.0'), 2);
  t.equal(c.get('cluster.app.grpc.pkg.Svc.Call.total'), 2);
  t.equal(c.get('cluster.app.grpc.pkg.Svc.Call.request_message_count'), 2, 'one message per call');
  t.equal(c.get('cluster.app.grpc.pkg.Svc.Call.response_message_count'), 4, 'two per answer');
  t.equal(c.get('cluster.app.grpc.failure'), 1, 'Fail is not allowlisted');
  t.equal(c.get('cluster.app.grpc.5'), 1, 'its trailers-only status');
  t.equal(c.get('cluster.app.grpc.success'), 1, 'Other');
  t.equal(c.get('cluster.app.grpc.total'), 2);
});

t.test('stats_for_all_methods, dots replaced, under the alt_stat_name', async (t) => {
  await grpcCall(legate.url('/pkg.Svc/Fail', 'all'));
  const c = await counters();
  t.equal(c.get('cluster.all_stats.grpc.pkg_Svc.Fail.failure'), 1);
  t.equal(c.get('cluster.all_stats.grpc.pkg_Svc.Fail.5'), 1);
  t.equal(c.get('cluster.all_stats.grpc.pkg_Svc.Fail.total'), 1);
});
