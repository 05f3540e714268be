// Which fields of each Envoy message Legate implements. For a message listed here, a field that
// is set must be either supported (the translators honour it) or ignored (harmless to traffic:
// metadata, stats naming, tuning knobs; a warning says it is ignored). Any other field is valid
// Envoy that Legate does not implement, and is rejected rather than silently dropped. Messages
// not listed here are supported whole. Some supported fields only accept some values; the
// translators check those.

interface FieldSupport {
  supported: ReadonlySet<string>;
  ignored: ReadonlySet<string>;
}

const words = (s: string): Set<string> => new Set(s.split(/\s+/).filter((w) => w !== ''));

const table: Record<string, [supported: string, ignored: string]> = {
  // ---- bootstrap ----
  'envoy.config.bootstrap.v3.Bootstrap': [
    `node static_resources dynamic_resources admin bootstrap_extensions overload_manager layered_runtime tracing stats_config
     stats_sinks stats_flush_interval stats_flush_on_admin`,
    `node_context_params deferred_stat_options cluster_manager watchdog watchdogs enable_dispatcher_stats
     fatal_actions application_log_config stats_server_version_override memory_allocator_manager
     use_tcp_for_dns_lookups default_regex_engine`,
  ],
  'envoy.config.bootstrap.v3.Bootstrap.StaticResources': ['listeners clusters secrets', ''],
  'envoy.config.bootstrap.v3.Bootstrap.DynamicResources': ['lds_config cds_config ads_config', ''],
  'envoy.config.bootstrap.v3.Admin': ['address access_log_path ignore_global_conn_limit', 'access_log profile_path socket_options'],
  // loadshed_points and buffer_factory_config are not built: rejected.
  'envoy.config.overload.v3.OverloadManager': ['refresh_interval resource_monitors actions', ''],
  'envoy.config.overload.v3.OverloadAction': ['name triggers typed_config', ''],
  // disk_layer and rtds_layer are not built: rejected.
  'envoy.config.bootstrap.v3.RuntimeLayer': ['name static_layer admin_layer', ''],
  'envoy.config.core.v3.Node': [
    'id cluster metadata locality',
    'user_agent_name user_agent_version user_agent_build_version extensions client_features dynamic_parameters listening_addresses',
  ],
  // api_config_source: for secrets only (config-source.ts rejects it elsewhere).
  'envoy.config.core.v3.ConfigSource': ['path path_config_source ads self api_config_source initial_fetch_timeout resource_api_version', ''],
  'envoy.config.core.v3.PathConfigSource': ['path watched_directory', ''],
  'envoy.config.core.v3.ApiConfigSource': [
    'api_type transport_api_version grpc_services set_node_on_first_message_only request_timeout',
    'refresh_delay rate_limit_settings',
  ],
  'envoy.config.core.v3.GrpcService': ['envoy_grpc google_grpc timeout initial_metadata', 'retry_policy'],
  'envoy.config.core.v3.GrpcService.EnvoyGrpc': ['cluster_name authority', 'retry_policy max_receive_message_length skip_envoy_headers'],
  'envoy.config.core.v3.GrpcService.GoogleGrpc': ['target_uri stat_prefix', 'config per_stream_buffer_limit_bytes channel_args'],
  // ---- addresses ----
  'envoy.config.core.v3.Address': ['socket_address pipe envoy_internal_address', ''],
  'envoy.config.core.v3.EnvoyInternalAddress': ['server_listener_name endpoint_id', ''],
  'envoy.extensions.bootstrap.internal_listener.v3.InternalListener': ['buffer_size_kb', ''],
  'envoy.extensions.transport_sockets.internal_upstream.v3.InternalUpstreamTransport': ['passthrough_metadata transport_socket', ''],
  // mode: the permissions of a socket Envoy creates (listeners); an endpoint's pipe is only connected to.
  'envoy.config.core.v3.Pipe': ['path', 'mode'],
  'envoy.config.core.v3.SocketAddress': ['protocol address port_value', 'ipv4_compat'],
  // ---- listeners ----
  // drain_type: Envoy's server-wide drain decisions are hot restart, /drain_listeners?graceful (neither
  // built) and /healthcheck/fail, which MODIFY_ONLY listeners do not drain-close.
  'envoy.config.listener.v3.Listener': [
    `name address filter_chains filter_chain_matcher use_original_dst default_filter_chain per_connection_buffer_limit_bytes ignore_global_conn_limit bypass_overload_manager
     listener_filters traffic_direction bind_to_port transparent listener_filters_timeout continue_on_listener_filters_timeout
     internal_listener drain_type stat_prefix`,
    `metadata freebind
     socket_options tcp_fast_open_queue_length access_log connection_balance_config reuse_port enable_reuse_port
     tcp_backlog_size max_connections_to_accept_per_socket_event`,
  ],
  'envoy.config.listener.v3.FilterChain': ['filter_chain_match filters name transport_socket transport_socket_connect_timeout', 'metadata'],
  'envoy.config.listener.v3.FilterChainMatch': [
    `destination_port prefix_ranges direct_source_prefix_ranges source_type source_prefix_ranges source_ports
     server_names transport_protocol application_protocols`,
    '',
  ],
  'envoy.config.listener.v3.Filter': ['name typed_config', ''],
  'envoy.config.listener.v3.ListenerFilter': ['name typed_config filter_disabled', ''],
  'envoy.config.listener.v3.ListenerFilterChainMatchPredicate': ['or_match and_match not_match any_match destination_port_range', ''],
  // filter_chain_matcher (proxy/config/translate/filter-chain-matcher.ts checks each extension's place).
  'xds.type.matcher.v3.Matcher': ['matcher_list matcher_tree on_no_match', ''],
  'xds.type.matcher.v3.Matcher.OnMatch': ['matcher action', ''],
  'xds.type.matcher.v3.Matcher.MatcherTree': ['input exact_match_map prefix_match_map custom_match', ''],
  'xds.type.matcher.v3.Matcher.MatcherTree.MatchMap': ['map', ''],
  'xds.type.matcher.v3.Matcher.MatcherList': ['matchers', ''],
  'xds.type.matcher.v3.Matcher.MatcherList.FieldMatcher': ['predicate on_match', ''],
  'xds.type.matcher.v3.Matcher.MatcherList.Predicate': ['single_predicate or_matcher and_matcher not_matcher', ''],
  'xds.type.matcher.v3.Matcher.MatcherList.Predicate.SinglePredicate': ['input value_match custom_match', ''],
  'xds.type.matcher.v3.Matcher.MatcherList.Predicate.PredicateList': ['predicate', ''],
  'xds.type.matcher.v3.IPMatcher': ['range_matchers', ''],
  'xds.type.matcher.v3.IPMatcher.IPRangeMatcher': ['ranges on_match exclusive', ''],
  'xds.type.matcher.v3.StringMatcher': ['exact prefix suffix safe_regex contains ignore_case', ''],
  'xds.core.v3.TypedExtensionConfig': ['name typed_config', ''],
  'envoy.extensions.matching.input_matchers.ip.v3.Ip': ['cidr_ranges stat_prefix', ''],
  'envoy.extensions.filters.network.connection_limit.v3.ConnectionLimit': ['stat_prefix max_connections', 'runtime_enabled'],
  // Checked once per connection; the translator rejects CONTINUOUS enforcement.
  'envoy.extensions.filters.network.rbac.v3.RBAC': ['rules shadow_rules stat_prefix shadow_rules_stat_prefix enforcement_type', ''],
  // set_filter_state (proxy/filter-state/): the factories are checked by its translator.
  'envoy.extensions.filters.network.set_filter_state.v3.Config': ['on_new_connection', ''],
  'envoy.extensions.filters.http.set_filter_state.v3.Config': ['on_request_headers', ''],
  'envoy.extensions.filters.common.set_filter_state.v3.FilterStateValue': ['object_key factory_key format_string read_only shared_with_upstream skip_if_empty', ''],
  // ---- transport sockets (TLS) ----
  'envoy.config.core.v3.TransportSocket': ['name typed_config', ''],
  'envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext': ['common_tls_context require_client_certificate', ''],
  'envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext': ['common_tls_context sni', ''],
  'envoy.extensions.transport_sockets.tls.v3.CommonTlsContext': [
    `tls_params tls_certificates validation_context alpn_protocols tls_certificate_sds_secret_configs validation_context_sds_secret_config
     combined_validation_context`,
    '',
  ],
  'envoy.extensions.transport_sockets.tls.v3.CommonTlsContext.CombinedCertificateValidationContext': [
    'default_validation_context validation_context_sds_secret_config',
    '',
  ],
  // sds_config: from files (path_config_source), over ADS, or from an SDS server (api_config_source).
  'envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig': ['name sds_config', ''],
  'envoy.extensions.transport_sockets.tls.v3.Secret': ['name tls_certificate validation_context', ''],
  'envoy.extensions.transport_sockets.tls.v3.TlsParameters': [
    'tls_minimum_protocol_version tls_maximum_protocol_version cipher_suites ecdh_curves',
    '',
  ],
  'envoy.extensions.transport_sockets.tls.v3.TlsCertificate': ['certificate_chain private_key', ''],
  'envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext': [
    'trusted_ca verify_certificate_spki verify_certificate_hash match_typed_subject_alt_names match_subject_alt_names',
    '',
  ],
  'envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher': ['san_type matcher', ''],
  // ---- HTTP connection manager ----
  'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager': [
    `codec_type stat_prefix rds route_config http_filters server_name server_header_transformation
     max_request_headers_kb stream_idle_timeout request_timeout request_headers_timeout access_log
     use_remote_address xff_num_trusted_hops internal_address_config skip_xff_append generate_request_id
     preserve_external_request_id upgrade_configs normalize_path merge_slashes path_with_escaped_slashes_action common_http_protocol_options
     forward_client_cert_details set_current_client_cert_details http2_protocol_options drain_timeout delayed_close_timeout
     tracing request_id_extension always_set_request_id_in_response`,
    `add_user_agent http_protocol_options
     access_log_flush_interval flush_access_log_on_new_request access_log_options
     proxy_100_continue represent_ipv4_remote_address_as_ipv4_mapped_ipv6
     stream_error_on_invalid_http_message scheme_header_transformation proxy_status_config
     typed_header_validation_config add_proxy_protocol_connection_state`,
  ],
  'envoy.config.core.v3.HttpProtocolOptions': [
    'idle_timeout max_stream_duration max_requests_per_connection max_headers_count headers_with_underscores_action max_connection_duration',
    '',
  ],
  // node:http2 (nghttp2) enforces its own flood limits, so Envoy's counters are ignored (warned).
  'envoy.config.core.v3.Http2ProtocolOptions': [
    'hpack_table_size max_concurrent_streams initial_stream_window_size initial_connection_window_size allow_connect connection_keepalive',
    `max_outbound_frames max_outbound_control_frames max_consecutive_inbound_frames_with_empty_payload
     max_inbound_priority_frames_per_stream max_inbound_window_update_frames_per_data_frame_sent
     stream_error_on_invalid_http_messaging override_stream_error_on_invalid_http_message use_oghttp2_codec`,
  ],
  'envoy.config.core.v3.KeepaliveSettings': ['interval timeout', 'interval_jitter connection_idle_interval'],
  // verbose is refused by the translator (no timing annotations); metadata custom tags of the request kind only.
  'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager.Tracing': [
    'client_sampling random_sampling overall_sampling verbose max_path_tag_length custom_tags provider spawn_upstream_span',
    '',
  ],
  'envoy.type.tracing.v3.CustomTag': ['tag literal environment request_header metadata', ''],
  'envoy.config.trace.v3.Tracing': ['http', ''],
  'envoy.extensions.filters.network.http_connection_manager.v3.RequestIDExtension': ['typed_config', ''],
  'envoy.extensions.request_id.uuid.v3.UuidRequestIdConfig': ['pack_trace_reason use_request_id_for_trace_sampling', ''],
  // Zipkin (HTTP_JSON only) and OpenTelemetry; the translator refuses every other tracer by name.
  'envoy.config.trace.v3.Tracing.Http': ['name typed_config', ''],
  // OTLP over envoy_grpc or HTTP; resource_detectors and sampler are refused by the translator.
  'envoy.config.trace.v3.OpenTelemetryConfig': ['grpc_service http_service service_name resource_detectors sampler', ''],
  'envoy.config.core.v3.HttpService': ['http_uri request_headers_to_add', ''],
  'envoy.config.core.v3.HttpUri': ['uri cluster timeout', ''],
  'envoy.config.trace.v3.ZipkinConfig': [
    'collector_cluster collector_endpoint trace_id_128bit shared_span_context collector_endpoint_version collector_hostname split_spans_for_request',
    '',
  ],
  'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager.InternalAddressConfig': ['unix_sockets cidr_ranges', ''],
  'envoy.extensions.filters.network.http_connection_manager.v3.Rds': ['config_source route_config_name', ''],
  'envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter': ['name typed_config is_optional disabled', ''],
  'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager.UpgradeConfig': ['upgrade_type enabled', ''],
  // ---- HTTP filters ----
  // strict_check_headers is not built: rejected.
  'envoy.extensions.filters.http.router.v3.Router': [
    'suppress_envoy_headers respect_expected_rq_timeout start_child_span',
    'dynamic_stats upstream_log upstream_log_options suppress_grpc_request_failure_code_stats',
  ],
  'envoy.extensions.filters.http.fault.v3.HTTPFault': [
    `delay abort headers max_active_faults upstream_cluster downstream_nodes delay_percent_runtime abort_percent_runtime
     delay_duration_runtime abort_http_status_runtime max_active_faults_runtime abort_grpc_status_runtime`,
    'response_rate_limit_percent_runtime disable_downstream_cluster_stats filter_metadata',
  ],
  'envoy.extensions.filters.http.health_check.v3.HealthCheck': ['pass_through_mode cache_time cluster_min_healthy_percentages headers', ''],
  'envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit': [
    `stat_prefix status token_bucket filter_enabled filter_enforced request_headers_to_add_when_not_enforced
     response_headers_to_add enable_x_ratelimit_headers local_rate_limit_per_downstream_connection
     rate_limited_as_resource_exhausted`,
    'stage vh_rate_limits always_consume_default_token_bucket',
  ],
  'envoy.extensions.filters.http.ratelimit.v3.RateLimit': [
    `domain stage request_type timeout failure_mode_deny rate_limit_service enable_x_ratelimit_headers
     disable_x_envoy_ratelimited_header rate_limited_status response_headers_to_add status_on_error stat_prefix
     rate_limited_as_resource_exhausted`,
    '',
  ],
  'envoy.extensions.filters.http.ratelimit.v3.RateLimitPerRoute': ['vh_rate_limits', ''],
  // RBAC: policies only; the matcher trees (matcher, shadow_matcher) are not built.
  'envoy.extensions.filters.http.rbac.v3.RBAC': ['rules shadow_rules rules_stat_prefix shadow_rules_stat_prefix track_per_rule_stats', ''],
  'envoy.extensions.filters.http.rbac.v3.RBACPerRoute': ['rbac', ''],
  // Not built: audit_logging_options; Policy's CEL condition and checked_condition; the extension
  // rules (matcher, uri_template). metadata matches the request's dynamic metadata (the network
  // filter: the connection's, from internal_upstream's passthrough); the shipped protos have no
  // sourced_metadata. Principal's filter_state matches an object's text (string_match; the shipped
  // protos have no address_match).
  'envoy.config.rbac.v3.RBAC': ['action policies', ''],
  'envoy.config.rbac.v3.Policy': ['permissions principals', ''],
  'envoy.config.rbac.v3.Permission': [
    'and_rules or_rules any header url_path destination_ip destination_port destination_port_range not_rule requested_server_name metadata',
    '',
  ],
  'envoy.config.rbac.v3.Principal': ['and_ids or_ids any authenticated source_ip direct_remote_ip remote_ip header url_path not_id filter_state metadata', ''],
  'envoy.type.matcher.v3.FilterStateMatcher': ['key string_match', ''],
  'envoy.config.rbac.v3.Principal.Authenticated': ['principal_name', ''],
  'envoy.type.matcher.v3.PathMatcher': ['path', ''],
  // ext_authz: Legate's dynamic metadata is Structs (no typed metadata), so typed namespaces find
  // nothing, and the service's dynamic metadata is not ingested (ignored, warned). Not built: the
  // mutation rules and validate_mutations, encode_raw_headers, bootstrap_metadata_labels_key,
  // route metadata namespaces.
  'envoy.extensions.filters.http.ext_authz.v3.ExtAuthz': [
    `grpc_service http_service transport_api_version failure_mode_allow failure_mode_allow_header_add with_request_body
     clear_route_cache status_on_error filter_enabled deny_at_disable include_peer_certificate include_tls_session stat_prefix
     allowed_headers disallowed_headers charge_cluster_response_stats filter_enabled_metadata metadata_context_namespaces`,
    'typed_metadata_context_namespaces enable_dynamic_metadata_ingestion',
  ],
  // Not built: filter_enabled_metadata, bootstrap_metadata_labels_key.
  'envoy.extensions.filters.network.ext_authz.v3.ExtAuthz': [
    'stat_prefix grpc_service failure_mode_allow include_peer_certificate transport_api_version include_tls_session',
    '',
  ],
  // jwt_authn: the *_in_metadata fields write the envoy.filters.http.jwt_authn dynamic metadata
  // (what Istio's RBAC principals on request.auth.* read). Not built: subjects, require_expiration,
  // max_lifetime; remote_jwks async_fetch and retry_policy (a JWKS is fetched on first use, once);
  // filter_state_rules (not built).
  'envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication': ['providers rules requirement_map bypass_cors_preflight strip_failure_response', ''],
  'envoy.extensions.filters.http.jwt_authn.v3.JwtProvider': [
    `issuer audiences remote_jwks local_jwks forward from_headers from_params from_cookies forward_payload_header
     pad_forward_payload_header clock_skew_seconds jwt_cache_config claim_to_headers clear_route_cache
     payload_in_metadata header_in_metadata failed_status_in_metadata normalize_payload_in_metadata`,
    '',
  ],
  'envoy.extensions.filters.http.jwt_authn.v3.RemoteJwks': ['http_uri cache_duration', ''],
  // MetadataMatcher (RBAC's metadata rules, ext_authz's filter_enabled_metadata): one matcher,
  // proxy/router/metadata-matcher.ts, over the dynamic metadata's Structs.
  'envoy.type.matcher.v3.MetadataMatcher': ['filter path value invert', ''],
  'envoy.type.matcher.v3.MetadataMatcher.PathSegment': ['key', ''],
  'envoy.type.matcher.v3.ValueMatcher': ['null_match double_match string_match bool_match present_match list_match or_match', ''],
  'envoy.extensions.filters.http.ext_authz.v3.HttpService': ['server_uri path_prefix authorization_request authorization_response', ''],
  'envoy.extensions.filters.http.ext_authz.v3.AuthorizationResponse': [
    'allowed_upstream_headers allowed_upstream_headers_to_append allowed_client_headers allowed_client_headers_on_success',
    'dynamic_metadata_from_headers',
  ],
  'envoy.extensions.filters.http.cors.v3.CorsPolicy': [
    `allow_origin_string_match allow_methods allow_headers expose_headers max_age allow_credentials
     filter_enabled shadow_enabled allow_private_network_access forward_not_matching_preflights`,
    '',
  ],
  // emit_filter_state: the per-stream message counts istio.stats reads (kept beside the stream, not
  // as an object in its filter state: %FILTER_STATE(envoy.filters.http.grpc_stats)% finds nothing).
  // Not built: enable_upstream_stats.
  'envoy.extensions.filters.http.grpc_stats.v3.FilterConfig': ['individual_method_stats_allowlist stats_for_all_methods replace_dots_in_grpc_service_name emit_filter_state', ''],
  'envoy.extensions.filters.http.compressor.v3.Compressor': [
    `compressor_library response_direction_config request_direction_config choose_first
     content_length content_type disable_on_etag_header remove_accept_encoding_header runtime_enabled`,
    '',
  ],
  // Not built: dictionary (node:zlib's zstd takes none).
  'envoy.extensions.compression.zstd.compressor.v3.Zstd': ['compression_level enable_checksum strategy chunk_size', ''],
  'envoy.extensions.filters.http.decompressor.v3.Decompressor': ['decompressor_library request_direction_config response_direction_config', ''],
  'envoy.extensions.filters.http.decompressor.v3.Decompressor.CommonDirectionConfig': ['enabled ignore_no_transform_header', ''],
  'envoy.extensions.filters.http.decompressor.v3.Decompressor.RequestDirectionConfig': ['common_config advertise_accept_encoding', ''],
  'envoy.extensions.filters.http.decompressor.v3.Decompressor.ResponseDirectionConfig': ['common_config', ''],
  'envoy.extensions.compression.gzip.decompressor.v3.Gzip': ['window_bits chunk_size max_inflate_ratio', ''],
  'envoy.extensions.compression.brotli.decompressor.v3.Brotli': ['disable_ring_buffer_reallocation chunk_size', ''],
  // Not built: dictionaries (Envoy picks one by the frame's dictionary id; node:zlib's zstd takes none).
  'envoy.extensions.compression.zstd.decompressor.v3.Zstd': ['chunk_size', ''],
  // ---- access logs ----
  'envoy.config.accesslog.v3.AccessLog': ['name filter typed_config', ''],
  'envoy.config.accesslog.v3.AccessLogFilter': [
    'status_code_filter duration_filter not_health_check_filter and_filter or_filter response_flag_filter',
    '',
  ],
  'envoy.config.core.v3.SubstitutionFormatString': [
    'text_format json_format text_format_source',
    'omit_empty_values content_type json_format_options',
  ],
  'envoy.config.core.v3.DataSource': ['filename inline_bytes inline_string environment_variable', 'watched_directory'],
  // ---- TCP proxy ----
  'envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy': [
    `stat_prefix cluster weighted_clusters idle_timeout access_log max_connect_attempts max_downstream_connection_duration
     tunneling_config`,
    `downstream_idle_timeout upstream_idle_timeout access_log_flush_interval
     flush_access_log_on_connected access_log_options`,
  ],
  'envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy.WeightedCluster.ClusterWeight': ['name weight', ''],
  // propagate_response_headers/_trailers save the answer to filter state, which nothing in Legate reads: rejected.
  'envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy.TunnelingConfig': ['hostname use_post post_path headers_to_add', ''],
  // ---- routes ----
  'envoy.config.route.v3.RouteConfiguration': [
    `name virtual_hosts request_headers_to_add request_headers_to_remove response_headers_to_add
     response_headers_to_remove max_direct_response_body_size_bytes ignore_port_in_host_matching`,
    'validate_clusters metadata',
  ],
  'envoy.config.route.v3.VirtualHost': [
    `name domains routes request_headers_to_add request_headers_to_remove response_headers_to_add
     response_headers_to_remove typed_per_filter_config include_request_attempt_count
     include_attempt_count_in_response retry_policy rate_limits require_tls cors per_request_buffer_limit_bytes`,
    'metadata virtual_clusters include_is_timeout_retry_header',
  ],
  'envoy.config.route.v3.Route': [
    `name match route redirect direct_response request_headers_to_add request_headers_to_remove
     response_headers_to_add response_headers_to_remove typed_per_filter_config decorator per_request_buffer_limit_bytes
     tracing`,
    'metadata stat_prefix',
  ],
  'envoy.config.route.v3.Decorator': ['operation propagate', ''],
  'envoy.config.route.v3.Tracing': ['client_sampling random_sampling overall_sampling custom_tags', ''],
  'envoy.config.route.v3.RouteMatch': [
    'prefix path safe_regex path_separated_prefix connect_matcher case_sensitive runtime_fraction headers query_parameters grpc',
    '',
  ],
  'envoy.type.matcher.v3.StringMatcher': ['exact prefix suffix safe_regex contains ignore_case', ''],
  'envoy.type.matcher.v3.RegexMatcher': ['regex', 'google_re2'],
  'envoy.config.route.v3.RouteAction': [
    `cluster cluster_header weighted_clusters prefix_rewrite regex_rewrite host_rewrite_literal auto_host_rewrite
     host_rewrite_header timeout idle_timeout retry_policy request_mirror_policies hash_policy upgrade_configs
     max_stream_duration rate_limits include_vh_rate_limits priority cluster_not_found_response_code
     max_grpc_timeout grpc_timeout_offset cors`,
    'early_data_policy',
  ],
  'envoy.config.route.v3.CorsPolicy': [
    `allow_origin_string_match allow_methods allow_headers expose_headers max_age allow_credentials
     filter_enabled shadow_enabled allow_private_network_access forward_not_matching_preflights`,
    '',
  ],
  'envoy.config.route.v3.RouteAction.MaxStreamDuration': ['max_stream_duration grpc_timeout_header_max grpc_timeout_header_offset', ''],
  'envoy.config.route.v3.RouteAction.RequestMirrorPolicy': ['cluster runtime_fraction', 'trace_sampled disable_shadow_host_suffix_append'],
  'envoy.config.route.v3.RouteAction.HashPolicy': ['header cookie connection_properties query_parameter terminal', ''],
  'envoy.config.route.v3.RouteAction.HashPolicy.Header': ['header_name', ''],
  'envoy.config.route.v3.RouteAction.HashPolicy.Cookie': ['name ttl path', ''],
  'envoy.config.route.v3.RouteAction.UpgradeConfig': ['upgrade_type enabled connect_config', ''],
  'envoy.config.route.v3.RouteAction.UpgradeConfig.ConnectConfig': ['', ''],
  'envoy.config.route.v3.WeightedCluster': ['clusters total_weight', 'runtime_key_prefix'],
  'envoy.config.route.v3.WeightedCluster.ClusterWeight': [
    `name weight request_headers_to_add request_headers_to_remove response_headers_to_add
     response_headers_to_remove typed_per_filter_config`,
    '',
  ],
  'envoy.config.route.v3.RetryPolicy': [
    `retry_on num_retries per_try_timeout retry_host_predicate
     host_selection_retry_max_attempts retriable_status_codes retry_back_off retriable_headers`,
    'per_try_idle_timeout retriable_request_headers',
  ],
  'envoy.config.route.v3.FilterConfig': ['config is_optional disabled', ''],
  'envoy.config.route.v3.RateLimit': ['actions', 'stage disable_key'],
  'envoy.config.route.v3.RateLimit.Action': [
    'source_cluster destination_cluster request_headers remote_address generic_key header_value_match',
    '',
  ],
  // ---- clusters ----
  'envoy.config.cluster.v3.Cluster': [
    `name alt_stat_name type eds_cluster_config connect_timeout per_connection_buffer_limit_bytes lb_policy
     load_assignment health_checks max_requests_per_connection circuit_breakers http2_protocol_options
     typed_extension_protocol_options dns_refresh_rate respect_dns_ttl dns_lookup_family outlier_detection
     ring_hash_lb_config maglev_lb_config least_request_lb_config round_robin_lb_config common_lb_config
     common_http_protocol_options protocol_selection cleanup_interval upstream_bind_config transport_socket
     upstream_http_protocol_options transport_socket_matches metadata filters original_dst_lb_config`,
    `http_protocol_options wait_for_warm_on_init
     dns_failure_refresh_rate use_tcp_for_dns_lookups upstream_connection_options
     close_connections_on_host_health_failure ignore_health_on_host_removal lrs_report_endpoint_metrics
     track_timeout_budgets track_cluster_stats preconnect_policy connection_pool_per_downstream_connection`,
  ],
  'envoy.config.cluster.v3.Cluster.TransportSocketMatch': ['name match transport_socket', ''],
  // No destination from x-envoy-original-dst-host (use_http_header): refused.
  'envoy.config.cluster.v3.Cluster.OriginalDstLbConfig': ['upstream_port_override metadata_key', ''],
  // A cluster's filter_metadata.istio.services names its service for istio.stats; other keys are
  // for filters Legate does not have. Typed metadata carries types Legate cannot read.
  'envoy.config.core.v3.Metadata': ['filter_metadata', 'typed_filter_metadata'],
  'envoy.config.cluster.v3.Cluster.EdsClusterConfig': ['eds_config service_name', ''],
  'envoy.config.core.v3.BindConfig': ['source_address', ''],
  'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': [
    'common_http_protocol_options explicit_http_config use_downstream_protocol_config auto_config upstream_http_protocol_options',
    'header_validation_config',
  ],
  'envoy.config.core.v3.UpstreamHttpProtocolOptions': ['auto_sni auto_san_validation override_auto_sni_header', ''],
  'envoy.extensions.upstreams.http.v3.HttpProtocolOptions.ExplicitHttpConfig': ['http_protocol_options http2_protocol_options', ''],
  'envoy.extensions.upstreams.http.v3.HttpProtocolOptions.UseDownstreamHttpConfig': ['http_protocol_options http2_protocol_options', ''],
  // auto_config: ALPN picks HTTP/2 or HTTP/1.1 (no HTTP/3, so no alternate protocols cache).
  'envoy.extensions.upstreams.http.v3.HttpProtocolOptions.AutoHttpConfig': ['http_protocol_options http2_protocol_options', ''],
  'envoy.config.cluster.v3.Cluster.CommonLbConfig': [
    'healthy_panic_threshold locality_weighted_lb_config',
    `update_merge_window ignore_new_hosts_until_first_hc close_connections_on_host_set_change
     consistent_hashing_lb_config zone_aware_lb_config`,
  ],
  'envoy.config.cluster.v3.Cluster.RingHashLbConfig': ['minimum_ring_size maximum_ring_size', 'hash_function'],
  'envoy.config.cluster.v3.Cluster.LeastRequestLbConfig': ['choice_count', 'active_request_bias'],
  'envoy.config.cluster.v3.Cluster.RoundRobinLbConfig': ['', ''],
  'envoy.config.cluster.v3.CircuitBreakers': ['thresholds', ''],
  'envoy.config.cluster.v3.CircuitBreakers.Thresholds': [
    'priority max_connections max_pending_requests max_requests max_retries retry_budget track_remaining',
    'max_connection_pools',
  ],
  'envoy.config.cluster.v3.OutlierDetection': [
    `consecutive_5xx interval base_ejection_time max_ejection_percent enforcing_consecutive_5xx
     enforcing_success_rate success_rate_minimum_hosts success_rate_request_volume success_rate_stdev_factor
     consecutive_gateway_failure enforcing_consecutive_gateway_failure split_external_local_origin_errors
     consecutive_local_origin_failure enforcing_consecutive_local_origin_failure max_ejection_time`,
    `enforcing_local_origin_success_rate failure_percentage_threshold enforcing_failure_percentage
     enforcing_failure_percentage_local_origin failure_percentage_minimum_hosts failure_percentage_request_volume
     max_ejection_time_jitter successful_active_health_check_uneject_host always_eject_one_host`,
  ],
  'envoy.config.core.v3.HealthCheck': [
    `timeout interval interval_jitter unhealthy_threshold healthy_threshold http_health_check tcp_health_check
     grpc_health_check no_traffic_interval unhealthy_interval unhealthy_edge_interval healthy_edge_interval`,
    `initial_jitter interval_jitter_percent reuse_connection no_traffic_healthy_interval event_log_path
     event_logger event_service always_log_health_check_failures always_log_health_check_success tls_options`,
  ],
  'envoy.config.core.v3.HealthCheck.HttpHealthCheck': [
    'host path expected_statuses method codec_client_type',
    'response_buffer_size retriable_statuses',
  ],
  'envoy.config.core.v3.HealthCheck.TcpHealthCheck': ['send receive', ''],
  'envoy.config.core.v3.HealthCheck.GrpcHealthCheck': ['service_name authority initial_metadata', ''],
  // ---- endpoints ----
  'envoy.config.endpoint.v3.ClusterLoadAssignment': ['cluster_name endpoints policy', ''],
  'envoy.config.endpoint.v3.ClusterLoadAssignment.Policy': ['overprovisioning_factor', 'endpoint_stale_after weighted_priority_health'],
  'envoy.config.endpoint.v3.LocalityLbEndpoints': ['locality lb_endpoints load_balancing_weight priority', 'metadata proximity'],
  // metadata: the "envoy.transport_socket_match" namespace picks a cluster's transport socket.
  'envoy.config.endpoint.v3.LbEndpoint': ['endpoint health_status load_balancing_weight metadata', ''],
  'envoy.config.endpoint.v3.Endpoint': ['address health_check_config hostname', ''],
  'envoy.config.endpoint.v3.Endpoint.HealthCheckConfig': ['port_value', 'hostname disable_active_health_check'],
};

const support = new Map<string, FieldSupport>(
  Object.entries(table).map(([type, [supported, ignored]]) => [type, { supported: words(supported), ignored: words(ignored) }]),
);

// Fields of current Envoy that the proto set Legate validates with (@grpc/grpc-js-xds's) does not
// have yet, and that are harmless to ignore: tuning of what Legate does its own way.
const newerThanProtos: Record<string, string[]> = {
  // How often unused stats are evicted (Istio sets it); Legate keeps no unused-stat eviction.
  'envoy.config.bootstrap.v3.Bootstrap': ['stats_eviction_interval'],
};

/** A field the proto set lacks but current Envoy has, ignored with a warning rather than unknown. */
export function newerIgnoredField(typeName: string, field: string): boolean {
  return newerThanProtos[typeName]?.includes(field) ?? false;
}

export type FieldVerdict = 'supported' | 'ignored' | 'unsupported';

export function fieldSupport(typeName: string, field: string): FieldVerdict {
  const entry = support.get(typeName);
  if (entry === undefined || entry.supported.has(field)) return 'supported';
  return entry.ignored.has(field) ? 'ignored' : 'unsupported';
}


/** The table of supported and ignored fields as Markdown, for proxy/config/README.md. */
export function supportTableMarkdown(): string {
  const cell = (set: ReadonlySet<string>) => (set.size === 0 ? '—' : [...set].map((f) => `\`${f}\``).join(' '));
  const rows = [...support].map(([type, entry]) => `| \`${type.replace(/^envoy\./, '')}\` | ${cell(entry.supported)} | ${cell(entry.ignored)} |`);
  return ['| message | supported | ignored |', '|---|---|---|', ...rows].join('\n');
}
