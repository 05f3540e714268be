// A waypoint as istiod writes it, carrying its facts in filter state: `connect_terminate` takes
// HTTP/2 CONNECT over mutual TLS and its set_filter_state (istiod's connect_authority filter) puts
// the CONNECT authority, the original destination and source, and the peer's and its own SPIFFE
// identities in the stream's filter state, shared ONCE with the upstream connection; the tunnel's
// connection to the internal listener `main_internal` starts with them. There original_dst
// restores the destination from them, filter_chain_matcher picks the service's chain by the
// authority (FilterStateInput, the multi-network waypoint's match) and else by the restored port,
// the HTTP and network RBAC filters allow or deny by io.istio.peer_principal, and the access log
// prints it. The direct chain's network set_filter_state re-shares the destination once more
// (%FILTER_STATE(...:PLAIN)%, ONCE), so a second internal hop (`encap`) restores it too and its
// ORIGINAL_DST cluster reaches the workload. A second test: HTTP pools to an internal listener are
// keyed by the hashable objects streams share (with envoy.string, which Envoy does not hash, the
// second tenant's requests ride the first one's connection: Istio's reason for its hashable
// string). Real clients, servers and certificates throughout.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { HCM_TYPE, ROUTER_TYPE, TCP_PROXY_TYPE, bootstrap, routes, socketAddress, staticCluster } from '../../support/bootstrap.ts';
import { nodeRequest, statsMap, waitForLines } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { tunnelGet, tunnelStatus as statusOf, type TunnelReply } from '../../support/hbone-client.ts';
import { createTestCa, opensslMissing, type LeafCert } from '../../support/test-ca.ts';
import { startUpstreamFor } from '../../support/upstream.ts';
import { INTERNAL_LISTENER_EXTENSION, internalCluster } from '../internal/fixtures.ts';
import { certFiles, downstreamTls } from '../tls/support.ts';

const T = 'type.googleapis.com/';
const ORIGINAL_DST = { name: 'envoy.filters.listener.original_dst', typed_config: { '@type': `${T}envoy.extensions.filters.listener.original_dst.v3.OriginalDst` } };
const SLEEP = 'spiffe://cluster.local/ns/default/sa/sleep';
const INTRUDER = 'spiffe://cluster.local/ns/other/sa/intruder';
const SVC_A = 'svc-a.default.svc.cluster.local:80';
const SVC_B = 'svc-b.default.svc.cluster.local:80';

const text = (s: string) => ({ text_format_source: { inline_string: s } });
const sfsValue = (key: string, format: string, extra: object = {}) => ({ object_key: key, format_string: text(format), shared_with_upstream: 'ONCE', ...extra });
// istiod's ConnectAuthorityFilter (1.29.2 and later) and ConnectAuthorityNetworkFilter.
const CONNECT_AUTHORITY = {
  name: 'connect_authority',
  typed_config: {
    '@type': `${T}envoy.extensions.filters.http.set_filter_state.v3.Config`,
    on_request_headers: [
      sfsValue('envoy.filters.listener.original_dst.local_ip', '%REQ(:AUTHORITY)%'),
      sfsValue('io.istio.connect_authority', '%REQ(:AUTHORITY)%', { factory_key: 'istio.hashable_string' }),
      sfsValue('envoy.filters.listener.original_dst.remote_ip', '%DOWNSTREAM_REMOTE_ADDRESS%'),
      sfsValue('io.istio.peer_principal', '%DOWNSTREAM_PEER_URI_SAN%', { factory_key: 'istio.hashable_string' }),
      sfsValue('io.istio.local_principal', '%DOWNSTREAM_LOCAL_URI_SAN%', { factory_key: 'istio.hashable_string' }),
    ],
  },
};
const CONNECT_AUTHORITY_NETWORK = {
  name: 'connect_authority',
  typed_config: {
    '@type': `${T}envoy.extensions.filters.network.set_filter_state.v3.Config`,
    on_new_connection: [sfsValue('envoy.filters.listener.original_dst.local_ip', '%FILTER_STATE(envoy.filters.listener.original_dst.local_ip:PLAIN)%')],
  },
};
const peerPrincipal = (stringMatch: object) => ({ filter_state: { key: 'io.istio.peer_principal', string_match: stringMatch } });
const chain = (name: string) => ({ action: { name, typed_config: { '@type': `${T}google.protobuf.StringValue`, value: name } } });
const tcpProxy = (cluster: string) => ({ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TCP_PROXY_TYPE, stat_prefix: cluster, cluster } });

const bodyOf = (r: TunnelReply) => r.response.slice(r.response.indexOf('\r\n\r\n') + 4);

t.test("a waypoint's chain through filter state: chains by CONNECT authority, RBAC by peer principal, the destination over two internal hops", { skip: opensslMissing() }, async (t) => {
  const workloadA = await startUpstreamFor(t, 'workload-a');
  const workloadB = await startUpstreamFor(t, 'workload-b');
  const workloadC = await startUpstreamFor(t, 'workload-c');
  const ca = createTestCa();
  t.teardown(() => ca.remove());
  const waypointCert = ca.issue('waypoint', ['URI:spiffe://cluster.local/ns/default/sa/waypoint']);
  const sleep = ca.issue('sleep', [`URI:${SLEEP}`]);
  const intruder = ca.issue('intruder', [`URI:${INTRUDER}`]);
  const dir = mkdtempSync(path.join(tmpdir(), 'legate-waypoint-fs-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const accessLog = path.join(dir, 'svc-a.log');

  const connectTerminate = {
    name: 'connect_terminate',
    address: socketAddress('127.0.0.1', 0),
    filter_chains: [{
      name: 'default',
      transport_socket: downstreamTls({
        tls_params: { tls_minimum_protocol_version: 'TLSv1_3', tls_maximum_protocol_version: 'TLSv1_3' },
        alpn_protocols: ['h2'],
        tls_certificates: [certFiles(waypointCert)],
        validation_context: { trusted_ca: { filename: ca.certFile }, match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { prefix: 'spiffe://cluster.local/' } }] },
      }, { require_client_certificate: true }),
      filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: {
        '@type': HCM_TYPE,
        stat_prefix: 'connect_terminate',
        route_config: routes([{ match: { connect_matcher: {} }, route: { cluster: 'main_internal', upgrade_configs: [{ upgrade_type: 'CONNECT', connect_config: {} }] } }]),
        http_filters: [CONNECT_AUTHORITY, { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } }],
        http2_protocol_options: { allow_connect: true },
        upgrade_configs: [{ upgrade_type: 'CONNECT' }],
      } }],
    }],
  };
  const mainInternal = {
    name: 'main_internal',
    internal_listener: {},
    listener_filters: [ORIGINAL_DST],
    filter_chains: [
      {
        name: 'svc-a-http',
        filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: {
          '@type': HCM_TYPE,
          stat_prefix: 'inbound_svc_a',
          route_config: routes([{ match: { prefix: '/' }, route: { cluster: 'svc-a' } }]),
          http_filters: [
            { name: 'envoy.filters.http.rbac', typed_config: { '@type': `${T}envoy.extensions.filters.http.rbac.v3.RBAC`, rules: { action: 'ALLOW', policies: { 'ns[default]-policy[sleep]': { permissions: [{ any: true }], principals: [peerPrincipal({ exact: SLEEP })] } } } } },
            { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } },
          ],
          access_log: [{ name: 'envoy.access_loggers.file', typed_config: {
            '@type': `${T}envoy.extensions.access_loggers.file.v3.FileAccessLog`,
            path: accessLog,
            log_format: text('%REQ(:PATH)% %RESPONSE_CODE% %FILTER_STATE(io.istio.connect_authority:PLAIN)% %FILTER_STATE(io.istio.peer_principal:PLAIN)% %FILTER_STATE(io.istio.local_principal:PLAIN)% %DOWNSTREAM_REMOTE_ADDRESS%\n'),
          } }],
        } }],
      },
      {
        name: 'svc-b-tcp',
        filters: [
          { name: 'envoy.filters.network.rbac', typed_config: { '@type': `${T}envoy.extensions.filters.network.rbac.v3.RBAC`, stat_prefix: 'svc_b.', rules: { action: 'DENY', policies: { 'ns[other]': { permissions: [{ any: true }], principals: [peerPrincipal({ safe_regex: { regex: '.*/ns/other/.*' } })] } } } } },
          tcpProxy('svc-b'),
        ],
      },
      { name: 'direct-tcp', filters: [CONNECT_AUTHORITY_NETWORK, tcpProxy('encap')] },
    ],
    filter_chain_matcher: {
      matcher_tree: {
        input: { name: 'authority', typed_config: { '@type': `${T}envoy.extensions.matching.common_inputs.network.v3.FilterStateInput`, key: 'io.istio.connect_authority' } },
        exact_match_map: { map: { [SVC_A]: chain('svc-a-http'), [SVC_B]: chain('svc-b-tcp') } },
      },
      on_no_match: { matcher: { matcher_tree: {
        input: { name: 'port', typed_config: { '@type': `${T}envoy.extensions.matching.common_inputs.network.v3.DestinationPortInput` } },
        exact_match_map: { map: { [String(workloadC.port)]: chain('direct-tcp') } },
      } } },
    },
  };
  // The second hop: its destination comes only from the filter state the direct chain shared again.
  const encap = { name: 'encap', internal_listener: {}, listener_filters: [ORIGINAL_DST], filter_chains: [{ filters: [tcpProxy('original')] }] };
  const legate = await startLegate(bootstrap(
    [connectTerminate, mainInternal, encap],
    [
      internalCluster('main_internal', 'main_internal'),
      internalCluster('encap', 'encap'),
      staticCluster('svc-a', [{ port: workloadA.port }]),
      staticCluster('svc-b', [{ port: workloadB.port }]),
      { name: 'original', type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED', connect_timeout: '1s' },
    ],
    { bootstrap_extensions: [INTERNAL_LISTENER_EXTENSION] },
  ));
  t.teardown(() => legate.stop());
  const port = legate.port('connect_terminate');
  const get = (client: LeafCert, authority: string, requestPath: string) => tunnelGet(port, ca.cert, client, authority, requestPath);

  const a = await get(sleep, SVC_A, '/a/1');
  t.equal(a.connectStatus, 200, 'the CONNECT is answered once main_internal took the connection');
  t.equal(statusOf(a), 200, 'svc-a: the chain the authority names, RBAC allows the sleep principal');
  t.same(JSON.parse(bodyOf(a)), { upstream: 'workload-a', path: '/a/1' });
  const [line] = await waitForLines(accessLog, 1);
  const [logPath, code, authority, peer, local, remote] = line.split(' ');
  t.same([logPath, code, authority, peer, local], ['/a/1', '200', SVC_A, SLEEP, 'spiffe://cluster.local/ns/default/sa/waypoint'], 'the access log reads the shared filter state');
  t.match(remote, /^127\.0\.0\.1:\d+$/, "remote_ip: the downstream address is the client's, not the internal one");

  const denied = await get(intruder, SVC_A, '/a/2');
  t.equal(statusOf(denied), 403, 'svc-a: RBAC denies a principal the policy does not name');
  t.match(bodyOf(denied), /RBAC: access denied/);

  const b = await get(sleep, SVC_B, '/b/1');
  t.equal(statusOf(b), 200, 'svc-b: the TCP chain the authority names');
  t.same(JSON.parse(bodyOf(b)), { upstream: 'workload-b', path: '/b/1' });
  const bDenied = await get(intruder, SVC_B, '/b/2');
  t.equal(bDenied.response, '', 'svc-b: the network RBAC denies ns/other by filter state and closes the connection');

  const c = await get(sleep, `127.0.0.1:${workloadC.port}`, '/c/1');
  t.equal(statusOf(c), 200, 'an IP authority: no service chain, original_dst restored the port, the direct chain');
  t.same(JSON.parse(bodyOf(c)), { upstream: 'workload-c', path: '/c/1' }, 'the second hop restored the destination its network set_filter_state shared (ONCE)');

  const unknown = await get(sleep, 'svc-z.default.svc.cluster.local:80', '/z');
  t.equal(unknown.response, '', 'an authority no chain takes: the connection is closed');

  const stats = await statsMap(legate.adminUrl(''));
  t.equal(stats.get('http.inbound_svc_a.rbac.allowed'), 1);
  t.equal(stats.get('http.inbound_svc_a.rbac.denied'), 1);
  t.equal(stats.get('svc_b.rbac.denied'), 1, 'the network RBAC counted its denial');
  t.equal(stats.get('listener.envoy_internal_main_internal.no_filter_chain_match'), 1);
  t.equal(stats.get('cluster.original.upstream_cx_total'), 1, 'the ORIGINAL_DST cluster connected once, to the workload');
});

t.test('connection pools to an internal listener are keyed by the hashable objects streams share', async (t) => {
  const upstream = await startUpstreamFor(t, 'app');
  const dir = mkdtempSync(path.join(tmpdir(), 'legate-fs-pools-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const accessLog = path.join(dir, 'inner.log');
  const tenant = {
    name: 'tenant',
    typed_config: {
      '@type': `${T}envoy.extensions.filters.http.set_filter_state.v3.Config`,
      on_request_headers: [sfsValue('io.istio.tenant', '%REQ(x-tenant)%', { factory_key: 'istio.hashable_string' })],
    },
  };
  const front = {
    name: 'front',
    address: socketAddress('127.0.0.1', 0),
    filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: {
      '@type': HCM_TYPE,
      stat_prefix: 'front',
      route_config: routes([{ match: { prefix: '/' }, route: { cluster: 'inner' } }]),
      http_filters: [tenant, { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } }],
    } }] }],
  };
  const inner = {
    name: 'inner',
    internal_listener: {},
    filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: {
      '@type': HCM_TYPE,
      stat_prefix: 'inner',
      route_config: routes([{ match: { prefix: '/' }, route: { cluster: 'app' } }]),
      http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } }],
      access_log: [{ name: 'envoy.access_loggers.file', typed_config: {
        '@type': `${T}envoy.extensions.access_loggers.file.v3.FileAccessLog`,
        path: accessLog,
        log_format: text('%REQ(:PATH)% %FILTER_STATE(io.istio.tenant:PLAIN)%\n'),
      } }],
    } }] }],
  };
  const legate = await startLegate(bootstrap([front, inner], [internalCluster('inner', 'inner'), staticCluster('app', [{ port: upstream.port }])], { bootstrap_extensions: [INTERNAL_LISTENER_EXTENSION] }));
  t.teardown(() => legate.stop());
  const order = ['a', 'b', 'a', 'b', 'a'];
  for (const [i, name] of order.entries()) {
    const reply = await nodeRequest(legate.url(`/${i}`, 'front'), { headers: { 'x-tenant': name } });
    t.equal(reply.status, 200);
  }
  const lines = await waitForLines(accessLog, order.length);
  t.same(lines, order.map((name, i) => `/${i} ${name}`), "each request reached the inner listener on a connection carrying its own tenant");
  const stats = await statsMap(legate.adminUrl(''));
  t.equal(stats.get('cluster.inner.upstream_cx_total'), 2, 'one pooled connection per tenant, reused by its later requests');
});
