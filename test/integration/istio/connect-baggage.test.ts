// Older waypoints' connect_terminate (istiod before 1.20) with Istio's connect_baggage HTTP filter as
// istiod wrote it (a TypedStruct, no fields): the CONNECT's `baggage` header names the downstream
// peer, which goes into the stream's filter state as wasm.downstream_peer, shared once with the
// tunnel's connection to an internal listener; istio.stats there (SERVER_GATEWAY, as a waypoint's)
// reports it as the source, on an HTTP chain (istio_requests_total) and on a TCP one
// (istio_tcp_connections_opened_total). A CONNECT without the header leaves the source unknown.
// Real mTLS HTTP/2 CONNECT clients and upstreams; io.istio.network.authn shares the principal too.
import t from 'tap';
import { HCM_TYPE, ROUTER_TYPE, TCP_PROXY_TYPE, bootstrap, routes, socketAddress, staticCluster } from '../../support/bootstrap.ts';
import { fetchText, waitFor } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { tunnelGet, tunnelStatus } from '../../support/hbone-client.ts';
import { series } from '../../support/prometheus.ts';
import { createTestCa, opensslMissing } from '../../support/test-ca.ts';
import { startUpstreamFor } from '../../support/upstream.ts';
import { INTERNAL_LISTENER_EXTENSION, internalCluster } from '../internal/fixtures.ts';
import { certFiles, downstreamTls } from '../tls/support.ts';

const T = 'type.googleapis.com/';
const typedStruct = (type: string, value?: object) => ({ '@type': `${T}udpa.type.v1.TypedStruct`, type_url: `${T}${type}`, ...(value === undefined ? {} : { value }) });
const istioStats = (name: string) => ({ name, typed_config: typedStruct('stats.PluginConfig', { reporter: 'SERVER_GATEWAY' }) });
const STATS_CONFIG = { use_all_default_tags: false, stats_matcher: { inclusion_list: { patterns: [{ prefix: 'istio' }] } } };
const BAGGAGE = 'k8s.cluster.name=Kubernetes,k8s.namespace.name=shop,k8s.deployment.name=cart-v2,service.name=cart,service.version=v2,app.name=cart,app.version=v2';

t.test('connect_baggage: the CONNECT\'s baggage is the source istio.stats reports behind connect_terminate', { skip: opensslMissing(), timeout: 30_000 }, async (t) => {
  const workload = await startUpstreamFor(t, 'workload');
  const ca = createTestCa();
  t.teardown(() => ca.remove());
  const waypointCert = ca.issue('waypoint', ['URI:spiffe://cluster.local/ns/shop/sa/waypoint']);
  const client = ca.issue('sleep', ['URI:spiffe://cluster.local/ns/shop/sa/cart']);

  const connectRoute = (cluster: string) => ({
    match: { connect_matcher: {} },
    route: { cluster, upgrade_configs: [{ upgrade_type: 'CONNECT', connect_config: {} }] },
  });
  const connectTerminate = {
    name: 'connect_terminate',
    address: socketAddress('127.0.0.1', 0),
    filter_chains: [{
      transport_socket: downstreamTls({
        alpn_protocols: ['h2'],
        tls_certificates: [certFiles(waypointCert)],
        validation_context: { trusted_ca: { filename: ca.certFile } },
      }, { require_client_certificate: true }),
      filters: [
        { name: 'io.istio.network.authn', typed_config: typedStruct('io.istio.network.authn.Config', { shared: true }) },
        { name: 'envoy.filters.network.http_connection_manager', typed_config: {
          '@type': HCM_TYPE,
          stat_prefix: 'connect_terminate',
          route_config: {
            name: 'default',
            virtual_hosts: [
              { name: 'tcp', domains: ['tcp.shop:80'], routes: [connectRoute('tcp_internal')] },
              { name: 'http', domains: ['*'], routes: [connectRoute('http_internal')] },
            ],
          },
          http_filters: [
            { name: 'connect_baggage', typed_config: typedStruct('io.istio.http.connect_baggage.Config') },
            { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } },
          ],
          http2_protocol_options: { allow_connect: true },
          upgrade_configs: [{ upgrade_type: 'CONNECT' }],
        } },
      ],
    }],
  };
  const httpInternal = {
    name: 'http_internal',
    internal_listener: {},
    filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: {
      '@type': HCM_TYPE,
      stat_prefix: 'http_internal',
      route_config: routes([{ match: { prefix: '/' }, route: { cluster: 'workload' } }]),
      http_filters: [istioStats('istio.stats'), { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } }],
    } }] }],
  };
  const tcpInternal = {
    name: 'tcp_internal',
    internal_listener: {},
    filter_chains: [{ filters: [
      istioStats('istio.stats'),
      { name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TCP_PROXY_TYPE, stat_prefix: 'tcp_internal', cluster: 'workload' } },
    ] }],
  };
  const legate = await startLegate(bootstrap(
    [connectTerminate, httpInternal, tcpInternal],
    [internalCluster('http_internal', 'http_internal'), internalCluster('tcp_internal', 'tcp_internal'), staticCluster('workload', [{ port: workload.port }])],
    { bootstrap_extensions: [INTERNAL_LISTENER_EXTENSION], stats_config: STATS_CONFIG },
  ));
  t.teardown(() => legate.stop());
  const port = legate.port('connect_terminate');

  const viaHttp = await tunnelGet(port, ca.cert, client, 'cart.shop:80', '/http', { baggage: BAGGAGE });
  t.equal(tunnelStatus(viaHttp), 200, 'the HTTP chain reached the workload');
  const viaTcp = await tunnelGet(port, ca.cert, client, 'tcp.shop:80', '/tcp', { baggage: BAGGAGE });
  t.equal(tunnelStatus(viaTcp), 200, 'the TCP chain reached the workload');
  t.equal(tunnelStatus(await tunnelGet(port, ca.cert, client, 'cart.shop:80', '/anonymous')), 200);

  const source = {
    reporter: 'waypoint', source_workload: 'cart-v2', source_workload_namespace: 'shop', source_canonical_service: 'cart',
    source_canonical_revision: 'v2', source_app: 'cart', source_version: 'v2', source_cluster: 'Kubernetes',
    source_principal: 'spiffe://cluster.local/ns/shop/sa/cart',
  };
  const requests = await waitFor('istio_requests_total of both requests', async () => {
    const found = series((await fetchText(legate.adminUrl('/stats/prometheus'))).body, 'istio_requests_total');
    return found.length === 2 ? found : undefined;
  });
  const byWorkload = (w: string) => requests.filter((s) => s.source_workload === w);
  t.match(byWorkload('cart-v2'), [{ ...source, request_protocol: 'http', response_code: '200', value: '1' }], 'the baggage\'s peer is the HTTP source');
  t.match(byWorkload('unknown'), [{ source_app: 'unknown', source_principal: 'spiffe://cluster.local/ns/shop/sa/cart', value: '1' }], 'no baggage: no peer');
  const opened = await waitFor('istio_tcp_connections_opened_total', async () => {
    const found = series((await fetchText(legate.adminUrl('/stats/prometheus'))).body, 'istio_tcp_connections_opened_total');
    return found.length > 0 ? found : undefined;
  });
  t.match(opened, [{ ...source, request_protocol: 'tcp', value: '1' }], 'the baggage\'s peer is the TCP source');
});
