// Older waypoints' connect_terminate (istiod before 1.20) with Istio's connect_authority HTTP filter
// as istiod wrote it (a TypedStruct; enabled per route in typed_per_filter_config): the CONNECT
// authority goes into the stream's filter state as istio.set_internal_dst_address, shared once with
// the tunnel's connection to the internal listener main_internal, whose set_internal_dst_address
// listener filter (no `tunnel` endpoint metadata here) restores the destination from it; the
// ORIGINAL_DST cluster behind main_internal connects there, or to the route's tunnel port when it
// names one. Real mTLS HTTP/2 CONNECT clients and upstreams; main_internal's access log shows the
// restored destination, the object and the host.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { HCM_TYPE, ROUTER_TYPE, bootstrap, routes, socketAddress } from '../../support/bootstrap.ts';
import { statsMap, waitForLines } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { tunnelGet, tunnelStatus } from '../../support/hbone-client.ts';
import { createTestCa, opensslMissing } from '../../support/test-ca.ts';
import { closedPort, startUpstreamFor } from '../../support/upstream.ts';
import { INTERNAL_LISTENER_EXTENSION, internalCluster } from '../internal/fixtures.ts';
import { certFiles, downstreamTls } from '../tls/support.ts';

const T = 'type.googleapis.com/';
const typedStruct = (type: string, value?: object) => ({ '@type': `${T}udpa.type.v1.TypedStruct`, type_url: `${T}${type}`, ...(value === undefined ? {} : { value }) });
const CONNECT_AUTHORITY = 'io.istio.http.connect_authority.Config';

t.test('connect_authority: the CONNECT authority restores main_internal\'s destination, or the route\'s tunnel port', { skip: opensslMissing(), timeout: 30_000 }, async (t) => {
  const workload = await startUpstreamFor(t, 'workload');
  const tunnelPort = await startUpstreamFor(t, 'tunnel-port');
  const ca = createTestCa();
  t.teardown(() => ca.remove());
  const waypointCert = ca.issue('waypoint', ['URI:spiffe://cluster.local/ns/default/sa/waypoint']);
  const client = ca.issue('sleep', ['URI:spiffe://cluster.local/ns/default/sa/sleep']);
  const dir = mkdtempSync(path.join(tmpdir(), 'legate-connect-authority-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const accessLog = path.join(dir, 'main_internal.log');

  const connectRoute = (perRoute: object) => ({
    match: { connect_matcher: {} },
    route: { cluster: 'main_internal', upgrade_configs: [{ upgrade_type: 'CONNECT', connect_config: {} }] },
    typed_per_filter_config: { connect_authority: typedStruct(CONNECT_AUTHORITY, perRoute) },
  });
  // An authority on a port nothing listens on, tunnelled to the route's port on the same address.
  const nothing = await closedPort();
  const overridden = `127.0.0.1:${nothing}`;
  const connectTerminate = {
    name: 'connect_terminate',
    address: socketAddress('127.0.0.1', 0),
    filter_chains: [{
      transport_socket: downstreamTls({
        alpn_protocols: ['h2'],
        tls_certificates: [certFiles(waypointCert)],
        validation_context: { trusted_ca: { filename: ca.certFile } },
      }, { require_client_certificate: true }),
      filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: {
        '@type': HCM_TYPE,
        stat_prefix: 'connect_terminate',
        route_config: {
          name: 'default',
          virtual_hosts: [
            { name: 'override', domains: [overridden], routes: [connectRoute({ enabled: true, port: tunnelPort.port })] },
            { name: 'default', domains: ['*'], routes: [connectRoute({ enabled: true })] },
          ],
        },
        http_filters: [
          { name: 'connect_authority', typed_config: typedStruct(CONNECT_AUTHORITY) },
          { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } },
        ],
        http2_protocol_options: { allow_connect: true },
        upgrade_configs: [{ upgrade_type: 'CONNECT' }],
      } }],
    }],
  };
  const mainInternal = {
    name: 'main_internal',
    internal_listener: {},
    listener_filters: [{ name: 'set_dst_address', typed_config: typedStruct('istio.set_internal_dst_address.v1.Config') }],
    filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: {
      '@type': HCM_TYPE,
      stat_prefix: 'main_internal',
      route_config: routes([{ match: { prefix: '/' }, route: { cluster: 'original' } }]),
      http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } }],
      access_log: [{ name: 'envoy.access_loggers.file', typed_config: {
        '@type': `${T}envoy.extensions.access_loggers.file.v3.FileAccessLog`,
        path: accessLog,
        log_format: { text_format_source: { inline_string: '%REQ(:PATH)% %DOWNSTREAM_LOCAL_ADDRESS% %FILTER_STATE(istio.set_internal_dst_address:PLAIN)% %UPSTREAM_HOST%\n' } },
      } }],
    } }] }],
  };
  const legate = await startLegate(bootstrap(
    [connectTerminate, mainInternal],
    [internalCluster('main_internal', 'main_internal'), { name: 'original', type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED', connect_timeout: '1s' }],
    { bootstrap_extensions: [INTERNAL_LISTENER_EXTENSION] },
  ));
  t.teardown(() => legate.stop());
  const port = legate.port('connect_terminate');

  const direct = await tunnelGet(port, ca.cert, client, `127.0.0.1:${workload.port}`, '/direct');
  t.equal(direct.connectStatus, 200);
  t.equal(tunnelStatus(direct), 200, 'the tunnel reached the workload the authority names');
  t.match(direct.response, /"upstream":"workload"/);
  const viaPort = await tunnelGet(port, ca.cert, client, overridden, '/override');
  t.equal(tunnelStatus(viaPort), 200);
  t.match(viaPort.response, /"upstream":"tunnel-port"/, "the route's port replaced the authority's");

  const lines = await waitForLines(accessLog, 2);
  t.same(lines.sort(), [
    `/direct 127.0.0.1:${workload.port} 127.0.0.1:${workload.port} 127.0.0.1:${workload.port}`,
    `/override ${overridden} ${overridden} 127.0.0.1:${tunnelPort.port}`,
  ].sort(), 'main_internal: the authority as its local address and as the object, the ORIGINAL_DST host with the tunnel port');
  const stats = await statsMap(legate.adminUrl(''));
  t.equal(stats.get('cluster.original.upstream_cx_total'), 2);
});
