// The router filter's own config and the timeout headers: suppress_envoy_headers,
// respect_expected_rq_timeout, x-envoy-upstream-rq-timeout-ms, and what the upstream is told
// (x-envoy-expected-rq-timeout-ms and, with max_grpc_timeout, grpc-timeout).
import t from 'tap';
import { RouterFilter } from '../../../proxy/router/index.ts';
import { RouterHarness } from './support.ts';

const retryWithPerTry = (perTryTimeoutMs: number) => ({
  retryOn: ['5xx'], numRetries: 1, perTryTimeoutMs, perTryIdleTimeoutMs: 0, backOff: { baseIntervalMs: 1, maxIntervalMs: 2 },
  retriableStatusCodes: [], retriableHeaders: [], retriableRequestHeaders: [], retryHostPredicates: [], hostSelectionRetryMaxAttempts: 1,
});

function withConfig(h: RouterHarness, config: { suppressEnvoyHeaders: boolean; respectExpectedRqTimeout: boolean }): RouterHarness {
  h.router = new RouterFilter({ ...h.router.options, config });
  return h;
}

t.test('the upstream is told the per-try timeout when it is the shorter one', async (t) => {
  const h = new RouterHarness({ timeoutMs: 1000, retryPolicy: retryWithPerTry(200) });
  h.request('GET', '/a');
  t.equal(h.ready(0).head?.headers['x-envoy-expected-rq-timeout-ms'], '200');
  const longer = new RouterHarness({ timeoutMs: 1000, retryPolicy: retryWithPerTry(5000) });
  longer.request('GET', '/b');
  t.equal(longer.ready(0).head?.headers['x-envoy-expected-rq-timeout-ms'], '1000');
  const noRouteTimeout = new RouterHarness({ timeoutMs: 0, retryPolicy: retryWithPerTry(300) });
  noRouteTimeout.request('GET', '/c');
  t.equal(noRouteTimeout.ready(0).head?.headers['x-envoy-expected-rq-timeout-ms'], '300');
});

t.test('max_grpc_timeout: grpc-timeout carries the expected timeout', async (t) => {
  const h = new RouterHarness({ timeoutMs: 15000, maxGrpcTimeoutMs: 0, retryPolicy: retryWithPerTry(100) });
  h.request('POST', '/pkg.Svc/Call', { 'content-type': 'application/grpc', 'grpc-timeout': '2S' });
  const head = h.ready(0).head!;
  t.equal(head.headers['grpc-timeout'], '100m');
  t.equal(head.headers['x-envoy-expected-rq-timeout-ms'], '100');
});

t.test('x-envoy-upstream-rq-timeout-ms sets the route timeout and is removed', async (t) => {
  const h = new RouterHarness({ timeoutMs: 15000 });
  h.request('GET', '/a', { 'x-envoy-upstream-rq-timeout-ms': '250' });
  const head = h.ready(0).head!;
  t.equal(head.headers['x-envoy-expected-rq-timeout-ms'], '250');
  t.equal(head.headers['x-envoy-upstream-rq-timeout-ms'], undefined);
  const junk = new RouterHarness({ timeoutMs: 15000 });
  junk.request('GET', '/b', { 'x-envoy-upstream-rq-timeout-ms': 'soon' });
  t.equal(junk.ready(0).head?.headers['x-envoy-expected-rq-timeout-ms'], '15000', 'an invalid value is ignored');
});

t.test("respect_expected_rq_timeout: an egress Envoy's expected timeout is the route timeout", async (t) => {
  const h = withConfig(new RouterHarness({ timeoutMs: 15000 }), { suppressEnvoyHeaders: false, respectExpectedRqTimeout: true });
  h.request('GET', '/a', { 'x-envoy-expected-rq-timeout-ms': '300', 'x-envoy-upstream-rq-timeout-ms': '900' });
  const head = h.ready(0).head!;
  t.equal(head.headers['x-envoy-expected-rq-timeout-ms'], '300');
  t.equal(head.headers['x-envoy-upstream-rq-timeout-ms'], '900', 'left alone when the expected timeout is used');
  const off = new RouterHarness({ timeoutMs: 15000 });
  off.request('GET', '/b', { 'x-envoy-expected-rq-timeout-ms': '300' });
  t.equal(off.ready(0).head?.headers['x-envoy-expected-rq-timeout-ms'], '15000', 'without the option it is overwritten');
});

t.test('suppress_envoy_headers: no x-envoy-* headers of the router', async (t) => {
  const h = withConfig(new RouterHarness({ timeoutMs: 15000 }), { suppressEnvoyHeaders: true, respectExpectedRqTimeout: false });
  const down = h.request('GET', '/a');
  const up = h.ready(0);
  t.equal(up.head?.headers['x-envoy-expected-rq-timeout-ms'], undefined);
  up.respond(200, 'ok');
  await down.done();
  t.equal(down.response?.headers['x-envoy-upstream-service-time'], undefined);
  const overflow = withConfig(new RouterHarness({}, [1001], { circuit_breakers: { thresholds: [{ max_requests: 1 }] } }), { suppressEnvoyHeaders: true, respectExpectedRqTimeout: false });
  overflow.request('GET', '/first');
  const second = overflow.request('GET', '/second');
  await second.done();
  t.equal(second.response?.status, 503);
  t.equal(second.response?.headers['x-envoy-overloaded'], undefined);
});

t.test('per_try_timeout applies without retries; the header overrides it; none when not shorter', async (t) => {
  const noRetries = { ...retryWithPerTry(50), retryOn: [] };
  const h = new RouterHarness({ timeoutMs: 15000, retryPolicy: noRetries });
  const down = h.request('GET', '/a');
  t.equal(h.ready(0).head?.headers['x-envoy-expected-rq-timeout-ms'], '50');
  await down.done();
  t.equal(down.response?.status, 504, 'the per-try timeout ran out: 504');
  t.equal(h.counter('upstream_rq_per_try_timeout'), 1);

  const header = new RouterHarness({ timeoutMs: 15000 });
  header.request('GET', '/b', { 'x-envoy-upstream-rq-per-try-timeout-ms': '700' });
  const head = header.ready(0).head!;
  t.equal(head.headers['x-envoy-expected-rq-timeout-ms'], '700');
  t.equal(head.headers['x-envoy-upstream-rq-per-try-timeout-ms'], undefined, 'removed');

  const notShorter = new RouterHarness({ timeoutMs: 100, retryPolicy: retryWithPerTry(100) });
  notShorter.request('GET', '/c');
  t.equal(notShorter.ready(0).head?.headers['x-envoy-expected-rq-timeout-ms'], '100');
});
