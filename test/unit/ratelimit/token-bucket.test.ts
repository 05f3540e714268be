// The local rate limit's token bucket: continuous refill as Envoy's, and a worker's share of it.
import t from 'tap';
import { TokenBucket } from '../../../proxy/ratelimit/index.ts';

function drain(bucket: TokenBucket, now: number): number {
  let n = 0;
  while (n < 1_000_000 && bucket.consume(now)) n++;
  return n;
}

t.test('starts full, refills tokens_per_fill per fill_interval, never past max_tokens', async (t) => {
  const bucket = new TokenBucket({ maxTokens: 10, tokensPerFill: 5, fillIntervalMs: 1000 }, 1, 0);
  t.equal(drain(bucket, 0), 10);
  t.equal(bucket.remaining(0), 0);
  t.equal(bucket.resetSeconds(0), 1, 'one token takes 200 ms: reset rounds up to 1 s');
  t.equal(drain(bucket, 1000), 5, 'one fill interval later');
  t.equal(drain(bucket, 1400), 2, 'refill is continuous');
  t.equal(bucket.remaining(60_000), 10, 'capped at max_tokens');
  t.equal(bucket.resetSeconds(60_000), 0);
  t.equal(bucket.limit, 10);
});

t.test('a worker\'s share holds 1/N of the rate and the burst, and reports for the whole process', async (t) => {
  const config = { maxTokens: 100, tokensPerFill: 100, fillIntervalMs: 1000 };
  const workers = 4;
  const shares = Array.from({ length: workers }, () => new TokenBucket(config, 1 / workers, 0));
  t.equal(shares.reduce((sum, b) => sum + drain(b, 0), 0), 100, 'the burst adds up to max_tokens');
  let admitted = 0;
  for (let now = 10; now <= 10_000; now += 10) for (const b of shares) admitted += drain(b, now);
  t.ok(Math.abs(admitted - 1000) <= workers, `10 s at 100/s across ${workers} workers: ${admitted}`);
  const fresh = new TokenBucket(config, 1 / workers, 0);
  t.equal(fresh.remaining(0), 100, 'a full share reports the full bucket');
  fresh.consume(0);
  t.equal(fresh.remaining(0), 96);
  t.equal(fresh.limit, 100);
});

t.test('a share never holds less than one token, or nothing would pass', async (t) => {
  const bucket = new TokenBucket({ maxTokens: 2, tokensPerFill: 2, fillIntervalMs: 1000 }, 1 / 8, 0);
  t.equal(drain(bucket, 0), 1);
  t.equal(drain(bucket, 4000), 1, '0.25 tokens/s: one more after 4 s');
  const zero = new TokenBucket({ maxTokens: 0, tokensPerFill: 1, fillIntervalMs: 1000 }, 1 / 8, 0);
  t.equal(drain(zero, 0), 0, 'max_tokens 0 admits nothing');
});

t.test('no fill interval: the bucket never refills', async (t) => {
  const bucket = new TokenBucket({ maxTokens: 3, tokensPerFill: 1, fillIntervalMs: 0 }, 1, 0);
  t.equal(drain(bucket, 0), 3);
  t.equal(drain(bucket, 1e9), 0);
  t.equal(bucket.resetSeconds(1e9), 0);
});
