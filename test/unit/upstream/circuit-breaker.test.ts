// The circuit breaker's accounting against Envoy's thresholds, overflow stats and gauges.
import t from 'tap';
import type { CircuitBreakerThresholds } from '../../../proxy/config/model.ts';
import { Store } from '../../../proxy/stats/index.ts';
import { CircuitBreaker } from '../../../proxy/upstream/circuit-breaker.ts';
import { ClusterStats } from '../../../proxy/upstream/cluster-stats.ts';

function setup(limits: Partial<CircuitBreakerThresholds>) {
  const store = new Store();
  const thresholds: CircuitBreakerThresholds = { priority: 'DEFAULT', maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3, trackRemaining: false, ...limits };
  const breaker = new CircuitBreaker(thresholds, store, 'c', new ClusterStats(store, 'c'));
  const counter = (n: string) => store.snapshot().counters[`cluster.c.${n}`];
  const gauge = (n: string) => store.snapshot().gauges[`cluster.c.${n}`];
  return { breaker, counter, gauge };
}

t.test('max_requests: the request past the limit overflows until one ends', async (t) => {
  const { breaker, counter, gauge } = setup({ maxRequests: 2 });
  t.ok(breaker.admitRequest());
  t.equal(gauge('circuit_breakers.default.rq_open'), 0);
  t.ok(breaker.admitRequest());
  t.equal(gauge('circuit_breakers.default.rq_open'), 1, 'open at the limit');
  t.notOk(breaker.admitRequest());
  t.equal(counter('upstream_rq_pending_overflow'), 1, 'Envoy counts it as a pending overflow');
  breaker.requestDone();
  t.equal(gauge('circuit_breakers.default.rq_open'), 0);
  t.ok(breaker.admitRequest());
});

t.test('max_requests alone: admitRequest() does not look at the pending queue', async (t) => {
  const { breaker } = setup({ maxPendingRequests: 1 });
  t.ok(breaker.admitPending());
  t.ok(breaker.admitRequest());
  t.ok(breaker.admitRequest(), 'a full pending queue is the pool\'s check');
});

t.test('max_pending_requests: admitPending takes a slot until pendingDone, or counts the overflow', async (t) => {
  const { breaker, counter, gauge } = setup({ maxPendingRequests: 1 });
  t.ok(breaker.admitPending());
  t.equal(gauge('upstream_rq_pending_active'), 1);
  t.equal(counter('upstream_rq_pending_total'), 1);
  t.equal(gauge('circuit_breakers.default.rq_pending_open'), 1);
  t.notOk(breaker.admitPending(), 'it would be the second waiting');
  t.equal(counter('upstream_rq_pending_overflow'), 1);
  t.equal(counter('upstream_rq_pending_total'), 1, 'the refused one never waited');
  breaker.pendingDone();
  t.equal(gauge('upstream_rq_pending_active'), 0);
  t.equal(gauge('circuit_breakers.default.rq_pending_open'), 0);
  t.ok(breaker.admitPending());
});

t.test('max_connections: admitConnection counts upstream_cx_overflow, canOpenConnection does not', async (t) => {
  const { breaker, counter, gauge } = setup({ maxConnections: 1 });
  t.ok(breaker.canOpenConnection());
  t.ok(breaker.admitConnection());
  breaker.connectionOpened();
  t.equal(gauge('circuit_breakers.default.cx_open'), 1);
  t.notOk(breaker.canOpenConnection());
  t.equal(counter('upstream_cx_overflow'), 0);
  t.notOk(breaker.admitConnection());
  t.equal(counter('upstream_cx_overflow'), 1);
  breaker.connectionClosed();
  t.equal(gauge('circuit_breakers.default.cx_open'), 0);
  t.ok(breaker.admitConnection());
});

t.test('max_retries: a slot is taken per retry until released', async (t) => {
  const { breaker, counter, gauge } = setup({ maxRetries: 1 });
  t.ok(breaker.acquireRetry());
  t.equal(gauge('circuit_breakers.default.rq_retry_open'), 1);
  t.notOk(breaker.acquireRetry());
  t.equal(counter('upstream_rq_retry_overflow'), 1);
  breaker.releaseRetry();
  t.ok(breaker.acquireRetry());
});

t.test('a retry budget allows a share of the active requests, at least min_retry_concurrency', async (t) => {
  const { breaker } = setup({ maxRetries: 100, retryBudget: { budgetPercent: 50, minRetryConcurrency: 1 } });
  t.ok(breaker.acquireRetry(), 'the minimum with no requests');
  t.notOk(breaker.acquireRetry());
  for (let i = 0; i < 4; i++) breaker.admitRequest();
  t.ok(breaker.acquireRetry(), '50 % of 4 active is 2');
  t.notOk(breaker.acquireRetry());
});

t.test('remaining_* gauges exist only with track_remaining', async (t) => {
  const tracked = setup({ maxRequests: 3, trackRemaining: true });
  tracked.breaker.admitRequest();
  t.equal(tracked.gauge('circuit_breakers.default.remaining_rq'), 2);
  t.equal(tracked.gauge('circuit_breakers.default.remaining_retries'), 3);
  t.equal(tracked.gauge('circuit_breakers.default.remaining_cx'), 1024);
  t.equal(tracked.gauge('circuit_breakers.default.remaining_pending'), 1024);
  const plain = setup({});
  t.equal(plain.gauge('circuit_breakers.default.remaining_rq'), undefined);
  t.equal(plain.gauge('circuit_breakers.default.rq_open'), 0, 'the *_open gauges are always there');
});
