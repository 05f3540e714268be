// Legate's embedded rate limit service: envoyproxy/ratelimit's ShouldRateLimit, answered in
// process. Each descriptor of a request is looked up in the limits; each limited one counts a hit
// in its fixed window (key domain_key_value_..._windowstart, expiring with the window), and is
// OVER_LIMIT once the window's count passes requests_per_unit. Keys already over the limit are
// answered from a local cache until their window ends; the rest go to the counter store in one
// call. Stats are the service's own: ratelimit.service.rate_limit.<domain>.<key_value...>.*.
import type { Counter, Store } from '../stats/index.ts';
import type { CounterStore } from './counter-store.ts';
import { UNIT_SECONDS, type Descriptor, type LimitMatch, type Limits, type RateLimitUnit } from './limits.ts';
import { OutageLog } from './outage-log.ts';
import { OverLimitCache } from './over-limit-cache.ts';

export interface DescriptorStatus {
  overLimit: boolean;
  /** The limit applied (current_limit); absent when the descriptor has none or is unlimited. */
  limit: { requestsPerUnit: number; unit: RateLimitUnit; name: string } | undefined;
  remaining: number;
  resetSeconds: number;
}

export interface RateLimitResponse {
  overLimit: boolean;
  statuses: DescriptorStatus[];
}

/** Thrown (or rejected with) when the counter store fails or is slower than the caller's timeout. */
export class RateLimitServiceError extends Error {
  override name = 'RateLimitServiceError';
}

// envoyproxy/ratelimit's NEAR_LIMIT_RATIO default.
const NEAR_LIMIT_RATIO = 0.8;
const UNLIMITED_REMAINING = 0xffffffff;

interface LimitStats {
  totalHits: Counter;
  overLimit: Counter;
  nearLimit: Counter;
  overLimitWithLocalCache: Counter;
  withinLimit: Counter;
  shadowMode: Counter;
}

// One descriptor of a request on its way through the service.
interface Check {
  match: LimitMatch | undefined; // undefined: no limit, or unlimited, or replaced
  unlimited: boolean;
  key: string;
  windowEndMs: number;
  cachedOverLimit: boolean;
  value: number; // the window's count after this hit
}

export interface ServiceOptions {
  log(line: string): void;
  now?: () => number; // epoch ms
}

export class RateLimitService {
  private readonly limits: Limits;
  private readonly counters: CounterStore;
  private readonly store: Store;
  private readonly now: () => number;
  private readonly overLimitCache = new OverLimitCache();
  private readonly outage: OutageLog;
  private readonly limitStats = new Map<string, LimitStats>();
  private readonly storeError: Counter;

  constructor(limits: Limits, counters: CounterStore, store: Store, options: ServiceOptions) {
    this.limits = limits;
    this.counters = counters;
    this.store = store;
    this.now = options.now ?? Date.now;
    this.outage = new OutageLog(`counter store ${counters.name}`, options.log);
    this.storeError = store.counter('ratelimit.service.call.should_rate_limit.redis_error');
    for (const limit of limits.all()) if (!limit.unlimited) this.statsFor(limit.fullKey);
  }

  hasDomain(domain: string): boolean {
    return this.limits.hasDomain(domain);
  }

  /**
   * Counts one hit for each descriptor and says whether the request is over any limit.
   * Synchronous when no counter store call is needed (no limits, all cached over the limit, or
   * counters in memory); otherwise a promise that rejects with RateLimitServiceError when the
   * store fails or takes longer than timeoutMs.
   */
  shouldRateLimit(domain: string, descriptors: readonly Descriptor[], timeoutMs: number): RateLimitResponse | Promise<RateLimitResponse> {
    const nowMs = this.now();
    const checks = this.checks(domain, descriptors, nowMs);
    const pending: Check[] = [];
    for (const check of checks) if (check.match !== undefined && !check.cachedOverLimit) pending.push(check);
    if (pending.length === 0) return this.respond(checks, nowMs);
    let counted: number[] | Promise<number[]>;
    try {
      counted = this.counters.increment(
        pending.map((c) => c.key),
        1,
        pending.map((c) => UNIT_SECONDS[c.match!.limit.unit]),
      );
    } catch (err) {
      throw this.failed(err as Error);
    }
    if (Array.isArray(counted)) return this.counted(checks, pending, counted, nowMs);
    return withTimeout(counted, timeoutMs).then(
      (values) => this.counted(checks, pending, values, nowMs),
      (err: Error) => {
        throw this.failed(err);
      },
    );
  }

  close(): Promise<void> {
    return this.counters.close();
  }

  private checks(domain: string, descriptors: readonly Descriptor[], nowMs: number): Check[] {
    const nowSeconds = Math.floor(nowMs / 1000);
    const checks: Check[] = [];
    let replaced: Set<string> | undefined;
    for (const descriptor of descriptors) {
      const match = this.limits.lookup(domain, descriptor);
      const limit = match?.limit;
      if (limit !== undefined && limit.replaces.length > 0) for (const name of limit.replaces) (replaced ??= new Set()).add(name);
      checks.push({ match, unlimited: limit?.unlimited === true, key: '', windowEndMs: 0, cachedOverLimit: false, value: 0 });
    }
    for (let i = 0; i < checks.length; i++) {
      const check = checks[i];
      const limit = check.match?.limit;
      if (limit === undefined) continue;
      // An unlimited limit, or one another matched limit replaces, counts nothing.
      if (check.unlimited || (replaced !== undefined && limit.name !== '' && replaced.has(limit.name))) {
        check.match = undefined;
        continue;
      }
      const unitSeconds = UNIT_SECONDS[limit.unit];
      const windowStart = nowSeconds - (nowSeconds % unitSeconds);
      check.key = cacheKey(domain, descriptors[i], windowStart);
      check.windowEndMs = (windowStart + unitSeconds) * 1000;
      check.cachedOverLimit = this.overLimitCache.has(check.key, nowMs);
      this.statsFor(check.match!.statsKey).totalHits.inc();
    }
    return checks;
  }

  private counted(checks: Check[], pending: Check[], values: number[], nowMs: number): RateLimitResponse {
    this.outage.succeeded(this.now());
    for (let i = 0; i < pending.length; i++) pending[i].value = values[i];
    return this.respond(checks, nowMs);
  }

  private respond(checks: Check[], nowMs: number): RateLimitResponse {
    const statuses: DescriptorStatus[] = [];
    let overLimit = false;
    for (const check of checks) {
      const status = this.status(check, nowMs);
      if (status.overLimit) overLimit = true;
      statuses.push(status);
    }
    return { overLimit, statuses };
  }

  // envoyproxy/ratelimit's GetResponseDescriptorStatus, for one hit.
  private status(check: Check, nowMs: number): DescriptorStatus {
    if (check.match === undefined) {
      return { overLimit: false, limit: undefined, remaining: check.unlimited ? UNLIMITED_REMAINING : 0, resetSeconds: 0 };
    }
    const { limit, statsKey } = check.match;
    const stats = this.statsFor(statsKey);
    const current = { requestsPerUnit: limit.requestsPerUnit, unit: limit.unit, name: limit.name };
    const resetSeconds = Math.ceil((check.windowEndMs - nowMs) / 1000);
    let over: boolean;
    if (check.cachedOverLimit) {
      stats.overLimit.inc();
      stats.overLimitWithLocalCache.inc();
      over = true;
    } else {
      const threshold = limit.requestsPerUnit;
      const nearThreshold = Math.floor(threshold * NEAR_LIMIT_RATIO);
      over = check.value > threshold;
      if (!over) {
        stats.withinLimit.inc();
        if (check.value > nearThreshold) stats.nearLimit.inc();
        return { overLimit: false, limit: current, remaining: threshold - check.value, resetSeconds };
      }
      stats.overLimit.inc();
      this.overLimitCache.add(check.key, check.windowEndMs, nowMs);
    }
    // A limit in shadow mode is counted and reported in stats, never enforced.
    if (limit.shadowMode) {
      stats.shadowMode.inc();
      over = false;
    }
    return { overLimit: over, limit: current, remaining: 0, resetSeconds };
  }

  private failed(err: Error): RateLimitServiceError {
    this.storeError.inc();
    this.outage.failed(err.message, this.now());
    return err instanceof RateLimitServiceError ? err : new RateLimitServiceError(err.message);
  }

  private statsFor(statsKey: string): LimitStats {
    let stats = this.limitStats.get(statsKey);
    if (stats === undefined) {
      const scope = `ratelimit.service.rate_limit.${statsKey}`;
      stats = {
        totalHits: this.store.counter(`${scope}.total_hits`),
        overLimit: this.store.counter(`${scope}.over_limit`),
        nearLimit: this.store.counter(`${scope}.near_limit`),
        overLimitWithLocalCache: this.store.counter(`${scope}.over_limit_with_local_cache`),
        withinLimit: this.store.counter(`${scope}.within_limit`),
        shadowMode: this.store.counter(`${scope}.shadow_mode`),
      };
      this.limitStats.set(statsKey, stats);
    }
    return stats;
  }
}

// envoyproxy/ratelimit's cache key: domain_key_value_..._windowstart.
function cacheKey(domain: string, descriptor: Descriptor, windowStart: number): string {
  let key = `${domain}_`;
  for (const entry of descriptor) key += `${entry.key}_${entry.value}_`;
  return key + windowStart;
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  if (timeoutMs <= 0) return promise;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new RateLimitServiceError(`no answer within ${timeoutMs} ms`)), timeoutMs);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
