// Istio's workload discovery end to end: a sidecar whose bootstrap has pilot-agent's
// metadata_discovery extension subscribes over delta ADS (a real gRPC xDS server serving
// istiod-shaped listeners, clusters and istio.workload.Workload resources) and finds peers that
// send no metadata headers by address: a client pod at 127.0.0.2 calling the inbound HTTP and
// TCP listeners (downstream workload_discovery, the TCP exchange's enable_discovery) and a server
// pod at 127.0.0.3 behind the outbound listener (upstream workload_discovery) and behind a
// waypoint's listener (both peers by workload discovery, the upstream one through
// connect_originate's original_dst metadata, reported as SERVER_GATEWAY, over HTTP and TCP).
// istio_requests_total and istio_tcp_connections_opened_total carry their workloads, a peer that
// does send headers is read from them (the methods in order), a workload's update and removal
// change the labels of the next requests, a bad one is NACKed; forked workers, and workers that
// replace dead ones, hold them too; and `legate validate` accepts an ambient waypoint's bootstrap.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { HCM_TYPE, ROUTER_TYPE, socketAddress, staticCluster, TCP_PROXY_TYPE } from '../../support/bootstrap.ts';
import { fetchJson, fetchText, nodeRequest, statsMap, waitFor } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { runCli, spawnLegate, type LegateProcess } from '../../support/legate-process.ts';
import { series } from '../../support/prometheus.ts';
import { XdsServer } from '../../support/xds-server.ts';
import { INTERNAL_LISTENER_EXTENSION, internalCluster, internalTcpListener, ORIGINAL_DST_METADATA } from '../internal/fixtures.ts';
import { encodePeerHeader, workloadFromStruct } from '../../../proxy/istio/workload-metadata.ts';
import type { JsonObject } from '../../../xds-client/index.ts';
import { adsBootstrap, CLUSTER_TYPE_URL, LISTENER_TYPE_URL } from '../../support/xds-proxy.ts';

const TYPE = 'type.googleapis.com/';
const WORKLOAD_TYPE_URL = `${TYPE}istio.workload.Workload`;
const typed = (typeUrl: string, value: object) => ({ '@type': `${TYPE}udpa.type.v1.TypedStruct`, type_url: `${TYPE}${typeUrl}`, value });
const istioStats = { name: 'istio.stats', typed_config: typed('stats.PluginConfig', {}) };
const STATS_CONFIG = { use_all_default_tags: false, stats_matcher: { inclusion_list: { patterns: [{ prefix: 'istio' }, { prefix: 'workload_discovery' }] } } };
const INBOUND = 'inbound|8080||';
const OUTBOUND = 'outbound|8000||httpbin.default.svc.cluster.local';
const WAYPOINT_VIP = 'inbound-vip|8000|http|httpbin.default.svc.cluster.local';
const HTTPBIN = 'httpbin';

const HTTPBIN_SERVICE = { filter_metadata: { istio: { services: [{ host: 'httpbin.default.svc.cluster.local', name: 'httpbin', namespace: 'default' }] } } };

// A Workload as istiod serves it: the namespace and service account elided at their defaults.
function workload(uid: string, ip: string, app: string, version: string, extra: object = {}) {
  return {
    '@type': WORKLOAD_TYPE_URL,
    uid, name: `${app}-${version}-x1`, addresses: [Buffer.from(ip.split('.').map(Number)).toString('base64')],
    service_account: app, canonical_name: app, canonical_revision: version, workload_name: `${app}-${version}`,
    workload_type: 'DEPLOYMENT', cluster_id: 'Kubernetes', ...extra,
  };
}

function hcmChain(statPrefix: string, cluster: string, peerMetadata: object[], stats = istioStats) {
  return {
    filters: [{
      name: 'envoy.filters.network.http_connection_manager',
      typed_config: {
        '@type': HCM_TYPE, stat_prefix: statPrefix,
        route_config: { name: statPrefix, virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster } }] }] },
        http_filters: [
          ...peerMetadata.map((config, i) => ({ name: `istio.metadata_exchange.${i}`, typed_config: typed('io.istio.http.peer_metadata.Config', config) })),
          stats,
          { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } },
        ],
      },
    }],
  };
}

// Istio's network filters before tcp_proxy, the exchange with enable_discovery as istiod writes it.
function tcpChain(cluster: string, stats: object) {
  return {
    filters: [
      { name: 'istio.metadata_exchange', typed_config: typed('envoy.tcp.metadataexchange.config.MetadataExchange', { protocol: 'istio-peer-exchange', enable_discovery: true }) },
      stats,
      { name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TCP_PROXY_TYPE, stat_prefix: cluster, cluster } },
    ],
  };
}

// One HTTP request over a plain TCP connection from sleep's address, to its end.
function tcpFromSleep(port: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress: '127.0.0.2' }, () => socket.end('GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n'));
    socket.on('data', () => {});
    socket.on('close', () => resolve());
    socket.on('error', reject);
  });
}

// istiod's sidecar listeners, reduced to what this test needs, with Istio's peer metadata filters.
function listeners(): JsonObject[] {
  const listener = (name: string, direction: string, chain: object) => ({ '@type': `${TYPE}envoy.config.listener.v3.Listener`, name, address: socketAddress('127.0.0.1', 0), traffic_direction: direction, filter_chains: [chain] }) as JsonObject;
  return [
    listener('inbound_http', 'INBOUND', hcmChain('inbound_0.0.0.0_8080', INBOUND, [{
      downstream_discovery: [{ istio_headers: {} }, { workload_discovery: {} }], downstream_propagation: [{ istio_headers: {} }],
    }])),
    listener('outbound_http', 'OUTBOUND', hcmChain('outbound_0.0.0.0_8000', OUTBOUND, [{
      upstream_discovery: [{ istio_headers: {} }, { workload_discovery: {} }], upstream_propagation: [{ istio_headers: {} }],
    }])),
    // A waypoint's: both peers by workload discovery (istiod's waypoint_downstream_peer_metadata and
    // waypoint_upstream_peer_metadata), reporting as SERVER_GATEWAY; the service's endpoint is
    // connect_originate with the workload's address in its original_dst metadata.
    listener('waypoint_http', 'INBOUND', hcmChain('inbound-vip|8000|http|httpbin', WAYPOINT_VIP, [
      { downstream_discovery: [{ workload_discovery: {} }], shared_with_upstream: true },
      { upstream_discovery: [{ workload_discovery: {} }] },
    ], { name: 'istio.stats', typed_config: typed('stats.PluginConfig', { reporter: 'SERVER_GATEWAY' }) })),
    { '@type': `${TYPE}envoy.config.listener.v3.Listener`, ...internalTcpListener('connect_originate', HTTPBIN) },
    listener('inbound_tcp', 'INBOUND', tcpChain(INBOUND, istioStats)),
    // A waypoint's TCP chain: the exchange finds the downstream by address, and the upstream
    // workload by connect_originate's original destination.
    listener('waypoint_tcp', 'INBOUND', tcpChain(WAYPOINT_VIP, { name: 'istio.stats', typed_config: typed('stats.PluginConfig', { reporter: 'SERVER_GATEWAY' }) })),
  ];
}

// productpage's node metadata, as pilot-agent writes it.
const NODE = {
  id: 'sidecar~127.0.0.1~productpage-v1-abc12.default~default.svc.cluster.local',
  cluster: 'productpage.default',
  metadata: {
    NAME: 'productpage-v1-abc12', NAMESPACE: 'default', WORKLOAD_NAME: 'productpage-v1', CLUSTER_ID: 'Kubernetes', ISTIO_VERSION: '1.27.0',
    LABELS: { app: 'productpage', version: 'v1', 'service.istio.io/canonical-name': 'productpage', 'service.istio.io/canonical-revision': 'v1' },
  },
};

async function listen(server: http.Server | net.Server, host: string): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return (server.address() as net.AddressInfo).port;
}

const SLEEP_UID = 'Kubernetes//Pod/default/sleep-1';
const HTTPBIN_UID = 'Kubernetes//Pod/default/httpbin-1';

// The apps (productpage's behind the inbound listeners, httpbin without a sidecar at 127.0.0.3)
// and the control plane, serving the sidecar's listeners and clusters and the two workloads.
async function mesh(t: Test) {
  const seen: http.IncomingHttpHeaders[] = [];
  const handler = (name: string) => (req: http.IncomingMessage, res: http.ServerResponse) => {
    seen.push(req.headers);
    res.end(name);
  };
  const app = http.createServer(handler('productpage'));
  const appPort = await listen(app, '127.0.0.1');
  t.teardown(() => app.close());
  const httpbin = http.createServer(handler('httpbin'));
  const httpbinPort = await listen(httpbin, '127.0.0.3');
  t.teardown(() => httpbin.close());

  const xds = new XdsServer();
  await xds.start();
  t.teardown(() => xds.stop());
  xds.setResources(CLUSTER_TYPE_URL, 'c1', [
    { '@type': `${TYPE}envoy.config.cluster.v3.Cluster`, ...staticCluster(INBOUND, [{ port: appPort }]) },
    { '@type': `${TYPE}envoy.config.cluster.v3.Cluster`, ...staticCluster(OUTBOUND, [{ address: '127.0.0.3', port: httpbinPort }], { metadata: HTTPBIN_SERVICE }) },
    { '@type': `${TYPE}envoy.config.cluster.v3.Cluster`, ...staticCluster(HTTPBIN, [{ address: '127.0.0.3', port: httpbinPort }]) },
    { '@type': `${TYPE}envoy.config.cluster.v3.Cluster`, ...internalCluster(WAYPOINT_VIP, 'connect_originate', { metadata: HTTPBIN_SERVICE }),
      load_assignment: { cluster_name: WAYPOINT_VIP, endpoints: [{ lb_endpoints: [{
        endpoint: { address: { envoy_internal_address: { server_listener_name: 'connect_originate', endpoint_id: `127.0.0.3:${httpbinPort}` } } },
        metadata: { filter_metadata: { [ORIGINAL_DST_METADATA]: { local: `127.0.0.3:${httpbinPort}` } } },
      }] }] } },
  ]);
  xds.setResources(LISTENER_TYPE_URL, 'l1', listeners());
  xds.setResources(WORKLOAD_TYPE_URL, 'w1', [workload(SLEEP_UID, '127.0.0.2', 'sleep', 'v1'), workload(HTTPBIN_UID, '127.0.0.3', 'httpbin', 'v1')]);
  const bootstrap = {
    ...adsBootstrap(xds.port, { apiType: 'DELTA_GRPC' }),
    node: NODE,
    stats_config: STATS_CONFIG,
    bootstrap_extensions: [{ name: 'metadata_discovery', typed_config: typed('istio.workload.BootstrapExtension', { config_source: { ads: {} } }) }, INTERNAL_LISTENER_EXTENSION],
  };
  // The ACK or NACK of the workloads of this version, once it is their last response.
  const acked = (version: string) => xds.waitForRequest((r) => {
    const last = xds.lastResponse(WORKLOAD_TYPE_URL)?.response;
    return r.request.type_url === WORKLOAD_TYPE_URL && last?.system_version_info === version && r.request.response_nonce === last.nonce;
  });
  return { xds, bootstrap, acked, seen };
}

t.test('peers found by address among the workloads istiod serves', async (t) => {
  const { xds, bootstrap, acked, seen } = await mesh(t);
  const legate = await startLegate(bootstrap);
  t.teardown(() => legate.stop());
  const ack = await acked('w1');
  t.equal(ack.request.error_detail, undefined, 'the workloads are ACKed');
  t.ok(xds.requests.some((r) => r.request.type_url === WORKLOAD_TYPE_URL && (r.request.resource_names_subscribe as string[] ?? []).length === 0 && r.request.response_nonce === undefined), 'a wildcard subscription to istio.workload.Workload on the delta ADS stream');
  await waitFor('the listeners bound', () => (legate.primary.applied?.listeners.some((l) => l.name === 'waypoint_http') ? true : undefined));

  const prometheus = async () => (await fetchText(legate.adminUrl('/stats/prometheus'))).body;
  const fromSleep = (path: string) => nodeRequest(`http://127.0.0.1:${legate.port('inbound_http')}${path}`, { localAddress: '127.0.0.2' });

  // Inbound: sleep sends no metadata headers; its address says who it is.
  t.equal((await fromSleep('/a')).status, 200);
  let requests = series(await prometheus(), 'istio_requests_total');
  t.match(requests.find((s) => s.reporter === 'destination'), {
    source_workload: 'sleep-v1', source_canonical_service: 'sleep', source_canonical_revision: 'v1', source_workload_namespace: 'default',
    source_app: 'sleep', source_version: 'v1', source_cluster: 'Kubernetes', source_principal: 'unknown',
    destination_workload: 'productpage-v1', value: '1',
  }, 'the destination side labels the source from workload discovery');
  t.notOk(seen.some((h) => h['x-envoy-peer-metadata'] !== undefined), 'no exchange headers reached the app: the client sent none and the server answered none');

  // A sidecar at the same address that does send its metadata: istio_headers comes first and wins.
  const ratings = encodePeerHeader(workloadFromStruct({ NAMESPACE: 'default', WORKLOAD_NAME: 'ratings-v1', LABELS: { app: 'ratings', version: 'v1' } }, new Set()));
  const withHeaders = await nodeRequest(`http://127.0.0.1:${legate.port('inbound_http')}/h`, { localAddress: '127.0.0.2', headers: { 'x-envoy-peer-metadata': ratings, 'x-envoy-peer-metadata-id': 'sidecar~127.0.0.2~ratings' } });
  t.ok(withHeaders.headers['x-envoy-peer-metadata'], 'asked with headers, the server side answers with its own');
  t.match(series(await prometheus(), 'istio_requests_total').find((s) => s.reporter === 'destination' && s.source_workload === 'ratings-v1'), { source_app: 'ratings', value: '1' }, 'the first method that finds the peer wins');

  // Outbound: httpbin has no sidecar to answer with headers; its host address says who it is.
  t.equal((await nodeRequest(`http://127.0.0.1:${legate.port('outbound_http')}/get`, { headers: { host: 'httpbin:8000' } })).status, 200);
  requests = series(await prometheus(), 'istio_requests_total');
  t.match(requests.find((s) => s.reporter === 'source'), {
    source_workload: 'productpage-v1', destination_workload: 'httpbin-v1', destination_workload_namespace: 'default',
    destination_app: 'httpbin', destination_version: 'v1', destination_canonical_service: 'httpbin', destination_canonical_revision: 'v1',
    destination_principal: 'spiffe://cluster.local/ns/default/sa/httpbin', destination_cluster: 'Kubernetes',
    destination_service: 'httpbin.default.svc.cluster.local', value: '1',
  }, 'the source side labels the destination from workload discovery, its principal from the workload identity');

  // A waypoint: the source by the downstream address, the destination by connect_originate's original destination.
  t.equal((await nodeRequest(`http://127.0.0.1:${legate.port('waypoint_http')}/w`, { localAddress: '127.0.0.2', headers: { host: 'httpbin:8000' } })).status, 200);
  t.match(series(await prometheus(), 'istio_requests_total').find((s) => s.reporter === 'waypoint'), {
    source_workload: 'sleep-v1', source_app: 'sleep', source_workload_namespace: 'default',
    destination_workload: 'httpbin-v1', destination_app: 'httpbin', destination_version: 'v1', destination_workload_namespace: 'default',
    destination_principal: 'spiffe://cluster.local/ns/default/sa/httpbin', destination_canonical_service: 'httpbin', destination_cluster: 'Kubernetes',
    destination_service: 'httpbin.default.svc.cluster.local', value: '1',
  }, "a waypoint reports both workloads from workload discovery");

  // TCP: no TLS, so no istio-peer-exchange: enable_discovery looks the client up.
  await tcpFromSleep(legate.port('inbound_tcp'));
  const tcp = await waitFor('the TCP connection reported', async () => series(await prometheus(), 'istio_tcp_connections_closed_total').find((s) => s.reporter === 'destination'));
  t.match(series(await prometheus(), 'istio_tcp_connections_opened_total').find((s) => s.reporter === 'destination'), { source_workload: 'sleep-v1', source_app: 'sleep', request_protocol: 'tcp', value: '1' }, 'the TCP exchange found the client by address');
  t.equal(tcp.source_workload, 'sleep-v1');
  await tcpFromSleep(legate.port('waypoint_tcp'));
  t.match(await waitFor('the waypoint TCP connection reported', async () => series(await prometheus(), 'istio_tcp_connections_closed_total').find((s) => s.reporter === 'waypoint')), {
    source_workload: 'sleep-v1', destination_workload: 'httpbin-v1', destination_app: 'httpbin', destination_principal: 'spiffe://cluster.local/ns/default/sa/httpbin',
    destination_service: 'httpbin.default.svc.cluster.local', request_protocol: 'tcp',
  }, "a waypoint's TCP exchange finds both workloads");

  const stats = await statsMap(legate.adminUrl(''));
  t.equal(stats.get('workload_discovery.total'), 2, "workload_discovery.total: the addresses indexed, as Istio's proxy");
  t.equal(stats.get('workload_discovery.update_success'), 1);

  // An update: sleep moves to v2 (delta: only the changed workload is pushed).
  xds.setResources(WORKLOAD_TYPE_URL, 'w2', [workload(SLEEP_UID, '127.0.0.2', 'sleep', 'v2'), workload(HTTPBIN_UID, '127.0.0.3', 'httpbin', 'v1')]);
  t.equal((await acked('w2')).request.error_detail, undefined);
  t.same((xds.lastResponse(WORKLOAD_TYPE_URL)?.response.resources as object[]).length, 1, 'one workload pushed');
  await fromSleep('/b');
  requests = series(await prometheus(), 'istio_requests_total');
  t.match(requests.find((s) => s.reporter === 'destination' && s.source_version === 'v2'), { source_workload: 'sleep-v2', source_canonical_revision: 'v2', value: '1' }, 'the update relabels the next request');
  // Through another network's east-west gateway the address is not the client's: not looked up.
  await nodeRequest(`http://127.0.0.1:${legate.port('inbound_http')}/n`, { localAddress: '127.0.0.2', headers: { 'x-forwarded-network': 'network2' } });
  requests = series(await prometheus(), 'istio_requests_total');
  t.match(requests.find((s) => s.reporter === 'destination' && s.source_workload === 'unknown'), { value: '1' }, 'x-forwarded-network naming another network skips workload discovery');

  // A removal: nothing is known of 127.0.0.2 any more.
  xds.setResources(WORKLOAD_TYPE_URL, 'w3', [workload(HTTPBIN_UID, '127.0.0.3', 'httpbin', 'v1')]);
  t.same((await acked('w3')).request.error_detail, undefined);
  t.same(xds.lastResponse(WORKLOAD_TYPE_URL)?.response.removed_resources, ['Kubernetes//Pod/default/sleep-1'], 'removed by uid');
  await fromSleep('/c');
  requests = series(await prometheus(), 'istio_requests_total');
  t.match(requests.find((s) => s.reporter === 'destination' && s.source_workload === 'unknown'), { source_app: 'unknown', source_workload_namespace: 'unknown', value: '2' }, 'after the removal the source is unknown');
  t.equal((await statsMap(legate.adminUrl(''))).get('workload_discovery.total'), 1);

  // A workload that does not translate is NACKed and changes nothing.
  xds.setResources(WORKLOAD_TYPE_URL, 'w4', [workload(HTTPBIN_UID, '127.0.0.3', 'httpbin', 'v1', { addresses: [Buffer.from([1, 2, 3, 4, 5]).toString('base64')] })]);
  const nack = await acked('w4');
  t.match(nack.request.error_detail, { message: /workloads\["Kubernetes\/\/Pod\/default\/httpbin-1"\]\.addresses\[0\]: an address of 5 bytes is neither IPv4 nor IPv6/ }, 'NACKed with the field named');
  const after = await statsMap(legate.adminUrl(''));
  t.equal(after.get('workload_discovery.update_rejected'), 1);
  t.equal(after.get('workload_discovery.total'), 1, 'the workloads held are kept');
  const dump = (await fetchJson<{ configs: Record<string, unknown>[] }>(legate.adminUrl('/config_dump'))).configs.find((c) => String(c['@type']).endsWith('ConfigSourcesDump'));
  t.match(dump, { last_rejected: { workloads: { source: 'ads', version_info: 'w4', error: /neither IPv4 nor IPv6/ } } }, "Legate's section of /config_dump names the refused workloads");
});

t.test('forked workers get the workloads as they change, and a replacement worker all of them', async (t) => {
  const { xds, bootstrap, acked } = await mesh(t);
  const legate = await spawnLegate(bootstrap, ['--workers', '2', '--no-reuse-port']);
  t.teardown(() => legate.stop('SIGKILL'));
  await acked('w1');
  const port = legate.port('inbound_http');
  // Fresh connections from sleep, handed to the workers in turn (the primary accepts: with port 0,
  // every worker and a replacement serve the port the first one got).
  const calls = async (n: number) => {
    for (let i = 0; i < n; i++) t.equal((await nodeRequest(`http://127.0.0.1:${port}/`, { localAddress: '127.0.0.2', agent: false })).status, 200);
  };
  const bySource = async () => {
    const out: Record<string, number> = {};
    for (const s of series((await fetchText(legate.adminUrl('/stats/prometheus'))).body, 'istio_requests_total')) {
      if (s.reporter === 'destination') out[s.source_workload] = (out[s.source_workload] ?? 0) + Number(s.value);
    }
    return out;
  };
  await calls(10);
  t.same(await bySource(), { 'sleep-v1': 10 }, 'both workers label sleep');

  xds.setResources(WORKLOAD_TYPE_URL, 'w2', [workload(SLEEP_UID, '127.0.0.2', 'sleep', 'v2'), workload(HTTPBIN_UID, '127.0.0.3', 'httpbin', 'v1')]);
  await acked('w2');
  await calls(10);
  t.same(await bySource(), { 'sleep-v1': 10, 'sleep-v2': 10 }, 'an update reaches both workers before it is ACKed');

  // Both workers killed in turn: every request after that is served by a worker started since.
  for (let round = 0; round < 2; round++) {
    const before = await workerPids(legate);
    process.kill(before[0], 'SIGKILL');
    await waitFor('the worker replaced', async () => {
      const now = await workerPids(legate).catch((): number[] => []);
      return now.length === 2 && !now.includes(before[0]) ? true : undefined;
    }, 15_000, 50);
  }
  const served = await bySource();
  await waitFor('the replacements serving', async () => ((await nodeRequest(`http://127.0.0.1:${port}/`, { localAddress: '127.0.0.2', agent: false }).catch(() => undefined))?.status === 200 ? true : undefined), 10_000, 50);
  await calls(9);
  const after = await bySource();
  t.equal((after['sleep-v2'] ?? 0) - (served['sleep-v2'] ?? 0), 10, 'the replacement workers got every workload held before serving');
  t.equal(after.unknown, undefined, 'no request went unlabelled');
});

async function workerPids(legate: LegateProcess): Promise<number[]> {
  const info = JSON.parse((await fetchText(legate.adminUrl('/server_info'))).body) as { memory: { workers: { pid?: number }[] } };
  return info.memory.workers.map((w) => w.pid ?? 0).filter((p) => p > 0);
}

// A bootstrap of the shape pilot-agent writes for an ambient waypoint: its two bootstrap
// extensions, delta ADS and SDS on pilot-agent's Unix sockets, Istio's stats inclusion of
// workload_discovery, the Prometheus listener's cluster back to the admin.
t.test("legate validate accepts an ambient waypoint's bootstrap", async (t) => {
  const pipeCluster = (name: string, path: string) => ({
    name, type: 'STATIC', connect_timeout: '1s',
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { pipe: { path } } } }] }] },
    typed_extension_protocol_options: { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { '@type': `${TYPE}envoy.extensions.upstreams.http.v3.HttpProtocolOptions`, explicit_http_config: { http2_protocol_options: {} } } },
  });
  const waypoint = {
    node: { id: 'waypoint~10.244.0.7~waypoint-5b9f8-x2.default~default.svc.cluster.local', cluster: 'waypoint.default', metadata: { NAMESPACE: 'default', WORKLOAD_NAME: 'waypoint' } },
    admin: { address: socketAddress('127.0.0.1', 15000) },
    stats_config: { use_all_default_tags: false, stats_matcher: { inclusion_list: { patterns: [{ prefix: 'reporter=' }, { prefix: 'workload_discovery' }] } } },
    bootstrap_extensions: [
      { name: 'metadata_discovery', typed_config: typed('istio.workload.BootstrapExtension', { config_source: { ads: {} } }) },
      { name: 'envoy.bootstrap.internal_listener', typed_config: typed('envoy.extensions.bootstrap.internal_listener.v3.InternalListener', { buffer_size_kb: 64 }) },
    ],
    dynamic_resources: {
      lds_config: { ads: {}, initial_fetch_timeout: '0s', resource_api_version: 'V3' },
      cds_config: { ads: {}, initial_fetch_timeout: '0s', resource_api_version: 'V3' },
      ads_config: { api_type: 'DELTA_GRPC', set_node_on_first_message_only: true, transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: 'xds-grpc' } }] },
    },
    static_resources: { clusters: [pipeCluster('xds-grpc', './var/run/secrets/workload-spiffe-uds/XDS'), pipeCluster('sds-grpc', './var/run/secrets/workload-spiffe-uds/socket')] },
  };
  const dir = mkdtempSync(join(tmpdir(), 'legate-waypoint-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'envoy-rev.json');
  writeFileSync(file, JSON.stringify(waypoint));
  const ok = await runCli(['validate', '-c', file]);
  t.equal(ok.code, 0, ok.stderr);
  t.match(ok.stdout + ok.stderr, /OK/);
  const noAds = { ...waypoint, dynamic_resources: {} };
  writeFileSync(file, JSON.stringify(noAds));
  const refused = await runCli(['validate', '-c', file]);
  t.equal(refused.code, 1);
  t.match(refused.stderr, /istio\.workload\.BootstrapExtension takes workloads over ADS, but there is no ads_config/);
});
