import t from 'tap';
import { RetryState, meshRetryPolicy } from '../../../proxy/router/retry-state.ts';

const policy = (retryOn: string[]) => ({ ...meshRetryPolicy(), retryOn, numRetries: 1 });

t.test("gRPC conditions read a trailers-only answer's grpc-status", async (t) => {
  const state = RetryState.create(policy(['cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable']), {}, false)!;
  for (const code of [1, 4, 13, 8, 14]) t.ok(state.retriableResponse(200, { 'grpc-status': String(code) }), `grpc-status ${code}`);
  for (const code of [0, 2, 3, 5, 12, 16]) t.notOk(state.retriableResponse(200, { 'grpc-status': String(code) }), `not grpc-status ${code}`);
  t.notOk(state.retriableResponse(200, {}), 'no grpc-status (it may come in the trailers)');
  t.notOk(state.retriableResponse(200, { 'grpc-status': 'x' }), 'an invalid grpc-status');
  const unavailableOnly = RetryState.create(policy(['unavailable']), {}, false)!;
  t.ok(unavailableOnly.retriableResponse(200, { 'grpc-status': '14' }));
  t.notOk(unavailableOnly.retriableResponse(200, { 'grpc-status': '4' }));
  t.notOk(unavailableOnly.retriableResponse(503, {}), 'unavailable is not 5xx');
});

t.test('x-envoy-retry-grpc-on from a trusted downstream adds gRPC conditions only', async (t) => {
  t.equal(RetryState.create(undefined, { 'x-envoy-retry-grpc-on': 'unavailable' }, false), null, 'untrusted: ignored');
  const state = RetryState.create(undefined, { 'x-envoy-retry-grpc-on': 'unavailable, 5xx' }, true)!;
  t.ok(state.retriableResponse(200, { 'grpc-status': '14' }));
  t.notOk(state.retriableResponse(503, {}), '5xx is not a gRPC condition');
  const http = RetryState.create(undefined, { 'x-envoy-retry-on': 'unavailable' }, true);
  t.equal(http, null, 'x-envoy-retry-on takes no gRPC conditions');
  const both = RetryState.create(policy(['5xx']), { 'x-envoy-retry-grpc-on': 'cancelled' }, true)!;
  t.ok(both.retriableResponse(502, {}));
  t.ok(both.retriableResponse(200, { 'grpc-status': '1' }));
});

t.test('x-envoy-ratelimited answers are retried for envoy-ratelimited only', async (t) => {
  const fivexx = RetryState.create(policy(['5xx', 'unavailable']), {}, false)!;
  t.ok(fivexx.retriableResponse(503, {}));
  t.notOk(fivexx.retriableResponse(503, { 'x-envoy-ratelimited': 'true' }), 'not as a 5xx');
  t.notOk(fivexx.retriableResponse(200, { 'x-envoy-ratelimited': 'true', 'grpc-status': '14' }), 'nor as UNAVAILABLE');
  const limited = RetryState.create(policy(['envoy-ratelimited']), {}, false)!;
  t.ok(limited.retriableResponse(429, { 'x-envoy-ratelimited': 'true' }));
  t.notOk(limited.retriableResponse(429, {}));
});

t.test('reset-before-request retries only a reset before the request went out', async (t) => {
  const state = RetryState.create(policy(['reset-before-request']), {}, false)!;
  t.ok(state.retriableReset('connect-failure', false), 'no connection: nothing was sent');
  t.ok(state.retriableReset('per-try-timeout', false), 'still waiting for a connection');
  t.notOk(state.retriableReset('reset', true), 'the request went out');
  t.notOk(state.retriableReset('overflow', false), 'never an overflow');
  const reset = RetryState.create(policy(['reset']), {}, false)!;
  t.ok(reset.retriableReset('reset', true));
});
