// HTTP filters: the HCM's http_filters list and typed_per_filter_config overrides, translated
// into the plain config objects the filters in proxy/http/filters/ run with.
import { ConfigError, indexPath, joinPath, keyPath } from '../errors.ts';
import { setFilterStateConfig } from './set-filter-state.ts'; // envoy.filters.http.set_filter_state
import {
  COMPRESSOR_PER_ROUTE_TYPE,
  COMPRESSOR_TYPE,
  CONNECT_AUTHORITY_TYPE,
  CONNECT_BAGGAGE_TYPE,
  CORS_POLICY_TYPE,
  CORS_TYPE,
  DECOMPRESSOR_TYPE,
  EXT_AUTHZ_PER_ROUTE_TYPE,
  EXT_AUTHZ_TYPE,
  FAULT_TYPE,
  FILTER_CONFIG_TYPE,
  GRPC_STATS_TYPE,
  GRPC_WEB_TYPE,
  HEALTH_CHECK_TYPE,
  HTTP_WASM_TYPE,
  ISTIO_ALPN_TYPE,
  ISTIO_PEER_METADATA_TYPE,
  ISTIO_STATS_TYPE,
  HTTP_FILTER_TYPES,
  JWT_AUTHN_PER_ROUTE_TYPE,
  JWT_AUTHN_TYPE,
  LOCAL_RATELIMIT_TYPE,
  RATELIMIT_PER_ROUTE_TYPE,
  RATELIMIT_TYPE,
  RBAC_PER_ROUTE_TYPE,
  RBAC_TYPE,
  ROUTER_TYPE,
  HTTP_SET_FILTER_STATE_TYPE,
  TYPE_BY_FILTER_NAME,
} from '../extensions.ts';
import type {
  FaultConfig,
  RuntimeKey,
  FilterDisabled,
  GrpcStatsConfig,
  HttpFilter,
  LocalRateLimitConfig,
  RateLimitConfig,
  RateLimitPerRouteConfig,
  RouterConfig,
} from '../model.ts';
import { UNSUPPORTED_ANY } from '../schema.ts';
import {
  bool,
  checkApiVersion,
  denominatorOf,
  fractionalPercent,
  grpcService,
  headerMatchers,
  headerValueOptions,
  httpStatus,
  list,
  ms,
  num,
  obj,
  reject,
  runtimeFractionalPercent,
  runtimeKeyOf,
  str,
  strings,
} from './common.ts';
import type { Raw, TranslateContext } from './common.ts';
import { compressorConfig, compressorPerRouteConfig } from './compressor.ts';
import { connectAuthorityConfig, connectAuthorityPerRoute } from './connect-authority.ts';
import { corsPolicy } from './cors.ts';
import { decompressorConfig } from './decompressor.ts';
import { extAuthzConfig, extAuthzPerRouteConfig } from './ext-authz.ts';
import { healthCheckFilterConfig } from './health-check-filter.ts';
import { connectBaggageConfig, istioAlpnConfig, istioStatsConfig, peerMetadataConfig } from './istio.ts';
import { jwtAuthnConfig, jwtAuthnPerRouteConfig } from './jwt-authn.ts';
import { nullVmHttpFilter } from './wasm.ts';
import { rbacConfig, rbacPerRouteConfig } from './rbac.ts';

export function translateHttpFilters(raw: Raw[], path: string, ctx: TranslateContext): HttpFilter[] {
  const filters: HttpFilter[] = [];
  raw.forEach((filter, i) => {
    const filterPath = indexPath(path, i);
    const name = str(filter, 'name');
    if (filter.disabled === true) {
      reject(joinPath(filterPath, 'disabled'), 'filters disabled by default are not supported by Legate', 'remove the filter or the disabled flag');
    }
    const config = obj(filter, 'typed_config') ?? defaultConfigByName(name, filterPath);
    if (config[UNSUPPORTED_ANY] === true) {
      ctx.warnings.push(`${filterPath}: optional filter '${name}' (${String(config['@type'])}) is not supported by Legate; skipped`);
      return;
    }
    const type = String(config['@type']);
    if (type === ROUTER_TYPE && i !== raw.length - 1) {
      reject(filterPath, 'the router filter must be the last HTTP filter', 'move envoy.filters.http.router to the end of http_filters');
    }
    if (type === HTTP_WASM_TYPE) {
      filters.push({ name, ...nullVmHttpFilter(config, joinPath(filterPath, 'typed_config'), ctx) });
      return;
    }
    filters.push({ name, type, config: translateFilterConfig(config, joinPath(filterPath, 'typed_config'), ctx) });
  });
  if (filters.length === 0 || filters[filters.length - 1].type !== ROUTER_TYPE) {
    throw new ConfigError(path, 'the last HTTP filter must be the router', `add { name: envoy.filters.http.router, typed_config: { "@type": type.googleapis.com/${ROUTER_TYPE} } } at the end`);
  }
  return filters;
}

// Filters that older configs give by name only.
function defaultConfigByName(name: string, path: string): Raw {
  const type = TYPE_BY_FILTER_NAME[name];
  if (type === undefined || !HTTP_FILTER_TYPES.includes(type)) {
    reject(joinPath(path, 'typed_config'), `filter '${name}' needs a typed_config`, 'add typed_config with the filter\'s "@type"');
  }
  return { '@type': type };
}

function translateFilterConfig(config: Raw, path: string, ctx: TranslateContext): unknown {
  switch (config['@type']) {
    case ROUTER_TYPE:
      return routerConfig(config);
    case FAULT_TYPE:
      return faultConfig(config, path);
    case LOCAL_RATELIMIT_TYPE:
      return localRateLimitConfig(config, path);
    case GRPC_STATS_TYPE:
      return grpcStatsConfig(config);
    case COMPRESSOR_TYPE:
      return compressorConfig(config, path);
    case CONNECT_AUTHORITY_TYPE:
      return connectAuthorityConfig(config, path, ctx);
    case CONNECT_BAGGAGE_TYPE:
      return connectBaggageConfig(config, path, ctx);
    case CORS_TYPE:
      return {}; // the policies come from the routes and virtual hosts
    case DECOMPRESSOR_TYPE:
      return decompressorConfig(config, path);
    case GRPC_WEB_TYPE:
      return {}; // no fields
    case HEALTH_CHECK_TYPE:
      return healthCheckFilterConfig(config, path, ctx);
    case ISTIO_PEER_METADATA_TYPE:
      return peerMetadataConfig(config, path, ctx);
    case ISTIO_STATS_TYPE:
      return istioStatsConfig(config, path, ctx);
    case ISTIO_ALPN_TYPE:
      return istioAlpnConfig(config);
    case RBAC_TYPE:
      return rbacConfig(config, path);
    case EXT_AUTHZ_TYPE:
      return extAuthzConfig(config, path);
    case JWT_AUTHN_TYPE:
      return jwtAuthnConfig(config, path, ctx);
    case HTTP_SET_FILTER_STATE_TYPE:
      return setFilterStateConfig(config, path);
    case RATELIMIT_TYPE:
    default:
      return rateLimitConfig(config, path);
  }
}

function routerConfig(raw: Raw): RouterConfig {
  return {
    suppressEnvoyHeaders: bool(raw, 'suppress_envoy_headers', false),
    respectExpectedRqTimeout: bool(raw, 'respect_expected_rq_timeout', false),
  };
}

function grpcStatsConfig(raw: Raw): GrpcStatsConfig {
  const allowlist = obj(raw, 'individual_method_stats_allowlist');
  return {
    statsForAllMethods: bool(raw, 'stats_for_all_methods', false),
    allowlist: allowlist === undefined ? [] : list(allowlist, 'services').map((s) => ({ service: str(s, 'name'), methods: strings(s, 'method_names') })),
    replaceDotsInGrpcServiceName: bool(raw, 'replace_dots_in_grpc_service_name', false),
    emitFilterState: bool(raw, 'emit_filter_state', false),
  };
}

// local_ratelimit's filter_enabled / filter_enforced runtime keys, when they name one.
function withKeys(enabled: Raw | undefined, enforced: Raw | undefined): { filterEnabledKey?: RuntimeKey; filterEnforcedKey?: RuntimeKey } {
  const out: { filterEnabledKey?: RuntimeKey; filterEnforcedKey?: RuntimeKey } = {};
  const enabledKey = runtimeKeyOf(enabled);
  if (enabledKey !== undefined) out.filterEnabledKey = enabledKey;
  const enforcedKey = runtimeKeyOf(enforced);
  if (enforcedKey !== undefined) out.filterEnforcedKey = enforcedKey;
  return out;
}

function faultConfig(raw: Raw, path: string): FaultConfig {
  const config: FaultConfig = {
    headers: headerMatchers(raw, 'headers', path),
    downstreamNodes: strings(raw, 'downstream_nodes'),
    runtime: {
      delayPercent: str(raw, 'delay_percent_runtime', 'fault.http.delay.fixed_delay_percent'),
      delayDuration: str(raw, 'delay_duration_runtime', 'fault.http.delay.fixed_duration_ms'),
      abortPercent: str(raw, 'abort_percent_runtime', 'fault.http.abort.abort_percent'),
      abortHttpStatus: str(raw, 'abort_http_status_runtime', 'fault.http.abort.http_status'),
      abortGrpcStatus: str(raw, 'abort_grpc_status_runtime', 'fault.http.abort.grpc_status'),
      maxActiveFaults: str(raw, 'max_active_faults_runtime', 'fault.http.max_active_faults'),
    },
  };
  const delay = obj(raw, 'delay');
  if (delay !== undefined) {
    if (delay.fixed_delay === undefined && delay.header_delay === undefined) {
      reject(joinPath(path, 'delay'), 'the delay needs fixed_delay or header_delay', 'set one of them');
    }
    config.delay = {
      headerDelay: delay.header_delay !== undefined,
      // Unset percentage is 0 % in Envoy: no request is delayed.
      percent: fractionalPercent(obj(delay, 'percentage'), 0),
      denominator: denominatorOf(obj(delay, 'percentage')),
    };
    if (delay.fixed_delay !== undefined) config.delay.fixedDelayMs = ms(delay, 'fixed_delay', 0);
  }
  const abort = obj(raw, 'abort');
  if (abort !== undefined) {
    if (abort.http_status === undefined && abort.grpc_status === undefined && abort.header_abort === undefined) {
      reject(joinPath(path, 'abort'), 'the abort needs http_status, grpc_status or header_abort', 'set one of them');
    }
    config.abort = { headerAbort: abort.header_abort !== undefined, percent: fractionalPercent(obj(abort, 'percentage'), 0), denominator: denominatorOf(obj(abort, 'percentage')) };
    if (abort.http_status !== undefined) config.abort.httpStatus = num(abort, 'http_status', 0);
    if (abort.grpc_status !== undefined) config.abort.grpcStatus = num(abort, 'grpc_status', 0);
  }
  if (raw.upstream_cluster !== undefined) config.upstreamCluster = str(raw, 'upstream_cluster');
  if (raw.max_active_faults !== undefined) config.maxActiveFaults = num(raw, 'max_active_faults', 0);
  return config;
}

function localRateLimitConfig(raw: Raw, path: string): LocalRateLimitConfig {
  const config: LocalRateLimitConfig = {
    statPrefix: str(raw, 'stat_prefix'),
    status: httpStatus(raw, 'status', 429, path),
    // Envoy's local rate limit is off unless filter_enabled / filter_enforced say otherwise.
    filterEnabledPercent: runtimeFractionalPercent(obj(raw, 'filter_enabled'), 0),
    filterEnforcedPercent: runtimeFractionalPercent(obj(raw, 'filter_enforced'), 0),
    ...withKeys(obj(raw, 'filter_enabled'), obj(raw, 'filter_enforced')),
    requestHeadersToAddWhenNotEnforced: headerValueOptions(raw, 'request_headers_to_add_when_not_enforced', path),
    responseHeadersToAdd: headerValueOptions(raw, 'response_headers_to_add', path),
    enableXRatelimitHeaders: str(raw, 'enable_x_ratelimit_headers', 'OFF') === 'DRAFT_VERSION_03',
    perDownstreamConnection: bool(raw, 'local_rate_limit_per_downstream_connection', false),
    rateLimitedAsResourceExhausted: bool(raw, 'rate_limited_as_resource_exhausted', false),
  };
  const bucket = obj(raw, 'token_bucket');
  if (bucket !== undefined) {
    config.tokenBucket = {
      maxTokens: num(bucket, 'max_tokens', 0),
      tokensPerFill: num(bucket, 'tokens_per_fill', 1),
      fillIntervalMs: ms(bucket, 'fill_interval', 0),
    };
  }
  return config;
}

function rateLimitConfig(raw: Raw, path: string): RateLimitConfig {
  const service = obj(raw, 'rate_limit_service') as Raw;
  const servicePath = joinPath(path, 'rate_limit_service');
  checkApiVersion(service, 'transport_api_version', servicePath);
  const requestType = str(raw, 'request_type', 'both');
  return {
    domain: str(raw, 'domain'),
    stage: num(raw, 'stage', 0),
    requestType: (requestType === '' ? 'both' : requestType) as RateLimitConfig['requestType'],
    timeoutMs: ms(raw, 'timeout', 20),
    failureModeDeny: bool(raw, 'failure_mode_deny', false),
    grpcService: grpcService(obj(service, 'grpc_service') as Raw, joinPath(servicePath, 'grpc_service')),
    enableXRatelimitHeaders: str(raw, 'enable_x_ratelimit_headers', 'OFF') === 'DRAFT_VERSION_03',
    disableXEnvoyRatelimitedHeader: bool(raw, 'disable_x_envoy_ratelimited_header', false),
    rateLimitedStatus: httpStatus(raw, 'rate_limited_status', 429, path),
    statusOnError: httpStatus(raw, 'status_on_error', 500, path),
    responseHeadersToAdd: headerValueOptions(raw, 'response_headers_to_add', path),
    statPrefix: str(raw, 'stat_prefix'),
    rateLimitedAsResourceExhausted: bool(raw, 'rate_limited_as_resource_exhausted', false),
  };
}

// typed_per_filter_config: filter name -> override, for route configs, virtual hosts, routes and
// weighted clusters.
export function translatePerFilterConfigs(raw: Raw, path: string, ctx: TranslateContext): Record<string, unknown> {
  const configs = obj(raw, 'typed_per_filter_config') ?? {};
  const out: Record<string, unknown> = {};
  for (const [name, config] of Object.entries(configs)) {
    const configPath = keyPath(joinPath(path, 'typed_per_filter_config'), name);
    const translated = perFilterConfig(config as Raw, configPath, name, ctx);
    if (translated !== undefined) out[name] = translated;
  }
  return out;
}

function perFilterConfig(config: Raw, path: string, name: string, ctx: TranslateContext): unknown {
  switch (config['@type']) {
    case COMPRESSOR_PER_ROUTE_TYPE:
      return compressorPerRouteConfig(config);
    case CONNECT_AUTHORITY_TYPE:
      return connectAuthorityPerRoute(config, path, ctx);
    case CORS_POLICY_TYPE:
      return corsPolicy(config, path);
    case FAULT_TYPE:
      return faultConfig(config, path);
    case LOCAL_RATELIMIT_TYPE:
      return localRateLimitConfig(config, path);
    case RBAC_PER_ROUTE_TYPE:
      return rbacPerRouteConfig(config, path);
    case EXT_AUTHZ_PER_ROUTE_TYPE:
      return extAuthzPerRouteConfig(config, path);
    case JWT_AUTHN_PER_ROUTE_TYPE:
      return jwtAuthnPerRouteConfig(config);
    case RATELIMIT_PER_ROUTE_TYPE:
      return { vhRateLimits: str(config, 'vh_rate_limits', 'OVERRIDE') as RateLimitPerRouteConfig['vhRateLimits'] } satisfies RateLimitPerRouteConfig;
    case FILTER_CONFIG_TYPE: {
      if (config.disabled === true) return { disabled: true } satisfies FilterDisabled;
      const inner = obj(config, 'config');
      if (inner === undefined) return undefined;
      if (inner[UNSUPPORTED_ANY] === true) {
        ctx.warnings.push(`${path}: optional per-route config for '${name}' (${String(inner['@type'])}) is not supported by Legate; skipped`);
        return undefined;
      }
      return perFilterConfig(inner, joinPath(path, 'config'), name, ctx);
    }
    default:
      return reject(path, `per-route config of type '${String(config['@type'])}' is not supported by Legate`);
  }
}
