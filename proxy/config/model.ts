// Legate's configuration model: plain, immutable data (structured-clone safe, so a snapshot can
// cross IPC to workers). Envoy resources are translated into these types by config/translate
// with Envoy's defaults applied; the runtime compiles them once per snapshot. Durations are
// milliseconds, sizes bytes, percentages 0-100. Nothing here holds functions, classes, Maps or
// RegExps: regexes stay strings and are compiled by the worker.

export interface SocketAddress {
  address: string; // an IP or DNS name; with `pipe`, the Unix socket's path ('@name': abstract)
  port: number; // 0 for a pipe
  pipe?: true; // Address.pipe: a Unix domain socket (cluster endpoints only)
  // Address.envoy_internal_address (cluster endpoints): an internal listener of this worker, by
  // name; `address` is then Envoy's text of it, envoy://<server_listener_name>/<endpoint_id>.
  internal?: { serverListenerName: string; endpointId: string };
}

export interface CidrRange {
  addressPrefix: string;
  prefixLen: number;
}

// ---- strings and headers ----

export type StringMatchKind = 'exact' | 'prefix' | 'suffix' | 'contains' | 'safe_regex';

export interface StringMatcher {
  kind: StringMatchKind;
  value: string; // the literal, or the RE2-compatible regex source for safe_regex
  ignoreCase: boolean;
}

export type HeaderMatchKind = StringMatchKind | 'present' | 'range';

export interface HeaderMatcher {
  name: string; // lower case; ':authority', ':path', ':method', ':scheme' are pseudo headers
  kind: HeaderMatchKind;
  value: string; // unused for 'present' and 'range'
  ignoreCase: boolean;
  presentMatch: boolean; // for 'present': true = must be present
  range?: { start: number; end: number }; // for 'range': [start, end)
  invertMatch: boolean;
  treatMissingHeaderAsEmpty: boolean;
}

export interface QueryParameterMatcher {
  name: string;
  stringMatch?: StringMatcher; // absent with presentMatch = a presence check
  presentMatch: boolean;
}

export type HeaderAppendAction =
  | 'APPEND_IF_EXISTS_OR_ADD'
  | 'ADD_IF_ABSENT'
  | 'OVERWRITE_IF_EXISTS_OR_ADD'
  | 'OVERWRITE_IF_EXISTS';

export interface HeaderValueOption {
  key: string; // lower case
  value: string; // may hold Envoy's %FORMAT% operators (e.g. %DOWNSTREAM_REMOTE_ADDRESS%)
  appendAction: HeaderAppendAction;
  keepEmptyValue: boolean;
}

export interface HeaderMutations {
  requestHeadersToAdd: HeaderValueOption[];
  requestHeadersToRemove: string[];
  responseHeadersToAdd: HeaderValueOption[];
  responseHeadersToRemove: string[];
}

// ---- routes ----

export type PathSpecifier =
  | { kind: 'prefix'; value: string }
  | { kind: 'path'; value: string }
  | { kind: 'safe_regex'; value: string }
  | { kind: 'path_separated_prefix'; value: string }
  | { kind: 'connect_matcher'; value: '' }; // matches CONNECT requests only (they have no path)

export interface RouteMatch {
  path: PathSpecifier;
  caseSensitive: boolean; // default true
  headers: HeaderMatcher[];
  queryParameters: QueryParameterMatcher[];
  grpc: boolean; // match only gRPC requests (content-type application/grpc*)
  runtimeFractionPercent?: number; // 0-100; absent = always
  runtimeFractionKey?: RuntimeKey; // runtime_fraction.runtime_key
}

export interface RetryBackOff {
  baseIntervalMs: number; // 25
  maxIntervalMs: number; // 10 x base
}

export interface RetryPolicy {
  retryOn: string[]; // Envoy's retry_on tokens: 5xx, gateway-error, reset, connect-failure, ...
  numRetries: number; // 1 when a policy exists and the field is unset
  perTryTimeoutMs: number; // 0 = none
  perTryIdleTimeoutMs: number; // 0 = none
  backOff: RetryBackOff;
  retriableStatusCodes: number[];
  retriableHeaders: HeaderMatcher[];
  retriableRequestHeaders: HeaderMatcher[];
  retryHostPredicates: string[]; // e.g. 'envoy.retry_host_predicates.previous_hosts'
  hostSelectionRetryMaxAttempts: number; // 1
}

export type HashPolicy =
  | { kind: 'header'; headerName: string; terminal: boolean }
  | { kind: 'cookie'; name: string; ttlMs?: number; path?: string; terminal: boolean }
  | { kind: 'source_ip'; terminal: boolean }
  | { kind: 'query_parameter'; name: string; terminal: boolean };

export interface WeightedCluster {
  name: string;
  weight: number;
  mutations: HeaderMutations;
  typedPerFilterConfig: Record<string, unknown>;
}

export type ClusterSpecifier =
  | { kind: 'cluster'; name: string }
  | { kind: 'weighted_clusters'; clusters: WeightedCluster[]; totalWeight: number }
  | { kind: 'cluster_header'; header: string };

export interface RequestMirrorPolicy {
  cluster: string;
  runtimeFractionPercent: number; // 100 unless given
  runtimeFractionKey?: RuntimeKey;
}

export interface UpgradeConfig {
  upgradeType: string; // lower case: 'websocket', 'connect'
  enabled: boolean;
  // Route level, CONNECT only (Envoy's connect_config): Legate terminates the CONNECT and relays its
  // payload to the cluster as raw TCP. Absent: the CONNECT request is proxied to the upstream.
  connectConfig?: Record<string, never>;
}

export interface RouteAction {
  kind: 'route';
  cluster: ClusterSpecifier;
  prefixRewrite?: string;
  regexRewrite?: { pattern: string; substitution: string };
  hostRewriteLiteral?: string;
  autoHostRewrite: boolean;
  hostRewriteHeader?: string;
  timeoutMs: number; // 15000; 0 disables
  idleTimeoutMs: number; // 0 = none
  // max_stream_duration. Set at all, it is Envoy's "new timeouts": the route timeout does not apply.
  usingNewTimeouts: boolean;
  maxStreamDurationMs?: number; // unset: the connection manager's; 0 turns that off for the route
  grpcTimeoutHeaderMaxMs?: number; // set: a gRPC request's grpc-timeout limits the stream, capped by this (0 = uncapped)
  grpcTimeoutHeaderOffsetMs?: number; // taken off that grpc-timeout
  maxGrpcTimeoutMs?: number; // max_grpc_timeout (older): a gRPC request's grpc-timeout is the route timeout, capped (0 = uncapped)
  grpcTimeoutOffsetMs?: number; // grpc_timeout_offset: taken off that grpc-timeout
  retryPolicy?: RetryPolicy; // the route's, else the virtual host's, resolved at translate time
  hashPolicy: HashPolicy[];
  requestMirrorPolicies: RequestMirrorPolicy[];
  upgradeConfigs: UpgradeConfig[];
  includeAttemptCount: boolean;
  rateLimits?: RateLimitPolicy[]; // descriptors for the ratelimit filter (route.v3.RateLimit)
  includeVhRateLimits?: boolean; // also apply the virtual host's rate_limits (false unless set)
  clusterNotFoundResponseCode?: number; // 503 (SERVICE_UNAVAILABLE) unless given: 404 or 500
  cors?: CorsPolicy; // the older route.v3.CorsPolicy; the cors filter reads it when no typed_per_filter_config has one
}

export interface RedirectAction {
  kind: 'redirect';
  schemeRedirect?: string; // 'https' when https_redirect is set
  hostRedirect?: string;
  portRedirect?: number;
  pathRedirect?: string;
  prefixRewrite?: string;
  regexRewrite?: { pattern: string; substitution: string };
  responseCode: number; // 301 (MOVED_PERMANENTLY) unless given
  stripQuery: boolean;
}

export interface DirectResponseAction {
  kind: 'direct_response';
  status: number;
  body?: string;
}

export interface Route {
  name: string;
  match: RouteMatch;
  action: RouteAction | RedirectAction | DirectResponseAction;
  mutations: HeaderMutations;
  // filter name -> that filter's translated per-route config (FaultConfig, LocalRateLimitConfig,
  // RateLimitPerRouteConfig) or FilterDisabled
  typedPerFilterConfig: Record<string, unknown>;
  decorator?: { operation: string; propagate: boolean }; // the span's operation name (tracing)
  tracing?: RouteTracing; // replaces the connection manager's sampling; its custom tags win by name
  // per_request_buffer_limit_bytes (the route's, else its virtual host's): the body kept for
  // retries and mirrors is capped at the smaller of this and the listener's buffer limit.
  perRequestBufferLimitBytes?: number;
}

export interface VirtualHost {
  name: string;
  domains: string[];
  routes: Route[];
  mutations: HeaderMutations;
  typedPerFilterConfig: Record<string, unknown>;
  includeRequestAttemptCount: boolean;
  includeAttemptCountInResponse: boolean;
  rateLimits?: RateLimitPolicy[];
  cors?: CorsPolicy; // the older route.v3.CorsPolicy, as RouteAction.cors
}

// route.v3.RateLimit: the actions that build one descriptor for the ratelimit filter.
export type RateLimitAction =
  | { kind: 'source_cluster' }
  | { kind: 'destination_cluster' }
  | { kind: 'request_headers'; headerName: string; descriptorKey: string; skipIfAbsent: boolean }
  | { kind: 'remote_address' }
  | { kind: 'generic_key'; descriptorKey: string; descriptorValue: string } // key 'generic_key' unless given
  | { kind: 'header_value_match'; descriptorKey: string; descriptorValue: string; expectMatch: boolean; headers: HeaderMatcher[] };

export interface RateLimitPolicy {
  actions: RateLimitAction[];
}

export interface RouteConfig {
  name: string;
  virtualHosts: VirtualHost[];
  mutations: HeaderMutations;
  ignorePortInHostMatching?: boolean; // the authority's port is left out (istiod sets it on every route config)
}

// ---- HTTP connection manager ----

export interface HttpFilter {
  name: string; // the configured name, e.g. 'envoy.filters.http.router'
  type: string; // the typed_config @type, e.g. 'envoy.extensions.filters.http.router.v3.Router'
  config: unknown; // the filter's own translated config: RouterConfig, FaultConfig, LocalRateLimitConfig, RateLimitConfig, GrpcStatsConfig, CompressorConfig, DecompressorConfig, {} for cors
}

// envoy.filters.http.grpc_stats: which calls get counters of their own service and method.
export interface GrpcStatsConfig {
  statsForAllMethods: boolean; // stats_for_all_methods (false when unset, as Envoy's proto says)
  allowlist: { service: string; methods: string[] }[]; // individual_method_stats_allowlist
  replaceDotsInGrpcServiceName: boolean; // with stats_for_all_methods: '.' in the service becomes '_'
  emitFilterState: boolean; // per-stream message counts for other filters (istio.stats)
}

// How a peer is found, tried in the config's order until one finds it: its x-envoy-peer-metadata
// headers (istio_headers), or its address in Istio's workload discovery (workload_discovery).
export type PeerDiscoveryMethod = 'istio_headers' | 'workload_discovery';

// Istio's istio.metadata_exchange HTTP filter (io.istio.http.peer_metadata.Config): peers'
// workload metadata found in and sent as x-envoy-peer-metadata headers (istio_headers), or found
// by address among the workloads istiod serves (workload_discovery).
export interface PeerMetadataConfig {
  downstreamDiscovery: PeerDiscoveryMethod[]; // the request's headers; the downstream address
  upstreamDiscovery: PeerDiscoveryMethod[]; // the response's headers; the upstream host's address
  downstreamPropagation: { skipExternalClusters: boolean } | undefined; // answer with this proxy's
  upstreamPropagation: { skipExternalClusters: boolean } | undefined; // send this proxy's upstream
  additionalLabels: string[];
  // The null-VM Wasm plugin's: propagation by the listener's direction (not upstream when INBOUND,
  // not downstream when OUTBOUND); translate/listener.ts settles it and removes the flag.
  propagationByListenerDirection?: boolean;
}

// Istio's io.istio.network.authn: the connection's principals in its filter state; `shared`:
// also in the upstream connections its streams make (connect_terminate to main_internal).
export interface IstioAuthnConfig {
  shared: boolean;
}

// Istio's io.istio.http.connect_authority (older waypoints' connect_terminate), from a route's
// typed_per_filter_config: enabled records the CONNECT authority; port, if not 0, is the tunnel's.
export interface ConnectAuthorityPerRoute {
  enabled: boolean;
  port: number;
}

// Istio's TCP metadata exchange (envoy.tcp.metadataexchange.config.MetadataExchange), on a
// listener's chain (downstream) or in a cluster's filters (upstream): peers' workload metadata
// in a header at the start of a connection whose TLS negotiated `protocol`.
export interface MetadataExchangeConfig {
  protocol: string; // istio-peer-exchange
  additionalLabels: string[];
  // A peer that sends no header is looked up by address in Istio's workload discovery.
  enableDiscovery: boolean;
}

// Who a peer is, as Istio's proxy describes it (its WorkloadMetadataObject): from the exchange's
// Struct (x-envoy-peer-metadata) or from a Workload istiod serves (workload discovery).
export interface WorkloadMetadata {
  instance: string;
  cluster: string;
  namespace: string;
  workload: string;
  canonicalName: string;
  canonicalRevision: string;
  app: string;
  version: string;
  workloadType: 'pod' | 'deployment' | 'job' | 'cronjob' | undefined;
  labels: [string, string][]; // additional_labels found on the peer
  identity: string; // its SPIFFE URI, when known without TLS (workload discovery)
}

// An istio.workload.Workload of Istio's workload discovery: the addresses it is found by (IP text
// as Node writes socket addresses) and what the peer metadata readers learn of it.
export interface IstioWorkload {
  uid: string;
  addresses: string[];
  metadata: WorkloadMetadata;
}

// Istio's istio.alpn HTTP filter: the ALPN protocols an upstream TLS connection offers, by the
// HTTP protocol it carries (istiod: istio-http/1.1, istio, http/1.1 and so on for mutual TLS).
export interface IstioAlpnConfig {
  overrides: Partial<Record<'HTTP10' | 'HTTP11' | 'HTTP2', string[]>>;
}

// Istio's istio.stats HTTP filter (stats.PluginConfig): Istio's standard metrics.
export interface IstioStatsConfig {
  // SERVER_GATEWAY, or by the listener's traffic_direction: INBOUND destination, else source.
  reporter: 'UNSPECIFIED' | 'SERVER_GATEWAY';
  trafficDirection: 'UNSPECIFIED' | 'INBOUND' | 'OUTBOUND'; // set from the listener (the null-VM plugin's from its root_id)
  disableHostHeaderFallback: boolean;
  // metrics overrides: by metric name ('' = all), drop it or remove tags.
  metrics: { name: string; drop: boolean; tagsToRemove: string[] }[];
}

// envoy.filters.http.compressor: responses compressed with one library (Envoy's defaults applied).
export interface CompressorConfig {
  libraryName: string; // compressor_library.name: part of the stat names
  library: CompressorLibrary;
  chooseFirst: boolean; // wins a tie of q-values against the other compressors of the chain
  response: {
    enabled: boolean; // common_config.enabled's default_value (true unless given)
    enabledKey?: string; // common_config.enabled.runtime_key: the runtime's boolean, when set, decides
    minContentLength: number; // 30 unless given
    contentTypes: string[]; // lower case; Envoy's default list unless given
    disableOnEtagHeader: boolean;
    removeAcceptEncodingHeader: boolean;
    statsUnder: string; // 'response.' when response_direction_config is set, else '' (Envoy's stat names)
  };
  // request_direction_config, when set and enabled: request bodies are compressed too.
  request?: { minContentLength: number; contentTypes: string[]; enabledKey?: string; enabledByDefault?: false }; // a runtime key decides per request
}

// CompressorPerRoute: disabled turns response compression off for the route (responseEnabled
// false); overrides.response_direction_config turns it on, with its own remove_accept_encoding_header.
export interface CompressorPerRouteConfig {
  responseEnabled?: boolean;
  removeAcceptEncodingHeader?: boolean;
}

// envoy.filters.http.decompressor: request and response bodies whose first content-encoding (Envoy's
// "outermost") is the library's are decompressed (Envoy's defaults applied).
export interface DecompressorConfig {
  libraryName: string; // decompressor_library.name: part of the stat names and the byte-count trailers
  library: DecompressorLibrary;
  request: DecompressorDirection & { advertiseAcceptEncoding: boolean }; // advertise: true unless given
  response: DecompressorDirection;
}

export interface DecompressorDirection {
  enabled: boolean; // common_config.enabled's default_value (true unless given)
  enabledKey?: string; // common_config.enabled.runtime_key: the runtime's boolean, when set, decides
  ignoreNoTransformHeader: boolean;
}

// The decompressor libraries in node:zlib's terms. maxInflateRatio: the output may be at most this
// many times the compressed input so far (gzip's max_inflate_ratio; brotli and zstd: Envoy's fixed 100).
export type DecompressorLibrary =
  | { kind: 'gzip'; windowBits: number; chunkSize: number; maxInflateRatio: number }
  | { kind: 'brotli'; disableRingBufferReallocation: boolean; chunkSize: number; maxInflateRatio: number }
  | { kind: 'zstd'; chunkSize: number; maxInflateRatio: number };

// The compressor libraries, their fields in the units node:zlib takes.
export type CompressorLibrary =
  | { kind: 'gzip'; level: number; strategy: number; memoryLevel: number; windowBits: number; chunkSize: number } // level -1: zlib's default
  | { kind: 'brotli'; quality: number; windowBits: number; inputBlockBits: number; mode: number; disableLiteralContextModeling: boolean; chunkSize: number }
  | { kind: 'zstd'; level: number; strategy: number; checksum: boolean; chunkSize: number }; // strategy 0: zstd's choice

export type AccessLogFormat =
  | { kind: 'text'; template: string } // Envoy's default format when not given
  | { kind: 'json'; fields: Record<string, unknown> }; // values are format strings or nested objects

export interface AccessLog {
  name: string;
  sink: { kind: 'stdout' } | { kind: 'stderr' } | { kind: 'file'; path: string };
  format: AccessLogFormat;
  filter?: AccessLogFilter;
}

export type AccessLogFilter =
  | { kind: 'status_code'; op: 'EQ' | 'GE' | 'LE'; value: number }
  | { kind: 'duration'; op: 'EQ' | 'GE' | 'LE'; value: number }
  | { kind: 'not_health_check' }
  | { kind: 'response_flag'; flags: string[] }
  | { kind: 'and' | 'or'; filters: AccessLogFilter[] };

/** envoy.config.core.v3.Http2ProtocolOptions, the fields node:http2 (nghttp2) can honour. */
export interface Http2Options {
  hpackTableSize: number; // 4096
  maxConcurrentStreams: number; // 2147483647
  initialStreamWindowSize: number; // 268435456 (256 MiB)
  initialConnectionWindowSize: number; // 268435456 (256 MiB)
  allowConnect: boolean; // extended CONNECT (RFC 8441)
  keepalive?: { intervalMs: number; timeoutMs: number }; // connection_keepalive: PING every interval, close if no ACK within timeout
}

export interface HttpConnectionManager {
  kind: 'http_connection_manager';
  // Istio's network istio.metadata_exchange in front of it (older istiods' virtualInbound).
  metadataExchange?: MetadataExchangeConfig;
  statPrefix: string;
  codecType: 'AUTO' | 'HTTP1' | 'HTTP2';
  routeConfigName: string; // key into Snapshot.routeConfigs (inline configs are put there too)
  rds: boolean; // true when the route config comes from RDS (the listener warms until it arrives)
  rdsConfigSource?: ConfigSourceRef; // where RDS comes from (ADS or a file); absent for inline configs
  httpFilters: HttpFilter[]; // in order; the router is last
  accessLog: AccessLog[];
  useRemoteAddress: boolean;
  xffNumTrustedHops: number; // 0
  internalAddressConfig?: InternalAddressConfig; // absent: no downstream address is internal (Envoy >= 1.33)
  skipXffAppend: boolean;
  generateRequestId: boolean; // true
  preserveExternalRequestId: boolean;
  serverName: string;
  serverHeaderTransformation: 'OVERWRITE' | 'APPEND_IF_ABSENT' | 'PASS_THROUGH';
  idleTimeoutMs: number; // 3600000 (1 h)
  streamIdleTimeoutMs: number; // 300000 (5 min)
  requestTimeoutMs: number; // 0 = none
  requestHeadersTimeoutMs: number; // 0 = none
  maxStreamDurationMs: number; // 0 = none
  maxConnectionDurationMs: number; // common_http_protocol_options.max_connection_duration; 0 = none
  maxRequestsPerConnection: number; // common_http_protocol_options.max_requests_per_connection; 0 = unlimited
  drainTimeoutMs: number; // 5000: after GOAWAY (HTTP/2) or the drain's start, how long streams get before the connection closes
  delayedCloseTimeoutMs: number; // 1000; 0 = none: after Legate's FIN, how long the peer gets to close first
  upgradeConfigs: UpgradeConfig[];
  normalizePath: boolean;
  mergeSlashes: boolean;
  // path_with_escaped_slashes_action for %2F and %5C in the path (IMPLEMENTATION_SPECIFIC_DEFAULT = KEEP_UNCHANGED).
  pathWithEscapedSlashesAction: 'KEEP_UNCHANGED' | 'REJECT_REQUEST' | 'UNESCAPE_AND_REDIRECT' | 'UNESCAPE_AND_FORWARD';
  maxRequestHeadersKb: number; // 60
  maxHeadersCount: number; // common_http_protocol_options.max_headers_count: 100
  headersWithUnderscoresAction: 'ALLOW' | 'REJECT_REQUEST' | 'DROP_HEADER'; // common_http_protocol_options: ALLOW
  // The listener's per_connection_buffer_limit_bytes (1 MiB; set by the listener translator): what a
  // stream buffers before it stops reading, and the write buffer past which the other side pauses.
  bufferLimitBytes: number;
  forwardClientCertDetails: ForwardClientCertDetails; // 'SANITIZE'
  // set_current_client_cert_details, in the order Envoy writes them: Cert, Chain, Subject, URI, DNS.
  setCurrentClientCertDetails: ClientCertDetail[];
  http2: Http2Options; // http2_protocol_options, Envoy's defaults when absent
  tracing?: HcmTracing; // absent: no tracing (a request costs one check)
  alwaysSetRequestIdInResponse: boolean; // else only a request with x-envoy-force-trace gets its x-request-id back
}

// What the connection manager does with x-forwarded-client-cert (Envoy's ForwardClientCertDetails).
export type ForwardClientCertDetails = 'SANITIZE' | 'FORWARD_ONLY' | 'APPEND_FORWARD' | 'SANITIZE_SET' | 'ALWAYS_FORWARD_ONLY';
export type ClientCertDetail = 'Cert' | 'Chain' | 'Subject' | 'URI' | 'DNS';

// HttpConnectionManager.InternalAddressConfig: which downstream addresses are internal, so their
// requests may carry x-envoy-* control headers.
export interface InternalAddressConfig {
  unixSockets: boolean; // a unix socket downstream is internal
  cidrRanges: CidrRange[]; // empty: Envoy's private set (10/8, 172.16/12, 192.168/16, 127.0.0.1, fd00::/8, ::1)
}

export interface TcpProxy {
  kind: 'tcp_proxy';
  statPrefix: string;
  cluster: ClusterSpecifier; // 'cluster' or 'weighted_clusters'
  idleTimeoutMs: number; // 3600000; 0 = none
  maxConnectAttempts: number; // 1
  maxDownstreamConnectionDurationMs?: number; // absent = none
  tunneling?: TunnelingConfig; // tunneling_config: the bytes go inside an HTTP CONNECT (or POST) stream
  accessLog: AccessLog[];
  bufferLimitBytes: number; // the listener's per_connection_buffer_limit_bytes (set by its translator): the downstream write watermark
  // Istio's network filters before it in the chain: istio.metadata_exchange and istio.stats.
  metadataExchange?: MetadataExchangeConfig;
  istioStats?: IstioStatsConfig;
}

/** TcpProxy.TunnelingConfig: the request that opens the tunnel on the cluster's HTTP/1.1 or HTTP/2 pool. */
export interface TunnelingConfig {
  hostname: string; // the CONNECT authority (host); a format string (%DOWNSTREAM_LOCAL_ADDRESS%, ...)
  usePost: boolean; // POST postPath instead of CONNECT
  postPath: string; // '/' with use_post
  headersToAdd: HeaderValueOption[]; // values may hold format operators
}

export type NetworkFilter = HttpConnectionManager | TcpProxy;

// set_filter_state (the HTTP and network filters' envoy.extensions.filters.common.set_filter_state.v3.FilterStateValue):
// an object made by a factory from a formatted value.
export interface FilterStateValue {
  objectKey: string;
  factoryKey: string; // factory_key, else object_key (a well-known key is its own factory)
  format: string; // format_string's text; missing operator values print as '-', as Envoy's text formatter
  readOnly: boolean;
  sharedWithUpstream: 'NONE' | 'ONCE' | 'TRANSITIVE';
  skipIfEmpty: boolean;
}

// envoy.filters.http.set_filter_state: values set on the stream when its request headers arrive.
export interface SetFilterStateConfig {
  onRequestHeaders: FilterStateValue[];
}

// ---- listeners ----

export interface FilterChainMatch {
  destinationPort?: number;
  prefixRanges: CidrRange[];
  directSourcePrefixRanges: CidrRange[];
  sourceType: 'ANY' | 'SAME_IP_OR_LOOPBACK' | 'EXTERNAL';
  sourcePrefixRanges: CidrRange[];
  sourcePorts: number[];
  serverNames: string[]; // SNI; '*.example.com' wildcards
  transportProtocol?: string; // 'raw_buffer' | 'tls'
  applicationProtocols: string[];
}

// ---- transport sockets (envoy.transport_sockets.tls) ----

export type TlsVersion = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3'; // node:tls names

export interface TlsCertificate {
  certificateChain: string; // PEM
  privateKey: string; // PEM; never shown (/config_dump redacts it, errors name its source only)
  source: string; // where the pair came from, for messages: a file name or 'inline'
}

export type SanType = 'DNS' | 'URI' | 'IP_ADDRESS' | 'EMAIL';

export interface SanMatcher {
  sanTypes: SanType[]; // one type for match_typed_subject_alt_names; all four for the deprecated field
  matcher: StringMatcher;
}

export interface CertificateValidation {
  trustedCa?: string; // PEM bundle; without it the peer's chain is not verified (Envoy's behaviour)
  trustedCaSource?: string; // where trustedCa came from, for /certs: a file name or 'inline'
  sanMatchers: SanMatcher[]; // any SAN of a matcher's type matching any matcher passes
  spkiPins: string[]; // base64 SHA-256 of the SubjectPublicKeyInfo
  certHashes: string[]; // lower-case hex SHA-256 of the DER certificate, no colons
}

export interface TlsContext {
  certificates: TlsCertificate[];
  minVersion: TlsVersion; // TLSv1.2
  maxVersion: TlsVersion; // TLSv1.3 downstream, TLSv1.2 upstream (Envoy's defaults)
  cipherSuites: string[]; // OpenSSL names; empty = node's defaults
  ecdhCurves: string[]; // empty = node's defaults
  alpnProtocols: string[];
  validation?: CertificateValidation;
  // Secrets from SDS (files, or ADS when `path` is absent). The primary fills `certificates` and
  // `validation` from them before a snapshot goes to the workers; a listener or cluster whose
  // secret has not loaded yet is left out of the snapshot (it warms).
  // combined: combined_validation_context, whose SDS validation context is merged into
  // `validation` (its default_validation_context) as Envoy merges the two protos.
  sds?: { certificates: SdsSecretRef[]; validation?: SdsSecretRef; combined?: boolean };
}

export interface SdsSecretRef {
  name: string;
  path?: string; // the file holding a DiscoveryResponse of Secret resources
  watchedDirectory?: string; // reload on changes there (path_config_source.watched_directory)
  server?: SdsServer; // an SDS server of its own (api_config_source); neither path nor server: over ADS
}

// sds_config.api_config_source: a SecretDiscoveryService over gRPC (Istio's sds-grpc cluster).
export interface SdsServer {
  apiType: 'GRPC' | 'DELTA_GRPC';
  grpcService: GrpcServiceRef;
}

// A Secret resource (envoy.extensions.transport_sockets.tls.v3.Secret), read and checked.
export interface TlsSecret {
  name: string;
  tlsCertificate?: TlsCertificate;
  validation?: CertificateValidation;
}

export interface DownstreamTlsContext extends TlsContext {
  requireClientCertificate: boolean;
}

export interface UpstreamTlsContext extends TlsContext {
  sni: string; // '' = no SNI
}

export interface FilterChain {
  name: string;
  match: FilterChainMatch;
  network: NetworkFilter; // the terminal network filter; Legate supports one per chain
  tls?: DownstreamTlsContext; // transport_socket envoy.transport_sockets.tls; absent = raw_buffer
  transportSocketConnectTimeoutMs?: number; // the TLS handshake's deadline (absent: Legate's 15 s guard; 0 = none)
  rbac?: NetworkRbacConfig[]; // envoy.filters.network.rbac filters before the terminal one, in order
  istioAuthn?: IstioAuthnConfig; // io.istio.network.authn: the TLS principals into the filter state
  setFilterState?: FilterStateValue[]; // envoy.filters.network.set_filter_state on_new_connection values, in filter order
  extAuthz?: NetworkExtAuthzConfig[]; // envoy.filters.network.ext_authz filters, in order
}

export interface ListenerFilter {
  name: string; // 'envoy.filters.listener.tls_inspector' | '...original_dst' | '...http_inspector'
  type: string;
  disabled?: ListenerFilterPredicate; // filter_disabled: the filter is skipped for connections it matches
}

// ListenerFilterChainMatchPredicate, on the connection's destination port (end exclusive).
export type ListenerFilterPredicate =
  | { kind: 'any' }
  | { kind: 'or'; rules: ListenerFilterPredicate[] }
  | { kind: 'and'; rules: ListenerFilterPredicate[] }
  | { kind: 'not'; rule: ListenerFilterPredicate }
  | { kind: 'ports'; start: number; end: number };

// Listener.filter_chain_matcher (xds.type.matcher.v3.Matcher): its actions name the connection's
// filter chain. An input reads one fact of the connection (absent: the tree's on_no_match).
export type ChainMatchInput = NetworkChainInput | { filterState: string }; // FilterStateInput: the object's text under that key
export type NetworkChainInput =
  | 'destination_ip'
  | 'destination_port'
  | 'source_ip'
  | 'source_port'
  | 'direct_source_ip'
  | 'source_type' // 'local' for a loopback or same-IP peer, else absent
  | 'server_name'
  | 'transport_protocol'
  | 'application_protocol'; // ALPN as Envoy joins it: 'h2','http/1.1'

export type ChainOnMatch = { kind: 'chain'; name: string } | { kind: 'matcher'; matcher: ChainMatcher };

export type ChainMatcher = (
  | { kind: 'exact_map' | 'prefix_map'; input: ChainMatchInput; entries: { key: string; onMatch: ChainOnMatch }[] }
  | { kind: 'ip_ranges'; input: ChainMatchInput; rangeMatchers: { ranges: CidrRange[]; onMatch: ChainOnMatch; exclusive: boolean }[] }
  | { kind: 'list'; matchers: { predicate: ChainPredicate; onMatch: ChainOnMatch }[] }
  | { kind: 'on_no_match_only' } // neither matcher_list nor matcher_tree
) & { onNoMatch?: ChainOnMatch };

export type ChainPredicate =
  | { kind: 'value'; input: ChainMatchInput; matcher: StringMatcher }
  | { kind: 'ip'; input: ChainMatchInput; ranges: CidrRange[]; statPrefix: string } // envoy.matching.input_matchers.ip
  | { kind: 'or' | 'and'; predicates: ChainPredicate[] }
  | { kind: 'not'; predicate: ChainPredicate };

export interface Listener {
  name: string;
  address: SocketAddress;
  bindToPort: boolean; // true
  useOriginalDst: boolean;
  listenerFilters: ListenerFilter[];
  listenerFiltersTimeoutMs: number; // 15000; 0 = none
  continueOnListenerFiltersTimeout: boolean; // false: a timed-out connection is closed
  filterChains: FilterChain[];
  defaultFilterChain?: FilterChain;
  filterChainMatcher?: ChainMatcher; // set: it, not filter_chain_match, chooses among filterChains by name
  perConnectionBufferLimitBytes: number; // 1 MiB
  connectionLimit?: number; // envoy.filters.network.connection_limit / overload: max active connections
  ignoreGlobalConnLimit?: true; // its connections bypass the overload manager's global connection limit
  bypassOverloadManager?: true; // no overload action (nor the global limit) applies to its connections
  drainType?: 'MODIFY_ONLY'; // absent: DEFAULT. MODIFY_ONLY: /healthcheck/fail does not drain-close its connections
  trafficDirection: 'UNSPECIFIED' | 'INBOUND' | 'OUTBOUND';
  // internal_listener: no socket; it accepts the worker's own connections to
  // envoy_internal_address endpoints naming it. `address` is then envoy://<name>/, port 0.
  internal?: true;
  statPrefix?: string; // stat_prefix: its stats are rooted at listener.<statPrefix>. instead of its address
}

// ---- clusters and endpoints ----

export type HealthStatus = 'UNKNOWN' | 'HEALTHY' | 'UNHEALTHY' | 'DRAINING' | 'TIMEOUT' | 'DEGRADED';

export interface LbEndpoint {
  address: SocketAddress;
  hostname: string;
  healthStatus: HealthStatus;
  loadBalancingWeight: number; // 1
  healthCheckPort: number; // 0 = the endpoint's port
  transportSocketMatch?: Record<string, unknown>; // metadata.filter_metadata["envoy.transport_socket_match"]
  metadata?: Record<string, unknown>; // metadata.filter_metadata of an internal endpoint (for internal_upstream)
}

export interface Locality {
  region: string;
  zone: string;
  subZone: string;
}

export interface LocalityLbEndpoints {
  locality: Locality;
  priority: number;
  loadBalancingWeight: number; // 0 = unset
  lbEndpoints: LbEndpoint[];
}

export interface ClusterLoadAssignment {
  clusterName: string;
  endpoints: LocalityLbEndpoints[];
  overprovisioningFactor: number; // 140 (percent)
}

export type LbPolicy = 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RANDOM' | 'RING_HASH' | 'MAGLEV' | 'CLUSTER_PROVIDED';

export interface CircuitBreakerThresholds {
  priority: 'DEFAULT' | 'HIGH';
  maxConnections: number; // 1024
  maxPendingRequests: number; // 1024
  maxRequests: number; // 1024
  maxRetries: number; // 3
  retryBudget?: { budgetPercent: number; minRetryConcurrency: number }; // 20 %, 3
  trackRemaining: boolean;
}

export interface OutlierDetection {
  consecutive5xx: number; // 5
  consecutiveGatewayFailure: number; // 5
  consecutiveLocalOriginFailure: number; // 5
  intervalMs: number; // 10000
  baseEjectionTimeMs: number; // 30000
  maxEjectionTimeMs: number; // 300000
  maxEjectionPercent: number; // 10
  enforcingConsecutive5xx: number; // 100
  enforcingConsecutiveGatewayFailure: number; // 0
  enforcingConsecutiveLocalOriginFailure: number; // 100
  enforcingSuccessRate: number; // 100
  successRateMinimumHosts: number; // 5
  successRateRequestVolume: number; // 100
  successRateStdevFactor: number; // 1900 (divided by 1000)
  splitExternalLocalOriginErrors: boolean;
}

export interface HealthCheck {
  timeoutMs: number;
  intervalMs: number;
  intervalJitterMs: number;
  unhealthyThreshold: number;
  healthyThreshold: number;
  noTrafficIntervalMs: number; // 60000
  unhealthyIntervalMs: number; // = interval unless given
  healthyEdgeIntervalMs: number;
  unhealthyEdgeIntervalMs: number;
  check:
    | { kind: 'http'; path: string; host: string; expectedStatuses: { start: number; end: number }[]; method: string }
    | { kind: 'tcp'; send?: string; receive: string[] } // hex payloads, as Envoy's
    // grpc.health.v1.Health/Check; initial_metadata values are literal (no %FORMAT% operators).
    | { kind: 'grpc'; serviceName: string; authority: string; initialMetadata: HeaderValueOption[] };
}

export interface Cluster {
  name: string;
  type: 'STATIC' | 'STRICT_DNS' | 'LOGICAL_DNS' | 'EDS' | 'ORIGINAL_DST';
  altStatName: string;
  connectTimeoutMs: number; // 5000
  lbPolicy: LbPolicy;
  dnsRefreshRateMs: number; // 5000
  dnsLookupFamily: 'AUTO' | 'V4_ONLY' | 'V6_ONLY' | 'V4_PREFERRED' | 'ALL';
  respectDnsTtl: boolean;
  edsServiceName?: string; // EDS: the ClusterLoadAssignment name (defaults to the cluster name)
  edsConfigSource?: ConfigSourceRef; // EDS: where endpoints come from (ADS or a file)
  loadAssignment: ClusterLoadAssignment; // for EDS, filled from the endpoint resources
  healthyPanicThresholdPercent: number; // 50
  localityWeightedLb: boolean;
  ringHash: { minimumRingSize: number; maximumRingSize: number }; // 1024, 8M
  maglevTableSize: number; // 65537
  leastRequestChoiceCount: number; // 2
  circuitBreakers: CircuitBreakerThresholds[]; // DEFAULT always present
  outlierDetection?: OutlierDetection;
  healthChecks: HealthCheck[];
  perConnectionBufferLimitBytes: number; // 1 MiB
  // The protocol to hosts (HttpProtocolOptions): HTTP1; HTTP2 (explicit http2_protocol_options);
  // DOWNSTREAM (use_downstream_protocol_config: HTTP/2 for an HTTP/2 request); AUTO (auto_config:
  // ALPN picks, TLS only).
  upstreamProtocol: 'HTTP1' | 'HTTP2' | 'DOWNSTREAM' | 'AUTO';
  http2: Http2Options; // http2_protocol_options for upstream HTTP/2 connections, Envoy's defaults when absent
  maxRequestsPerConnection: number; // 0 = unlimited
  maxConnectionDurationMs: number; // common_http_protocol_options.max_connection_duration: 0 = none
  maxStreamDurationMs: number; // common_http_protocol_options.max_stream_duration: each upstream attempt's limit; 0 = none
  maxHeadersCount: number; // common_http_protocol_options.max_headers_count: 100 (response headers)
  upstreamIdleTimeoutMs: number; // 3600000
  // metadata.filter_metadata.istio.services[0]: the service istio.stats names as the destination.
  istioService?: { host: string; name: string }; // '' when not given
  metadataExchange?: MetadataExchangeConfig; // Cluster.filters: Istio's upstream metadata exchange
  cleanupIntervalMs?: number; // ORIGINAL_DST only: unused hosts are removed after this (5000)
  upstreamPortOverride?: number; // ORIGINAL_DST only: original_dst_lb_config.upstream_port_override replaces the destination's port
  // ORIGINAL_DST only: original_dst_lb_config.metadata_key, a dynamic metadata value 'ip:port' that overrides the destination.
  originalDstMetadataKey?: { key: string; path: string[] };
  upstreamBindAddress?: string; // upstream_bind_config.source_address: the source IP of upstream connections
  tls?: UpstreamTlsContext; // transport_socket envoy.transport_sockets.tls; absent = raw_buffer
  autoSni?: AutoSni; // upstream_http_protocol_options; absent when auto_sni and auto_san_validation are off
  transportSocketMatches?: TransportSocketMatch[]; // in order; a host without a match uses `tls`
  // transport_socket envoy.transport_sockets.internal_upstream: the metadata an internal
  // connection carries to the internal listener (its inner socket is `tls`, or raw_buffer).
  internalUpstream?: { passthrough: MetadataPassthrough[] };
}

// InternalUpstreamTransport.MetadataValueSource: a namespace of the host's metadata, or of the
// cluster's (its value read at config time); later entries override earlier ones.
export type MetadataPassthrough = { kind: 'host'; name: string } | { kind: 'cluster'; name: string; value: unknown };

// Cluster.TransportSocketMatch: a host whose "envoy.transport_socket_match" metadata has every
// field of `match` (equal values; an empty match takes every host) uses this transport socket.
export interface TransportSocketMatch {
  name: string;
  match: Record<string, unknown>;
  tls?: UpstreamTlsContext; // absent = raw_buffer
}

// UpstreamHttpProtocolOptions: each request's host (or override_auto_sni_header) names the TLS
// server: the SNI sent (auto_sni; not for an IP address) and the SAN required (auto_san_validation).
export interface AutoSni {
  sni: boolean;
  sanValidation: boolean;
  header: string; // override_auto_sni_header, lower-case; '' = the request's host
}

// ---- the bootstrap's process-level parts ----

export interface Node {
  id: string;
  cluster: string;
  metadata: Record<string, unknown>;
  locality?: Locality;
}

// The envoy.bootstrap.internal_listener bootstrap extension.
export interface InternalListenerSettings {
  bufferSizeBytes: number; // buffer_size_kb x 1024; 1 MiB unless given
}

export interface Admin {
  address?: SocketAddress; // absent = no admin listener
  accessLogPath?: string;
  ignoreGlobalConnLimit?: true;
}

// ---- overload manager and runtime (bootstrap) ----

export type ResourceMonitorConfig =
  | { name: 'envoy.resource_monitors.fixed_heap'; maxHeapSizeBytes: number }
  | { name: 'envoy.resource_monitors.global_downstream_max_connections'; maxActiveDownstreamConnections: number };

export type OverloadTriggerConfig =
  | { monitor: string; kind: 'threshold'; value: number } // 0-1
  | { monitor: string; kind: 'scaled'; scalingThreshold: number; saturationThreshold: number };

/** ScaleTimersOverloadActionConfig.ScaleTimer: the timer's floor as a duration or a share of it. */
export interface ScaleTimerConfig {
  timer: 'HTTP_DOWNSTREAM_CONNECTION_IDLE' | 'HTTP_DOWNSTREAM_STREAM_IDLE';
  minTimeoutMs?: number;
  minScalePercent?: number;
}

export interface OverloadActionConfig {
  name: string; // envoy.overload_actions.*
  triggers: OverloadTriggerConfig[];
  scaleTimers?: ScaleTimerConfig[]; // reduce_timeouts only
}

export interface OverloadManagerConfig {
  refreshIntervalMs: number; // 1000
  monitors: ResourceMonitorConfig[];
  actions: OverloadActionConfig[];
}

/** A runtime value as a static layer gives it: Struct leaves, or a FractionalPercent. */
export type RuntimeValue = string | number | boolean | { numerator: number; denominator: 'HUNDRED' | 'TEN_THOUSAND' | 'MILLION' };

export type RuntimeLayerConfig =
  | { name: string; kind: 'static'; values: Record<string, RuntimeValue> } // keys flattened with '.'
  | { name: string; kind: 'admin' };

/** A RuntimeFractionalPercent's key: a runtime value overrides the default percent. */
export interface RuntimeKey {
  key: string;
  denominator: number; // the default's denominator: an integer runtime value is a numerator over it
}

// Where a dynamic resource comes from: the ADS stream, or a file watched on disk (Envoy's
// path_config_source: a DiscoveryResponse in YAML/JSON).
// watchedDirectory: path_config_source.watched_directory (LDS, CDS and SDS files reload on changes
// there too; RDS/EDS files watch their own directory only).
export type ConfigSourceRef = { kind: 'ads' } | { kind: 'path'; path: string; watchedDirectory?: string };

export interface GrpcServiceRef {
  clusterName?: string; // envoy_grpc: a cluster from static_resources
  authority?: string; // envoy_grpc.authority: the calls' :authority (the cluster name when unset)
  targetUri?: string; // google_grpc: host:port or a gRPC target URI
  timeoutMs: number; // 0 = none
  initialMetadata: { key: string; value: string }[];
}

export interface AdsConfig {
  apiType: 'GRPC' | 'DELTA_GRPC';
  grpcService: GrpcServiceRef;
  setNodeOnFirstMessageOnly: boolean;
  requestTimeoutMs: number; // 0 = none
}

export interface DynamicResources {
  ads?: AdsConfig;
  lds?: ConfigSourceRef;
  cds?: ConfigSourceRef;
  initialFetchTimeoutMs: number; // 15000, from lds_config/cds_config
}

// Legate's embedded rate limit service (the role of envoyproxy/ratelimit), configured in the
// bootstrap's node.metadata under "legate.ratelimit": { limits_path, redis_url }. When present,
// ratelimit filters use it instead of calling their rate_limit_service over gRPC.
export interface EmbeddedRateLimitService {
  limitsPath: string; // a YAML file or a directory of them, in envoyproxy/ratelimit's format
  redisUrl?: string; // absent = counters in process memory (per Legate process)
}

// ---- HTTP filter configs (HttpFilter.config and typedPerFilterConfig values) ----

export interface RouterConfig {
  suppressEnvoyHeaders: boolean; // the router adds no x-envoy-* headers of its own
  respectExpectedRqTimeout: boolean; // a trusted x-envoy-expected-rq-timeout-ms is the route timeout
}

// envoy.filters.http.health_check
export interface HealthCheckFilterConfig {
  passThroughMode: boolean; // false: answered here; true: the upstream answers unless failing or cached
  cacheTimeMs: number; // pass-through only: how long an upstream answer is reused (0: never)
  headers: HeaderMatcher[]; // a request matching all of these is a health check
  clusterMinHealthyPercentages: [cluster: string, percent: number][]; // by cluster name; whole percents (Envoy truncates)
}

export interface FaultConfig {
  delay?: { fixedDelayMs?: number; headerDelay: boolean; percent: number; denominator: number }; // headerDelay: x-envoy-fault-delay-request
  abort?: { httpStatus?: number; grpcStatus?: number; headerAbort: boolean; percent: number; denominator: number }; // x-envoy-fault-abort-request
  runtime: FaultRuntimeKeys; // the *_runtime fields, else Envoy's fault.http.* keys
  headers: HeaderMatcher[]; // the fault applies only to requests matching all of these
  upstreamCluster?: string;
  downstreamNodes: string[]; // x-envoy-downstream-service-node must be one of these (when not empty)
  maxActiveFaults?: number; // absent = unlimited
}

export interface FaultRuntimeKeys {
  delayPercent: string;
  delayDuration: string;
  abortPercent: string;
  abortHttpStatus: string;
  abortGrpcStatus: string;
  maxActiveFaults: string;
}

export interface TokenBucket {
  maxTokens: number;
  tokensPerFill: number; // 1 unless given
  fillIntervalMs: number;
}

export interface LocalRateLimitConfig {
  statPrefix: string;
  status: number; // 429 unless given
  tokenBucket?: TokenBucket; // absent: only meaningful as a per-route override that disables limits
  filterEnabledPercent: number; // 0 unless given: Envoy's local rate limit is off until enabled
  filterEnforcedPercent: number; // 0 unless given: counted but not enforced
  filterEnabledKey?: RuntimeKey; // filter_enabled.runtime_key
  filterEnforcedKey?: RuntimeKey;
  requestHeadersToAddWhenNotEnforced: HeaderValueOption[];
  responseHeadersToAdd: HeaderValueOption[];
  enableXRatelimitHeaders: boolean; // DRAFT_VERSION_03
  perDownstreamConnection: boolean;
  rateLimitedAsResourceExhausted: boolean;
}

export interface RateLimitConfig {
  domain: string;
  stage: number;
  requestType: 'internal' | 'external' | 'both';
  timeoutMs: number; // 20
  failureModeDeny: boolean;
  grpcService: GrpcServiceRef; // Envoy's rate_limit_service; see EmbeddedRateLimitService
  enableXRatelimitHeaders: boolean;
  disableXEnvoyRatelimitedHeader: boolean;
  rateLimitedStatus: number; // 429
  statusOnError: number; // 500
  responseHeadersToAdd: HeaderValueOption[];
  statPrefix: string;
  rateLimitedAsResourceExhausted: boolean;
}

export interface RateLimitPerRouteConfig {
  vhRateLimits: 'OVERRIDE' | 'INCLUDE' | 'IGNORE';
}

// One scope's CORS policy: cors.v3.CorsPolicy in typed_per_filter_config, or the older
// route.v3.CorsPolicy. The cors filter takes each field from the most specific scope that sets it.
export interface CorsPolicy {
  allowOrigins: StringMatcher[];
  allowMethods: string; // '' = unset; '*' echoes access-control-request-method
  allowHeaders: string; // '' = unset; '*' echoes access-control-request-headers
  exposeHeaders: string; // '' = unset
  maxAge: string; // '' = unset
  allowCredentials?: boolean; // absent = unset
  allowPrivateNetworkAccess?: boolean;
  forwardNotMatchingPreflights?: boolean; // absent = unset (true when no scope sets it)
  filterEnabledPercent: number; // 100 unless filter_enabled
  shadowEnabledPercent: number; // 0 unless shadow_enabled: origins are checked and counted, not enforced
  filterEnabledKey?: RuntimeKey;
  shadowEnabledKey?: RuntimeKey;
}

// route.v3.FilterConfig with disabled: true turns the named filter off for that scope.
export interface FilterDisabled {
  disabled: true;
}

// ---- RBAC (envoy.config.rbac.v3, shared by the HTTP and network rbac filters) ----

export interface RbacRules {
  action: 'ALLOW' | 'DENY';
  policies: RbacPolicy[]; // in lexicographic order of name, as Envoy evaluates them
}

export interface RbacPolicy {
  name: string;
  permissions: RbacPermission[]; // any of
  principals: RbacPrincipal[]; // any of
}

export type RbacPermission =
  | { kind: 'any' }
  | { kind: 'and' | 'or'; rules: RbacPermission[] }
  | { kind: 'not'; rule: RbacPermission }
  | { kind: 'header'; matcher: HeaderMatcher }
  | { kind: 'url_path'; matcher: StringMatcher } // the path without query and fragment
  | { kind: 'destination_ip'; range: CidrRange }
  | { kind: 'destination_port'; port: number }
  | { kind: 'destination_port_range'; start: number; end: number } // [start, end)
  | { kind: 'requested_server_name'; matcher: StringMatcher }
  | { kind: 'metadata'; match: MetadataMatch }; // the request's dynamic metadata (the connection's for the network filter)

export type RbacPrincipal =
  | { kind: 'any' }
  | { kind: 'and' | 'or'; ids: RbacPrincipal[] }
  | { kind: 'not'; id: RbacPrincipal }
  | { kind: 'authenticated'; principalName?: StringMatcher } // absent: any TLS peer
  | { kind: 'direct_remote_ip' | 'remote_ip'; range: CidrRange } // source_ip is direct_remote_ip
  | { kind: 'header'; matcher: HeaderMatcher }
  | { kind: 'url_path'; matcher: StringMatcher }
  | { kind: 'filter_state'; key: string; matcher: StringMatcher } // FilterStateMatcher's string_match on the object's text
  | { kind: 'metadata'; match: MetadataMatch };

// envoy.filters.http.rbac (also its RBACPerRoute's rbac: no rules there allows everything).
export interface RbacConfig {
  rules?: RbacRules; // absent: every request is allowed
  shadowRules?: RbacRules; // evaluated and counted, never enforced
  rulesStatPrefix: string;
  shadowRulesStatPrefix: string;
}

// envoy.filters.network.rbac: checked once per connection (enforcement_type ONE_TIME_ON_FIRST_BYTE).
export interface NetworkRbacConfig extends RbacConfig {
  statPrefix: string;
}

// HttpConnectionManager.Tracing (and the bootstrap's tracing.http as its default provider).
export interface HcmTracing {
  // Percentages 0-100 (Envoy's defaults: 100 each); random and overall apply to the request id's
  // value modulo 10000, client sampling to a fresh random draw.
  clientSamplingPercent: number;
  randomSamplingPercent: number;
  overallSamplingPercent: number;
  maxPathTagLength: number; // 256
  customTags: CustomTag[];
  spawnUpstreamSpan: boolean; // spawn_upstream_span, else the router's start_child_span
  operationName: 'ingress' | 'egress'; // from the listener's traffic_direction (OUTBOUND: egress)
  // request_id_extension (UuidRequestIdConfig): the trace status kept in the x-request-id (true),
  // and random/overall sampling by the request id (true; false leaves the decision to the tracer).
  packTraceReason: boolean;
  useRequestIdForTraceSampling: boolean;
  provider?: TracingProvider; // HCM provider, else the bootstrap's; none: no spans at all
}

// Route.tracing: each percentage 100 when unset (Envoy's RouteTracingImpl).
export interface RouteTracing {
  clientSamplingPercent: number;
  randomSamplingPercent: number;
  overallSamplingPercent: number;
  customTags: CustomTag[];
}

export type CustomTag =
  | { tag: string; kind: 'literal'; value: string }
  | { tag: string; kind: 'environment'; name: string; defaultValue: string }
  | { tag: string; kind: 'request_header'; name: string; defaultValue: string }
  // Request (dynamic) metadata: one key under a filter's name (Legate keeps it flat), e.g. the
  // rbac filter's shadow verdict that Istio's dry-run tags read.
  | { tag: string; kind: 'request_metadata'; filter: string; key: string; defaultValue: string };

export interface ZipkinProvider {
  kind: 'zipkin';
  collectorCluster: string;
  collectorEndpoint: string; // the POST path, e.g. /api/v2/spans
  collectorHostname: string; // Host of the POST: collector_hostname, else the cluster name
  traceId128bit: boolean;
  sharedSpanContext: boolean; // true
  splitSpansForRequest: boolean; // a span per upstream attempt, as spawn_upstream_span
}

// envoy.tracers.opentelemetry: OTLP over gRPC (grpc_service.envoy_grpc) or HTTP (http_service).
export interface OpenTelemetryProvider {
  kind: 'opentelemetry';
  serviceName: string; // the resource's service.name: service_name, else unknown_service:envoy
  transport: 'grpc' | 'http';
  cluster: string;
  authority: string; // gRPC: envoy_grpc.authority, else the cluster name; HTTP: the URI's host
  path: string; // gRPC: the TraceService/Export method; HTTP: the URI's path
  timeoutMs: number; // 0 = none
  headers: [string, string][]; // initial_metadata / request_headers_to_add
}

export type TracingProvider = ZipkinProvider | OpenTelemetryProvider;

// ---- external authorization (envoy.filters.http.ext_authz) ----

// BufferSettings: the request body sent with the check.
export interface ExtAuthzBodySettings {
  maxRequestBytes: number;
  allowPartialMessage: boolean;
  packAsBytes: boolean; // raw_body (bytes) rather than body (UTF-8 text)
}

export type ExtAuthzService =
  | {
      kind: 'grpc'; // envoy.service.auth.v3.Authorization/Check on an envoy_grpc cluster
      cluster: string;
      authority: string; // EnvoyGrpc.authority, else the cluster name
      timeoutMs: number; // grpc_service.timeout, 200 ms when unset
      initialMetadata: { key: string; value: string }[];
    }
  | {
      kind: 'http'; // http_service: the original request's head, sent to server_uri's cluster
      cluster: string;
      timeoutMs: number;
      pathPrefix: string;
      headersToAdd: HeaderValueOption[]; // authorization_request.headers_to_add (overwrite)
      allowedUpstreamHeaders: StringMatcher[];
      allowedUpstreamHeadersToAppend: StringMatcher[];
      allowedClientHeaders: StringMatcher[]; // empty: every header of the denial but Host
      allowedClientHeadersOnSuccess: StringMatcher[];
    };

export interface ExtAuthzConfig {
  service: ExtAuthzService;
  failureModeAllow: boolean;
  failureModeAllowHeaderAdd: boolean; // x-envoy-auth-failure-mode-allowed: true upstream
  withRequestBody?: ExtAuthzBodySettings;
  clearRouteCache: boolean;
  statusOnError: number; // 403 unless status_on_error
  filterEnabledPercent: number; // filter_enabled's default (100 when unset)
  filterEnabledKey?: RuntimeKey; // filter_enabled.runtime_key
  // filter_enabled_metadata: the check runs only when the request's dynamic metadata matches
  // (Istio's CUSTOM action: the rbac filter's shadow policy id).
  filterEnabledMetadata?: MetadataMatch;
  metadataContextNamespaces: string[]; // whose dynamic metadata the check carries
  denyAtDisable: boolean; // deny_at_disable's default value
  denyAtDisableKey?: string; // deny_at_disable.runtime_key
  includePeerCertificate: boolean;
  includeTlsSession: boolean;
  statPrefix: string;
  // Which request headers reach the service: absent allows all (gRPC); the HTTP service always
  // has one (its four defaults: authorization, :method, :path, :authority, plus the configured).
  allowedHeaders?: StringMatcher[];
  disallowedHeaders: StringMatcher[];
  chargeClusterResponseStats: boolean;
}

// envoy.filters.network.ext_authz: one check per connection, over gRPC only.
export interface NetworkExtAuthzConfig {
  statPrefix: string; // stats under ext_authz.<stat_prefix>.
  service: Extract<ExtAuthzService, { kind: 'grpc' }>;
  failureModeAllow: boolean;
  includePeerCertificate: boolean;
  includeTlsSession: boolean;
}

// A google.protobuf.Value as plain data (its JSON mapping): what dynamic metadata holds, per
// filter namespace a Struct (Envoy's StreamInfo::dynamicMetadata).
export type MetadataValue = null | string | number | boolean | readonly MetadataValue[] | MetadataStruct;
export interface MetadataStruct {
  readonly [key: string]: MetadataValue;
}

// envoy.type.matcher.v3.ValueMatcher.
export type ValueMatch =
  | { kind: 'null' }
  | { kind: 'double_exact'; value: number }
  | { kind: 'double_range'; start: number; end: number } // [start, end)
  | { kind: 'string'; matcher: StringMatcher }
  | { kind: 'bool'; value: boolean }
  | { kind: 'present'; present: boolean }
  | { kind: 'list_one_of'; item: ValueMatch } // ListMatcher.one_of
  | { kind: 'or'; matchers: ValueMatch[] };

// envoy.type.matcher.v3.MetadataMatcher: the value at filter / path[0] / path[1] ... of the
// dynamic metadata. A missing value is Envoy's unset Value: no ValueMatcher matches it (not even
// present_match: false), so only invert makes it match.
export interface MetadataMatch {
  filter: string;
  path: string[];
  value: ValueMatch;
  invert: boolean;
}

// ExtAuthzPerRoute: disabled, or check settings for the route.
export interface ExtAuthzPerRouteConfig {
  disabled: boolean;
  contextExtensions: Record<string, string>;
  disableRequestBodyBuffering: boolean;
  withRequestBody?: ExtAuthzBodySettings;
}

// ---- envoy.filters.http.jwt_authn ----

export interface JwtHeaderLocation {
  name: string; // lower-cased
  valuePrefix: string; // '' = the whole value is the token
}

export type JwksSource =
  | { kind: 'local'; text: string } // local_jwks: a JWKS document or a PEM public key
  | { kind: 'remote'; uri: string; cluster: string; timeoutMs: number; cacheDurationMs: number };

export interface JwtProviderConfig {
  name: string;
  issuer: string; // '' = any issuer
  audiences: string[]; // [] = any audience
  jwks: JwksSource;
  forward: boolean; // false: the header the token came in is removed
  fromHeaders: JwtHeaderLocation[];
  fromParams: string[];
  fromCookies: string[];
  forwardPayloadHeader: string; // '' = none
  padForwardPayloadHeader: boolean;
  clockSkewSeconds: number; // 60 unless set
  jwtCacheSize: number; // 0 = no cache of verified tokens
  claimToHeaders: { headerName: string; claimName: string }[];
  clearRouteCache: boolean;
  // Keys of the envoy.filters.http.jwt_authn dynamic metadata ('' = not written): a verified
  // token's payload (with spaceDelimitedClaims split into lists) and header, a failure's status.
  payloadInMetadata: string;
  spaceDelimitedClaims: string[];
  headerInMetadata: string;
  failedStatusInMetadata: string;
}

export type JwtRequirement =
  | { kind: 'none' } // an empty JwtRequirement: nothing is verified
  | { kind: 'provider'; provider: string; audiences?: string[] } // provider_name, provider_and_audiences
  | { kind: 'any'; requirements: JwtRequirement[] }
  | { kind: 'all'; requirements: JwtRequirement[] }
  | { kind: 'allow_missing' }
  | { kind: 'allow_missing_or_failed' };

export interface JwtRequirementRule {
  match: RouteMatch;
  requires?: JwtRequirement; // or
  requirementName?: string; // a key of requirementMap (checked at translation)
}

export interface JwtAuthnConfig {
  providers: JwtProviderConfig[];
  rules: JwtRequirementRule[];
  requirementMap: Record<string, JwtRequirement>;
  bypassCorsPreflight: boolean;
  stripFailureResponse: boolean;
}

/** PerRouteConfig's requirement_name (its disabled: true becomes FilterDisabled). */
export interface JwtAuthnPerRouteConfig {
  requirementName: string;
}
