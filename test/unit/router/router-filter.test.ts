// The router filter against an in-memory downstream stream and pools (Envoy's router_test style):
// attempts, retries, the keep-alive race resend, timeouts, resets and flow control, with the real
// cluster, circuit breaker and stats.
import t from 'tap';
import { RouterHarness } from './support.ts';

const retry5xx = { retryOn: ['5xx'], numRetries: 2, perTryTimeoutMs: 0, perTryIdleTimeoutMs: 0, backOff: { baseIntervalMs: 1, maxIntervalMs: 2 }, retriableStatusCodes: [], retriableHeaders: [], retriableRequestHeaders: [], retryHostPredicates: [], hostSelectionRetryMaxAttempts: 1 };

t.test('a request goes to a pool and its response streams back', async (t) => {
  const h = new RouterHarness();
  const down = h.request('GET', '/a', { 'x-test': '1' });
  t.equal(h.pending().length, 1, 'one pool request');
  const up = h.ready(0);
  t.equal(up.head?.path, '/a');
  t.equal(up.head?.headers['x-test'], '1');
  t.equal(up.head?.headers['x-envoy-expected-rq-timeout-ms'], '15000', "the route's timeout is announced");
  t.ok(up.ended, 'no body: the request ended with its headers');
  up.respond(200, 'hello', { connection: 'keep-alive' });
  await down.done();
  t.equal(down.response?.status, 200);
  t.equal(down.bodyText(), 'hello');
  t.equal(down.response?.headers.connection, undefined, 'hop-by-hop headers are removed');
  t.ok(down.response?.headers['x-envoy-upstream-service-time'] !== undefined);
  t.equal(h.counter('upstream_rq_200'), 1);
  t.equal(h.counter('upstream_rq_total'), 1);
});

t.test('a connection ready inside newStream gets a request that ends with its headers (no stray chunked framing)', async (t) => {
  const h = new RouterHarness();
  h.readyAtOnce = true;
  const down = h.request('GET', '/now');
  const up = h.upstreams[0];
  t.ok(up.ended, 'the head went out as a complete request');
  up.respond(200, 'ok');
  await down.done();
  t.equal(down.bodyText(), 'ok');
});

t.test('a streamed body reaches the upstream in order, sent once the pool is ready', async (t) => {
  const h = new RouterHarness();
  const down = h.request('POST', '/up', { 'content-length': '6' }, false);
  h.router.decodeData(down, Buffer.from('abc'), false);
  const up = h.ready(0);
  t.equal(up.bodyText(), 'abc', 'what came before the connection goes first');
  h.router.decodeData(down, Buffer.from('def'), true);
  t.equal(up.bodyText(), 'abcdef');
  t.ok(up.ended);
  up.respond(201);
  await down.done();
  t.equal(down.response?.status, 201);
});

t.test('5xx is retried on another attempt with the body replayed', async (t) => {
  const h = new RouterHarness({ retryPolicy: retry5xx }, [1001, 1002]);
  const down = h.request('POST', '/r', { 'content-length': '4' }, false);
  h.router.decodeData(down, Buffer.from('body'), true);
  const first = h.ready(0);
  first.respond(503, 'busy');
  // The back-off timer starts the second attempt.
  await t.resolves(waitFor(() => h.pending().length === 2));
  const second = h.ready(1);
  t.equal(second.bodyText(), 'body', 'the buffered body is sent again');
  second.respond(200, 'ok');
  await down.done();
  t.equal(down.response?.status, 200);
  t.equal(down.info.attemptCount, 2);
  t.equal(h.counter('upstream_rq_retry'), 1);
  t.equal(h.counter('upstream_rq_retry_success'), 1);
});

t.test('retries run out: the last answer goes back flagged URX', async (t) => {
  const h = new RouterHarness({ retryPolicy: { ...retry5xx, numRetries: 1 } });
  const down = h.request();
  h.ready(0).respond(503);
  await waitFor(() => h.pending().length === 2);
  h.ready(1).respond(503, 'still busy');
  await down.done();
  t.equal(down.response?.status, 503);
  t.ok(down.info.hasResponseFlag('URX'));
  t.equal(h.counter('upstream_rq_retry_limit_exceeded'), 1);
});

t.test('a reused connection that died before any response byte is resent once on a fresh one', async (t) => {
  const h = new RouterHarness();
  const down = h.request('POST', '/p', { 'content-length': '2' }, false);
  h.router.decodeData(down, Buffer.from('hi'), true);
  h.ready(0, true).die('connection-termination');
  t.equal(h.pending().length, 2, 'sent again');
  t.same(h.pending()[1].options, { freshConnection: true }, 'on a fresh connection');
  const again = h.ready(1);
  t.equal(again.bodyText(), 'hi');
  again.respond(200);
  await down.done();
  t.equal(down.response?.status, 200);
  t.equal(down.info.attemptCount, 1, 'not counted as a retry');
  t.equal(h.counter('upstream_rq_retry'), 0);
});

t.test('a fresh connection that dies before the answer is not resent: 503 UC', async (t) => {
  const h = new RouterHarness();
  const down = h.request();
  h.ready(0, false).die('connection-termination');
  await down.done();
  t.equal(down.localReply?.status, 503);
  t.equal(down.localReply?.flag, 'UC');
  t.equal(h.pending().length, 1);
});

t.test('pool overflow answers 503 UO with x-envoy-overloaded', async (t) => {
  const h = new RouterHarness();
  const down = h.request();
  h.pending()[0].callbacks.onPoolFailure('overflow', 'pending overflow');
  await down.done();
  t.equal(down.localReply?.status, 503);
  t.equal(down.localReply?.flag, 'UO');
  t.equal(down.localReply?.headers?.['x-envoy-overloaded'], 'true');
});

t.test('a connection failure answers 503 UF with the transport failure reason', async (t) => {
  const h = new RouterHarness();
  const down = h.request();
  h.pending()[0].callbacks.onPoolFailure('connection-failure', 'ECONNREFUSED');
  await down.done();
  t.equal(down.localReply?.status, 503);
  t.equal(down.localReply?.flag, 'UF');
  t.equal(down.info.upstreamTransportFailureReason, 'ECONNREFUSED');
  t.equal(h.counter('upstream_rq_503'), 1, 'charged to the cluster');
});

t.test('max_requests overflows before a pool is asked', async (t) => {
  const h = new RouterHarness({}, [1001], { circuit_breakers: { thresholds: [{ max_requests: 1 }] } });
  h.request();
  const second = h.request();
  await second.done();
  t.equal(second.localReply?.flag, 'UO');
  t.equal(h.pending().length, 1);
  t.equal(h.counter('upstream_rq_pending_overflow'), 1);
});

t.test('the route timeout answers 504 UT before the response, and resets after it started', async (t) => {
  const h = new RouterHarness({ timeoutMs: 20 });
  const before = h.request();
  const up = h.ready(0);
  await before.done();
  t.equal(before.localReply?.status, 504);
  t.equal(before.localReply?.flag, 'UT');
  t.equal(up.resetBy, 'local-reset', 'the upstream stream is cancelled');
  t.equal(h.counter('upstream_rq_timeout'), 1);

  const after = h.request();
  const up2 = h.ready(1);
  up2.decoder.decodeHeaders({ status: 200, headers: {} }, false);
  await after.done();
  t.ok(after.reset, 'the downstream is reset once the response started');
  t.ok(after.info.hasResponseFlag('UT'));
});

t.test('an upstream reset after the response started resets the downstream, flagged UC', async (t) => {
  const h = new RouterHarness();
  const down = h.request();
  const up = h.ready(0);
  up.decoder.decodeHeaders({ status: 200, headers: {} }, false);
  up.decoder.decodeData(Buffer.from('part'), false);
  up.die();
  await down.done();
  t.ok(down.reset);
  t.ok(down.info.hasResponseFlag('UC'));
  t.equal(h.counter('upstream_rq_rx_reset'), 1);
});

t.test('a client that leaves cancels the pending pool request', async (t) => {
  const h = new RouterHarness();
  const down = h.request();
  down.clientReset();
  t.ok(h.pending()[0].cancelled);
  t.equal(h.store.snapshot().gauges['cluster.backend.upstream_rq_active'], 0, 'the attempt is accounted as ended');
});

t.test('flow control: a full downstream pauses the upstream, a full upstream pauses the client', async (t) => {
  const h = new RouterHarness();
  const down = h.request('POST', '/', { 'content-length': '10' }, false);
  const up = h.ready(0);
  for (const w of down.watermarks) w.onAboveWriteBufferHighWatermark();
  t.equal(up.readDisabled, 1, 'upstream reads stop');
  for (const w of down.watermarks) w.onBelowWriteBufferLowWatermark();
  t.equal(up.readDisabled, 0);
  up.callbacks!.onAboveWriteBufferHighWatermark();
  t.equal(down.readDisabled, 1, 'client reads stop');
  up.callbacks!.onBelowWriteBufferLowWatermark();
  t.equal(down.readDisabled, 0);
});

t.test('a 101 turns the stream into a tunnel past the route timeout', async (t) => {
  const h = new RouterHarness({ timeoutMs: 30 });
  const head = { upgrade: 'websocket', connection: 'upgrade' };
  const down = h.request('GET', '/ws', head, false);
  down.upgradeType = 'websocket';
  const up = h.ready(0);
  t.equal(up.head?.headers.upgrade, 'websocket');
  up.decoder.decodeHeaders({ status: 101, headers: { upgrade: 'websocket', connection: 'Upgrade' } }, false);
  t.equal(down.response?.status, 101);
  t.equal(down.response?.headers.upgrade, 'websocket');
  h.router.decodeData(down, Buffer.from('ping'), false);
  t.equal(up.bodyText(), 'ping');
  up.decoder.decodeData(Buffer.from('pong'), false);
  t.equal(down.bodyText(), 'pong');
  // A plain request started now times out after the same route timeout; by then the tunnel's would have fired.
  const plain = h.request('GET', '/plain');
  await plain.done();
  t.equal(plain.localReply?.status, 504, 'the route timeout ran out');
  t.notOk(down.ended, 'the tunnel outlives the route timeout');
  t.equal(h.store.snapshot().counters['http.t.downstream_cx_upgrades_total'], 1);
  down.clientReset();
  t.equal(up.resetBy, 'local-reset', 'the upstream goes with the client');
});

/** Polls a condition every few ms, for at most 2 s. */
async function waitFor(condition: () => boolean): Promise<void> {
  const deadline = performance.now() + 2000;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error('condition not met in 2 s');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
