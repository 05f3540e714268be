// Rate limiting state: the embedded rate limit service (limits file + counters in Redis or in
// memory) behind the ratelimit filter, and the token bucket behind the local_ratelimit filter.
import type { EmbeddedRateLimitService } from '../config/model.ts';
import type { Store } from '../stats/index.ts';
import { MemoryCounterStore } from './counter-store.ts';
import { Limits } from './limits.ts';
import { RedisCounterStore } from './redis-store.ts';
import { parseRedisUrl } from './redis-url.ts';
import { RateLimitService } from './service.ts';

export { Limits, UNIT_SECONDS, type Descriptor, type DescriptorEntry, type LimitMatch, type RateLimit, type RateLimitUnit } from './limits.ts';
export { RateLimitService, RateLimitServiceError, type DescriptorStatus, type RateLimitResponse, type ServiceOptions } from './service.ts';
export { MemoryCounterStore, type CounterStore } from './counter-store.ts';
export { RedisCounterStore, clientPlan, type ClientPlan } from './redis-store.ts';
export { parseRedisUrl, type RedisNode, type RedisTarget } from './redis-url.ts';
export { TokenBucket } from './token-bucket.ts';

/**
 * What would stop a worker from creating the service, found by the primary at start-up: a bad
 * limits file (a ConfigError with file and line) or a redis_url it cannot parse. One line each.
 */
export function checkRateLimitService(config: EmbeddedRateLimitService): void {
  Limits.load(config.limitsPath);
  if (config.redisUrl !== undefined) parseRedisUrl(config.redisUrl);
}

/**
 * The service a worker runs for node.metadata["legate.ratelimit"]: its limits file read now
 * (a bad file throws a one-line ConfigError), its counters in Redis when redis_url is given.
 */
export function createRateLimitService(config: EmbeddedRateLimitService, store: Store, log: (line: string) => void): RateLimitService {
  const limits = Limits.load(config.limitsPath);
  const counters = config.redisUrl === undefined ? new MemoryCounterStore() : new RedisCounterStore(config.redisUrl);
  return new RateLimitService(limits, counters, store, { log });
}
