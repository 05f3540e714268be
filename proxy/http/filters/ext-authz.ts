// envoy.filters.http.ext_authz: asks an authorization service (gRPC Authorization/Check or a plain
// HTTP service, see ext-authz/) about each routed request before it goes on, optionally with its
// body. OK: the service's header and query mutations apply and the request continues. Denied: the
// service's status, headers and body go to the client with flag UAEX. Error (unreachable, failed,
// timed out): failure_mode_allow lets the request on (x-envoy-auth-failure-mode-allowed: true with
// failure_mode_allow_header_add), else status_on_error (403) with UAEX. A route's ExtAuthzPerRoute
// disables the check or adds context extensions and body settings; filter_enabled_metadata runs the
// check only for requests whose dynamic metadata matches (Istio's CUSTOM action). Stats, as Envoy's:
// http.<stat_prefix>.ext_authz[.<filter stat_prefix>].{ok,denied,error,disabled,failure_mode_allowed}
// and the same under cluster.<route's cluster>.ext_authz.
import type { HeaderMap, ResponseHeaders } from '../../codec/index.ts';
import type { FilterStatus } from '../../http-filter/index.ts';
import { compileTemplate, type StreamInfo } from '../../access-log/index.ts';
import type { ExtAuthzBodySettings, ExtAuthzConfig, ExtAuthzPerRouteConfig, StringMatcher } from '../../config/model.ts';
import { compileMetadataMatcher, compileStringMatcher, HeaderOperations, type MetadataPredicate, type StringPredicate } from '../../router/index.ts';
import type { Counter, Store } from '../../stats/index.ts';
import type { Cancellable, ClusterManager } from '../../upstream/index.ts';
import { refreshRoute } from '../route-refresh.ts';
import type { HttpStream } from '../stream.ts';
import { runtime } from '../../runtime/index.ts';
import { chance } from './chance.ts';
import { dynamicMetadataOf } from './dynamic-metadata.ts';
import type { FilterContext, HttpFilterInstance } from './filter-context.ts';
import type { AuthorizationResponse, AuthorizationService, HeaderList } from './ext-authz/authorization-service.ts';
import { buildCheckRequest, type CheckRequestOptions } from './ext-authz/check-request.ts';
import { GrpcAuthorizationService } from './ext-authz/grpc-service.ts';
import { HttpAuthorizationService } from './ext-authz/http-service.ts';
import { setQueryParameters } from './ext-authz/query-parameters.ts';
import { isDisabled } from './per-route-config.ts';

const FAILURE_MODE_ALLOWED_HEADER = 'x-envoy-auth-failure-mode-allowed';

interface ExtAuthzStats {
  ok: Counter;
  denied: Counter;
  error: Counter;
  disabled: Counter;
  failureModeAllowed: Counter;
}

const STAT_NAMES: readonly (keyof ExtAuthzStats)[] = ['ok', 'denied', 'error', 'disabled', 'failureModeAllowed'];

/** One stream's check: what it waits for, and what the answer leaves for the response. */
interface CheckState {
  body?: ExtAuthzBodySettings; // set while the body is being buffered
  contextExtensions: Record<string, string>;
  call: Cancellable | null;
  /** The service answered while decodeHeaders was still running: it must not resume the chain. */
  initiating: boolean;
  answeredDuringInitiation: boolean;
  response?: Extract<AuthorizationResponse, { status: 'ok' }>;
}

export class ExtAuthzFilter implements HttpFilterInstance {
  private readonly config: ExtAuthzConfig;
  private readonly name: string;
  private readonly store: Store;
  private readonly clusters: ClusterManager;
  private readonly clusterStatName: (cluster: string) => string | undefined;
  private readonly routeTable: FilterContext['routeTable'];
  private readonly service: AuthorizationService;
  private readonly stats: ExtAuthzStats;
  private readonly statSuffix: string;
  private readonly clusterStats = new Map<string, ExtAuthzStats>();
  private readonly checkOptions: Omit<CheckRequestOptions, 'contextExtensions' | 'body'>;
  private readonly states = new WeakMap<HttpStream, CheckState>();
  /** filter_enabled_metadata, compiled. */
  private readonly enabledBy: MetadataPredicate | undefined;

  constructor(config: ExtAuthzConfig, ctx: FilterContext, name: string) {
    this.config = config;
    this.name = name;
    this.store = ctx.store;
    if (ctx.clusters === undefined) throw new Error(`ext_authz filter '${name}': no cluster manager to reach its service through`);
    this.clusters = ctx.clusters;
    this.clusterStatName = ctx.clusterStatName;
    this.routeTable = ctx.routeTable;
    this.statSuffix = config.statPrefix === '' ? 'ext_authz.' : `ext_authz.${config.statPrefix}.`;
    this.stats = this.makeStats(`http.${ctx.statPrefix}.${this.statSuffix}`);
    const matchers = (list: readonly StringMatcher[]): StringPredicate[] => list.map(compileStringMatcher);
    this.checkOptions = {
      includePeerCertificate: config.includePeerCertificate,
      includeTlsSession: config.includeTlsSession,
      allowed: config.allowedHeaders === undefined ? undefined : matchers(config.allowedHeaders),
      disallowed: matchers(config.disallowedHeaders),
    };
    this.enabledBy = config.filterEnabledMetadata === undefined ? undefined : compileMetadataMatcher(config.filterEnabledMetadata);
    const service = config.service;
    if (service.kind === 'grpc') {
      this.service = new GrpcAuthorizationService(this.clusters, service);
    } else {
      this.service = new HttpAuthorizationService(this.clusters, {
        cluster: service.cluster,
        timeoutMs: service.timeoutMs,
        pathPrefix: service.pathPrefix,
        headersToAdd: new HeaderOperations<StreamInfo>([], service.headersToAdd, compileTemplate),
        upstream: matchers(service.allowedUpstreamHeaders),
        upstreamToAppend: matchers(service.allowedUpstreamHeadersToAppend),
        client: matchers(service.allowedClientHeaders),
        clientOnSuccess: matchers(service.allowedClientHeadersOnSuccess),
      });
    }
  }

  decodeHeaders(stream: HttpStream, endStream: boolean): FilterStatus {
    const matched = stream.route;
    if (matched === null) return 'continue';
    const routeConfig = matched.route.model.typedPerFilterConfig[this.name] as ExtAuthzPerRouteConfig | undefined;
    const vhostConfig = matched.virtualHost.model.typedPerFilterConfig[this.name] as ExtAuthzPerRouteConfig | undefined;
    const specific = routeConfig ?? vhostConfig;
    if (isDisabled(specific)) return 'continue';
    const config = this.config;
    const snapshot = runtime.snapshot;
    const enabledKey = config.filterEnabledKey;
    const percent = enabledKey === undefined ? config.filterEnabledPercent : snapshot.percent(enabledKey.key, config.filterEnabledPercent, enabledKey.denominator);
    if (!chance(percent) || (this.enabledBy !== undefined && !this.enabledBy(stream.info.dynamicMetadata))) {
      this.stats.disabled.inc();
      const deny = config.denyAtDisableKey === undefined ? config.denyAtDisable : snapshot.getBoolean(config.denyAtDisableKey, config.denyAtDisable);
      if (!deny) return 'continue';
      stream.sendLocalReply(this.config.statusOnError, '', 'UAEX', 'ext_authz_error');
      return 'stop';
    }
    // Context extensions merge from the virtual host to the route; the other settings are the most specific's.
    const state: CheckState = {
      contextExtensions: { ...vhostConfig?.contextExtensions, ...routeConfig?.contextExtensions },
      call: null,
      initiating: false,
      answeredDuringInitiation: false,
    };
    this.states.set(stream, state);
    stream.onDestroy({ onStreamDestroy: () => state.call?.cancel() });
    const body = specific?.withRequestBody ?? this.config.withRequestBody;
    if (body !== undefined && specific?.disableRequestBodyBuffering !== true && !endStream && stream.upgradeType === undefined) {
      state.body = body;
      // Without allow_partial_message the whole body must fit: more is a 413.
      if (!body.allowPartialMessage) stream.setDecoderBufferLimit(Math.max(body.maxRequestBytes, stream.connection.hcm.bufferLimitBytes));
      return 'stop';
    }
    return this.initiateCall(stream, state, undefined);
  }

  decodeBuffered(stream: HttpStream, buffered: readonly Buffer[], bytes: number, endStream: boolean): void {
    const state = this.states.get(stream);
    const settings = state?.body;
    if (state === undefined || settings === undefined) return;
    if (!settings.allowPartialMessage && bytes > settings.maxRequestBytes) {
      state.body = undefined;
      stream.sendLocalReply(413, 'Payload Too Large', '', 'request_payload_too_large');
      return;
    }
    // With allow_partial_message the check goes once max_request_bytes are in; else at the end.
    if (!endStream && !(settings.allowPartialMessage && bytes >= settings.maxRequestBytes)) return;
    state.body = undefined;
    const all = buffered.length === 1 ? buffered[0] : Buffer.concat(buffered as Buffer[]);
    const data = all.length > settings.maxRequestBytes ? all.subarray(0, settings.maxRequestBytes) : all;
    if (this.initiateCall(stream, state, { data, partial: data.length < all.length || !endStream, asBytes: settings.packAsBytes }) === 'continue') stream.continueDecoding();
  }

  encodeHeaders(stream: HttpStream, headers: ResponseHeaders): FilterStatus {
    const response = this.states.get(stream)?.response;
    if (response === undefined) return 'continue';
    const out = headers.headers;
    for (const [name, value] of response.responseHeadersToAdd) appendValue(out, name, value);
    for (const [name, value] of response.responseHeadersToSet) out[name] = value;
    for (const [name, value] of response.responseHeadersToAddIfAbsent) if (out[name] === undefined) out[name] = value;
    for (const [name, value] of response.responseHeadersToOverwriteIfExists) if (out[name] !== undefined) out[name] = value;
    return 'continue';
  }

  private initiateCall(stream: HttpStream, state: CheckState, body: CheckRequestOptions['body']): FilterStatus {
    const request = buildCheckRequest(stream, { ...this.checkOptions, contextExtensions: state.contextExtensions, body, metadataContext: this.metadataContext(stream) });
    state.initiating = true;
    let result: FilterStatus = 'stop';
    state.call = this.service.check(request, stream.info, (response) => {
      state.call = null;
      const verdict = this.onComplete(stream, state, response);
      if (state.initiating) result = verdict;
      else if (verdict === 'continue') stream.continueDecoding();
    });
    state.initiating = false;
    return result;
  }

  private onComplete(stream: HttpStream, state: CheckState, response: AuthorizationResponse): FilterStatus {
    if (stream.ended) return 'stop';
    const cluster = this.statsForCluster(stream);
    if (response.status === 'ok') {
      const mutated = this.applyOk(stream, state, response);
      this.stats.ok.inc();
      cluster?.ok.inc();
      // clear_route_cache: the mutated request may match another route (or none: 404 NR).
      if (mutated && this.config.clearRouteCache && !refreshRoute(stream, this.routeTable?.())) return 'stop';
      return 'continue';
    }
    if (response.status === 'denied') {
      this.stats.denied.inc();
      cluster?.denied.inc();
      if (this.config.chargeClusterResponseStats && stream.cluster !== undefined) this.clusters.get(stream.cluster.name)?.stats.recordResponse(response.httpStatus);
      stream.sendLocalReply(response.httpStatus, response.body, 'UAEX', 'ext_authz_denied', localReplyHeaders(response.headers));
      return 'stop';
    }
    this.stats.error.inc();
    cluster?.error.inc();
    if (this.config.failureModeAllow) {
      this.stats.failureModeAllowed.inc();
      cluster?.failureModeAllowed.inc();
      if (this.config.failureModeAllowHeaderAdd) appendValue(stream.head.headers, FAILURE_MODE_ALLOWED_HEADER, 'true');
      return 'continue';
    }
    stream.sendLocalReply(this.config.statusOnError, '', 'UAEX', 'ext_authz_error');
    return 'stop';
  }

  // The OK answer's request mutations now (true when there were any); its response headers when the response comes.
  private applyOk(stream: HttpStream, state: CheckState, response: Extract<AuthorizationResponse, { status: 'ok' }>): boolean {
    const head = stream.head;
    const headers = head.headers;
    for (const [name, value] of response.headersToSet) {
      if (name === ':path') head.path = value;
      else if (name === ':authority') headers.host = value;
      else if (!name.startsWith(':')) headers[name] = value;
    }
    for (const [name, value] of response.headersToAdd) if (!name.startsWith(':')) appendValue(headers, name, value);
    // Appending joins the value to an existing header with ','; a missing header is left alone.
    for (const [name, value] of response.headersToAppend) {
      const existing = headers[name];
      if (existing !== undefined) headers[name] = `${Array.isArray(existing) ? existing.join(',') : existing},${value}`;
    }
    // Pseudo-headers and Host would leave the request malformed: never removed.
    for (const name of response.headersToRemove) if (!name.startsWith(':') && name !== 'host') delete headers[name];
    if (response.queryParametersToSet.length > 0 || response.queryParametersToRemove.length > 0) {
      head.path = setQueryParameters(head.path, response.queryParametersToSet, response.queryParametersToRemove);
    }
    const touchesResponse =
      response.responseHeadersToAdd.length + response.responseHeadersToSet.length + response.responseHeadersToAddIfAbsent.length + response.responseHeadersToOverwriteIfExists.length > 0;
    if (touchesResponse) state.response = response;
    return (
      response.headersToSet.length + response.headersToAdd.length + response.headersToAppend.length + response.headersToRemove.length +
        response.queryParametersToSet.length + response.queryParametersToRemove.length > 0
    );
  }

  // metadata_context_namespaces: what those filters left in the request's dynamic metadata.
  private metadataContext(stream: HttpStream): CheckRequestOptions['metadataContext'] {
    const namespaces = this.config.metadataContextNamespaces;
    if (namespaces.length === 0) return undefined;
    const out: NonNullable<CheckRequestOptions['metadataContext']> = {};
    for (const namespace of namespaces) {
      const values = dynamicMetadataOf(stream, namespace);
      if (values !== undefined) out[namespace] = values;
    }
    return out;
  }

  private statsForCluster(stream: HttpStream): ExtAuthzStats | undefined {
    const name = stream.cluster?.name;
    if (name === undefined) return undefined;
    let stats = this.clusterStats.get(name);
    if (stats === undefined) {
      const statName = this.clusterStatName(name);
      if (statName === undefined) return undefined;
      stats = this.makeStats(`cluster.${statName}.${this.statSuffix}`);
      this.clusterStats.set(name, stats);
    }
    return stats;
  }

  private makeStats(prefix: string): ExtAuthzStats {
    const stats = {} as ExtAuthzStats;
    for (const key of STAT_NAMES) stats[key] = this.store.counter(prefix + (key === 'failureModeAllowed' ? 'failure_mode_allowed' : key));
    return stats;
  }
}

function appendValue(headers: HeaderMap, name: string, value: string): void {
  const existing = headers[name];
  if (existing === undefined) headers[name] = value;
  else if (Array.isArray(existing)) existing.push(value);
  else headers[name] = [existing, value];
}

// A denial's headers on the local reply: each replaces the reply's own, repeated names kept.
function localReplyHeaders(list: HeaderList): HeaderMap | undefined {
  if (list.length === 0) return undefined;
  const out: HeaderMap = {};
  for (const [name, value] of list) appendValue(out, name, value);
  return out;
}

export function createExtAuthzFilter(config: unknown, ctx: FilterContext, name: string): HttpFilterInstance {
  return new ExtAuthzFilter(config as ExtAuthzConfig, ctx, name);
}
