// Legate as an Istio ingress gateway, configured the way istiod configures one (issue #18). The
// bootstrap has pilot-agent's shape for a router (node router~..., delta ADS to xds-grpc on a
// Unix socket, sds-grpc on another, the 15090 Prometheus and 15021 health listeners); a test
// control plane then serves, over ADS, what istiod writes for a Gateway with an HTTP server on
// port 80 (target 8080) and an HTTPS server on 443 (target 8443, SIMPLE TLS, credentialName
// gw-cert) and VirtualServices routing a.example.com to svc-a and b.example.com to svc-b:
//
//   LDS  0.0.0.0_8080  HCM, RDS http.8080, istiod's gateway HTTP filters
//        0.0.0.0_8443  tls_inspector; a chain with server_names [a.example.com], a
//                      DownstreamTlsContext naming kubernetes://gw-cert (SDS over ADS, as istiod
//                      serves credentialName secrets), RDS https.443.https.gw.istio-system
//   RDS  virtual hosts <host>:<port>, domains [<host>], ignore_port_in_host_matching
//   CDS  outbound|80||svc-{a,b}.ns.svc.cluster.local: EDS, Istio's service metadata, the
//        tlsMode-istio (ISTIO_MUTUAL from sds-grpc) / tlsMode-disabled transport socket matches
//   EDS  one endpoint each, without tlsMode: istio (the backends are plain node:http servers, not
//        sidecars), so the gateway speaks plaintext to them, as Istio does to a pod without one
//   SDS  kubernetes://gw-cert over ADS; default and ROOTCA over sds-grpc
//
// Every resource is ACKed, Host and SNI pick the backend, HTTPS presents the certificate from SDS
// (verified against the test's CA), and 15090 shows istio_requests_total as a gateway reports it.
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type tls from 'node:tls';
import t from 'tap';
import type { JsonObject } from '../../../xds-client/index.ts';
import { fetchText, nodeRequest, waitFor } from '../../support/http.ts';
import { launchLegate, type RunningLegate } from '../../support/legate.ts';
import { createTestCa, opensslMissing, type LeafCert } from '../../support/test-ca.ts';
import { closedPort, echoHandler, startUpstream, type Echo } from '../../support/upstream.ts';
import { answerTo, CLUSTER_TYPE_URL, dynamicDump, ENDPOINT_TYPE_URL, LISTENER_TYPE_URL, loadAssignment, ROUTE_TYPE_URL } from '../../support/xds-proxy.ts';
import { XdsServer } from '../../support/xds-server.ts';
import { series } from '../../support/prometheus.ts';

const skip = opensslMissing();
const TYPE = 'type.googleapis.com/';
const SECRET_TYPE_URL = `${TYPE}envoy.extensions.transport_sockets.tls.v3.Secret`;
const TYPED_STRUCT = `${TYPE}udpa.type.v1.TypedStruct`;
const HCM = `${TYPE}envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`;
const HTTP2 = {
  'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
    '@type': `${TYPE}envoy.extensions.upstreams.http.v3.HttpProtocolOptions`,
    explicit_http_config: { http2_protocol_options: {} },
  },
};
const SPIFFE_GATEWAY = 'spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account';
const GATEWAY_ID = 'router~127.0.0.1~istio-ingressgateway-6b7d9-x2x7q.istio-system~istio-system.svc.cluster.local';
const SERVICES = { a: 'svc-a.ns.svc.cluster.local', b: 'svc-b.ns.svc.cluster.local' } as const;
const clusterOf = (service: string) => `outbound|80||${service}`;

const address = (port: number) => ({ socket_address: { protocol: 'TCP', address: '127.0.0.1', port_value: port } });
const ads = { ads: {}, initial_fetch_timeout: '0s', resource_api_version: 'V3' };
const typed = (typeUrl: string, value: JsonObject) => ({ '@type': TYPED_STRUCT, type_url: `${TYPE}${typeUrl}`, value });

// pilot/pkg/xds/filters and listener_builder.go's buildHTTPConnectionManager for the gateway
// class: the outbound metadata exchange, grpc_stats, istio.alpn (every class but sidecar
// inbound), fault and cors (for per-route config), istio.stats (packed, host header fallback off
// for gateways), router.
const GATEWAY_HTTP_FILTERS: JsonObject[] = [
  { name: 'istio.metadata_exchange', typed_config: typed('io.istio.http.peer_metadata.Config', {
    upstream_discovery: [{ istio_headers: {} }, { workload_discovery: {} }],
    upstream_propagation: [{ istio_headers: {} }],
  }) },
  { name: 'envoy.filters.http.grpc_stats', typed_config: { '@type': `${TYPE}envoy.extensions.filters.http.grpc_stats.v3.FilterConfig`, emit_filter_state: true, stats_for_all_methods: false } },
  { name: 'istio.alpn', typed_config: { '@type': `${TYPE}istio.envoy.config.filter.http.alpn.v2alpha1.FilterConfig`, alpn_override: [
    { upstream_protocol: 'HTTP10', alpn_override: ['istio-http/1.0', 'istio', 'http/1.0'] },
    { upstream_protocol: 'HTTP11', alpn_override: ['istio-http/1.1', 'istio', 'http/1.1'] },
    { upstream_protocol: 'HTTP2', alpn_override: ['istio-h2', 'istio', 'h2'] },
  ] } },
  { name: 'envoy.filters.http.fault', typed_config: { '@type': `${TYPE}envoy.extensions.filters.http.fault.v3.HTTPFault` } },
  { name: 'envoy.filters.http.cors', typed_config: { '@type': `${TYPE}envoy.extensions.filters.http.cors.v3.Cors` } },
  { name: 'istio.stats', typed_config: { '@type': `${TYPE}stats.PluginConfig`, disable_host_header_fallback: true } },
  { name: 'envoy.filters.http.router', typed_config: { '@type': `${TYPE}envoy.extensions.filters.http.router.v3.Router` } },
];

// gateway.go's buildGatewayConnectionManager on top of buildHTTPConnectionManager.
function gatewayHcm(statPrefix: string, routeName: string): JsonObject {
  return {
    name: 'envoy.filters.network.http_connection_manager',
    typed_config: {
      '@type': HCM,
      stat_prefix: statPrefix,
      codec_type: 'AUTO',
      rds: { config_source: ads, route_config_name: routeName },
      http_filters: GATEWAY_HTTP_FILTERS,
      access_log: [],
      use_remote_address: true,
      forward_client_cert_details: 'SANITIZE_SET',
      set_current_client_cert_details: { subject: true, cert: true, dns: true, uri: true },
      upgrade_configs: [{ upgrade_type: 'websocket' }],
      stream_idle_timeout: '0s',
      normalize_path: true,
      path_with_escaped_slashes_action: 'KEEP_UNCHANGED',
      http_protocol_options: {},
      request_id_extension: { typed_config: { '@type': `${TYPE}envoy.extensions.request_id.uuid.v3.UuidRequestIdConfig`, use_request_id_for_trace_sampling: true } },
    },
  };
}

function gatewayListeners(httpRoute: string): JsonObject[] {
  return [
    {
      '@type': `${TYPE}envoy.config.listener.v3.Listener`,
      name: '0.0.0.0_8080',
      address: address(0),
      traffic_direction: 'OUTBOUND',
      filter_chains: [{ filters: [gatewayHcm('outbound_0.0.0.0_8080', httpRoute)] }],
    },
    {
      '@type': `${TYPE}envoy.config.listener.v3.Listener`,
      name: '0.0.0.0_8443',
      address: address(0),
      traffic_direction: 'OUTBOUND',
      listener_filters: [{ name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': `${TYPE}envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector`, initial_read_buffer_size: 512 } }],
      filter_chains: [{
        filter_chain_match: { server_names: ['a.example.com'] },
        transport_socket: {
          name: 'envoy.transport_sockets.tls',
          typed_config: {
            '@type': `${TYPE}envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext`,
            // listener.go's BuildListenerTLSContext for a SIMPLE server with credentialName.
            common_tls_context: {
              alpn_protocols: ['h2', 'http/1.1'],
              tls_certificate_sds_secret_configs: [{ name: 'kubernetes://gw-cert', sds_config: { ads: {}, resource_api_version: 'V3' } }],
            },
            require_client_certificate: false,
          },
        },
        filters: [gatewayHcm('outbound_0.0.0.0_8443', 'https.443.https.gw.istio-system')],
      }],
    },
  ];
}

// gateway.go's buildGatewayHTTPRouteConfig: one virtual host per hostname, named <host>:<port>,
// its domain the bare host; the port is ignored in host matching.
function gatewayRoutes(name: string, port: number, hosts: [string, string][]): JsonObject {
  return {
    '@type': `${TYPE}envoy.config.route.v3.RouteConfiguration`,
    name,
    validate_clusters: false,
    ignore_port_in_host_matching: true,
    max_direct_response_body_size_bytes: 1048576,
    virtual_hosts: hosts.map(([host, service]) => ({
      name: `${host}:${port}`,
      domains: [host],
      include_request_attempt_count: true,
      routes: [{
        name: `${host.split('.')[0]}-route`,
        match: { prefix: '/' },
        route: {
          cluster: clusterOf(service),
          timeout: '0s',
          retry_policy: { retry_on: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes', num_retries: 2, retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts', typed_config: { '@type': `${TYPE}envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate` } }], host_selection_retry_max_attempts: '5', retriable_status_codes: [503] },
          max_grpc_timeout: '0s',
        },
        metadata: { filter_metadata: { istio: { config: '/apis/networking.istio.io/v1/namespaces/ns/virtual-service/gw-routes' } } },
        decorator: { operation: `${service}:80/*` },
      }],
    })),
  };
}

// The SdsSecretConfig istiod writes for the mesh's workload certificate and root.
const SDS_GRPC = { api_config_source: { api_type: 'GRPC', set_node_on_first_message_only: true, transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: 'sds-grpc' } }] }, initial_fetch_timeout: '0s', resource_api_version: 'V3' };

// cluster_builder.go's outbound cluster for a service port, as a gateway gets it.
function serviceCluster(service: string): JsonObject {
  const name = clusterOf(service);
  const [short, namespace] = service.split('.');
  return {
    '@type': `${TYPE}envoy.config.cluster.v3.Cluster`,
    name,
    type: 'EDS',
    eds_cluster_config: { eds_config: ads, service_name: name },
    connect_timeout: '10s',
    lb_policy: 'LEAST_REQUEST',
    circuit_breakers: { thresholds: [{ max_connections: 4294967295, max_pending_requests: 4294967295, max_requests: 4294967295, max_retries: 4294967295, track_remaining: true }] },
    common_lb_config: {},
    metadata: { filter_metadata: { istio: { services: [{ host: service, name: short, namespace }] } } },
    transport_socket_matches: [
      {
        name: 'tlsMode-istio',
        match: { tlsMode: 'istio' },
        transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: {
          '@type': `${TYPE}envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext`,
          common_tls_context: {
            tls_params: { tls_minimum_protocol_version: 'TLSv1_2', tls_maximum_protocol_version: 'TLSv1_3' },
            alpn_protocols: ['istio-peer-exchange', 'istio'],
            tls_certificate_sds_secret_configs: [{ name: 'default', sds_config: SDS_GRPC }],
            combined_validation_context: {
              default_validation_context: { match_subject_alt_names: [{ exact: `spiffe://cluster.local/ns/${namespace}/sa/${short}` }] },
              validation_context_sds_secret_config: { name: 'ROOTCA', sds_config: SDS_GRPC },
            },
          },
          sni: `outbound_.80_._.${service}`,
        } },
      },
      { name: 'tlsMode-disabled', match: {}, transport_socket: { name: 'envoy.transport_sockets.raw_buffer', typed_config: { '@type': `${TYPE}envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer` } } },
    ],
  };
}

function staticCluster(name: string, endpointAddress: object, extra: object = {}) {
  return { name, type: 'STATIC', connect_timeout: '1s', lb_policy: 'ROUND_ROBIN', load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: endpointAddress } }] }] }, ...extra };
}

function prefixListener(name: string, statPrefix: string, prefix: string, cluster: string) {
  return {
    name,
    address: address(0),
    filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: {
      '@type': HCM, codec_type: 'AUTO', stat_prefix: statPrefix,
      route_config: { virtual_hosts: [{ name: 'backend', domains: ['*'], routes: [{ match: { prefix }, route: { cluster } }] }] },
      http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': `${TYPE}envoy.extensions.filters.http.router.v3.Router` } }],
    } }] }],
  };
}

// pilot-agent's bootstrap for a router: the gateway's node metadata, delta ADS on the agent's
// XDS socket, sds-grpc, the Prometheus (15090) and health (15021) listeners.
function gatewayBootstrap(dir: string, adminPort: number, agentPort: number) {
  return {
    node: {
      id: GATEWAY_ID,
      cluster: 'istio-ingressgateway.istio-system',
      locality: {},
      metadata: {
        NAME: 'istio-ingressgateway-6b7d9-x2x7q', NAMESPACE: 'istio-system', WORKLOAD_NAME: 'istio-ingressgateway', CLUSTER_ID: 'Kubernetes', ISTIO_VERSION: '1.27.0',
        SERVICE_ACCOUNT: 'istio-ingressgateway-service-account', MESH_ID: 'cluster.local',
        OWNER: 'kubernetes://apis/apps/v1/namespaces/istio-system/deployments/istio-ingressgateway',
        LABELS: { app: 'istio-ingressgateway', istio: 'ingressgateway', 'service.istio.io/canonical-name': 'istio-ingressgateway', 'service.istio.io/canonical-revision': 'latest' },
      },
    },
    stats_config: {
      use_all_default_tags: false,
      stats_matcher: { inclusion_list: { patterns: [{ prefix: 'reporter=' }, { prefix: 'cluster_manager' }, { prefix: 'listener_manager' }, { prefix: 'server' }, { prefix: 'cluster.xds-grpc' }, { prefix: 'istio' }] } },
    },
    admin: { address: address(adminPort) },
    dynamic_resources: {
      lds_config: ads,
      cds_config: ads,
      ads_config: { api_type: 'DELTA_GRPC', set_node_on_first_message_only: true, transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: 'xds-grpc' } }] },
    },
    static_resources: {
      clusters: [
        staticCluster('prometheus_stats', address(adminPort)),
        staticCluster('agent', address(agentPort)),
        staticCluster('sds-grpc', { pipe: { path: join(dir, 'workload-spiffe-uds-socket') } }, { typed_extension_protocol_options: HTTP2 }),
        staticCluster('xds-grpc', { pipe: { path: join(dir, 'XDS') } }, { typed_extension_protocol_options: HTTP2, max_requests_per_connection: 1 }),
      ],
      listeners: [
        prefixListener('0.0.0.0_15090', 'stats', '/stats/prometheus', 'prometheus_stats'),
        prefixListener('0.0.0.0_15021', 'agent', '/healthz/ready', 'agent'),
      ],
    },
  };
}

const pem = (text: string) => ({ inline_bytes: Buffer.from(text).toString('base64') });
const certSecret = (name: string, leaf: LeafCert) => ({ '@type': SECRET_TYPE_URL, name, tls_certificate: { certificate_chain: pem(leaf.cert), private_key: pem(leaf.key) } });

// One HTTPS request to the gateway, verifying its certificate for `servername` against `ca`.
function httpsRequest(port: number, servername: string, ca: string): Promise<{ status: number; body: string; peer: tls.PeerCertificate }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path: '/tls', servername, ca, agent: false, headers: { host: servername }, timeout: 5000 }, (res) => {
      const peer = (res.socket as tls.TLSSocket).getPeerCertificate();
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body, peer }));
    });
    req.once('timeout', () => req.destroy(new Error('timed out')));
    req.once('error', reject);
    req.end();
  });
}

const boundPort = (legate: RunningLegate, name: string) => () => {
  try {
    return legate.port(name);
  } catch {
    return undefined;
  }
};

t.test('Legate as an Istio ingress gateway, configured as istiod configures one', { skip, timeout: 30_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'legate-istio-gw-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const ca = createTestCa('cluster.local');
  t.teardown(() => ca.remove());
  const gatewayCert = ca.issue('a.example.com', ['DNS:a.example.com']);
  const workloadCert = ca.issue('istio-ingressgateway', [`URI:${SPIFFE_GATEWAY}`]);

  const backends = { a: await startUpstream('svc-a', echoHandler('svc-a')), b: await startUpstream('svc-b', echoHandler('svc-b')) };
  t.teardown(() => backends.a.close());
  t.teardown(() => backends.b.close());
  const agent = http.createServer((req, res) => res.writeHead(req.url === '/healthz/ready' ? 200 : 404).end('agent'));
  await new Promise<void>((resolve) => agent.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => agent.close(() => resolve())));

  // pilot-agent's SDS server (workload certificate and mesh root) and istiod behind the XDS socket.
  const sds = new XdsServer({ service: 'sds', unixPath: join(dir, 'workload-spiffe-uds-socket') });
  await sds.start();
  t.teardown(() => sds.stop());
  sds.setResources(SECRET_TYPE_URL, 's1', [certSecret('default', workloadCert), { '@type': SECRET_TYPE_URL, name: 'ROOTCA', validation_context: { trusted_ca: pem(ca.cert) } }] as never);
  const xds = new XdsServer({ unixPath: join(dir, 'XDS') });
  await xds.start();
  t.teardown(() => xds.stop());
  xds.setResources(CLUSTER_TYPE_URL, 'c1', Object.values(SERVICES).map(serviceCluster));
  xds.setResources(ENDPOINT_TYPE_URL, 'e1', [loadAssignment(clusterOf(SERVICES.a), [backends.a.port]), loadAssignment(clusterOf(SERVICES.b), [backends.b.port])]);
  xds.setResources(LISTENER_TYPE_URL, 'l1', gatewayListeners('http.8080'));
  xds.setResources(ROUTE_TYPE_URL, 'r1', [
    gatewayRoutes('http.8080', 80, [['a.example.com', SERVICES.a], ['b.example.com', SERVICES.b]]),
    gatewayRoutes('https.443.https.gw.istio-system', 443, [['a.example.com', SERVICES.a]]),
  ]);
  xds.setResources(SECRET_TYPE_URL, 'k1', [certSecret('kubernetes://gw-cert', gatewayCert)] as never);

  const logs: string[] = [];
  const adminPort = await closedPort();
  const legate = launchLegate(gatewayBootstrap(dir, adminPort, (agent.address() as net.AddressInfo).port), { log: (line) => logs.push(line) });
  t.teardown(() => legate.stop());
  // Istio's config sources say initial_fetch_timeout 0s (wait as long as it takes), so a resource
  // that never comes holds the initial config: a deadline makes that a failure, with the log.
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([legate.started, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('no initial config within 8 s')), 8000)))])
    .catch((err: Error) => { throw new Error(`${err.message}\n${logs.join('\n')}`); })
    .finally(() => clearTimeout(timer));
  t.equal((xds.requests[0]?.request.node as { id?: string } | undefined)?.id, GATEWAY_ID, 'the gateway node reached the control plane over the socket');
  await waitFor('both gateway listeners bound', () => (boundPort(legate, '0.0.0.0_8080')() !== undefined && boundPort(legate, '0.0.0.0_8443')() !== undefined) || undefined, 8000)
    .catch((err: Error) => { throw new Error(`${err.message}\n${logs.join('\n')}`); });

  // Every response of every type answered with an ACK: its nonce, its version, no error_detail.
  for (const typeUrl of [CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL, LISTENER_TYPE_URL, ROUTE_TYPE_URL, SECRET_TYPE_URL]) {
    const answer = await answerTo(xds, typeUrl);
    t.equal(answer.error_detail, undefined, `${typeUrl.slice(TYPE.length)} ACKed`);
  }
  t.same(xds.requests.filter((r) => r.request.error_detail != null).map((r) => r.request.error_detail), [], 'no NACK on the ADS stream');
  const sdsAck = await sds.waitForRequest((r) => r.request.version_info === 's1' && r.request.response_nonce === sds.lastResponse(SECRET_TYPE_URL)?.response.nonce);
  t.equal(sdsAck.request.error_detail, undefined, 'the sds-grpc secrets ACKed');
  const dump = await dynamicDump(legate.adminUrl(''));
  t.same(dump.listeners.dynamic_active_listeners.map((l) => l.name).sort(), ['0.0.0.0_8080', '0.0.0.0_8443']);
  t.same(dump.listeners.dynamic_warming_listeners, [], 'no listener left warming');
  t.same(dump.clusters.dynamic_active_clusters.map((c) => c.name).sort(), [clusterOf(SERVICES.a), clusterOf(SERVICES.b)]);
  t.same(dump.route_configs.dynamic_route_configs.map((r) => r.name).sort(), ['http.8080', 'https.443.https.gw.istio-system']);

  // HTTP: the Host header picks the virtual host, with or without a port.
  const http8080 = legate.port('0.0.0.0_8080');
  const get = async (host: string, path: string) => {
    const reply = await nodeRequest(`http://127.0.0.1:${http8080}${path}`, { headers: { host } });
    return { status: reply.status, echo: reply.status === 200 ? (JSON.parse(reply.body) as Echo) : undefined };
  };
  const a = await get('a.example.com', '/one');
  t.equal(a.echo?.upstream, 'svc-a', 'Host a.example.com reaches svc-a');
  t.equal(a.echo?.url, '/one');
  t.equal(a.echo?.headers['x-envoy-peer-metadata-id'], GATEWAY_ID, 'the metadata exchange announces the gateway upstream');
  t.ok(a.echo?.headers['x-request-id'], 'a request id is generated (uuid request_id_extension)');
  t.equal((await get('b.example.com', '/two')).echo?.upstream, 'svc-b', 'Host b.example.com reaches svc-b');
  t.equal((await get('b.example.com:80', '/three')).echo?.upstream, 'svc-b', 'Host b.example.com:80 too: ignore_port_in_host_matching');
  t.equal((await get('c.example.com', '/')).status, 404, 'a host the gateway does not serve is a 404');

  // HTTPS: SNI a.example.com selects the chain; the certificate is the one from kubernetes://gw-cert.
  const https8443 = legate.port('0.0.0.0_8443');
  const secure = await httpsRequest(https8443, 'a.example.com', ca.cert);
  t.equal(secure.status, 200);
  t.equal((JSON.parse(secure.body) as Echo).upstream, 'svc-a', 'HTTPS for a.example.com reaches svc-a');
  t.equal(secure.peer.subject?.CN, 'a.example.com', 'the certificate served is the credentialName secret, verified against the test CA');
  await t.rejects(httpsRequest(https8443, 'b.example.com', ca.cert), 'an SNI no filter chain names gets no handshake');

  // 15090: istio_requests_total as the gateway reports it: source, itself the source workload,
  // the destination service from the cluster's istio metadata; no peer metadata came back from
  // the plain backends, so the destination workload is unknown.
  const prometheus = await fetchText(legate.url('/stats/prometheus', '0.0.0.0_15090'));
  t.equal(prometheus.status, 200);
  const requests = series(prometheus.body, 'istio_requests_total');
  const gatewaySource = {
    reporter: 'source', source_workload: 'istio-ingressgateway', source_workload_namespace: 'istio-system', source_app: 'istio-ingressgateway',
    source_canonical_service: 'istio-ingressgateway', source_canonical_revision: 'latest', source_cluster: 'Kubernetes',
    destination_workload: 'unknown', destination_canonical_service: 'unknown', destination_principal: 'unknown',
    request_protocol: 'http', response_code: '200', connection_security_policy: 'unknown',
  };
  t.match(requests.find((s) => s.destination_service_name === 'svc-a' && s.response_code === '200'), { ...gatewaySource, destination_service: SERVICES.a, value: '2' }, 'svc-a: one HTTP, one HTTPS request');
  t.match(requests.find((s) => s.destination_service_name === 'svc-b' && s.response_code === '200'), { ...gatewaySource, destination_service: SERVICES.b, value: '2' }, 'svc-b: two requests');
  t.notOk(requests.some((s) => s.reporter !== 'source'), 'a gateway reports as source only');

  const ready = await fetchText(legate.url('/healthz/ready', '0.0.0.0_15021'));
  t.equal(ready.status, 200, 'the health listener reaches pilot-agent');
});
