// envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager ->
// HttpConnectionManager. An inline route_config is returned beside it under a synthetic name so
// that inline and RDS route configs live in one place (Snapshot.routeConfigs).
import { indexPath, joinPath } from '../errors.ts';
import type { ClientCertDetail, HttpConnectionManager, InternalAddressConfig, RouteConfig } from '../model.ts';
import { translateAccessLogs } from './access-log.ts';
import { configSource } from './config-source.ts';
import { bool, cidrRange, list, ms, num, obj, reject, str } from './common.ts';
import type { Raw, TranslateContext } from './common.ts';
import { translateHttpFilters } from './http-filters.ts';
import { translateHttp2ProtocolOptions } from './http2-protocol-options.ts';
import { translateRouteConfig, translateUpgradeConfigs } from './route.ts';
import { requestIdExtension, routerStartsChildSpans, translateHcmTracing } from './tracing.ts';

// Envoy's per_connection_buffer_limit_bytes default.
export const DEFAULT_BUFFER_LIMIT_BYTES = 1024 * 1024;

export interface TranslatedHcm {
  hcm: HttpConnectionManager;
  routeConfig?: RouteConfig; // the inline route_config, named hcm.routeConfigName
}

export function translateHttpConnectionManager(raw: Raw, path: string, ctx: TranslateContext, inlineName: string): TranslatedHcm {
  const codecType = str(raw, 'codec_type', 'AUTO');
  if (codecType === 'HTTP3') reject(joinPath(path, 'codec_type'), 'not supported by Legate: codec_type HTTP3 (Legate has no QUIC)', 'use AUTO, HTTP1 or HTTP2');
  const common = obj(raw, 'common_http_protocol_options') ?? {};
  const hcm: HttpConnectionManager = {
    kind: 'http_connection_manager',
    statPrefix: str(raw, 'stat_prefix'),
    codecType: codecType as HttpConnectionManager['codecType'],
    routeConfigName: inlineName,
    rds: false,
    httpFilters: translateHttpFilters(list(raw, 'http_filters'), joinPath(path, 'http_filters'), ctx),
    accessLog: translateAccessLogs(raw, 'access_log', path),
    useRemoteAddress: bool(raw, 'use_remote_address', false),
    xffNumTrustedHops: num(raw, 'xff_num_trusted_hops', 0),
    skipXffAppend: bool(raw, 'skip_xff_append', false),
    generateRequestId: bool(raw, 'generate_request_id', true),
    preserveExternalRequestId: bool(raw, 'preserve_external_request_id', false),
    alwaysSetRequestIdInResponse: bool(raw, 'always_set_request_id_in_response', false),
    serverName: str(raw, 'server_name', 'envoy'),
    serverHeaderTransformation: str(raw, 'server_header_transformation', 'OVERWRITE') as HttpConnectionManager['serverHeaderTransformation'],
    idleTimeoutMs: ms(common, 'idle_timeout', 3_600_000),
    streamIdleTimeoutMs: ms(raw, 'stream_idle_timeout', 300_000),
    requestTimeoutMs: ms(raw, 'request_timeout', 0),
    requestHeadersTimeoutMs: ms(raw, 'request_headers_timeout', 0),
    maxStreamDurationMs: ms(common, 'max_stream_duration', 0),
    maxConnectionDurationMs: ms(common, 'max_connection_duration', 0),
    maxRequestsPerConnection: num(common, 'max_requests_per_connection', 0),
    drainTimeoutMs: ms(raw, 'drain_timeout', 5000),
    delayedCloseTimeoutMs: ms(raw, 'delayed_close_timeout', 1000),
    upgradeConfigs: translateUpgradeConfigs(raw, path),
    normalizePath: bool(raw, 'normalize_path', false),
    mergeSlashes: bool(raw, 'merge_slashes', false),
    pathWithEscapedSlashesAction: escapedSlashesAction(str(raw, 'path_with_escaped_slashes_action', 'IMPLEMENTATION_SPECIFIC_DEFAULT')),
    maxRequestHeadersKb: num(raw, 'max_request_headers_kb', 60),
    maxHeadersCount: num(common, 'max_headers_count', 100),
    headersWithUnderscoresAction: str(common, 'headers_with_underscores_action', 'ALLOW') as HttpConnectionManager['headersWithUnderscoresAction'],
    bufferLimitBytes: DEFAULT_BUFFER_LIMIT_BYTES, // the listener's, set by its translator
    forwardClientCertDetails: str(raw, 'forward_client_cert_details', 'SANITIZE') as HttpConnectionManager['forwardClientCertDetails'],
    setCurrentClientCertDetails: clientCertDetails(obj(raw, 'set_current_client_cert_details') ?? {}),
    http2: translateHttp2ProtocolOptions(obj(raw, 'http2_protocol_options'), joinPath(path, 'http2_protocol_options')),
  };
  const tracing = obj(raw, 'tracing');
  const requestId = requestIdExtension(obj(raw, 'request_id_extension'), joinPath(path, 'request_id_extension'));
  if (tracing !== undefined) hcm.tracing = translateHcmTracing(tracing, joinPath(path, 'tracing'), routerStartsChildSpans(raw), requestId);
  const internal = obj(raw, 'internal_address_config');
  if (internal !== undefined) hcm.internalAddressConfig = internalAddressConfig(internal, joinPath(path, 'internal_address_config'));
  const rds = obj(raw, 'rds');
  if (rds !== undefined) {
    const rdsPath = joinPath(path, 'rds');
    const name = str(rds, 'route_config_name');
    if (name === '') reject(joinPath(rdsPath, 'route_config_name'), 'required field is missing', 'name the RouteConfiguration to fetch');
    hcm.routeConfigName = name;
    hcm.rds = true;
    hcm.rdsConfigSource = configSource(obj(rds, 'config_source') as Raw, joinPath(rdsPath, 'config_source'));
    return { hcm };
  }
  const inline = obj(raw, 'route_config') as Raw;
  return { hcm, routeConfig: translateRouteConfig(inline, joinPath(path, 'route_config'), ctx, inlineName) };
}

// SetCurrentClientCertDetails -> the details in the order Envoy appends them (its HCM config
// builds the list cert, chain, subject, uri, dns).
function clientCertDetails(raw: Raw): ClientCertDetail[] {
  const details: ClientCertDetail[] = [];
  if (bool(raw, 'cert', false)) details.push('Cert');
  if (bool(raw, 'chain', false)) details.push('Chain');
  if (bool(raw, 'subject', false)) details.push('Subject');
  if (bool(raw, 'uri', false)) details.push('URI');
  if (bool(raw, 'dns', false)) details.push('DNS');
  return details;
}

// HttpConnectionManager.InternalAddressConfig; each cidr_ranges entry needs an IP address_prefix
// and a prefix_len that fits its family.
function internalAddressConfig(raw: Raw, path: string): InternalAddressConfig {
  const rangesPath = joinPath(path, 'cidr_ranges');
  return {
    unixSockets: bool(raw, 'unix_sockets', false),
    cidrRanges: list(raw, 'cidr_ranges').map((r, i) => cidrRange(r, indexPath(rangesPath, i))),
  };
}

// Envoy's implementation-specific default is to keep escaped slashes as they are.
function escapedSlashesAction(value: string): HttpConnectionManager['pathWithEscapedSlashesAction'] {
  return value === 'IMPLEMENTATION_SPECIFIC_DEFAULT' ? 'KEEP_UNCHANGED' : (value as HttpConnectionManager['pathWithEscapedSlashesAction']);
}
