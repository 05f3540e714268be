// envoy.config.route.v3.RouteConfiguration -> RouteConfig, with Envoy's defaults: route timeout
// 15 s, retries only with a retry policy (then 1 retry, back-off 25 ms up to 10x), the virtual
// host's retry policy for routes without one, redirects 301.
import { indexPath, joinPath } from '../errors.ts';
import type {
  ClusterSpecifier,
  RuntimeKey,
  DirectResponseAction,
  HashPolicy,
  RateLimitAction,
  RateLimitPolicy,
  RedirectAction,
  RequestMirrorPolicy,
  RetryPolicy,
  Route,
  RouteAction,
  RouteConfig,
  RouteMatch,
  UpgradeConfig,
  VirtualHost,
  WeightedCluster,
} from '../model.ts';
import {
  bool,
  dataSourceText,
  headerMatcher,
  headerMatchers,
  headerMutations,
  list,
  ms,
  num,
  obj,
  recordPath,
  regexSource,
  reject,
  runtimeFractionalPercent,
  runtimeKeyOf,
  str,
  strings,
} from './common.ts';
import { translateMatch } from './route-match.ts';
import type { Raw, TranslateContext } from './common.ts';
import { corsPolicy } from './cors.ts';
import { translateRouteTracing } from './tracing.ts';
import { translatePerFilterConfigs } from './http-filters.ts';

const DEFAULT_ROUTE_TIMEOUT_MS = 15_000;
const DEFAULT_RETRY_BASE_MS = 25;
const DEFAULT_DIRECT_RESPONSE_BODY_LIMIT = 4096;

export const RETRY_ON = new Set([
  '5xx', 'gateway-error', 'reset', 'reset-before-request', 'connect-failure', 'envoy-ratelimited', 'retriable-4xx',
  'refused-stream', 'retriable-status-codes', 'retriable-headers', 'http3-post-connect-failure',
  // gRPC status based (x-envoy-retry-grpc-on)
  'cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable',
]);

// `name` replaces the configured name (inline route configs get a synthetic one).
export function translateRouteConfig(raw: Raw, path: string, ctx: TranslateContext, name = str(raw, 'name')): RouteConfig {
  const bodyLimit = num(raw, 'max_direct_response_body_size_bytes', DEFAULT_DIRECT_RESPONSE_BODY_LIMIT);
  const vhostsPath = joinPath(path, 'virtual_hosts');
  const seenNames = new Set<string>();
  const seenDomains = new Map<string, string>();
  const virtualHosts = list(raw, 'virtual_hosts').map((vh, i) => {
    const vhPath = indexPath(vhostsPath, i);
    const vhost = translateVirtualHost(vh, vhPath, ctx, bodyLimit);
    if (seenNames.has(vhost.name)) reject(joinPath(vhPath, 'name'), `duplicate virtual host name '${vhost.name}'`, 'virtual host names must be unique within a route configuration');
    seenNames.add(vhost.name);
    vhost.domains.forEach((domain, j) => {
      const other = seenDomains.get(domain);
      if (other !== undefined) {
        reject(indexPath(joinPath(vhPath, 'domains'), j), `domain '${domain}' is already used by virtual host '${other}'`, 'each domain may appear in one virtual host only');
      }
      seenDomains.set(domain, vhost.name);
    });
    return vhost;
  });
  const config: RouteConfig = { name, virtualHosts, mutations: headerMutations(raw, path) };
  if (bool(raw, 'ignore_port_in_host_matching', false)) config.ignorePortInHostMatching = true;
  return recordPath(config, path);
}

function translateVirtualHost(raw: Raw, path: string, ctx: TranslateContext, bodyLimit: number): VirtualHost {
  const requireTls = str(raw, 'require_tls', 'NONE');
  if (requireTls !== 'NONE') reject(joinPath(path, 'require_tls'), `require_tls ${requireTls} is not supported by Legate`, 'Legate does not terminate TLS; remove it');
  const domains = strings(raw, 'domains').map((d, i) => {
    const domain = d.toLowerCase();
    const star = domain.indexOf('*');
    if (star >= 0 && domain !== '*' && star !== 0 && star !== domain.length - 1) {
      reject(indexPath(joinPath(path, 'domains'), i), `'${d}' has a wildcard in the middle`, 'a wildcard may only be a prefix (*.example.com) or a suffix (example.*)');
    }
    return domain;
  });
  const retryPolicyRaw = obj(raw, 'retry_policy');
  const vhostRetry = retryPolicyRaw === undefined ? undefined : translateRetryPolicy(retryPolicyRaw, joinPath(path, 'retry_policy'));
  const includeAttemptCount = bool(raw, 'include_request_attempt_count', false);
  const requestBufferLimit = raw.per_request_buffer_limit_bytes === undefined ? undefined : num(raw, 'per_request_buffer_limit_bytes', 0);
  const routesPath = joinPath(path, 'routes');
  const routes = list(raw, 'routes').map((r, i) =>
    translateRoute(r, indexPath(routesPath, i), ctx, { vhostRetry, includeAttemptCount, bodyLimit, requestBufferLimit }),
  );
  const vhost: VirtualHost = {
    name: str(raw, 'name'),
    domains,
    routes,
    mutations: headerMutations(raw, path),
    typedPerFilterConfig: translatePerFilterConfigs(raw, path, ctx),
    includeRequestAttemptCount: includeAttemptCount,
    includeAttemptCountInResponse: bool(raw, 'include_attempt_count_in_response', false),
  };
  if (raw.rate_limits !== undefined) vhost.rateLimits = translateRateLimits(raw, path);
  const cors = obj(raw, 'cors');
  if (cors !== undefined) vhost.cors = corsPolicy(cors, joinPath(path, 'cors'));
  return recordPath(vhost, path);
}

interface VirtualHostDefaults {
  vhostRetry: RetryPolicy | undefined;
  includeAttemptCount: boolean;
  bodyLimit: number;
  requestBufferLimit: number | undefined; // the virtual host's per_request_buffer_limit_bytes
}

function translateRoute(raw: Raw, path: string, ctx: TranslateContext, defaults: VirtualHostDefaults): Route {
  const match = translateMatch(obj(raw, 'match') as Raw, joinPath(path, 'match'));
  let action: Route['action'];
  const routeAction = obj(raw, 'route');
  const redirect = obj(raw, 'redirect');
  const direct = obj(raw, 'direct_response');
  if (routeAction !== undefined) action = translateRouteAction(routeAction, joinPath(path, 'route'), match, defaults, ctx);
  else if (redirect !== undefined) action = translateRedirect(redirect, joinPath(path, 'redirect'));
  else if (direct !== undefined) action = translateDirectResponse(direct, joinPath(path, 'direct_response'), defaults.bodyLimit);
  else return reject(path, 'the route has no action', 'set one of route, redirect or direct_response');
  const route: Route = {
    name: str(raw, 'name'),
    match,
    action,
    mutations: headerMutations(raw, path),
    typedPerFilterConfig: translatePerFilterConfigs(raw, path, ctx),
  };
  // Decorator: the operation name of the request's span (proto: operation min_len 1, propagate default true).
  const decorator = obj(raw, 'decorator');
  if (decorator !== undefined) route.decorator = { operation: str(decorator, 'operation'), propagate: bool(decorator, 'propagate', true) };
  const tracing = obj(raw, 'tracing');
  if (tracing !== undefined) route.tracing = translateRouteTracing(tracing, joinPath(path, 'tracing'));
  const bufferLimit = raw.per_request_buffer_limit_bytes === undefined ? defaults.requestBufferLimit : num(raw, 'per_request_buffer_limit_bytes', 0);
  if (bufferLimit !== undefined) route.perRequestBufferLimitBytes = bufferLimit;
  return recordPath(route, path);
}

const NOT_FOUND_CODES: Record<string, number> = { SERVICE_UNAVAILABLE: 503, NOT_FOUND: 404, INTERNAL_SERVER_ERROR: 500 };

function translateRouteAction(raw: Raw, path: string, match: RouteMatch, defaults: VirtualHostDefaults, ctx: TranslateContext): RouteAction {
  if (str(raw, 'priority', 'DEFAULT') !== 'DEFAULT') reject(joinPath(path, 'priority'), 'routing priority HIGH is not supported by Legate', 'remove priority');
  if (raw.prefix_rewrite !== undefined && raw.regex_rewrite !== undefined) {
    reject(joinPath(path, 'regex_rewrite'), 'prefix_rewrite and regex_rewrite cannot both be set', 'keep one');
  }
  if (raw.prefix_rewrite !== undefined && match.path.kind === 'safe_regex') {
    reject(joinPath(path, 'prefix_rewrite'), 'prefix_rewrite needs a prefix, path or path_separated_prefix match', 'use regex_rewrite with a safe_regex match');
  }
  const action: RouteAction = {
    kind: 'route',
    cluster: clusterSpecifier(raw, path, ctx),
    autoHostRewrite: bool(raw, 'auto_host_rewrite', false),
    timeoutMs: ms(raw, 'timeout', DEFAULT_ROUTE_TIMEOUT_MS),
    idleTimeoutMs: ms(raw, 'idle_timeout', 0),
    usingNewTimeouts: raw.max_stream_duration !== undefined,
    hashPolicy: list(raw, 'hash_policy').map((h, i) => hashPolicy(h, indexPath(joinPath(path, 'hash_policy'), i))),
    requestMirrorPolicies: list(raw, 'request_mirror_policies').map((m, i) => mirrorPolicy(m, indexPath(joinPath(path, 'request_mirror_policies'), i))),
    upgradeConfigs: translateUpgradeConfigs(raw, path),
    includeAttemptCount: defaults.includeAttemptCount,
  };
  if (raw.prefix_rewrite !== undefined) action.prefixRewrite = str(raw, 'prefix_rewrite');
  if (raw.regex_rewrite !== undefined) action.regexRewrite = regexRewrite(obj(raw, 'regex_rewrite') as Raw, joinPath(path, 'regex_rewrite'));
  if (raw.host_rewrite_literal !== undefined) action.hostRewriteLiteral = str(raw, 'host_rewrite_literal');
  if (raw.host_rewrite_header !== undefined) action.hostRewriteHeader = str(raw, 'host_rewrite_header').toLowerCase();
  const duration = obj(raw, 'max_stream_duration');
  if (duration?.max_stream_duration !== undefined) action.maxStreamDurationMs = ms(duration, 'max_stream_duration', 0);
  if (duration?.grpc_timeout_header_max !== undefined) action.grpcTimeoutHeaderMaxMs = ms(duration, 'grpc_timeout_header_max', 0);
  if (duration?.grpc_timeout_header_offset !== undefined) action.grpcTimeoutHeaderOffsetMs = ms(duration, 'grpc_timeout_header_offset', 0);
  if (raw.max_grpc_timeout !== undefined) action.maxGrpcTimeoutMs = ms(raw, 'max_grpc_timeout', 0);
  if (raw.grpc_timeout_offset !== undefined) action.grpcTimeoutOffsetMs = ms(raw, 'grpc_timeout_offset', 0);
  const retry = obj(raw, 'retry_policy');
  const retryPolicy = retry === undefined ? defaults.vhostRetry : translateRetryPolicy(retry, joinPath(path, 'retry_policy'));
  if (retryPolicy !== undefined) action.retryPolicy = retryPolicy;
  if (raw.rate_limits !== undefined) action.rateLimits = translateRateLimits(raw, path);
  const cors = obj(raw, 'cors');
  if (cors !== undefined) action.cors = corsPolicy(cors, joinPath(path, 'cors'));
  if (raw.include_vh_rate_limits !== undefined) action.includeVhRateLimits = bool(raw, 'include_vh_rate_limits', false);
  if (raw.cluster_not_found_response_code !== undefined) {
    action.clusterNotFoundResponseCode = NOT_FOUND_CODES[str(raw, 'cluster_not_found_response_code')] ?? 503;
  }
  return action;
}

function clusterSpecifier(raw: Raw, path: string, ctx: TranslateContext): ClusterSpecifier {
  if (raw.cluster !== undefined) return recordPath({ kind: 'cluster', name: str(raw, 'cluster') }, joinPath(path, 'cluster'));
  if (raw.cluster_header !== undefined) return { kind: 'cluster_header', header: str(raw, 'cluster_header').toLowerCase() };
  const weighted = obj(raw, 'weighted_clusters');
  if (weighted === undefined) return reject(path, 'the route action names no cluster', 'set cluster, weighted_clusters or cluster_header');
  return translateWeightedClusters(weighted, joinPath(path, 'weighted_clusters'), ctx);
}

function translateWeightedClusters(raw: Raw, path: string, ctx: TranslateContext): ClusterSpecifier {
  const clustersPath = joinPath(path, 'clusters');
  const clusters = list(raw, 'clusters').map((c, i): WeightedCluster => {
    const cPath = indexPath(clustersPath, i);
    if (str(c, 'name') === '') reject(joinPath(cPath, 'name'), 'required field is missing', 'name the cluster (cluster_header is not supported by Legate)');
    return recordPath(
      {
        name: str(c, 'name'),
        weight: num(c, 'weight', 0),
        mutations: headerMutations(c, cPath),
        typedPerFilterConfig: translatePerFilterConfigs(c, cPath, ctx),
      },
      joinPath(cPath, 'name'),
    );
  });
  const totalWeight = clusters.reduce((sum, c) => sum + c.weight, 0);
  if (totalWeight === 0) reject(clustersPath, 'the weights add up to 0', 'give at least one cluster a positive weight');
  const declared = raw.total_weight as number | undefined;
  if (declared !== undefined && declared !== totalWeight) {
    reject(joinPath(path, 'total_weight'), `total_weight is ${declared} but the weights add up to ${totalWeight}`, 'fix the weights or remove total_weight (deprecated)');
  }
  return { kind: 'weighted_clusters', clusters, totalWeight };
}

function regexRewrite(raw: Raw, path: string): { pattern: string; substitution: string } {
  return { pattern: regexSource(obj(raw, 'pattern'), joinPath(path, 'pattern')), substitution: str(raw, 'substitution') };
}

function hashPolicy(raw: Raw, path: string): HashPolicy {
  const terminal = bool(raw, 'terminal', false);
  const header = obj(raw, 'header');
  if (header !== undefined) return { kind: 'header', headerName: str(header, 'header_name').toLowerCase(), terminal };
  const cookie = obj(raw, 'cookie');
  if (cookie !== undefined) {
    const policy: HashPolicy = { kind: 'cookie', name: str(cookie, 'name'), terminal };
    if (cookie.ttl !== undefined) policy.ttlMs = ms(cookie, 'ttl', 0);
    if (cookie.path !== undefined) policy.path = str(cookie, 'path');
    return policy;
  }
  const connection = obj(raw, 'connection_properties');
  if (connection !== undefined) {
    if (connection.source_ip !== true) reject(joinPath(path, 'connection_properties.source_ip'), 'source_ip must be true', 'set source_ip: true');
    return { kind: 'source_ip', terminal };
  }
  const query = obj(raw, 'query_parameter');
  if (query !== undefined) return { kind: 'query_parameter', name: str(query, 'name'), terminal };
  return reject(path, 'the hash policy is empty', 'set header, cookie, connection_properties or query_parameter');
}

function mirrorPolicy(raw: Raw, path: string): RequestMirrorPolicy {
  if (str(raw, 'cluster') === '') reject(joinPath(path, 'cluster'), 'required field is missing', 'name the cluster to mirror to (cluster_header is not supported by Legate)');
  return recordPath(
    withRuntimeKey<RequestMirrorPolicy>({ cluster: str(raw, 'cluster'), runtimeFractionPercent: runtimeFractionalPercent(obj(raw, 'runtime_fraction'), 100) }, obj(raw, 'runtime_fraction')),
    joinPath(path, 'cluster'),
  );
}

export function translateUpgradeConfigs(raw: Raw, path: string): UpgradeConfig[] {
  return list(raw, 'upgrade_configs').map((u, i) => {
    const upgradeType = str(u, 'upgrade_type').toLowerCase();
    const upgrade: UpgradeConfig = { upgradeType, enabled: bool(u, 'enabled', true) };
    if (u.connect_config !== undefined) {
      if (upgradeType !== 'connect') reject(joinPath(indexPath(joinPath(path, 'upgrade_configs'), i), 'connect_config'), 'connect_config applies to CONNECT only', 'remove it or set upgrade_type: CONNECT');
      upgrade.connectConfig = {};
    }
    return upgrade;
  });
}

const REDIRECT_CODES: Record<string, number> = {
  MOVED_PERMANENTLY: 301,
  FOUND: 302,
  SEE_OTHER: 303,
  TEMPORARY_REDIRECT: 307,
  PERMANENT_REDIRECT: 308,
};

function translateRedirect(raw: Raw, path: string): RedirectAction {
  const redirect: RedirectAction = {
    kind: 'redirect',
    responseCode: REDIRECT_CODES[str(raw, 'response_code', 'MOVED_PERMANENTLY')] ?? 301,
    stripQuery: bool(raw, 'strip_query', false),
  };
  if (raw.https_redirect === true) redirect.schemeRedirect = 'https';
  if (raw.scheme_redirect !== undefined) redirect.schemeRedirect = str(raw, 'scheme_redirect').toLowerCase();
  if (raw.host_redirect !== undefined) redirect.hostRedirect = str(raw, 'host_redirect');
  if (num(raw, 'port_redirect', 0) !== 0) redirect.portRedirect = num(raw, 'port_redirect', 0);
  if (raw.path_redirect !== undefined) redirect.pathRedirect = str(raw, 'path_redirect');
  if (raw.prefix_rewrite !== undefined) redirect.prefixRewrite = str(raw, 'prefix_rewrite');
  if (raw.regex_rewrite !== undefined) redirect.regexRewrite = regexRewrite(obj(raw, 'regex_rewrite') as Raw, joinPath(path, 'regex_rewrite'));
  return redirect;
}

function translateDirectResponse(raw: Raw, path: string, bodyLimit: number): DirectResponseAction {
  const action: DirectResponseAction = { kind: 'direct_response', status: num(raw, 'status', 200) };
  const body = obj(raw, 'body');
  if (body !== undefined) {
    action.body = dataSourceText(body, joinPath(path, 'body'));
    const size = Buffer.byteLength(action.body);
    if (size > bodyLimit) {
      reject(joinPath(path, 'body'), `the body is ${size} bytes, more than max_direct_response_body_size_bytes (${bodyLimit})`, 'shorten it or raise max_direct_response_body_size_bytes on the route configuration');
    }
  }
  return action;
}

// ---- retries ----

const PREVIOUS_HOSTS = 'envoy.retry_host_predicates.previous_hosts';

export function translateRetryPolicy(raw: Raw, path: string): RetryPolicy {
  const retryOn = str(raw, 'retry_on')
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
  for (const token of retryOn) {
    if (!RETRY_ON.has(token)) {
      reject(joinPath(path, 'retry_on'), `unknown retry condition '${token}'`, `use a comma-separated list of: ${[...RETRY_ON].join(', ')}`);
    }
  }
  const backOffRaw = obj(raw, 'retry_back_off');
  const baseIntervalMs = backOffRaw === undefined ? DEFAULT_RETRY_BASE_MS : ms(backOffRaw, 'base_interval', DEFAULT_RETRY_BASE_MS);
  const maxIntervalMs = backOffRaw === undefined ? baseIntervalMs * 10 : ms(backOffRaw, 'max_interval', baseIntervalMs * 10);
  if (maxIntervalMs < baseIntervalMs) {
    reject(joinPath(path, 'retry_back_off.max_interval'), 'max_interval is shorter than base_interval', 'make max_interval at least base_interval');
  }
  const predicates = list(raw, 'retry_host_predicate').map((p, i) => {
    const name = str(p, 'name');
    const type = (obj(p, 'typed_config')?.['@type'] as string | undefined) ?? '';
    if (name !== PREVIOUS_HOSTS && type === '') {
      reject(indexPath(joinPath(path, 'retry_host_predicate'), i), `retry host predicate '${name}' is not supported by Legate`, `use ${PREVIOUS_HOSTS}`);
    }
    return PREVIOUS_HOSTS;
  });
  const retriableStatusCodes = (raw.retriable_status_codes as number[] | undefined) ?? [];
  for (const [i, code] of retriableStatusCodes.entries()) {
    if (code < 100 || code > 599) reject(indexPath(joinPath(path, 'retriable_status_codes'), i), `${code} is not an HTTP status`, 'use 100-599');
  }
  return {
    retryOn,
    numRetries: num(raw, 'num_retries', 1),
    perTryTimeoutMs: ms(raw, 'per_try_timeout', 0),
    perTryIdleTimeoutMs: ms(raw, 'per_try_idle_timeout', 0),
    backOff: { baseIntervalMs, maxIntervalMs },
    retriableStatusCodes,
    retriableHeaders: headerMatchers(raw, 'retriable_headers', path),
    retriableRequestHeaders: headerMatchers(raw, 'retriable_request_headers', path),
    retryHostPredicates: predicates,
    hostSelectionRetryMaxAttempts: num(raw, 'host_selection_retry_max_attempts', 1),
  };
}

// ---- rate limit descriptors ----

function translateRateLimits(raw: Raw, path: string): RateLimitPolicy[] {
  const limitsPath = joinPath(path, 'rate_limits');
  return list(raw, 'rate_limits').map((limit, i) => {
    const actionsPath = joinPath(indexPath(limitsPath, i), 'actions');
    return { actions: list(limit, 'actions').map((a, j) => rateLimitAction(a, indexPath(actionsPath, j))) };
  });
}

function rateLimitAction(raw: Raw, path: string): RateLimitAction {
  if (raw.source_cluster !== undefined) return { kind: 'source_cluster' };
  if (raw.destination_cluster !== undefined) return { kind: 'destination_cluster' };
  if (raw.remote_address !== undefined) return { kind: 'remote_address' };
  const headers = obj(raw, 'request_headers');
  if (headers !== undefined) {
    return {
      kind: 'request_headers',
      headerName: str(headers, 'header_name').toLowerCase(),
      descriptorKey: str(headers, 'descriptor_key'),
      skipIfAbsent: bool(headers, 'skip_if_absent', false),
    };
  }
  const generic = obj(raw, 'generic_key');
  if (generic !== undefined) {
    return { kind: 'generic_key', descriptorKey: str(generic, 'descriptor_key') || 'generic_key', descriptorValue: str(generic, 'descriptor_value') };
  }
  const match = obj(raw, 'header_value_match');
  if (match !== undefined) {
    const matchPath = joinPath(path, 'header_value_match');
    return {
      kind: 'header_value_match',
      descriptorKey: str(match, 'descriptor_key') || 'header_match',
      descriptorValue: str(match, 'descriptor_value'),
      expectMatch: bool(match, 'expect_match', true),
      headers: list(match, 'headers').map((h, i) => headerMatcher(h, indexPath(joinPath(matchPath, 'headers'), i))),
    };
  }
  return reject(path, 'the rate limit action is empty', 'set one of source_cluster, destination_cluster, request_headers, remote_address, generic_key, header_value_match');
}

// A runtime_fraction's runtime_key, when it names one, beside its default share.
function withRuntimeKey<T extends { runtimeFractionKey?: RuntimeKey }>(target: T, fraction: Raw | undefined): T {
  const key = runtimeKeyOf(fraction);
  if (key !== undefined) target.runtimeFractionKey = key;
  return target;
}
