// The Envoy extensions Legate implements, by the place they may appear. A typed_config whose
// @type is not listed for its place is rejected; the schema loads exactly these protos.

export const HCM_TYPE = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
export const TCP_PROXY_TYPE = 'envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';
export const CONNECTION_LIMIT_TYPE = 'envoy.extensions.filters.network.connection_limit.v3.ConnectionLimit';
export const NETWORK_RBAC_TYPE = 'envoy.extensions.filters.network.rbac.v3.RBAC';
export const NETWORK_EXT_AUTHZ_TYPE = 'envoy.extensions.filters.network.ext_authz.v3.ExtAuthz';
export const ROUTER_TYPE = 'envoy.extensions.filters.http.router.v3.Router';
export const FAULT_TYPE = 'envoy.extensions.filters.http.fault.v3.HTTPFault';
export const LOCAL_RATELIMIT_TYPE = 'envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit';
export const RATELIMIT_TYPE = 'envoy.extensions.filters.http.ratelimit.v3.RateLimit';
export const GRPC_STATS_TYPE = 'envoy.extensions.filters.http.grpc_stats.v3.FilterConfig';
export const GRPC_WEB_TYPE = 'envoy.extensions.filters.http.grpc_web.v3.GrpcWeb';
export const HEALTH_CHECK_TYPE = 'envoy.extensions.filters.http.health_check.v3.HealthCheck';
export const HTTP_SET_FILTER_STATE_TYPE = 'envoy.extensions.filters.http.set_filter_state.v3.Config';
export const NETWORK_SET_FILTER_STATE_TYPE = 'envoy.extensions.filters.network.set_filter_state.v3.Config';
// Istio's own filters (istio/proxy): their translators check their fields, from a TypedStruct or
// packed (envoy-api/protos has stats.PluginConfig's and MetadataExchange's .proto; not peer_metadata's).
export const ISTIO_PEER_METADATA_TYPE = 'io.istio.http.peer_metadata.Config';
export const ISTIO_STATS_TYPE = 'stats.PluginConfig';
export const ISTIO_ALPN_TYPE = 'istio.envoy.config.filter.http.alpn.v2alpha1.FilterConfig'; // sent packed: Legate has its .proto
export const TCP_METADATA_EXCHANGE_TYPE = 'envoy.tcp.metadataexchange.config.MetadataExchange';
// Istio's listener filter (a TypedStruct: no fields) for older istiods' internal listeners.
export const SET_INTERNAL_DST_ADDRESS_TYPE = 'istio.set_internal_dst_address.v1.Config';
// Istio's network filter (a TypedStruct) of older istiods: the TLS principals into the filter state.
export const ISTIO_AUTHN_TYPE = 'io.istio.network.authn.Config';
// Istio's HTTP filter (a TypedStruct, per route) of older waypoints' connect_terminate: the CONNECT
// authority into the filter state for set_internal_dst_address.
export const CONNECT_AUTHORITY_TYPE = 'io.istio.http.connect_authority.Config';
// Istio's HTTP filter (a TypedStruct, no fields) of older waypoints' connect_terminate: the peer
// the CONNECT's baggage header describes into the filter state for istio.stats behind it.
export const CONNECT_BAGGAGE_TYPE = 'io.istio.http.connect_baggage.Config';
export const SCHEMALESS_TYPES: readonly string[] = [ISTIO_PEER_METADATA_TYPE, ISTIO_STATS_TYPE, TCP_METADATA_EXCHANGE_TYPE, SET_INTERNAL_DST_ADDRESS_TYPE, ISTIO_AUTHN_TYPE, CONNECT_AUTHORITY_TYPE, CONNECT_BAGGAGE_TYPE];
// Wasm filters: Istio's null-VM plugins only, run as the native filters above (translate/wasm.ts).
export const HTTP_WASM_TYPE = 'envoy.extensions.filters.http.wasm.v3.Wasm';
export const NETWORK_WASM_TYPE = 'envoy.extensions.filters.network.wasm.v3.Wasm';
export const CORS_TYPE = 'envoy.extensions.filters.http.cors.v3.Cors';
export const CORS_POLICY_TYPE = 'envoy.extensions.filters.http.cors.v3.CorsPolicy';
export const COMPRESSOR_TYPE = 'envoy.extensions.filters.http.compressor.v3.Compressor';
export const GZIP_COMPRESSOR_TYPE = 'envoy.extensions.compression.gzip.compressor.v3.Gzip';
export const BROTLI_COMPRESSOR_TYPE = 'envoy.extensions.compression.brotli.compressor.v3.Brotli';
export const ZSTD_COMPRESSOR_TYPE = 'envoy.extensions.compression.zstd.compressor.v3.Zstd';
export const COMPRESSOR_PER_ROUTE_TYPE = 'envoy.extensions.filters.http.compressor.v3.CompressorPerRoute';
export const DECOMPRESSOR_TYPE = 'envoy.extensions.filters.http.decompressor.v3.Decompressor';
export const GZIP_DECOMPRESSOR_TYPE = 'envoy.extensions.compression.gzip.decompressor.v3.Gzip';
export const BROTLI_DECOMPRESSOR_TYPE = 'envoy.extensions.compression.brotli.decompressor.v3.Brotli';
export const ZSTD_DECOMPRESSOR_TYPE = 'envoy.extensions.compression.zstd.decompressor.v3.Zstd';
export const RBAC_TYPE = 'envoy.extensions.filters.http.rbac.v3.RBAC';
export const EXT_AUTHZ_TYPE = 'envoy.extensions.filters.http.ext_authz.v3.ExtAuthz';
export const JWT_AUTHN_TYPE = 'envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication';
export const JWT_AUTHN_PER_ROUTE_TYPE = 'envoy.extensions.filters.http.jwt_authn.v3.PerRouteConfig';
export const EXT_AUTHZ_PER_ROUTE_TYPE = 'envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute';
export const RBAC_PER_ROUTE_TYPE = 'envoy.extensions.filters.http.rbac.v3.RBACPerRoute';
export const RATELIMIT_PER_ROUTE_TYPE = 'envoy.extensions.filters.http.ratelimit.v3.RateLimitPerRoute';
export const FILTER_CONFIG_TYPE = 'envoy.config.route.v3.FilterConfig';
export const FILE_LOG_TYPE = 'envoy.extensions.access_loggers.file.v3.FileAccessLog';
export const STDOUT_LOG_TYPE = 'envoy.extensions.access_loggers.stream.v3.StdoutAccessLog';
export const STDERR_LOG_TYPE = 'envoy.extensions.access_loggers.stream.v3.StderrAccessLog';
export const ORIGINAL_DST_TYPE = 'envoy.extensions.filters.listener.original_dst.v3.OriginalDst';
export const TLS_INSPECTOR_TYPE = 'envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector';
export const HTTP_INSPECTOR_TYPE = 'envoy.extensions.filters.listener.http_inspector.v3.HttpInspector';
export const HTTP_PROTOCOL_OPTIONS_TYPE = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
export const PREVIOUS_HOSTS_TYPE = 'envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate';

export const DOWNSTREAM_TLS_TYPE = 'envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';
export const FIXED_HEAP_TYPE = 'envoy.extensions.resource_monitors.fixed_heap.v3.FixedHeapConfig';
export const DOWNSTREAM_CONNECTIONS_TYPE = 'envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig';
export const SCALE_TIMERS_TYPE = 'envoy.config.overload.v3.ScaleTimersOverloadActionConfig';
export const UPSTREAM_TLS_TYPE = 'envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
export const RAW_BUFFER_TYPE = 'envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer';
export const INTERNAL_UPSTREAM_TYPE = 'envoy.extensions.transport_sockets.internal_upstream.v3.InternalUpstreamTransport';
// Listener.filter_chain_matcher: its network inputs, its action (a filter chain's name), the IP trie
// (envoy.matching.custom_matchers.trie_matcher) and the IP input matcher.
const NETWORK_INPUTS = 'envoy.extensions.matching.common_inputs.network.v3.';
export const CHAIN_MATCH_INPUT_TYPES: Record<string, string> = {
  [`${NETWORK_INPUTS}DestinationIPInput`]: 'destination_ip',
  [`${NETWORK_INPUTS}DestinationPortInput`]: 'destination_port',
  [`${NETWORK_INPUTS}SourceIPInput`]: 'source_ip',
  [`${NETWORK_INPUTS}SourcePortInput`]: 'source_port',
  [`${NETWORK_INPUTS}DirectSourceIPInput`]: 'direct_source_ip',
  [`${NETWORK_INPUTS}SourceTypeInput`]: 'source_type',
  [`${NETWORK_INPUTS}ServerNameInput`]: 'server_name',
  [`${NETWORK_INPUTS}TransportProtocolInput`]: 'transport_protocol',
  [`${NETWORK_INPUTS}ApplicationProtocolInput`]: 'application_protocol',
};
export const FILTER_STATE_INPUT_TYPE = `${NETWORK_INPUTS}FilterStateInput`; // its key names the object
export const CHAIN_NAME_ACTION_TYPE = 'google.protobuf.StringValue';
export const IP_TRIE_MATCHER_TYPE = 'xds.type.matcher.v3.IPMatcher';
export const IP_INPUT_MATCHER_TYPE = 'envoy.extensions.matching.input_matchers.ip.v3.Ip';

export const NETWORK_FILTER_TYPES = [HCM_TYPE, TCP_PROXY_TYPE, CONNECTION_LIMIT_TYPE, NETWORK_RBAC_TYPE, NETWORK_EXT_AUTHZ_TYPE, NETWORK_SET_FILTER_STATE_TYPE, TCP_METADATA_EXCHANGE_TYPE, ISTIO_STATS_TYPE, NETWORK_WASM_TYPE, ISTIO_AUTHN_TYPE];
export const HTTP_FILTER_TYPES = [COMPRESSOR_TYPE, CONNECT_AUTHORITY_TYPE, CONNECT_BAGGAGE_TYPE, CORS_TYPE, DECOMPRESSOR_TYPE, EXT_AUTHZ_TYPE, FAULT_TYPE, GRPC_STATS_TYPE, GRPC_WEB_TYPE, HEALTH_CHECK_TYPE, HTTP_SET_FILTER_STATE_TYPE, HTTP_WASM_TYPE, ISTIO_ALPN_TYPE, ISTIO_PEER_METADATA_TYPE, ISTIO_STATS_TYPE, JWT_AUTHN_TYPE, LOCAL_RATELIMIT_TYPE, RATELIMIT_TYPE, RBAC_TYPE, ROUTER_TYPE];
export const PER_ROUTE_TYPES = [COMPRESSOR_PER_ROUTE_TYPE, CONNECT_AUTHORITY_TYPE, CORS_POLICY_TYPE, EXT_AUTHZ_PER_ROUTE_TYPE, FAULT_TYPE, JWT_AUTHN_PER_ROUTE_TYPE, LOCAL_RATELIMIT_TYPE, RATELIMIT_PER_ROUTE_TYPE, RBAC_PER_ROUTE_TYPE, FILTER_CONFIG_TYPE];
export const LISTENER_FILTER_TYPES = [ORIGINAL_DST_TYPE, TLS_INSPECTOR_TYPE, HTTP_INSPECTOR_TYPE, SET_INTERNAL_DST_ADDRESS_TYPE];
export const ACCESS_LOGGER_TYPES = [FILE_LOG_TYPE, STDOUT_LOG_TYPE, STDERR_LOG_TYPE];

// Where each google.protobuf.Any field may point: "<message type>.<field>" -> allowed types.
export const ANY_PLACES: Record<string, string[]> = {
  'envoy.config.listener.v3.Filter.typed_config': NETWORK_FILTER_TYPES,
  'envoy.config.listener.v3.ListenerFilter.typed_config': LISTENER_FILTER_TYPES,
  'envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter.typed_config': HTTP_FILTER_TYPES,
  'envoy.config.accesslog.v3.AccessLog.typed_config': ACCESS_LOGGER_TYPES,
  'envoy.config.cluster.v3.Cluster.typed_extension_protocol_options': [HTTP_PROTOCOL_OPTIONS_TYPE],
  'envoy.config.route.v3.RouteConfiguration.typed_per_filter_config': PER_ROUTE_TYPES,
  'envoy.config.route.v3.VirtualHost.typed_per_filter_config': PER_ROUTE_TYPES,
  'envoy.config.route.v3.Route.typed_per_filter_config': PER_ROUTE_TYPES,
  'envoy.config.route.v3.WeightedCluster.ClusterWeight.typed_per_filter_config': PER_ROUTE_TYPES,
  'envoy.config.route.v3.FilterConfig.config': PER_ROUTE_TYPES.filter((t) => t !== FILTER_CONFIG_TYPE),
  'envoy.config.route.v3.RetryPolicy.RetryHostPredicate.typed_config': [PREVIOUS_HOSTS_TYPE],
  'envoy.config.core.v3.TransportSocket.typed_config': [DOWNSTREAM_TLS_TYPE, UPSTREAM_TLS_TYPE, RAW_BUFFER_TYPE, INTERNAL_UPSTREAM_TYPE],
  'envoy.config.overload.v3.ResourceMonitor.typed_config': [FIXED_HEAP_TYPE, DOWNSTREAM_CONNECTIONS_TYPE],
  'envoy.config.overload.v3.OverloadAction.typed_config': [SCALE_TIMERS_TYPE],
  'envoy.config.cluster.v3.Filter.typed_config': [TCP_METADATA_EXCHANGE_TYPE],
  // A null-VM plugin's configuration: its JSON, or the empty MetadataExchange istiod packed.
  'envoy.extensions.wasm.v3.PluginConfig.configuration': ['google.protobuf.StringValue', TCP_METADATA_EXCHANGE_TYPE],
  // Only the filter chain matcher is built on xds.type.matcher.v3.Matcher; its translator checks each position.
  'xds.core.v3.TypedExtensionConfig.typed_config': [...Object.keys(CHAIN_MATCH_INPUT_TYPES), FILTER_STATE_INPUT_TYPE, CHAIN_NAME_ACTION_TYPE, IP_TRIE_MATCHER_TYPE, IP_INPUT_MATCHER_TYPE],
};

// Filters that older configs name without a typed_config; Envoy resolves them by name.
export const TYPE_BY_FILTER_NAME: Record<string, string> = {
  'envoy.filters.http.router': ROUTER_TYPE,
  'envoy.router': ROUTER_TYPE,
  'envoy.filters.http.cors': CORS_TYPE,
  'envoy.cors': CORS_TYPE,
  'envoy.filters.http.grpc_web': GRPC_WEB_TYPE,
  'envoy.grpc_web': GRPC_WEB_TYPE,
  'envoy.filters.listener.original_dst': ORIGINAL_DST_TYPE,
  'envoy.listener.original_dst': ORIGINAL_DST_TYPE,
  'envoy.filters.listener.tls_inspector': TLS_INSPECTOR_TYPE,
  'envoy.listener.tls_inspector': TLS_INSPECTOR_TYPE,
  'envoy.filters.listener.http_inspector': HTTP_INSPECTOR_TYPE,
  'envoy.listener.http_inspector': HTTP_INSPECTOR_TYPE,
  'envoy.retry_host_predicates.previous_hosts': PREVIOUS_HOSTS_TYPE,
};
