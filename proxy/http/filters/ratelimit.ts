// envoy.filters.http.ratelimit: builds the request's descriptors from the route's (and virtual
// host's) rate_limits and asks the rate limit service, here Legate's embedded one (node.metadata
// "legate.ratelimit": limits file + Redis). Over the limit: rate_limited_status (429), flag RL,
// x-envoy-ratelimited. The service failing or slower than `timeout`: fail open, or with
// failure_mode_deny status_on_error (500), flag RLSE.
// Stats, as Envoy's: cluster.<route target cluster>.ratelimit[.<stat_prefix>].{ok,over_limit,
// error,failure_mode_allowed}.
import type { HeaderMap } from '../../codec/index.ts';
import type { FilterStatus } from '../../http-filter/index.ts';
import { compileTemplate, type StreamInfo } from '../../access-log/index.ts';
import type { RateLimitConfig, RateLimitPerRouteConfig } from '../../config/model.ts';
import type { Descriptor, DescriptorStatus, RateLimitResponse, RateLimitService } from '../../ratelimit/index.ts';
import { UNIT_SECONDS } from '../../ratelimit/index.ts';
import { HeaderOperations } from '../../router/index.ts';
import type { Counter, Store } from '../../stats/index.ts';
import type { HttpStream } from '../stream.ts';
import { GrpcStatus } from '../../grpc/index.ts';
import type { FilterContext, HttpFilterInstance } from './filter-context.ts';
import { isDisabled, perRouteConfig } from './per-route-config.ts';
import { addDescriptors, type DescriptorContext } from './ratelimit-descriptors.ts';

interface ClusterStats {
  ok: Counter;
  overLimit: Counter;
  error: Counter;
  failureModeAllowed: Counter;
}

export class RateLimitFilter implements HttpFilterInstance {
  private readonly config: RateLimitConfig;
  private readonly name: string;
  private readonly service: RateLimitService | undefined;
  private readonly localCluster: string;
  private readonly store: Store;
  private readonly statSuffix: string;
  private readonly clusterStats = new Map<string, ClusterStats>();
  private readonly responseHeaders: HeaderOperations<StreamInfo>;
  private readonly rateLimitedStatus: number;

  constructor(config: RateLimitConfig, ctx: FilterContext, name: string) {
    this.config = config;
    this.name = name;
    this.service = ctx.rateLimitService;
    this.localCluster = ctx.localCluster ?? '';
    this.store = ctx.store;
    this.statSuffix = config.statPrefix === '' ? 'ratelimit.' : `ratelimit.${config.statPrefix}.`;
    this.responseHeaders = new HeaderOperations([], config.responseHeadersToAdd, compileTemplate);
    this.rateLimitedStatus = config.rateLimitedStatus >= 400 ? config.rateLimitedStatus : 429;
    if (this.service === undefined) {
      ctx.log(`ratelimit filter '${name}': Legate calls no rate limit service over gRPC; set node.metadata["legate.ratelimit"] (limits_path, redis_url) to count limits. Until then every check is a service error (${config.failureModeDeny ? 'denied' : 'allowed'}).`);
    } else if (!this.service.hasDomain(config.domain)) {
      ctx.log(`ratelimit filter '${name}': domain '${config.domain}' is not in the rate limit config; its requests are never limited`);
    }
  }

  decodeHeaders(stream: HttpStream): FilterStatus {
    const matched = stream.route;
    if (matched === null) return 'continue';
    const action = matched.route.model.action;
    if (action.kind !== 'route') return 'continue';
    const perRoute = perRouteConfig<RateLimitPerRouteConfig>(stream, this.name);
    if (isDisabled(perRoute) || !this.appliesTo(stream)) return 'continue';

    const ctx: DescriptorContext = { localCluster: this.localCluster, targetCluster: stream.cluster?.name ?? '' };
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

    const stats = this.statsFor(ctx.targetCluster);
    if (this.service === undefined) return this.onError(stream, stats);
    let answer: RateLimitResponse | Promise<RateLimitResponse>;
    try {
      answer = this.service.shouldRateLimit(this.config.domain, descriptors, this.config.timeoutMs);
    } catch {
      return this.onError(stream, stats);
    }
    if (answer instanceof Promise) {
      // The stream waits (its body is buffered) until the service answers.
      answer.then(
        (response) => {
          if (this.onResponse(stream, stats, response) === 'continue') stream.continueDecoding();
        },
        () => {
          if (this.onError(stream, stats) === 'continue') stream.continueDecoding();
        },
      );
      return 'stop';
    }
    return this.onResponse(stream, stats, answer);
  }

  // request_type: internal or external as the connection manager judged the downstream.
  private appliesTo(stream: HttpStream): boolean {
    const type = this.config.requestType;
    if (type === 'both') return true;
    return stream.internalRequest === (type === 'internal');
  }

  private onResponse(stream: HttpStream, stats: ClusterStats, response: RateLimitResponse): FilterStatus {
    const headers: HeaderMap = {};
    if (this.config.enableXRatelimitHeaders) rateLimitHeaders(headers, response.statuses);
    if (!response.overLimit) {
      stats.ok.inc();
      for (const name in headers) stream.appendResponseHeader(name, headers[name]!);
      return 'continue';
    }
    stats.overLimit.inc();
    if (!this.config.disableXEnvoyRatelimitedHeader) headers['x-envoy-ratelimited'] = 'true';
    this.responseHeaders.apply(headers, stream.info);
    // rate_limited_as_resource_exhausted: a gRPC client hears RESOURCE_EXHAUSTED, not the 429's UNAVAILABLE.
    stream.sendLocalReply(this.rateLimitedStatus, '', 'RL', 'request_rate_limited', headers, this.config.rateLimitedAsResourceExhausted ? GrpcStatus.ResourceExhausted : undefined);
    return 'stop';
  }

  private onError(stream: HttpStream, stats: ClusterStats): FilterStatus {
    stats.error.inc();
    if (!this.config.failureModeDeny) {
      stats.failureModeAllowed.inc();
      return 'continue';
    }
    stream.sendLocalReply(this.config.statusOnError, '', 'RLSE', 'rate_limiter_error');
    return 'stop';
  }

  private statsFor(cluster: string): ClusterStats {
    let stats = this.clusterStats.get(cluster);
    if (stats === undefined) {
      const prefix = `cluster.${cluster}.${this.statSuffix}`;
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

// Envoy's XRateLimitHeaderUtils (draft 03): the descriptor with the least remaining names limit,
// remaining and reset; the limit header lists every limit's quota policy after it.
function rateLimitHeaders(headers: HeaderMap, statuses: readonly DescriptorStatus[]): void {
  let least: DescriptorStatus | undefined;
  let policies = '';
  for (const status of statuses) {
    const limit = status.limit;
    if (limit === undefined) continue;
    if (least === undefined || status.remaining < least.remaining) least = status;
    policies += `, ${limit.requestsPerUnit};w=${UNIT_SECONDS[limit.unit]}`;
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
