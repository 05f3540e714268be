// envoy.filters.http.local_ratelimit: a token bucket per filter, or per route / virtual host
// through typed_per_filter_config (the most specific config wins and brings its own bucket and
// stats). filter_enabled decides whether a request is checked, filter_enforced whether an empty
// bucket answers 429 (flag RL, body local_rate_limited, x-envoy-ratelimited) or only counts.
// With N workers each holds 1/N of every bucket: see proxy/ratelimit/README.md.
// Stats: <stat_prefix>.http_local_rate_limit.{enabled,enforced,rate_limited,ok}.
import type { HeaderMap } from '../../codec/index.ts';
import type { FilterStatus } from '../../http-filter/index.ts';
import type { Socket } from 'node:net';
import { compileTemplate, type StreamInfo } from '../../access-log/index.ts';
import type { LocalRateLimitConfig } from '../../config/model.ts';
import { TokenBucket } from '../../ratelimit/index.ts';
import { HeaderOperations } from '../../router/index.ts';
import type { Counter, Store } from '../../stats/index.ts';
import { GrpcStatus } from '../../grpc/index.ts';
import type { HttpStream } from '../stream.ts';
import type { FilterContext, HttpFilterInstance } from './filter-context.ts';
import { chance } from './chance.ts';
import { isDisabled, perRouteConfig } from './per-route-config.ts';

/** One LocalRateLimitConfig made runnable: its bucket(s), stats and header operations. */
class LocalRateLimiter {
  readonly config: LocalRateLimitConfig;
  readonly enabled: Counter;
  readonly enforced: Counter;
  readonly rateLimited: Counter;
  readonly ok: Counter;
  readonly status: number;
  readonly responseHeaders: HeaderOperations<StreamInfo>;
  readonly requestHeaders: HeaderOperations<StreamInfo>;
  private readonly bucket: TokenBucket | undefined;
  private readonly connectionBuckets: WeakMap<Socket, TokenBucket> | undefined;

  constructor(config: LocalRateLimitConfig, store: Store, workers: number) {
    this.config = config;
    const prefix = `${config.statPrefix}.http_local_rate_limit.`;
    this.enabled = store.counter(`${prefix}enabled`);
    this.enforced = store.counter(`${prefix}enforced`);
    this.rateLimited = store.counter(`${prefix}rate_limited`);
    this.ok = store.counter(`${prefix}ok`);
    this.status = config.status >= 400 ? config.status : 429;
    this.responseHeaders = new HeaderOperations([], config.responseHeadersToAdd, compileTemplate);
    this.requestHeaders = new HeaderOperations([], config.requestHeadersToAddWhenNotEnforced, compileTemplate);
    if (config.tokenBucket !== undefined) {
      // A connection lives on one worker, so its bucket is whole; the shared one is split.
      if (config.perDownstreamConnection) this.connectionBuckets = new WeakMap();
      else this.bucket = new TokenBucket(config.tokenBucket, 1 / workers, performance.now());
    }
  }

  /** The bucket this request draws from; undefined when the config has no token bucket. */
  bucketFor(stream: HttpStream, nowMs: number): TokenBucket | undefined {
    if (this.connectionBuckets === undefined) return this.bucket;
    const socket = stream.connection.socket;
    let bucket = this.connectionBuckets.get(socket);
    if (bucket === undefined) {
      bucket = new TokenBucket(this.config.tokenBucket!, 1, nowMs);
      this.connectionBuckets.set(socket, bucket);
    }
    return bucket;
  }
}

// Per-route configs are compiled on first use and live as long as their route config: Envoy
// keeps one bucket per per-route config, whichever listener's filter reaches it.
const perRoute = new WeakMap<LocalRateLimitConfig, LocalRateLimiter>();

export class LocalRateLimitFilter implements HttpFilterInstance {
  private readonly name: string;
  private readonly limiter: LocalRateLimiter;
  private readonly store: Store;
  private readonly workers: number;

  constructor(config: LocalRateLimitConfig, ctx: FilterContext, name: string) {
    this.name = name;
    this.store = ctx.store;
    this.workers = ctx.workers ?? 1;
    this.limiter = new LocalRateLimiter(config, ctx.store, this.workers);
  }

  decodeHeaders(stream: HttpStream): FilterStatus {
    const override = perRouteConfig<LocalRateLimitConfig>(stream, this.name);
    if (isDisabled(override)) return 'continue';
    const limiter = override === undefined ? this.limiter : this.limiterOf(override);
    const { config } = limiter;
    if (!chance(config.filterEnabledPercent, config.filterEnabledKey)) return 'continue';
    limiter.enabled.inc();
    const now = performance.now();
    const bucket = limiter.bucketFor(stream, now);
    // No token bucket anywhere: nothing to limit (Envoy requires one on per-route configs).
    if (bucket === undefined || bucket.consume(now)) {
      limiter.ok.inc();
      if (bucket !== undefined && config.enableXRatelimitHeaders) setRateLimitHeaders(stream, bucket, now);
      return 'continue';
    }
    limiter.rateLimited.inc();
    if (config.enableXRatelimitHeaders) setRateLimitHeaders(stream, bucket, now);
    if (!chance(config.filterEnforcedPercent, config.filterEnforcedKey)) {
      limiter.requestHeaders.apply(stream.headers, stream.info);
      return 'continue';
    }
    limiter.enforced.inc();
    const headers: HeaderMap = { 'x-envoy-ratelimited': 'true' };
    limiter.responseHeaders.apply(headers, stream.info);
    stream.sendLocalReply(limiter.status, 'local_rate_limited', 'RL', 'local_rate_limited', headers, config.rateLimitedAsResourceExhausted ? GrpcStatus.ResourceExhausted : undefined);
    return 'stop';
  }

  private limiterOf(config: LocalRateLimitConfig): LocalRateLimiter {
    let limiter = perRoute.get(config);
    if (limiter === undefined) {
      limiter = new LocalRateLimiter(config, this.store, this.workers);
      perRoute.set(config, limiter);
    }
    return limiter;
  }
}

// x-ratelimit-* (enable_x_ratelimit_headers: DRAFT_VERSION_03) on whatever answers the request:
// added to the response when it is encoded.
function setRateLimitHeaders(stream: HttpStream, bucket: TokenBucket, nowMs: number): void {
  stream.appendResponseHeader('x-ratelimit-limit', String(bucket.limit));
  stream.appendResponseHeader('x-ratelimit-remaining', String(bucket.remaining(nowMs)));
  stream.appendResponseHeader('x-ratelimit-reset', String(bucket.resetSeconds(nowMs)));
}

export function createLocalRateLimitFilter(config: unknown, ctx: FilterContext, name: string): HttpFilterInstance {
  return new LocalRateLimitFilter(config as LocalRateLimitConfig, ctx, name);
}
