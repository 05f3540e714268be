// Istio's filter configs that istiod sends packed, as their own message in the Any rather than a
// TypedStruct: stats.PluginConfig (istio.stats, on every sidecar and gateway listener) and, from
// older istiods, envoy.tcp.metadataexchange.config.MetadataExchange. Each goes through the ADS
// decoding (xds-client's proto3 JSON) and through the proto-loader form of a binary Any.
import t from 'tap';
import { translateCluster, translateListener } from '../../../proxy/config/index.ts';
import type { HttpConnectionManager, TcpProxy } from '../../../proxy/config/model.ts';
import { envoyProtoRoot } from '../../../proxy/config/protos.ts';
import { anyFromJson, anyToJson } from '../../../xds-client/index.ts';
import { HCM_TYPE, ROUTER_TYPE, TCP_PROXY_TYPE, socketAddress, staticCluster } from '../../support/bootstrap.ts';

const STATS_TYPE = 'type.googleapis.com/stats.PluginConfig';
const MX_TYPE = 'type.googleapis.com/envoy.tcp.metadataexchange.config.MetadataExchange';
const ROUTES = { virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c' } }] }] };

// What Legate's xDS client hands up for a resource an ADS response carried.
function overAds(resource: Record<string, unknown>): Record<string, unknown> {
  const { '@type': _type, ...fields } = anyToJson(anyFromJson(resource));
  return fields;
}

// The same resource as @grpc/proto-loader gives it: nested Anys as {type_url, value: bytes}.
function protoLoaderForm(type: string, resource: Record<string, unknown>): Record<string, unknown> {
  const message = envoyProtoRoot().lookupType(type);
  const decoded = message.decode(Buffer.from(anyFromJson({ '@type': `type.googleapis.com/${type}`, ...resource }).value));
  return message.toObject(decoded, { longs: String, enums: String, oneofs: true });
}

function httpListener(stats: Record<string, unknown>) {
  return {
    '@type': 'type.googleapis.com/envoy.config.listener.v3.Listener',
    name: 'l',
    address: socketAddress('127.0.0.1', 0),
    filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: { '@type': HCM_TYPE, stat_prefix: 'l', route_config: ROUTES, http_filters: [
      { name: 'istio.stats', typed_config: { '@type': STATS_TYPE, ...stats } },
      { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } },
    ] } }] }],
  };
}

function tcpListener(stats: Record<string, unknown>) {
  return {
    '@type': 'type.googleapis.com/envoy.config.listener.v3.Listener',
    name: 't',
    address: socketAddress('127.0.0.1', 0),
    filter_chains: [{ filters: [
      { name: 'istio.metadata_exchange', typed_config: { '@type': MX_TYPE, protocol: 'istio-peer-exchange' } },
      { name: 'istio.stats', typed_config: { '@type': STATS_TYPE, ...stats } },
      { name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TCP_PROXY_TYPE, stat_prefix: 't', cluster: 'c' } },
    ] }],
  };
}

const httpStats = (raw: Record<string, unknown>) => (translateListener(raw).listener.filterChains[0].network as HttpConnectionManager).httpFilters[0].config;

function rejection(raw: Record<string, unknown>): string {
  try {
    translateListener(raw);
  } catch (err) {
    return (err as Error).message;
  }
  return 'accepted';
}

t.test('istio.stats on an HTTP listener, as istiod packs it', async (t) => {
  // A sidecar's outbound listener (nothing set) and a waypoint's or gateway's (reporter, overrides).
  t.same(httpStats(overAds(httpListener({}))), { reporter: 'UNSPECIFIED', trafficDirection: 'UNSPECIFIED', disableHostHeaderFallback: false, metrics: [] });
  const gateway = { reporter: 'SERVER_GATEWAY', disable_host_header_fallback: true, metrics: [{ name: 'requests_total', tags_to_remove: ['request_protocol'] }, { name: 'request_bytes', drop: true }] };
  const expected = {
    reporter: 'SERVER_GATEWAY',
    trafficDirection: 'UNSPECIFIED',
    disableHostHeaderFallback: true,
    metrics: [{ name: 'requests_total', drop: false, tagsToRemove: ['request_protocol'] }, { name: 'request_bytes', drop: true, tagsToRemove: [] }],
  };
  t.same(httpStats(overAds(httpListener(gateway))), expected, 'over ADS');
  t.same(httpStats(protoLoaderForm('envoy.config.listener.v3.Listener', httpListener(gateway))), expected, 'in the proto-loader form');
});

t.test('istio.stats and istio.metadata_exchange before a tcp_proxy, packed', async (t) => {
  for (const [form, raw] of [['over ADS', overAds(tcpListener({ tcp_reporting_duration: '15s' }))], ['proto-loader', protoLoaderForm('envoy.config.listener.v3.Listener', tcpListener({}))]] as const) {
    const { listener, warnings } = translateListener(raw);
    const tcp = listener.filterChains[0].network as TcpProxy;
    t.same(tcp.metadataExchange, { protocol: 'istio-peer-exchange', additionalLabels: [], enableDiscovery: false }, form);
    t.match(tcp.istioStats, { reporter: 'UNSPECIFIED', metrics: [] }, form);
    if (form === 'over ADS') t.match(warnings, [/tcp_reporting_duration.*ignored by Legate/], 'the periodic report interval is warned about by name');
  }
});

t.test("a cluster's istio.metadata_exchange filter, packed", async (t) => {
  const cluster = { '@type': 'type.googleapis.com/envoy.config.cluster.v3.Cluster', ...staticCluster('c', [{ port: 1 }]),
    filters: [{ name: 'istio.metadata_exchange', typed_config: { '@type': MX_TYPE, protocol: 'istio-peer-exchange' } }] };
  t.same(translateCluster(overAds(cluster)).cluster.metadataExchange, { protocol: 'istio-peer-exchange', additionalLabels: [], enableDiscovery: false });
});

t.test('what Legate does not build is still refused by name when packed', async (t) => {
  // Telemetry API custom tags are CEL expressions in metrics[].dimensions.
  const custom = httpListener({ metrics: [{ name: 'requests_total', dimensions: { tenant: 'request.headers["x-tenant"]' } }] });
  t.match(rejection(overAds(custom)), /metrics\[0\]\.dimensions: field 'dimensions' of stats\.MetricConfig is not supported by Legate/);
  t.match(rejection(protoLoaderForm('envoy.config.listener.v3.Listener', custom)), /field 'dimensions' of stats\.MetricConfig is not supported by Legate/);
  t.match(rejection(overAds(httpListener({ definitions: [{ name: 'my_metric', value: '1' }] }))), /field 'definitions' of stats\.PluginConfig is not supported by Legate/);
});
