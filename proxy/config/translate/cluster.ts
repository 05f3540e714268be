// envoy.config.cluster.v3.Cluster -> Cluster, with Envoy's defaults: connect_timeout 5 s,
// ROUND_ROBIN, circuit breakers 1024/1024/1024/3, panic threshold 50 %, DNS refresh 5 s,
// upstream idle timeout 1 h, outlier detection defaults when the block is present.
import { isIP } from 'node:net';
import { indexPath, joinPath, keyPath } from '../errors.ts';
import { HTTP_PROTOCOL_OPTIONS_TYPE } from '../extensions.ts';
import type { AutoSni, CircuitBreakerThresholds, Cluster, ClusterLoadAssignment, Http2Options, OutlierDetection, UpstreamTlsContext } from '../model.ts';
import { bool, list, ms, num, obj, recordPath, reject, str } from './common.ts';
import type { Raw, TranslateContext } from './common.ts';
import { configSource } from './config-source.ts';
import { translateLoadAssignment } from './endpoint.ts';
import { translateHealthCheck } from './health-check.ts';
import { translateHttp2ProtocolOptions } from './http2-protocol-options.ts';
import { metadataExchangeConfig } from './istio.ts';
import { internalUpstream } from './internal-upstream.ts';
import { upstreamTransportSocket } from './transport-socket.ts';

const DEFAULT_BUFFER_LIMIT = 1024 * 1024;
const MAX_RING_SIZE = 8_388_608;

export function translateClusterResource(raw: Raw, path: string, ctx?: TranslateContext): Cluster {
  const name = str(raw, 'name');
  const type = str(raw, 'type', 'STATIC') as Cluster['type'];
  const lbPolicy = str(raw, 'lb_policy', 'ROUND_ROBIN') as Cluster['lbPolicy'] | 'LOAD_BALANCING_POLICY_CONFIG';
  if (lbPolicy === 'LOAD_BALANCING_POLICY_CONFIG') {
    reject(joinPath(path, 'lb_policy'), 'LOAD_BALANCING_POLICY_CONFIG is not supported by Legate', 'use ROUND_ROBIN, LEAST_REQUEST, RANDOM, RING_HASH or MAGLEV');
  }
  if ((type === 'ORIGINAL_DST') !== (lbPolicy === 'CLUSTER_PROVIDED')) {
    reject(joinPath(path, 'lb_policy'), type === 'ORIGINAL_DST'
      ? `lb_policy ${lbPolicy} is not valid for an ORIGINAL_DST cluster`
      : `lb_policy CLUSTER_PROVIDED is only valid for ORIGINAL_DST clusters`, type === 'ORIGINAL_DST' ? 'use lb_policy: CLUSTER_PROVIDED' : 'use ROUND_ROBIN or another policy');
  }

  const common = obj(raw, 'common_lb_config') ?? {};
  const ringHash = obj(raw, 'ring_hash_lb_config') ?? {};
  const minimumRingSize = num(ringHash, 'minimum_ring_size', 1024);
  const maximumRingSize = num(ringHash, 'maximum_ring_size', MAX_RING_SIZE);
  if (minimumRingSize > maximumRingSize) {
    reject(joinPath(path, 'ring_hash_lb_config.minimum_ring_size'), 'minimum_ring_size is larger than maximum_ring_size', 'lower it or raise maximum_ring_size');
  }
  const maglevTableSize = num(obj(raw, 'maglev_lb_config') ?? {}, 'table_size', 65537);
  if (!isPrime(maglevTableSize)) reject(joinPath(path, 'maglev_lb_config.table_size'), `${maglevTableSize} is not a prime number`, 'use a prime such as 65537');

  const protocol = protocolOptions(raw, path);
  const cluster: Cluster = {
    ...(protocol.autoSni !== undefined ? { autoSni: protocol.autoSni } : {}),
    name,
    type,
    altStatName: str(raw, 'alt_stat_name'),
    connectTimeoutMs: ms(raw, 'connect_timeout', 5000),
    lbPolicy: lbPolicy as Cluster['lbPolicy'],
    dnsRefreshRateMs: ms(raw, 'dns_refresh_rate', 5000),
    dnsLookupFamily: str(raw, 'dns_lookup_family', 'AUTO') as Cluster['dnsLookupFamily'],
    respectDnsTtl: bool(raw, 'respect_dns_ttl', false),
    loadAssignment: loadAssignment(raw, path, name, type),
    healthyPanicThresholdPercent: num(obj(common, 'healthy_panic_threshold') ?? {}, 'value', 50),
    localityWeightedLb: common.locality_weighted_lb_config !== undefined,
    ringHash: { minimumRingSize, maximumRingSize },
    maglevTableSize,
    leastRequestChoiceCount: num(obj(raw, 'least_request_lb_config') ?? {}, 'choice_count', 2),
    circuitBreakers: circuitBreakers(obj(raw, 'circuit_breakers'), joinPath(path, 'circuit_breakers')),
    healthChecks: list(raw, 'health_checks').map((h, i) => translateHealthCheck(h, indexPath(joinPath(path, 'health_checks'), i), protocol.upstreamProtocol)),
    perConnectionBufferLimitBytes: num(raw, 'per_connection_buffer_limit_bytes', DEFAULT_BUFFER_LIMIT),
    upstreamProtocol: protocol.upstreamProtocol,
    http2: protocol.http2,
    maxRequestsPerConnection: protocol.maxRequestsPerConnection,
    maxConnectionDurationMs: protocol.maxConnectionDurationMs,
    maxStreamDurationMs: protocol.maxStreamDurationMs,
    maxHeadersCount: protocol.maxHeadersCount,
    upstreamIdleTimeoutMs: protocol.idleTimeoutMs,
  };
  const istioService = istioServiceOf(obj(raw, 'metadata'));
  if (istioService !== undefined) cluster.istioService = istioService;
  // Cluster.filters: the schema lets Istio's upstream metadata exchange through, and nothing else.
  list(raw, 'filters').forEach((filter, i) => {
    const at = indexPath(joinPath(path, 'filters'), i);
    const config = obj(filter, 'typed_config');
    if (config === undefined) reject(at, `cluster filter '${str(filter, 'name')}' is not supported by Legate`, "only Istio's istio.metadata_exchange (envoy.tcp.metadataexchange.config.MetadataExchange) is");
    cluster.metadataExchange = metadataExchangeConfig(config, joinPath(at, 'typed_config'), ctx ?? { warnings: [] });
  });
  if (type === 'EDS') {
    const eds = obj(raw, 'eds_cluster_config');
    const edsPath = joinPath(path, 'eds_cluster_config');
    if (eds === undefined || eds.eds_config === undefined) reject(joinPath(edsPath, 'eds_config'), 'required field is missing', 'EDS clusters need eds_cluster_config.eds_config (e.g. ads: {})');
    cluster.edsServiceName = str(eds, 'service_name') || name;
    cluster.edsConfigSource = configSource(obj(eds, 'eds_config') as Raw, joinPath(edsPath, 'eds_config'));
  }
  if (type === 'ORIGINAL_DST') cluster.cleanupIntervalMs = ms(raw, 'cleanup_interval', 5000);
  const originalDstLb = obj(raw, 'original_dst_lb_config');
  if (originalDstLb !== undefined) {
    if (type !== 'ORIGINAL_DST') reject(joinPath(path, 'original_dst_lb_config'), 'original_dst_lb_config is for ORIGINAL_DST clusters', 'remove it, or make the cluster ORIGINAL_DST');
    if (originalDstLb.upstream_port_override !== undefined) cluster.upstreamPortOverride = num(originalDstLb, 'upstream_port_override', 0);
    const metadataKey = obj(originalDstLb, 'metadata_key');
    if (metadataKey !== undefined) cluster.originalDstMetadataKey = { key: str(metadataKey, 'key'), path: list(metadataKey, 'path').map((segment) => str(segment, 'key')) };
  }
  const bind = obj(raw, 'upstream_bind_config');
  if (bind !== undefined) cluster.upstreamBindAddress = bindAddress(bind, joinPath(path, 'upstream_bind_config'));
  // internal_upstream wraps the transport socket that secures the connection (or not).
  const internal = internalUpstream(obj(raw, 'transport_socket'), joinPath(path, 'transport_socket'), obj(raw, 'metadata'));
  if (internal !== undefined) cluster.internalUpstream = { passthrough: internal.passthrough };
  const tls = internal !== undefined
    ? clusterTransportSocket(internal.inner, internal.innerPath, protocol.upstreamProtocol, ctx)
    : clusterTransportSocket(obj(raw, 'transport_socket'), joinPath(path, 'transport_socket'), protocol.upstreamProtocol, ctx);
  if (tls !== undefined) cluster.tls = tls;
  if (protocol.upstreamProtocol === 'AUTO' && tls === undefined) {
    reject(protocol.at, 'auto_config needs a TLS transport_socket (ALPN chooses the protocol)', 'add a transport_socket envoy.transport_sockets.tls, or use explicit_http_config');
  }
  const matches = list(raw, 'transport_socket_matches');
  if (matches.length > 0) {
    const matchesPath = joinPath(path, 'transport_socket_matches');
    cluster.transportSocketMatches = matches.map((m, i) => {
      const at = indexPath(matchesPath, i);
      const matchTls = clusterTransportSocket(obj(m, 'transport_socket'), joinPath(at, 'transport_socket'), protocol.upstreamProtocol, ctx);
      return { name: str(m, 'name'), match: obj(m, 'match') ?? {}, ...(matchTls !== undefined ? { tls: matchTls } : {}) };
    });
  }
  const outlier = obj(raw, 'outlier_detection');
  if (outlier !== undefined) cluster.outlierDetection = outlierDetection(outlier, joinPath(path, 'outlier_detection'));
  return recordPath(cluster, path);
}

// A transport_socket of the cluster or of a transport_socket_matches entry, with the ALPN the
// upstream protocol needs (Envoy's fallback when alpn_protocols is empty): h2 for HTTP/2, h2 and
// http/1.1 for auto_config. An HTTP/1.1 cluster must not offer h2. DOWNSTREAM clusters keep the
// configured list; the cluster sets each protocol's ALPN on its own connections.
function clusterTransportSocket(raw: Raw | undefined, path: string, protocol: Cluster['upstreamProtocol'], ctx: TranslateContext | undefined): UpstreamTlsContext | undefined {
  const tls = upstreamTransportSocket(raw, path, ctx);
  if (tls === undefined) return tls;
  if (protocol === 'HTTP1' && tls.alpnProtocols.includes('h2')) {
    tls.alpnProtocols = tls.alpnProtocols.filter((p) => p !== 'h2');
    ctx?.warnings.push(`${joinPath(path, 'typed_config.common_tls_context.alpn_protocols')}: 'h2' is not offered, Legate speaks HTTP/1.1 to upstream hosts of this cluster (configure http2_protocol_options for HTTP/2)`);
  } else if (tls.alpnProtocols.length === 0 && protocol === 'HTTP2') {
    tls.alpnProtocols = ['h2'];
  } else if (tls.alpnProtocols.length === 0 && protocol === 'AUTO') {
    tls.alpnProtocols = ['h2', 'http/1.1'];
  }
  return tls;
}

function loadAssignment(raw: Raw, path: string, name: string, type: Cluster['type']): ClusterLoadAssignment {
  const assignmentRaw = obj(raw, 'load_assignment');
  const assignmentPath = joinPath(path, 'load_assignment');
  const empty: ClusterLoadAssignment = { clusterName: name, endpoints: [], overprovisioningFactor: 140 };
  if (assignmentRaw === undefined) return empty;
  if (type === 'ORIGINAL_DST') reject(assignmentPath, 'ORIGINAL_DST clusters take their host from the connection', 'remove load_assignment');
  // EDS clusters get their endpoints from EDS; Envoy ignores an inline assignment.
  if (type === 'EDS') return empty;
  const assignment = translateLoadAssignment(assignmentRaw, assignmentPath);
  const hosts = assignment.endpoints.flatMap((l, i) => l.lbEndpoints.map((e, j) => ({ e, at: joinPath(indexPath(joinPath(indexPath(joinPath(assignmentPath, 'endpoints'), i), 'lb_endpoints'), j), 'endpoint.address.socket_address') })));
  for (const { e, at } of hosts) {
    if (e.address.pipe === true && type !== 'STATIC') reject(joinPath(at.replace(/socket_address$/, 'pipe'), 'path'), `a ${type} cluster cannot resolve a pipe endpoint`, 'use type STATIC for Unix socket endpoints');
    if (e.address.internal !== undefined && type !== 'STATIC') reject(at.replace(/socket_address$/, 'envoy_internal_address'), `a ${type} cluster cannot resolve an internal address`, 'use type STATIC (or EDS) for envoy_internal_address endpoints');
  }
  // Pipes and internal addresses have no IP and port to check.
  const socketHosts = hosts.filter(({ e }) => e.address.pipe !== true && e.address.internal === undefined);
  if (type === 'STATIC') {
    for (const { e, at } of socketHosts) {
      if (isIP(e.address.address) === 0) reject(joinPath(at, 'address'), `'${e.address.address}' is not an IP address`, 'STATIC clusters need IP addresses; use type STRICT_DNS for host names');
    }
  }
  if (type === 'LOGICAL_DNS' && (assignment.endpoints.length !== 1 || hosts.length !== 1)) {
    reject(assignmentPath, 'a LOGICAL_DNS cluster needs exactly one endpoint', 'use STRICT_DNS for several hosts');
  }
  for (const { e, at } of socketHosts) {
    if (e.address.port === 0) reject(joinPath(at, 'port_value'), 'an upstream host needs a port', 'set port_value');
  }
  return assignment;
}

// Legate binds the source IP only: the port is the kernel's choice, as for any outgoing connection.
function bindAddress(raw: Raw, path: string): string {
  const source = obj(raw, 'source_address');
  const at = joinPath(path, 'source_address');
  if (source === undefined) reject(at, 'required field is missing', 'set source_address with address and port_value: 0');
  const address = str(source, 'address');
  if (isIP(address) === 0) reject(joinPath(at, 'address'), `'${address}' is not an IP address`, 'give the source IP, e.g. 127.0.0.6');
  if (num(source, 'port_value', 0) !== 0) reject(joinPath(at, 'port_value'), 'a fixed source port is not supported by Legate', 'use port_value: 0');
  return address;
}

interface ProtocolOptions {
  autoSni?: AutoSni;
  upstreamProtocol: Cluster['upstreamProtocol'];
  http2: Http2Options;
  /** Where the protocol was chosen (for errors). */
  at: string;
  maxRequestsPerConnection: number;
  maxConnectionDurationMs: number;
  maxStreamDurationMs: number;
  maxHeadersCount: number;
  idleTimeoutMs: number;
}

// typed_extension_protocol_options (the current way) or the deprecated cluster-level fields.
function protocolOptions(raw: Raw, path: string): ProtocolOptions {
  const typed = obj(raw, 'typed_extension_protocol_options') ?? {};
  let options: Raw | undefined;
  let optionsPath = path;
  for (const [key, value] of Object.entries(typed)) {
    const v = value as Raw;
    if (key !== HTTP_PROTOCOL_OPTIONS_TYPE && v['@type'] !== HTTP_PROTOCOL_OPTIONS_TYPE) {
      reject(keyPath(joinPath(path, 'typed_extension_protocol_options'), key), `protocol options '${key}' are not supported by Legate`, `use the key ${HTTP_PROTOCOL_OPTIONS_TYPE}`);
    }
    options = v;
    optionsPath = keyPath(joinPath(path, 'typed_extension_protocol_options'), key);
  }
  const common = obj(options ?? {}, 'common_http_protocol_options') ?? obj(raw, 'common_http_protocol_options') ?? {};
  const upstream = obj(options ?? {}, 'upstream_http_protocol_options') ?? obj(raw, 'upstream_http_protocol_options') ?? {};
  const sni = bool(upstream, 'auto_sni', false);
  const sanValidation = bool(upstream, 'auto_san_validation', false);
  const selected = upstreamProtocol(raw, path, options, optionsPath);
  return {
    ...(sni || sanValidation ? { autoSni: { sni, sanValidation, header: str(upstream, 'override_auto_sni_header').toLowerCase() } } : {}),
    upstreamProtocol: selected.protocol,
    http2: upstreamHttp2Options(selected.http2, selected.http2Path),
    at: selected.at,
    maxRequestsPerConnection: num(common, 'max_requests_per_connection', num(raw, 'max_requests_per_connection', 0)),
    maxConnectionDurationMs: ms(common, 'max_connection_duration', 0),
    maxStreamDurationMs: ms(common, 'max_stream_duration', 0),
    maxHeadersCount: num(common, 'max_headers_count', 100),
    idleTimeoutMs: ms(common, 'idle_timeout', 3_600_000),
  };
}

interface SelectedProtocol {
  protocol: Cluster['upstreamProtocol'];
  http2: Raw | undefined;
  http2Path: string;
  at: string;
}

// HttpProtocolOptions' upstream_protocol_options oneof: explicit_http_config,
// use_downstream_protocol_config or auto_config; without it, the cluster-level
// http2_protocol_options and protocol_selection (deprecated) decide.
function upstreamProtocol(raw: Raw, path: string, options: Raw | undefined, optionsPath: string): SelectedProtocol {
  for (const field of ['explicit_http_config', 'use_downstream_protocol_config', 'auto_config'] as const) {
    const config = obj(options ?? {}, field);
    if (config === undefined) continue;
    // http3_protocol_options and alternate_protocols_cache_options are rejected by the support table.
    const at = joinPath(optionsPath, field);
    const http2 = obj(config, 'http2_protocol_options');
    const http2Path = joinPath(at, 'http2_protocol_options');
    if (field === 'explicit_http_config') return { protocol: http2 !== undefined ? 'HTTP2' : 'HTTP1', http2, http2Path, at };
    return { protocol: field === 'auto_config' ? 'AUTO' : 'DOWNSTREAM', http2, http2Path, at };
  }
  const http2 = obj(raw, 'http2_protocol_options');
  const http2Path = joinPath(path, 'http2_protocol_options');
  if (str(raw, 'protocol_selection', 'USE_CONFIGURED_PROTOCOL') === 'USE_DOWNSTREAM_PROTOCOL') return { protocol: 'DOWNSTREAM', http2, http2Path, at: joinPath(path, 'protocol_selection') };
  return { protocol: http2 !== undefined ? 'HTTP2' : 'HTTP1', http2, http2Path, at: http2Path };
}

// Http2ProtocolOptions for upstream connections: the settings node:http2 sends (allow_connect is
// SETTINGS_ENABLE_CONNECT_PROTOCOL, as Envoy's client codec sends it; istiod sets it on HBONE
// clusters). PING keepalive is not built for upstream connections.
function upstreamHttp2Options(raw: Raw | undefined, path: string): Http2Options {
  if (raw?.connection_keepalive !== undefined) reject(joinPath(path, 'connection_keepalive'), 'not supported by Legate: connection_keepalive on upstream HTTP/2 connections', 'remove it; idle_timeout closes idle connections');
  return translateHttp2ProtocolOptions(raw, path);
}

function circuitBreakers(raw: Raw | undefined, path: string): CircuitBreakerThresholds[] {
  const given = raw === undefined ? [] : list(raw, 'thresholds');
  const byPriority = new Map<string, CircuitBreakerThresholds>();
  given.forEach((t, i) => {
    const priority = str(t, 'priority', 'DEFAULT') as CircuitBreakerThresholds['priority'];
    if (byPriority.has(priority)) reject(indexPath(joinPath(path, 'thresholds'), i), `a second threshold for priority ${priority}`, 'give one threshold per priority');
    const thresholds: CircuitBreakerThresholds = {
      priority,
      maxConnections: num(t, 'max_connections', 1024),
      maxPendingRequests: num(t, 'max_pending_requests', 1024),
      maxRequests: num(t, 'max_requests', 1024),
      maxRetries: num(t, 'max_retries', 3),
      trackRemaining: bool(t, 'track_remaining', false),
    };
    const budget = obj(t, 'retry_budget');
    if (budget !== undefined) {
      thresholds.retryBudget = {
        budgetPercent: num(obj(budget, 'budget_percent') ?? {}, 'value', 20),
        minRetryConcurrency: num(budget, 'min_retry_concurrency', 3),
      };
    }
    byPriority.set(priority, thresholds);
  });
  for (const priority of ['DEFAULT', 'HIGH'] as const) {
    if (!byPriority.has(priority)) {
      byPriority.set(priority, { priority, maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3, trackRemaining: false });
    }
  }
  return [byPriority.get('DEFAULT') as CircuitBreakerThresholds, byPriority.get('HIGH') as CircuitBreakerThresholds];
}

function outlierDetection(raw: Raw, path: string): OutlierDetection {
  const baseEjectionTimeMs = ms(raw, 'base_ejection_time', 30_000);
  if (raw.max_ejection_time !== undefined && ms(raw, 'max_ejection_time', 0) < baseEjectionTimeMs) {
    reject(joinPath(path, 'max_ejection_time'), 'max_ejection_time is shorter than base_ejection_time', 'make it at least base_ejection_time');
  }
  return {
    consecutive5xx: num(raw, 'consecutive_5xx', 5),
    consecutiveGatewayFailure: num(raw, 'consecutive_gateway_failure', 5),
    consecutiveLocalOriginFailure: num(raw, 'consecutive_local_origin_failure', 5),
    intervalMs: ms(raw, 'interval', 10_000),
    baseEjectionTimeMs,
    // Envoy: 300 s or base_ejection_time, whichever is larger.
    maxEjectionTimeMs: ms(raw, 'max_ejection_time', Math.max(300_000, baseEjectionTimeMs)),
    maxEjectionPercent: num(raw, 'max_ejection_percent', 10),
    enforcingConsecutive5xx: num(raw, 'enforcing_consecutive_5xx', 100),
    enforcingConsecutiveGatewayFailure: num(raw, 'enforcing_consecutive_gateway_failure', 0),
    enforcingConsecutiveLocalOriginFailure: num(raw, 'enforcing_consecutive_local_origin_failure', 100),
    enforcingSuccessRate: num(raw, 'enforcing_success_rate', 100),
    successRateMinimumHosts: num(raw, 'success_rate_minimum_hosts', 5),
    successRateRequestVolume: num(raw, 'success_rate_request_volume', 100),
    successRateStdevFactor: num(raw, 'success_rate_stdev_factor', 1900),
    splitExternalLocalOriginErrors: bool(raw, 'split_external_local_origin_errors', false),
  };
}

function isPrime(n: number): boolean {
  if (n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}

// istiod tags each service's clusters with metadata.filter_metadata.istio.services: istio.stats
// names the first as the destination service.
function istioServiceOf(metadata: Raw | undefined): { host: string; name: string } | undefined {
  const istio = obj(obj(metadata ?? {}, 'filter_metadata') ?? {}, 'istio');
  const first = (Array.isArray(istio?.services) ? istio.services[0] : undefined) as Raw | undefined;
  if (first === undefined || first === null || typeof first !== 'object') return undefined;
  return { host: str(first, 'host'), name: str(first, 'name') };
}
