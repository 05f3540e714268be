// envoy.filters.http.ext_authz (ExtAuthz) and its ExtAuthzPerRoute -> the model. Envoy's defaults:
// status_on_error 403, the gRPC service's timeout 200 ms, filter_enabled 100 % (its runtime key, and
// deny_at_disable's, read from the runtime per request). Legate reaches the
// authorization service through its own cluster manager only (envoy_grpc, http_service).
import { indexPath, joinPath } from '../errors.ts';
import type { ExtAuthzBodySettings, ExtAuthzConfig, ExtAuthzPerRouteConfig, ExtAuthzService, NetworkExtAuthzConfig, StringMatcher } from '../model.ts';
import { bool, checkApiVersion, runtimeKeyOf, strings, headerValueOption, httpStatus, list, ms, num, obj, reject, runtimeFractionalPercent, str, stringMatcher } from './common.ts';
import type { Raw } from './common.ts';
import { metadataMatcher } from './metadata-matcher.ts';

/** Envoy's default for grpc_service.timeout in this filter. */
const DEFAULT_TIMEOUT_MS = 200;

export function extAuthzConfig(raw: Raw, path: string): ExtAuthzConfig {
  checkApiVersion(raw, 'transport_api_version', path);
  const grpc = obj(raw, 'grpc_service');
  const http = obj(raw, 'http_service');
  if (grpc === undefined && http === undefined) reject(path, 'one of grpc_service or http_service is required', 'name the authorization service\'s cluster in grpc_service.envoy_grpc.cluster_name');
  const service = grpc !== undefined ? grpcService(grpc, joinPath(path, 'grpc_service')) : httpService(http!, joinPath(path, 'http_service'));
  const allowed = obj(raw, 'allowed_headers');
  const legacyAllowed = http === undefined ? undefined : obj(obj(http, 'authorization_request') ?? {}, 'allowed_headers');
  if (allowed !== undefined && legacyAllowed !== undefined) {
    reject(joinPath(path, 'allowed_headers'), 'allowed_headers is given twice (here and in http_service.authorization_request)', 'keep this one; the other is deprecated');
  }
  const config: ExtAuthzConfig = {
    service,
    failureModeAllow: bool(raw, 'failure_mode_allow', false),
    failureModeAllowHeaderAdd: bool(raw, 'failure_mode_allow_header_add', false),
    clearRouteCache: bool(raw, 'clear_route_cache', false),
    statusOnError: httpStatus(raw, 'status_on_error', 403, path),
    filterEnabledPercent: runtimeFractionalPercent(obj(raw, 'filter_enabled'), 100),
    denyAtDisable: bool(obj(raw, 'deny_at_disable') ?? {}, 'default_value', false),
    includePeerCertificate: bool(raw, 'include_peer_certificate', false),
    includeTlsSession: bool(raw, 'include_tls_session', false),
    statPrefix: str(raw, 'stat_prefix'),
    disallowedHeaders: listMatchers(obj(raw, 'disallowed_headers'), joinPath(path, 'disallowed_headers')),
    chargeClusterResponseStats: bool(raw, 'charge_cluster_response_stats', true),
    metadataContextNamespaces: strings(raw, 'metadata_context_namespaces'),
  };
  // The gRPC service gets every header unless allowed_headers says otherwise; the HTTP service
  // only Envoy's four (authorization, :method, :path, :authority) and the ones allowed.
  if (http !== undefined) {
    const list = legacyAllowed ?? allowed;
    const listPath = legacyAllowed !== undefined ? joinPath(path, 'http_service.authorization_request.allowed_headers') : joinPath(path, 'allowed_headers');
    config.allowedHeaders = [...listMatchers(list, listPath), ...['authorization', ':method', ':path', ':authority'].map(exact)];
  } else if (allowed !== undefined) {
    config.allowedHeaders = listMatchers(allowed, joinPath(path, 'allowed_headers'));
  }
  const body = obj(raw, 'with_request_body');
  if (body !== undefined) config.withRequestBody = bodySettings(body, http !== undefined);
  // The runtime keys that override filter_enabled's and deny_at_disable's defaults.
  const enabledKey = runtimeKeyOf(obj(raw, 'filter_enabled'));
  if (enabledKey !== undefined) config.filterEnabledKey = enabledKey;
  const denyKey = str(obj(raw, 'deny_at_disable') ?? {}, 'runtime_key');
  if (denyKey !== '') config.denyAtDisableKey = denyKey;
  const enabledBy = obj(raw, 'filter_enabled_metadata');
  if (enabledBy !== undefined) config.filterEnabledMetadata = metadataMatcher(enabledBy, joinPath(path, 'filter_enabled_metadata'));
  return config;
}

// envoy.filters.network.ext_authz: the gRPC service only, as in Envoy.
export function networkExtAuthzConfig(raw: Raw, path: string): NetworkExtAuthzConfig {
  checkApiVersion(raw, 'transport_api_version', path);
  const grpc = obj(raw, 'grpc_service');
  if (grpc === undefined) reject(joinPath(path, 'grpc_service'), 'required field is missing', 'name the authorization service\'s cluster in grpc_service.envoy_grpc.cluster_name');
  return {
    statPrefix: str(raw, 'stat_prefix'),
    service: grpcService(grpc, joinPath(path, 'grpc_service')) as NetworkExtAuthzConfig['service'],
    failureModeAllow: bool(raw, 'failure_mode_allow', false),
    includePeerCertificate: bool(raw, 'include_peer_certificate', false),
    includeTlsSession: bool(raw, 'include_tls_session', false),
  };
}

export function extAuthzPerRouteConfig(raw: Raw, path: string): ExtAuthzPerRouteConfig {
  const check = obj(raw, 'check_settings');
  if (raw.disabled !== true && check === undefined) reject(path, 'one of disabled or check_settings is required', 'set disabled: true, or check_settings');
  const settings = check ?? {};
  const contextExtensions: Record<string, string> = {};
  for (const [key, value] of Object.entries(obj(settings, 'context_extensions') ?? {})) contextExtensions[key] = String(value);
  const config: ExtAuthzPerRouteConfig = {
    disabled: raw.disabled === true,
    contextExtensions,
    disableRequestBodyBuffering: bool(settings, 'disable_request_body_buffering', false),
  };
  const body = obj(settings, 'with_request_body');
  if (body !== undefined) {
    if (config.disableRequestBodyBuffering) reject(joinPath(path, 'check_settings.with_request_body'), 'with_request_body and disable_request_body_buffering cannot both be set', 'keep one');
    config.withRequestBody = bodySettings(body, false);
  }
  return config;
}

function grpcService(raw: Raw, path: string): ExtAuthzService {
  const envoyGrpc = obj(raw, 'envoy_grpc');
  if (envoyGrpc === undefined) {
    reject(joinPath(path, raw.google_grpc !== undefined ? 'google_grpc' : 'envoy_grpc'), 'not supported by Legate: ext_authz reaches its service through a cluster (envoy_grpc)', 'name the service\'s cluster in envoy_grpc.cluster_name');
  }
  const cluster = str(envoyGrpc, 'cluster_name');
  return {
    kind: 'grpc',
    cluster,
    authority: str(envoyGrpc, 'authority') || cluster,
    timeoutMs: ms(raw, 'timeout', DEFAULT_TIMEOUT_MS),
    initialMetadata: list(raw, 'initial_metadata').map((h) => ({ key: str(h, 'key').toLowerCase(), value: str(h, 'value') })),
  };
}

function httpService(raw: Raw, path: string): ExtAuthzService {
  const uri = obj(raw, 'server_uri');
  if (uri === undefined) reject(joinPath(path, 'server_uri'), 'required field is missing', 'set server_uri with uri, cluster and timeout');
  const request = obj(raw, 'authorization_request') ?? {};
  const response = obj(raw, 'authorization_response') ?? {};
  const responsePath = joinPath(path, 'authorization_response');
  const matchers = (key: string) => listMatchers(obj(response, key), joinPath(responsePath, key));
  return {
    kind: 'http',
    cluster: str(uri, 'cluster'),
    timeoutMs: ms(uri, 'timeout', DEFAULT_TIMEOUT_MS),
    pathPrefix: str(raw, 'path_prefix'),
    // HeaderValue (not HeaderValueOption): each one overwrites.
    headersToAdd: list(request, 'headers_to_add').map((header, i) =>
      headerValueOption({ header, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }, indexPath(joinPath(path, 'authorization_request.headers_to_add'), i))),
    allowedUpstreamHeaders: matchers('allowed_upstream_headers'),
    allowedUpstreamHeadersToAppend: matchers('allowed_upstream_headers_to_append'),
    allowedClientHeaders: matchers('allowed_client_headers'),
    allowedClientHeadersOnSuccess: matchers('allowed_client_headers_on_success'),
  };
}

// The HTTP service carries the body as it is: Envoy packs it as bytes there.
function bodySettings(raw: Raw, http: boolean): ExtAuthzBodySettings {
  return {
    maxRequestBytes: num(raw, 'max_request_bytes', 0),
    allowPartialMessage: bool(raw, 'allow_partial_message', false),
    packAsBytes: http || bool(raw, 'pack_as_bytes', false),
  };
}

// envoy.type.matcher.v3.ListStringMatcher
function listMatchers(raw: Raw | undefined, path: string): StringMatcher[] {
  if (raw === undefined) return [];
  return list(raw, 'patterns').map((m, i) => stringMatcher(m, indexPath(joinPath(path, 'patterns'), i)));
}

function exact(value: string): StringMatcher {
  return { kind: 'exact', value, ignoreCase: false };
}
