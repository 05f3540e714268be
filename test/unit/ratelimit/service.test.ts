// The embedded rate limit service over in-memory counters and a fake clock: fixed windows, the
// over-limit cache, shadow mode, unlimited and replaced limits, stats, and a failing store.
import t from 'tap';
import { parseConfigText } from '../../../proxy/config/index.ts';
import {
  Limits,
  MemoryCounterStore,
  RateLimitService,
  type CounterStore,
  type Descriptor,
  type RateLimitResponse,
} from '../../../proxy/ratelimit/index.ts';
import { Store } from '../../../proxy/stats/index.ts';

const LIMITS = `
domain: edge
descriptors:
  - key: tenant
    rate_limit: { unit: minute, requests_per_unit: 5, name: per-tenant }
  - key: route
    value: login
    rate_limit: { unit: second, requests_per_unit: 2 }
  - key: shadow
    rate_limit: { unit: minute, requests_per_unit: 1 }
    shadow_mode: true
  - key: vip
    rate_limit: { unlimited: true }
  - key: burst
    rate_limit: { unit: minute, requests_per_unit: 100, name: burst }
  - key: premium
    rate_limit: { unit: minute, requests_per_unit: 1000, name: premium, replaces: [{ name: burst }] }
`;

const limits = () => Limits.fromFiles([parseConfigText(LIMITS, 'limits.yaml')]);
const d = (key: string, value: string): Descriptor => [{ key, value }];

// A minute boundary: 12:00:00.000 UTC on some day.
const START = Date.UTC(2025, 0, 1, 12, 0, 0);

/** Counts what reaches the store, to see what the local cache keeps from it. */
class CountingStore implements CounterStore {
  readonly name = 'counting';
  readonly inner: MemoryCounterStore;
  calls: string[][] = [];
  constructor(now: () => number) {
    this.inner = new MemoryCounterStore(now);
  }
  increment(keys: readonly string[], hits: number, ttlSeconds: readonly number[]): number[] {
    this.calls.push([...keys]);
    return this.inner.increment(keys, hits, ttlSeconds);
  }
  async close(): Promise<void> {}
}

function setup() {
  const clock = { now: START };
  const counters = new CountingStore(() => clock.now);
  const store = new Store();
  const lines: string[] = [];
  const service = new RateLimitService(limits(), counters, store, { log: (l) => lines.push(l), now: () => clock.now });
  const ask = (...descriptors: Descriptor[]) => service.shouldRateLimit('edge', descriptors, 20) as RateLimitResponse;
  const counter = (name: string) => store.snapshot().counters[name];
  return { clock, counters, store, lines, service, ask, counter };
}

t.test('a fixed window admits requests_per_unit hits, then is over the limit until it ends', async (t) => {
  const { clock, counters, ask, counter } = setup();
  const remaining: number[] = [];
  for (let i = 0; i < 5; i++) {
    const r = ask(d('tenant', 'acme'));
    t.equal(r.overLimit, false);
    remaining.push(r.statuses[0].remaining);
  }
  t.same(remaining, [4, 3, 2, 1, 0]);
  t.same(counters.calls[0], [`edge_tenant_acme_${START / 1000}`], 'envoyproxy/ratelimit key: domain_key_value_windowstart');

  clock.now += 20_000;
  const over = ask(d('tenant', 'acme'));
  t.equal(over.overLimit, true);
  t.same(over.statuses[0], { overLimit: true, limit: { requestsPerUnit: 5, unit: 'minute', name: 'per-tenant' }, remaining: 0, resetSeconds: 40 });
  t.equal(ask(d('tenant', 'other')).overLimit, false, 'another value counts apart');

  // Over the limit: answered from the local cache, Redis is not asked again in this window.
  const calls = counters.calls.length;
  for (let i = 0; i < 10; i++) t.equal(ask(d('tenant', 'acme')).overLimit, true);
  t.equal(counters.calls.length, calls);

  clock.now = START + 60_000;
  t.equal(ask(d('tenant', 'acme')).overLimit, false, 'the next window starts from zero');

  const prefix = 'ratelimit.service.rate_limit.edge.tenant';
  t.equal(counter(`${prefix}.total_hits`), 5 + 1 + 1 + 10 + 1);
  t.equal(counter(`${prefix}.within_limit`), 5 + 1 + 1);
  t.equal(counter(`${prefix}.over_limit`), 11);
  t.equal(counter(`${prefix}.over_limit_with_local_cache`), 10);
  t.equal(counter(`${prefix}.near_limit`), 1, 'the 5th hit passes 80 % of 5');
});

t.test('a request is over the limit when any of its descriptors is; all of them count', async (t) => {
  const { ask, counter } = setup();
  t.equal(ask(d('route', 'login'), d('tenant', 'a')).overLimit, false);
  t.equal(ask(d('route', 'login'), d('tenant', 'a')).overLimit, false);
  const third = ask(d('route', 'login'), d('tenant', 'a'));
  t.equal(third.overLimit, true);
  t.same(third.statuses.map((s) => s.overLimit), [true, false]);
  t.equal(third.statuses[1].remaining, 2);
  t.equal(counter('ratelimit.service.rate_limit.edge.route_login.total_hits'), 3);
  const none = ask(d('unknown', 'x'));
  t.same(none, { overLimit: false, statuses: [{ overLimit: false, limit: undefined, remaining: 0, resetSeconds: 0 }] }, 'no limit: OK without counting');
});

t.test('shadow mode counts and reports, but never limits', async (t) => {
  const { ask, counter } = setup();
  t.equal(ask(d('shadow', 'x')).overLimit, false);
  const second = ask(d('shadow', 'x'));
  t.equal(second.overLimit, false);
  t.equal(second.statuses[0].remaining, 0);
  t.equal(ask(d('shadow', 'x')).overLimit, false, 'also from the local cache');
  t.equal(counter('ratelimit.service.rate_limit.edge.shadow.over_limit'), 2);
  t.equal(counter('ratelimit.service.rate_limit.edge.shadow.shadow_mode'), 2);
});

t.test('unlimited and replaced limits count nothing', async (t) => {
  const { ask, counters, counter } = setup();
  const vip = ask(d('vip', 'x'));
  t.same(vip.statuses[0], { overLimit: false, limit: undefined, remaining: 0xffffffff, resetSeconds: 0 });
  t.equal(counters.calls.length, 0, 'the store is not asked');
  const both = ask(d('burst', 'x'), d('premium', 'x'));
  t.equal(both.statuses[0].limit, undefined, 'premium replaces burst');
  t.equal(both.statuses[1].remaining, 999);
  t.same(counters.calls, [[`edge_premium_x_${START / 1000}`]]);
  t.equal(counter('ratelimit.service.rate_limit.edge.burst.total_hits'), 0);
  t.equal(ask(d('burst', 'x')).statuses[0].remaining, 99, 'alone, burst applies');
});

t.test('a failing store rejects, and logs one line per outage', async (t) => {
  const lines: string[] = [];
  let failing = true;
  let now = START;
  const counters: CounterStore = {
    name: 'redis://test',
    increment: (keys) => (failing ? Promise.reject(new Error('Connection is closed.')) : Promise.resolve(keys.map(() => 1))),
    close: async () => {},
  };
  const store = new Store();
  const service = new RateLimitService(limits(), counters, store, { log: (l) => lines.push(l), now: () => now });
  const ask = () => Promise.resolve(service.shouldRateLimit('edge', [d('tenant', 'a')], 20));
  for (let i = 0; i < 5; i++) await t.rejects(ask(), { name: 'RateLimitServiceError', message: 'Connection is closed.' });
  t.equal(store.snapshot().counters['ratelimit.service.call.should_rate_limit.redis_error'], 5);
  t.equal(lines.length, 1);
  t.match(lines[0], /counter store redis:\/\/test is failing \(Connection is closed\.\)/);

  // Flapping: a success, then failures again within a second, is still the same outage.
  failing = false;
  now += 100;
  t.equal((await ask()).overLimit, false);
  failing = true;
  now += 100;
  await t.rejects(ask());
  t.equal(lines.length, 1, 'no line for a flap');

  failing = false;
  now += 500;
  await ask();
  t.equal(lines.length, 1, 'back only after a quiet second');
  now += 500;
  await ask();
  t.equal(lines.length, 2);
  t.match(lines[1], /answers again after 6 failed requests/);
  now += 5000;
  await ask();
  t.equal(lines.length, 2, 'nothing more while it works');
});

t.test('a store slower than the timeout is a failure', async (t) => {
  const never: CounterStore = { name: 'slow', increment: () => new Promise(() => {}), close: async () => {} };
  const service = new RateLimitService(limits(), never, new Store(), { log: () => {} });
  const started = performance.now();
  await t.rejects(Promise.resolve(service.shouldRateLimit('edge', [d('tenant', 'a')], 30)), { name: 'RateLimitServiceError', message: 'no answer within 30 ms' });
  t.ok(performance.now() - started < 1000, 'answered within the timeout, give or take the event loop');
});

t.test('in-memory counters expire with their window', async (t) => {
  let now = START;
  const store = new MemoryCounterStore(() => now);
  t.same(store.increment(['a', 'b'], 1, [1, 60]), [1, 1]);
  t.same(store.increment(['a', 'b'], 1, [1, 60]), [2, 2]);
  now += 1000;
  t.same(store.increment(['a', 'b'], 1, [1, 60]), [1, 3], 'a expired after 1 s, b lives on');
});
