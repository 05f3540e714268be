// Address.pipe: Unix domain sockets as cluster endpoints (how pilot-agent serves xDS and SDS to
// the proxy); refused by name where Legate does not build them (listeners, the admin), for DNS
// clusters and with health checks; and the gRPC targets the primary dials for them.
import t from 'tap';
import { translateBootstrap, translateCluster, translateListener } from '../../../proxy/config/index.ts';
import { grpcTarget } from '../../../proxy/server/grpc-target.ts';

const pipeEndpoint = (path: string) => ({ endpoint: { address: { pipe: { path, mode: 0o600 } } } });
const cluster = (extra: object = {}, path = '/run/legate/app.sock') => ({
  name: 'uds',
  type: 'STATIC',
  connect_timeout: '1s',
  load_assignment: { cluster_name: 'uds', endpoints: [{ lb_endpoints: [pipeEndpoint(path)] }] },
  ...extra,
});

t.test('a pipe endpoint is its path, port 0', async (t) => {
  const { cluster: c, warnings } = translateCluster(cluster());
  t.same(c.loadAssignment.endpoints[0].lbEndpoints[0].address, { address: '/run/legate/app.sock', port: 0, pipe: true });
  t.match(warnings.join('\n'), /mode.*ignored|ignored.*mode/, 'mode (the permissions of a socket Envoy creates) is ignored with a warning');
});

t.test('where pipes are refused', async (t) => {
  t.throws(() => translateListener({ name: 'l', address: { pipe: { path: '/run/l.sock' } }, filter_chains: [] }),
    /address\.pipe: not supported by Legate: a Unix domain socket \(pipe\) here/);
  t.throws(() => translateCluster(cluster({}, '')), /pipe\.path: required field is missing/);
  t.throws(() => translateCluster(cluster({ type: 'STRICT_DNS' })),
    /endpoint\.address\.pipe\.path: a STRICT_DNS cluster cannot resolve a pipe endpoint/);
  const healthChecks = [{ timeout: '1s', interval: '5s', unhealthy_threshold: 2, healthy_threshold: 1, tcp_health_check: {} }];
  t.throws(() => translateBootstrap({ static_resources: { clusters: [cluster({ health_checks: healthChecks })] } }),
    /health_checks: not supported by Legate: health checks of a cluster with pipe endpoints/);
});

t.test('gRPC targets of pipe clusters', async (t) => {
  const clusters = ['./etc/istio/proxy/XDS', '/var/run/sds.sock', '@abstract-sds'].map((path, i) => ({ ...translateCluster(cluster({ name: `c${i}` }, path)).cluster, name: `c${i}` }));
  const target = (name: string) => grpcTarget({ clusterName: name, timeoutMs: 0, initialMetadata: [] }, clusters, 'test');
  t.equal(target('c0'), 'unix:./etc/istio/proxy/XDS');
  t.equal(target('c1'), 'unix:///var/run/sds.sock');
  t.equal(target('c2'), 'unix-abstract:abstract-sds');
});
