// envoy.filters.http.ratelimit: builds the request's descriptors from the route's (and virtual
// host's) rate_limits and asks the rate limit service: Legate's embedded one when node.metadata
// "legate.ratelimit" configures it (limits file + Redis), else the gRPC RateLimitService at
// rate_limit_service (envoyproxy/ratelimit, as Envoy and Istio deploy it). Over the limit:
// rate_limited_status (429), flag RL, x-envoy-ratelimited, the service's headers and raw_body.
// The service failing or slower than `timeout`: fail open, or with failure_mode_deny
// status_on_error (500), flag RLSE. Stats, as Envoy's: cluster.<route target cluster>.ratelimit
// [.<stat_prefix>].{ok,over_limit,error,failure_mode_allowed}.
import type { HeaderMap } from '../../codec/index.ts';
import type { FilterStatus } from '../../http-filter/index.ts';
import { compileTemplate, type StreamInfo } from '../../access-log/index.ts';
import type { RateLimitConfig, RateLimitPerRouteConfig } from '../../config/model.ts';
import type { Descriptor } from '../../ratelimit/index.ts';
import { HeaderOperations } from '../../router/index.ts';
import type { Counter, Store } from '../../stats/index.ts';
import type { ClusterManager } from '../../upstream/index.ts';
import type { HttpStream } from '../stream.ts';
import { GrpcStatus } from '../../grpc/index.ts';
import type { FilterContext, HttpFilterInstance } from './filter-context.ts';
import { setDynamicMetadata } from './dynamic-metadata.ts';
import { isDisabled, perRouteConfig } from './per-route-config.ts';
import { EmbeddedRateLimitClient, LIMIT_ERROR, type LimitAnswer, type LimitStatus, type RateLimitClient } from './ratelimit-client.ts';
import { addDescriptors, type DescriptorContext } from './ratelimit-descriptors.ts';
import { GrpcRateLimitClient } from './ratelimit-grpc-client.ts';

interface ClusterStats {
  ok: Counter;
  overLimit: Counter;
  error: Counter;
  failureModeAllowed: Counter;
}

export class RateLimitFilter implements HttpFilterInstance {
  private readonly config: RateLimitConfig;
  private readonly name: string;
  private readonly client: RateLimitClient | undefined;
  private readonly clusters: ClusterManager | undefined;
  private readonly clusterStatName: (cluster: string) => string | undefined;
  private readonly localCluster: string;
  private readonly store: Store;
  private readonly statSuffix: string;
  private readonly clusterStats = new Map<string, ClusterStats>();
  private readonly responseHeaders: HeaderOperations<StreamInfo>;
  private readonly rateLimitedStatus: number;

  constructor(config: RateLimitConfig, ctx: FilterContext, name: string) {
    this.config = config;
    this.name = name;
    this.clusters = ctx.clusters;
    this.clusterStatName = ctx.clusterStatName;
    this.localCluster = ctx.localCluster ?? '';
    this.store = ctx.store;
    this.statSuffix = config.statPrefix === '' ? 'ratelimit.' : `ratelimit.${config.statPrefix}.`;
    this.responseHeaders = new HeaderOperations([], config.responseHeadersToAdd, compileTemplate);
    this.rateLimitedStatus = config.rateLimitedStatus >= 400 ? config.rateLimitedStatus : 429;
    const embedded = ctx.rateLimitService;
    const service = config.grpcService;
    if (embedded !== undefined) {
      this.client = new EmbeddedRateLimitClient(embedded, config.timeoutMs);
      if (!embedded.hasDomain(config.domain)) ctx.log(`ratelimit filter '${name}': domain '${config.domain}' is not in the rate limit config; its requests are never limited`);
    } else if (service.clusterName !== undefined && ctx.clusters !== undefined) {
      const target = { cluster: service.clusterName, authority: service.authority ?? service.clusterName, initialMetadata: service.initialMetadata };
      this.client = new GrpcRateLimitClient(ctx.clusters, target, config.timeoutMs);
    } else {
      // google_grpc is refused when the config is read; this is a filter built without clusters.
      ctx.log(`ratelimit filter '${name}': no rate limit service to call (no envoy_grpc cluster, no node.metadata["legate.ratelimit"]); every check is a service error (${config.failureModeDeny ? 'denied' : 'allowed'}).`);
    }
  }

  decodeHeaders(stream: HttpStream): FilterStatus {
    const matched = stream.route;
    if (matched === null) return 'continue';
    const action = matched.route.model.action;
    if (action.kind !== 'route') return 'continue';
    // As Envoy: no target cluster, no call (the router answers 503 NC).
    const cluster = stream.cluster?.name;
    if (cluster === undefined) return 'continue';
    const perRoute = perRouteConfig<RateLimitPerRouteConfig>(stream, this.name);
    if (isDisabled(perRoute) || !this.appliesTo(stream)) return 'continue';

    const ctx: DescriptorContext = { localCluster: this.localCluster, targetCluster: cluster };
    const descriptors: Descriptor[] = [];
    // The filter's stage selects the rate_limits of that stage; Legate's are all stage 0.
    if (this.config.stage === 0) {
      const vhPolicies = matched.virtualHost.model.rateLimits;
      const routePolicies = action.rateLimits;
      if (routePolicies !== undefined) addDescriptors(descriptors, routePolicies, stream, ctx);
      const vhMode = action.includeVhRateLimits === true ? 'INCLUDE' : (perRoute?.vhRateLimits ?? 'OVERRIDE');
      const useVh = vhMode === 'INCLUDE' || (vhMode === 'OVERRIDE' && (routePolicies === undefined || routePolicies.length === 0));
      if (useVh && vhPolicies !== undefined) addDescriptors(descriptors, vhPolicies, stream, ctx);
    }
    if (descriptors.length === 0) return 'continue';

    const stats = this.statsFor(cluster);
    if (this.client === undefined) return this.onAnswer(stream, stats, LIMIT_ERROR);
    // The answer may come before limit() returns (the embedded service counting in memory): then
    // its verdict is this hook's; later, it resumes the stream (held, its body buffered, till then).
    let initiating = true;
    let pending = true;
    let result: FilterStatus = 'stop';
    const call = this.client.limit(this.config.domain, descriptors, (answer) => {
      pending = false;
      const verdict = this.onAnswer(stream, stats, answer);
      if (initiating) result = verdict;
      else if (verdict === 'continue') stream.continueDecoding();
    });
    initiating = false;
    if (pending) stream.onDestroy({ onStreamDestroy: () => call.cancel() });
    return result;
  }

  // request_type: internal or external as the connection manager judged the downstream.
  private appliesTo(stream: HttpStream): boolean {
    const type = this.config.requestType;
    if (type === 'both') return true;
    return stream.internalRequest === (type === 'internal');
  }

  private onAnswer(stream: HttpStream, stats: ClusterStats, answer: LimitAnswer): FilterStatus {
    if (stream.ended) return 'stop';
    if (answer.code === 'error') {
      stats.error.inc();
      if (!this.config.failureModeDeny) {
        stats.failureModeAllowed.inc();
        return 'continue';
      }
      stream.sendLocalReply(this.config.statusOnError, '', 'RLSE', 'rate_limiter_error');
      return 'stop';
    }
    // Under Envoy's name whatever this filter is called, for the filters after it.
    if (answer.dynamicMetadata !== undefined) setDynamicMetadata(stream, 'envoy.filters.http.ratelimit', answer.dynamicMetadata);
    // The service's response headers, then Envoy's own on top.
    const headers: HeaderMap = {};
    for (const [name, value] of answer.responseHeadersToAdd) appendValue(headers, name, value);
    const overLimit = answer.code === 'over_limit';
    if (overLimit && !this.config.disableXEnvoyRatelimitedHeader) headers['x-envoy-ratelimited'] = 'true';
    if (this.config.enableXRatelimitHeaders) rateLimitHeaders(headers, answer.statuses);
    if (!overLimit) {
      stats.ok.inc();
      const request = stream.head.headers;
      for (const [name, value] of answer.requestHeadersToAdd) if (!name.startsWith(':')) appendValue(request, name, value);
      for (const name in headers) stream.appendResponseHeader(name, headers[name]!);
      return 'continue';
    }
    stats.overLimit.inc();
    // Envoy charges the 429 to the route's cluster, as if it had answered it.
    this.clusters?.get(stream.cluster!.name)?.stats.recordResponse(this.rateLimitedStatus);
    this.responseHeaders.apply(headers, stream.info);
    // rate_limited_as_resource_exhausted: a gRPC client hears RESOURCE_EXHAUSTED, not the 429's UNAVAILABLE.
    // A content-type among the service's headers replaces the reply's text/plain (raw_body is the service's).
    stream.sendLocalReply(this.rateLimitedStatus, answer.body, 'RL', 'request_rate_limited', headers, this.config.rateLimitedAsResourceExhausted ? GrpcStatus.ResourceExhausted : undefined);
    return 'stop';
  }

  private statsFor(cluster: string): ClusterStats {
    let stats = this.clusterStats.get(cluster);
    if (stats === undefined) {
      const prefix = `cluster.${this.clusterStatName(cluster) ?? cluster}.${this.statSuffix}`;
      stats = {
        ok: this.store.counter(`${prefix}ok`),
        overLimit: this.store.counter(`${prefix}over_limit`),
        error: this.store.counter(`${prefix}error`),
        failureModeAllowed: this.store.counter(`${prefix}failure_mode_allowed`),
      };
      this.clusterStats.set(cluster, stats);
    }
    return stats;
  }
}

function appendValue(headers: HeaderMap, name: string, value: string): void {
  const existing = headers[name];
  if (existing === undefined) headers[name] = value;
  else if (Array.isArray(existing)) existing.push(value);
  else headers[name] = [existing, value];
}

// Envoy's XRateLimitHeaderUtils (draft 03): the descriptor with the least remaining names limit,
// remaining and reset; the limit header lists every limit with a window as a quota policy after it.
function rateLimitHeaders(headers: HeaderMap, statuses: readonly LimitStatus[]): void {
  let least: LimitStatus | undefined;
  let policies = '';
  for (const status of statuses) {
    const limit = status.limit;
    if (limit === undefined) continue;
    if (least === undefined || status.remaining < least.remaining) least = status;
    if (limit.windowSeconds === 0) continue;
    policies += `, ${limit.requestsPerUnit};w=${limit.windowSeconds}`;
    if (limit.name !== '') policies += `;name="${limit.name}"`;
  }
  if (least === undefined) return;
  headers['x-ratelimit-limit'] = `${least.limit!.requestsPerUnit}${policies}`;
  headers['x-ratelimit-remaining'] = String(least.remaining);
  headers['x-ratelimit-reset'] = String(least.resetSeconds);
}

export function createRateLimitFilter(config: unknown, ctx: FilterContext, name: string): HttpFilterInstance {
  return new RateLimitFilter(config as RateLimitConfig, ctx, name);
}
