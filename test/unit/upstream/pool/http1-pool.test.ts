// The HTTP/1 pool's behaviour as Envoy's, with a fake codec on real loopback sockets: keep-alive
// reuse, the cluster's max_connections and max_pending_requests, connect failures and timeouts,
// cancel, max_requests_per_connection, idle_timeout, drain, fresh connections and byte counts.
import t from 'tap';
import type { Host, Http1Pool } from '../../../../proxy/upstream/index.ts';
import { breakers, clusterSetup, fakeCodecs, LineUpstream, neverConnects, refusedPort, Request, waitFor } from './support.ts';

const hostOf = (setup: { cluster: { hosts: Host[] } }, i = 0): Host => setup.cluster.hosts[i];

t.test('keep-alive: 100 sequential requests share one connection', async (t) => {
  const upstream = await LineUpstream.start(t);
  const codecs = fakeCodecs();
  const setup = clusterSetup(t, [upstream.port], { codec: codecs.factory });
  const pool = setup.cluster.httpPool(hostOf(setup));
  t.equal(setup.cluster.httpPool(hostOf(setup)), pool, 'one pool per host');
  const first = new Request();
  t.not(pool.newStream(first, first), null, 'the first request waits for the connect');
  t.notOk(first.ready);
  t.equal(setup.gauge('upstream_rq_pending_active'), 1, 'waiting for a connect is pending');
  await first.settled();
  t.equal(first.reused, false);
  t.equal(setup.gauge('upstream_rq_pending_active'), 0);
  first.send();
  await first.done();
  let handedAtOnce = 1;
  for (let i = 1; i < 100; i++) {
    const request = new Request();
    const handle = pool.newStream(request, request);
    if (handle !== null || !request.ready || request.reused !== true) break;
    handedAtOnce++;
    request.send();
    await request.done();
  }
  t.equal(handedAtOnce, 100, 'every later request got the idle connection at once, reused');
  t.equal(upstream.accepted, 1, 'the upstream saw one connection');
  t.equal(setup.counter('upstream_cx_total'), 1);
  t.equal(setup.gauge('upstream_cx_active'), 1);
  t.equal(setup.counter('upstream_rq_pending_total'), 1, 'only the first request waited');
  t.equal(codecs.made[0].streamsStarted, 100);
  t.equal(hostOf(setup).stats.cxTotal, 1);
  t.ok(pool.hasFreeConnection());
});

t.test('max_connections: requests past it wait for a connection of the cluster to free up', async (t) => {
  const upstream = await LineUpstream.start(t);
  upstream.hold = true;
  const codecs = fakeCodecs();
  const setup = clusterSetup(t, [upstream.port], { codec: codecs.factory, raw: breakers({ max_connections: 2 }) });
  const pool = setup.cluster.httpPool(hostOf(setup));
  const requests = [new Request(), new Request(), new Request()];
  for (const r of requests) t.not(pool.newStream(r, r), null);
  await requests[0].settled();
  await requests[1].settled();
  t.equal(setup.counter('upstream_cx_total'), 2, 'two connections, not three');
  t.notOk(requests[2].ready, 'the third waits');
  t.ok(setup.counter('upstream_cx_overflow') >= 1, 'the refused connection counts as upstream_cx_overflow');
  t.equal(setup.gauge('upstream_rq_pending_active'), 1);
  t.equal(setup.gauge('circuit_breakers.default.cx_open'), 1);
  t.same((pool as Http1Pool).counts, { connecting: 0, idle: 0, busy: 2, pending: 1, total: 2 });
  requests[0].send();
  requests[1].send();
  await waitFor('both requests held upstream', () => upstream.heldCount === 2);
  upstream.release();
  await requests[2].settled();
  t.equal(requests[2].reused, true, 'it took a freed connection');
  t.equal(setup.gauge('upstream_rq_pending_active'), 0);
  t.equal(setup.counter('upstream_cx_total'), 2);
});

t.test('max_pending_requests: a request that would wait past it fails at once with overflow', async (t) => {
  const upstream = await LineUpstream.start(t);
  const setup = clusterSetup(t, [upstream.port], { codec: fakeCodecs().factory, raw: breakers({ max_connections: 1, max_pending_requests: 1 }) });
  const pool = setup.cluster.httpPool(hostOf(setup));
  const waiting = new Request();
  t.not(pool.newStream(waiting, waiting), null);
  const refused = new Request();
  t.equal(pool.newStream(refused, refused), null, 'no handle: it was answered');
  t.same(refused.failure, { reason: 'overflow', details: 'pending_overflow' }, 'synchronously');
  t.equal(setup.counter('upstream_rq_pending_overflow'), 1);
  t.equal(setup.counter('upstream_rq_pending_total'), 1);
  t.equal(setup.gauge('circuit_breakers.default.rq_pending_open'), 1);
  await waiting.settled();
  t.ok(waiting.ready, 'the admitted one is served');
  t.equal(setup.gauge('circuit_breakers.default.rq_pending_open'), 0);
  const next = new Request();
  waiting.send();
  await waiting.done();
  t.equal(pool.newStream(next, next), null, 'with a free connection the pending limit does not matter');
  t.ok(next.ready);
});

t.test('connect_timeout: the exact timer fails the waiting requests with timeout', async (t) => {
  const setup = clusterSetup(t, [1], { codec: fakeCodecs().factory, raw: { connect_timeout: '0.05s' }, openSocket: neverConnects });
  const pool = setup.cluster.httpPool(hostOf(setup));
  const started = performance.now();
  const request = new Request();
  pool.newStream(request, request);
  await request.settled();
  const elapsed = performance.now() - started;
  t.same(request.failure, { reason: 'timeout', details: 'connect timeout' });
  t.ok(elapsed >= 45, `not before connect_timeout (${elapsed.toFixed(0)} ms)`);
  t.equal(setup.counter('upstream_cx_connect_timeout'), 1);
  t.equal(setup.counter('upstream_cx_connect_fail'), 1);
  t.equal(setup.counter('upstream_rq_pending_failure_eject'), 1);
  t.equal(setup.gauge('upstream_rq_pending_active'), 0);
  t.equal(hostOf(setup).stats.cxConnectFail, 1);
  await pool.closed();
  t.equal(setup.gauge('upstream_cx_active'), 0);
  t.equal(setup.gauge('circuit_breakers.default.cx_open'), 0);
});

t.test('connection refused: the waiting requests fail with connection-failure', async (t) => {
  const port = await refusedPort();
  const setup = clusterSetup(t, [port], { codec: fakeCodecs().factory, raw: breakers({ max_connections: 1 }) });
  const pool = setup.cluster.httpPool(hostOf(setup));
  const requests = [new Request(), new Request(), new Request()];
  for (const r of requests) pool.newStream(r, r);
  for (const r of requests) await r.settled();
  for (const r of requests) t.equal(r.failure?.reason, 'connection-failure', r.failure?.details ?? 'no failure');
  t.match(requests[0].failure?.details ?? '', /ECONNREFUSED/);
  t.equal(setup.counter('upstream_cx_connect_fail'), 1, 'one connection was tried');
  t.equal(setup.counter('upstream_rq_pending_failure_eject'), 3);
  t.equal(setup.gauge('upstream_rq_pending_active'), 0);
  t.equal(setup.gauge('circuit_breakers.default.rq_pending_open'), 0);
  await pool.closed();
  t.equal(setup.gauge('upstream_cx_active'), 0);
});

t.test('a failed connect fails only the requests the other connections being made cannot take', async (t) => {
  const upstream = await LineUpstream.start(t);
  const refused = await refusedPort();
  let opened = 0;
  const net = await import('node:net');
  // The first connection goes to a closed port, the second to the upstream.
  const openSocket = (options: import('node:net').TcpNetConnectOpts) => net.connect({ ...options, port: opened++ === 0 ? refused : upstream.port });
  const setup = clusterSetup(t, [upstream.port], { codec: fakeCodecs().factory, openSocket });
  const pool = setup.cluster.httpPool(hostOf(setup));
  const older = new Request();
  const newer = new Request();
  pool.newStream(older, older);
  pool.newStream(newer, newer);
  t.equal(opened, 2, 'a connection per waiting request');
  await older.settled();
  await newer.settled();
  t.equal(newer.failure?.reason, 'connection-failure', 'the newest one fails');
  t.ok(older.ready, 'the oldest is served by the connection that did connect');
  t.equal(setup.counter('upstream_rq_pending_failure_eject'), 1);
});

t.test('cancel: the request leaves the queue, is never called back, and its connect is given up', async (t) => {
  const setup = clusterSetup(t, [1], { codec: fakeCodecs().factory, openSocket: neverConnects });
  const pool = setup.cluster.httpPool(hostOf(setup));
  const request = new Request();
  const handle = pool.newStream(request, request);
  t.equal(setup.gauge('upstream_rq_pending_active'), 1);
  t.equal(setup.gauge('upstream_cx_active'), 1);
  handle!.cancel();
  handle!.cancel(); // twice is harmless
  t.equal(setup.gauge('upstream_rq_pending_active'), 0);
  t.equal(setup.counter('upstream_rq_cancelled'), 1);
  await pool.closed();
  t.equal(setup.gauge('upstream_cx_active'), 0, 'the connect nobody waits for was closed');
  t.equal(setup.counter('upstream_cx_connect_fail'), 0, 'and is no connect failure');
  t.notOk(request.ready);
  t.equal(request.failure, null);
});

t.test('max_requests_per_connection: a connection closes after that many streams', async (t) => {
  const upstream = await LineUpstream.start(t);
  const setup = clusterSetup(t, [upstream.port], { codec: fakeCodecs().factory, model: { maxRequestsPerConnection: 3 } });
  const pool = setup.cluster.httpPool(hostOf(setup));
  const reused: boolean[] = [];
  for (let i = 0; i < 7; i++) {
    const request = new Request();
    pool.newStream(request, request);
    await request.settled();
    reused.push(request.reused!);
    request.send();
    await request.done();
  }
  t.same(reused, [false, true, true, false, true, true, false]);
  t.equal(setup.counter('upstream_cx_total'), 3);
  t.equal(setup.counter('upstream_cx_max_requests'), 2, 'counted when the last allowed stream starts');
  await waitFor('the used-up connections closed', () => setup.counter('upstream_cx_destroy') === 2);
});

t.test('idle_timeout: an idle connection closes after it; a busy one does not', async (t) => {
  const upstream = await LineUpstream.start(t);
  upstream.hold = true;
  const setup = clusterSetup(t, [upstream.port], { codec: fakeCodecs().factory, model: { upstreamIdleTimeoutMs: 60 } });
  const pool = setup.cluster.httpPool(hostOf(setup));
  const request = new Request();
  pool.newStream(request, request);
  await request.settled();
  request.send();
  await waitFor('the request held upstream', () => upstream.heldCount === 1);
  const busySince = performance.now();
  // Busy for well over the idle timeout: the connection must stay.
  await waitFor('three idle timeouts of quiet', () => performance.now() - busySince > 200);
  t.equal(setup.counter('upstream_cx_idle_timeout'), 0);
  t.equal(setup.gauge('upstream_cx_active'), 1);
  upstream.release();
  await request.done();
  const idleSince = performance.now();
  await pool.closed();
  t.ok(performance.now() - idleSince >= 50, 'closed after the idle timeout');
  t.equal(setup.counter('upstream_cx_idle_timeout'), 1);
  t.equal(setup.gauge('upstream_cx_active'), 0);
  t.notOk(pool.hasFreeConnection());
});

t.test('a connection the upstream closes while idle is dropped; the next request gets a new one', async (t) => {
  const upstream = await LineUpstream.start(t);
  const setup = clusterSetup(t, [upstream.port], { codec: fakeCodecs().factory });
  const pool = setup.cluster.httpPool(hostOf(setup));
  const first = new Request();
  pool.newStream(first, first);
  await first.settled();
  first.send();
  await first.done();
  for (const socket of upstream.sockets) socket.destroy();
  await waitFor('the pool saw the close', () => !pool.hasFreeConnection());
  const second = new Request();
  t.not(pool.newStream(second, second), null, 'no idle connection left: it waits for a connect');
  await second.settled();
  t.equal(second.reused, false);
  t.equal(setup.counter('upstream_cx_total'), 2);
});

t.test('a busy connection that closes resets its stream and serves nothing more', async (t) => {
  const upstream = await LineUpstream.start(t);
  upstream.hold = true;
  const setup = clusterSetup(t, [upstream.port], { codec: fakeCodecs().factory });
  const pool = setup.cluster.httpPool(hostOf(setup));
  const request = new Request();
  pool.newStream(request, request);
  await request.settled();
  request.send();
  await waitFor('the request held upstream', () => upstream.heldCount === 1);
  for (const socket of upstream.sockets) socket.destroy();
  await pool.closed();
  t.equal(request.reset, 'connection-termination', "the codec's business");
  t.notOk(pool.hasFreeConnection());
});

t.test('freshConnection skips idle connections', async (t) => {
  const upstream = await LineUpstream.start(t);
  const setup = clusterSetup(t, [upstream.port], { codec: fakeCodecs().factory });
  const pool = setup.cluster.httpPool(hostOf(setup));
  const first = new Request();
  pool.newStream(first, first);
  await first.settled();
  first.send();
  await first.done();
  const resend = new Request();
  t.not(pool.newStream(resend, resend, { freshConnection: true }), null, 'waits for a new connection');
  t.notOk(resend.ready);
  await resend.settled();
  t.equal(resend.reused, false);
  t.equal(setup.counter('upstream_cx_total'), 2);
  t.ok(pool.hasFreeConnection(), 'the old connection is still idle');
  resend.send();
  await resend.done();
  // A fresh request queued behind plain ones is taken only by a new connection.
  upstream.hold = true;
  const a = new Request();
  const b = new Request();
  pool.newStream(a, a);
  pool.newStream(b, b);
  t.ok(a.ready && b.ready, 'two idle connections, two requests');
  a.send();
  b.send();
  await waitFor('both held', () => upstream.heldCount === 2);
  const fresh = new Request();
  const plain = new Request();
  pool.newStream(fresh, fresh, { freshConnection: true });
  pool.newStream(plain, plain);
  await fresh.settled();
  t.equal(fresh.reused, false, 'the fresh one got the new connection');
  upstream.release();
  await plain.settled();
  t.ok(plain.ready, 'the plain one got whichever connection freed first');
});

t.test('drain: pending requests fail, idle connections close now, busy ones after their stream', async (t) => {
  const upstream = await LineUpstream.start(t);
  upstream.hold = true;
  const setup = clusterSetup(t, [upstream.port], { codec: fakeCodecs().factory, raw: breakers({ max_connections: 2 }) });
  const pool = setup.cluster.httpPool(hostOf(setup));
  const idle = new Request();
  const busy = new Request();
  pool.newStream(idle, idle);
  pool.newStream(busy, busy);
  await idle.settled();
  await busy.settled();
  idle.send();
  busy.send();
  await waitFor('both held', () => upstream.heldCount === 2);
  upstream.hold = false;
  upstream.release();
  await idle.done();
  await busy.done();
  // Now: two idle connections. Make one busy, queue one behind the limit.
  upstream.hold = true;
  const inFlight = new Request();
  pool.newStream(inFlight, inFlight);
  inFlight.send();
  const other = new Request();
  pool.newStream(other, other);
  other.send();
  const queued = new Request();
  t.not(pool.newStream(queued, queued), null);
  await waitFor('both held', () => upstream.heldCount === 2);
  pool.drain();
  t.same(queued.failure, { reason: 'local-connection-failure', details: 'pool_draining' });
  const late = new Request();
  t.equal(pool.newStream(late, late), null);
  t.equal(late.failure?.reason, 'local-connection-failure', 'no new streams after drain');
  let closed = false;
  void pool.closed().then(() => (closed = true));
  t.equal(setup.gauge('upstream_cx_active'), 2, 'busy connections stay for their streams');
  upstream.release();
  await inFlight.done();
  await other.done();
  await pool.closed();
  t.ok(closed);
  t.equal(setup.gauge('upstream_cx_active'), 0);
  t.equal(setup.gauge('upstream_rq_pending_active'), 0);
});

t.test('bytes: rx and tx totals are counted when a connection closes', async (t) => {
  const upstream = await LineUpstream.start(t);
  const setup = clusterSetup(t, [upstream.port], { codec: fakeCodecs().factory });
  const pool = setup.cluster.httpPool(hostOf(setup));
  for (let i = 0; i < 3; i++) {
    const request = new Request();
    pool.newStream(request, request);
    await request.settled();
    request.send();
    await request.done();
  }
  pool.drain();
  await pool.closed();
  t.equal(setup.counter('upstream_cx_tx_bytes_total'), 12, '3 x "REQ\\n"');
  t.equal(setup.counter('upstream_cx_rx_bytes_total'), 12, '3 x "RES\\n"');
});

t.test('max_connections is per cluster; a host with no connection still gets one', async (t) => {
  const a = await LineUpstream.start(t);
  const b = await LineUpstream.start(t);
  a.hold = true;
  b.hold = true;
  const setup = clusterSetup(t, [a.port, b.port], { codec: fakeCodecs().factory, raw: breakers({ max_connections: 1 }) });
  const poolA = setup.cluster.httpPool(hostOf(setup, 0));
  const poolB = setup.cluster.httpPool(hostOf(setup, 1));
  const onA = new Request();
  poolA.newStream(onA, onA);
  await onA.settled();
  onA.send();
  const secondOnA = new Request();
  poolA.newStream(secondOnA, secondOnA);
  t.equal(setup.counter('upstream_cx_overflow'), 1, 'host A is at the cluster limit');
  const onB = new Request();
  poolB.newStream(onB, onB);
  await onB.settled();
  t.ok(onB.ready, 'host B was not starved by host A');
  t.equal(setup.counter('upstream_cx_overflow'), 2, 'still counted as an overflow');
  t.equal(setup.gauge('upstream_cx_active'), 2);
  t.notOk(secondOnA.ready, "A's second request waits for A's connection");
  await waitFor('A holds its request', () => a.heldCount === 1);
  a.release();
  await secondOnA.settled();
  t.equal(secondOnA.reused, true);
});

t.test('a host that leaves the cluster has its pool drained; close() drains them all', async (t) => {
  const a = await LineUpstream.start(t);
  const b = await LineUpstream.start(t);
  const setup = clusterSetup(t, [a.port, b.port], { codec: fakeCodecs().factory });
  const hostA = hostOf(setup, 0);
  const poolA = setup.cluster.httpPool(hostA);
  const poolB = setup.cluster.httpPool(hostOf(setup, 1));
  for (const pool of [poolA, poolB]) {
    const request = new Request();
    pool.newStream(request, request);
    await request.settled();
    request.send();
    await request.done();
  }
  const { translateCluster } = await import('../../../../proxy/config/index.ts');
  const { staticCluster } = await import('../../../support/bootstrap.ts');
  setup.cluster.setAssignment(translateCluster(staticCluster('c', [{ port: b.port }])).cluster.loadAssignment);
  await poolA.closed();
  t.ok(poolB.hasFreeConnection(), "the remaining host's pool is untouched");
  t.not(setup.cluster.httpPool(hostOf(setup, 0)), poolA);
  await setup.cluster.close();
  await poolB.closed();
  t.equal(setup.gauge('upstream_cx_active'), 0);
});
