// The local rate limit's token bucket, as Envoy's (AtomicTokenBucketImpl): it starts full and
// refills continuously at tokens_per_fill per fill_interval, up to max_tokens; a request takes
// one token. A bucket may be one worker's share of a per-process bucket (see README.md): it then
// holds `share` of the rate and of the burst, and reports remaining tokens for the whole process.
import type { TokenBucket as TokenBucketConfig } from '../config/model.ts';

export class TokenBucket {
  /** max_tokens as configured: the x-ratelimit-limit a client sees. */
  readonly limit: number;
  private readonly capacity: number;
  private readonly perMs: number;
  private readonly share: number;
  private tokens: number;
  private lastMs: number;

  /** share: this bucket's part of the configured one, 1 / number of workers. */
  constructor(config: TokenBucketConfig, share: number, nowMs: number) {
    this.limit = config.maxTokens;
    this.share = share;
    // Less than one token of burst would let no request through at all.
    this.capacity = Math.max(config.maxTokens * share, Math.min(1, config.maxTokens));
    this.perMs = config.fillIntervalMs > 0 ? (config.tokensPerFill * share) / config.fillIntervalMs : 0;
    this.tokens = this.capacity;
    this.lastMs = nowMs;
  }

  consume(nowMs: number): boolean {
    this.refill(nowMs);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Whole tokens left, scaled to the configured bucket. */
  remaining(nowMs: number): number {
    this.refill(nowMs);
    return Math.min(this.limit, Math.floor(this.tokens / this.share));
  }

  /** Seconds until the next token (x-ratelimit-reset); 0 while one is available. */
  resetSeconds(nowMs: number): number {
    this.refill(nowMs);
    if (this.tokens >= 1 || this.perMs === 0) return 0;
    return Math.ceil((1 - this.tokens) / this.perMs / 1000);
  }

  private refill(nowMs: number): void {
    const elapsed = nowMs - this.lastMs;
    if (elapsed <= 0) return;
    this.tokens = Math.min(this.capacity, this.tokens + elapsed * this.perMs);
    this.lastMs = nowMs;
  }
}
