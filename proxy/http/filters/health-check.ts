// envoy.filters.http.health_check: a request matching `headers` is a health check (its stream info
// says so: access logs' not_health_check_filter skips it, the connection manager leaves it out of
// downstream_rq_completed / _Nxx). Outside pass-through mode it is answered here: 200, or 503 while
// the server fails health checks (admin /healthcheck/fail) or a cluster of
// cluster_min_healthy_percentages has too few healthy hosts. In pass-through mode the upstream
// answers, except while failing (503 here) or while an upstream answer is cached (cache_time).
// Every response says x-envoy-immediate-health-check-fail while failing; health-check responses
// carry x-envoy-upstream-healthchecked-cluster (node.cluster); their trace spans are unsampled.
// Stats: http.<stat_prefix>.health_check.{request_total,ok,failed,cached_response,
// failed_cluster_not_found,failed_cluster_empty,failed_cluster_unhealthy,degraded}.
import type { ResponseHeaders } from '../../codec/index.ts';
import type { FilterStatus } from '../../http-filter/index.ts';
import type { HealthCheckFilterConfig } from '../../config/model.ts';
import { compileHeaderMatcher, requestHeaderGetter, type CompiledHeaderMatcher, type HeaderMap } from '../../router/index.ts';
import type { Counter } from '../../stats/index.ts';
import type { ClusterManager } from '../../upstream/index.ts';
import type { HttpStream } from '../stream.ts';
import type { FilterContext, HttpFilterInstance } from './filter-context.ts';

const DEGRADED = 'x-envoy-degraded';

/** The last upstream answer to a health check, reused for cache_time (pass-through mode). */
interface CachedAnswer {
  status: number;
  degraded: boolean;
  until: number; // performance.now() deadline
}

class HealthCheckStats {
  readonly requestTotal: Counter;
  readonly ok: Counter;
  readonly failed: Counter;
  readonly cachedResponse: Counter;
  readonly failedClusterNotFound: Counter;
  readonly failedClusterEmpty: Counter;
  readonly failedClusterUnhealthy: Counter;
  readonly degraded: Counter;

  constructor(ctx: FilterContext) {
    const c = (name: string) => ctx.store.counter(`http.${ctx.statPrefix}.health_check.${name}`);
    this.requestTotal = c('request_total');
    this.ok = c('ok');
    this.failed = c('failed');
    this.cachedResponse = c('cached_response');
    this.failedClusterNotFound = c('failed_cluster_not_found');
    this.failedClusterEmpty = c('failed_cluster_empty');
    this.failedClusterUnhealthy = c('failed_cluster_unhealthy');
    this.degraded = c('degraded');
  }
}

export class HealthCheckFilter implements HttpFilterInstance {
  private readonly config: HealthCheckFilterConfig;
  private readonly headers: { get: ReturnType<typeof requestHeaderGetter>; matcher: CompiledHeaderMatcher }[];
  private readonly stats: HealthCheckStats;
  private readonly localCluster: string;
  private readonly clusters: ClusterManager | undefined;
  private readonly healthCheckFailed: () => boolean;
  private cached: CachedAnswer | null = null;
  /** Health checks this filter answers itself, once the request has ended. */
  private readonly answering = new WeakSet<HttpStream>();

  constructor(config: HealthCheckFilterConfig, ctx: FilterContext) {
    this.config = config;
    this.headers = config.headers.map((m) => ({ get: requestHeaderGetter(m.name), matcher: compileHeaderMatcher(m) }));
    this.stats = new HealthCheckStats(ctx);
    this.localCluster = ctx.localCluster ?? '';
    this.clusters = ctx.clusters;
    this.healthCheckFailed = ctx.healthCheckFailed ?? (() => false);
  }

  decodeHeaders(stream: HttpStream, endStream: boolean): FilterStatus {
    if (!this.headers.every((h) => h.matcher.matches(h.get(stream.request)))) return 'continue';
    stream.info.healthCheck = true;
    // As Envoy: health checks are never traced (the span is dropped, the next hop told so).
    stream.activeSpan?.setSampled(false);
    if (this.config.passThroughMode && !this.healthCheckFailed() && this.cachedAnswer() === null) return 'continue';
    // As Envoy, the answer waits for the end of the request (its body is dropped).
    this.answering.add(stream);
    if (endStream) this.answer(stream);
    return 'stop';
  }

  decodeBuffered(stream: HttpStream, _buffered: readonly Buffer[], _bytes: number, endStream: boolean): void {
    if (endStream && this.answering.has(stream)) this.answer(stream);
  }

  encodeHeaders(stream: HttpStream, response: ResponseHeaders): FilterStatus {
    const headers = response.headers;
    if (stream.info.healthCheck) {
      if (this.config.cacheTimeMs > 0 && !this.answering.has(stream)) {
        this.cached = { status: response.status, degraded: headers[DEGRADED] !== undefined, until: performance.now() + this.config.cacheTimeMs };
      }
      headers['x-envoy-upstream-healthchecked-cluster'] = this.localCluster;
    }
    if (this.healthCheckFailed()) headers['x-envoy-immediate-health-check-fail'] = 'true';
    return 'continue';
  }

  private cachedAnswer(): CachedAnswer | null {
    const cached = this.cached;
    if (cached === null || performance.now() < cached.until) return cached;
    this.cached = null;
    return null;
  }

  private answer(stream: HttpStream): void {
    const stats = this.stats;
    stats.requestTotal.inc();
    let status = 200;
    let details = 'health_check_ok';
    let degraded = false;
    if (this.healthCheckFailed()) {
      status = 503;
      details = 'health_check_failed';
    } else {
      const cached = this.cachedAnswer();
      if (cached !== null) {
        status = cached.status;
        degraded = cached.degraded;
        details = 'health_check_cached';
        stats.cachedResponse.inc();
      } else if (this.config.clusterMinHealthyPercentages.length > 0) {
        [status, details] = this.clustersVerdict();
      }
    }
    const ok = status >= 200 && status < 300;
    (ok ? stats.ok : stats.failed).inc();
    let headers: HeaderMap | undefined;
    if (degraded) {
      stats.degraded.inc();
      headers = { [DEGRADED]: '' };
    }
    stream.sendLocalReply(status, '', ok ? '' : 'LH', details, headers);
  }

  /** cluster_min_healthy_percentages: 503 at the first cluster that is missing, empty or short of healthy (or degraded) hosts. */
  private clustersVerdict(): [number, string] {
    for (const [name, percent] of this.config.clusterMinHealthyPercentages) {
      const cluster = this.clusters?.get(name);
      if (cluster === undefined) {
        this.stats.failedClusterNotFound.inc();
        return [503, 'health_check_failed_no_cluster_found'];
      }
      const { membershipTotal, membershipHealthy, membershipDegraded } = cluster.stats;
      const total = membershipTotal.value;
      if (total === 0) {
        if (percent === 0) continue;
        this.stats.failedClusterEmpty.inc();
        return [503, 'health_check_failed_cluster_empty'];
      }
      if (100 * (membershipHealthy.value + membershipDegraded.value) < total * percent) {
        this.stats.failedClusterUnhealthy.inc();
        return [503, 'health_check_failed_cluster_unhealthy'];
      }
    }
    return [200, 'health_check_ok_cluster_healthy'];
  }
}

export function createHealthCheckFilter(config: unknown, ctx: FilterContext): HttpFilterInstance {
  return new HealthCheckFilter(config as HealthCheckFilterConfig, ctx);
}
