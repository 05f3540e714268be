// Unix domain sockets (Address.pipe) as pilot-agent uses them: the management server on a socket
// file named by the xDS cluster's pipe endpoint, and upstream hosts on sockets (a path from EDS,
// and an abstract '@name' from a static cluster).
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { HCM_TYPE, ROUTER_TYPE, routes, socketAddress } from '../../support/bootstrap.ts';
import { fetchText, nodeRequest, statsMap } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { echoHandler } from '../../support/upstream.ts';
import { edsCluster, rdsListener, routeConfig } from '../../support/xds/fixtures.ts';
import { XdsServer } from '../../support/xds-server.ts';
import { CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL, LISTENER_TYPE_URL, ROUTE_TYPE_URL } from '../../support/xds-proxy.ts';

const HTTP2_OPTIONS = {
  'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
    '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
    explicit_http_config: { http2_protocol_options: {} },
  },
};

const pipeEndpoint = (path: string) => ({ endpoint: { address: { pipe: { path } } } });

// An HTTP server answering with echoHandler(name) on a Unix socket ('\0…' is abstract).
async function unixUpstream(t: Test, name: string, path: string): Promise<void> {
  const handler = echoHandler(name);
  const server = http.createServer((req, res) => handler(req, res, 0));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, resolve);
  });
  t.teardown(() => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
}

t.test('ADS over a Unix socket, to upstream hosts on Unix sockets', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'legate-uds-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const appSocket = join(dir, 'app.sock');
  await unixUpstream(t, 'eds-app', appSocket);
  const abstractName = `legate-test-${process.pid}-${Date.now()}`;
  await unixUpstream(t, 'abstract-app', `\0${abstractName}`);

  const xds = new XdsServer({ unixPath: join(dir, 'XDS') });
  await xds.start();
  t.teardown(() => xds.stop());
  xds.setResources(CLUSTER_TYPE_URL, 'c1', [edsCluster('backend')]);
  xds.setResources(ENDPOINT_TYPE_URL, 'e1', [{
    '@type': 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
    cluster_name: 'backend',
    endpoints: [{ lb_endpoints: [pipeEndpoint(appSocket)] }],
  }]);
  xds.setResources(LISTENER_TYPE_URL, 'l1', [rdsListener('http', 'local_route')]);
  xds.setResources(ROUTE_TYPE_URL, 'r1', [routeConfig('local_route', 'backend')]);

  const source = { ads: {}, resource_api_version: 'V3', initial_fetch_timeout: '10s' };
  const legate = await startLegate({
    node: { id: 'sidecar~127.0.0.1~app.default~default.svc.cluster.local', cluster: 'app.default' },
    admin: { address: socketAddress('127.0.0.1', 0) },
    static_resources: {
      listeners: [{
        name: 'abstract',
        address: socketAddress('127.0.0.1', 0),
        filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: {
          '@type': HCM_TYPE,
          stat_prefix: 'abstract',
          route_config: routes([{ match: { prefix: '/' }, route: { cluster: 'abstract' } }]),
          http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } }],
        } }] }],
      }],
      clusters: [
        // pilot-agent's shape: the xDS server is a pipe endpoint of a STATIC HTTP/2 cluster.
        { name: 'xds-grpc', type: 'STATIC', connect_timeout: '1s', typed_extension_protocol_options: HTTP2_OPTIONS,
          load_assignment: { cluster_name: 'xds-grpc', endpoints: [{ lb_endpoints: [pipeEndpoint(join(dir, 'XDS'))] }] } },
        { name: 'abstract', type: 'STATIC', connect_timeout: '1s',
          load_assignment: { cluster_name: 'abstract', endpoints: [{ lb_endpoints: [pipeEndpoint(`@${abstractName}`)] }] } },
      ],
    },
    dynamic_resources: {
      ads_config: { api_type: 'GRPC', transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: 'xds-grpc' } }] },
      lds_config: source,
      cds_config: source,
    },
  });
  t.teardown(() => legate.stop());

  const fromEds = await nodeRequest(legate.url('/eds', 'http'));
  t.equal(fromEds.status, 200, 'config from the management server on the Unix socket, traffic to a Unix socket host');
  t.equal((JSON.parse(fromEds.body) as { upstream: string }).upstream, 'eds-app');
  const fromAbstract = await nodeRequest(legate.url('/abstract', 'abstract'));
  t.equal(fromAbstract.status, 200, 'an abstract socket (@name)');
  t.equal((JSON.parse(fromAbstract.body) as { upstream: string }).upstream, 'abstract-app');

  const clusters = (await fetchText(legate.adminUrl('/clusters'))).body;
  t.match(clusters, `backend::${appSocket}::cx_total::1`, '/clusters names the host by its socket path');
  const stats = await statsMap(legate.adminUrl(''));
  t.equal(stats.get('cluster.backend.upstream_rq_200'), 1);
});
