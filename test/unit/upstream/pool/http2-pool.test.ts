// The HTTP/2 pool's behaviour as Envoy's, on the real Http2ClientConnection against node:http2
// servers on loopback: many streams on one connection, a connection ready only once the peer's
// SETTINGS came, a new connection when the open ones are full, max_pending_requests and
// max_connections, GOAWAY (no new streams there, it closes once its streams ended), a connection
// closing before its SETTINGS, connect failure, cancel, drain and idle_timeout.
import { once } from 'node:events';
import http2 from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import type { Http2Pool } from '../../../../proxy/upstream/index.ts';
import { breakers, clusterSetup, refusedPort, Request, waitFor, type ClusterSetup } from './support.ts';
import { startH2Upstream, type H2Upstream } from '../../../support/h2-upstream.ts';

interface Upstream extends H2Upstream {
  held: http2.ServerHttp2Stream[];
  /** Answers every held stream. */
  release(): void;
}

/** An h2c server; with `hold`, streams wait for release(), else they are answered at once. */
async function h2Server(t: Test, options: { hold?: boolean; maxConcurrentStreams?: number } = {}): Promise<Upstream> {
  const held: http2.ServerHttp2Stream[] = [];
  const settings = options.maxConcurrentStreams === undefined ? {} : { maxConcurrentStreams: options.maxConcurrentStreams };
  const upstream = await startH2Upstream(t, (stream) => {
    if (options.hold === true) held.push(stream);
    else stream.respond({ ':status': 200 }, { endStream: true });
  }, { settings });
  return Object.assign(upstream, {
    held,
    release() {
      for (const s of held.splice(0)) if (!s.closed) s.respond({ ':status': 200 }, { endStream: true });
    },
  });
}

function h2Setup(t: Test, port: number, raw: object = {}, http2Options: object = {}): { setup: ClusterSetup; pool: Http2Pool } {
  const setup = clusterSetup(t, [port], { raw: { http2_protocol_options: http2Options, ...raw } });
  return { setup, pool: setup.cluster.httpPool(setup.cluster.hosts[0]) as Http2Pool };
}

function ask(pool: Http2Pool, n: number): Request[] {
  return Array.from({ length: n }, () => {
    const r = new Request();
    pool.newStream(r, r);
    return r;
  });
}

t.test('streams multiplex on one connection, ready once the peer SETTINGS came', async (t) => {
  const upstream = await h2Server(t);
  const { setup, pool } = h2Setup(t, upstream.port);
  const requests = ask(pool, 10);
  t.equal(setup.gauge('upstream_rq_pending_active'), 10, 'all wait for the connection');
  t.same(pool.counts, { connecting: 1, open: 0, busy: 0, pending: 10, total: 1 }, 'one connection for all of them');
  await Promise.all(requests.map((r) => r.settled()));
  t.same(requests.map((r) => r.reused), [false, true, true, true, true, true, true, true, true, true], 'the first stream of the connection is not reused');
  for (const r of requests) r.send();
  await Promise.all(requests.map((r) => r.done()));
  t.same(requests.map((r) => r.status), Array(10).fill(200));
  t.equal(upstream.sessions.length, 1);
  t.equal(setup.counter('upstream_cx_http2_total'), 1);
  t.equal(setup.gauge('upstream_rq_pending_active'), 0);
  await waitFor('the connection is idle', () => pool.counts.busy === 0);
  t.ok(pool.hasFreeConnection());
  const again = new Request();
  t.equal(pool.newStream(again, again), null, 'a ready connection takes a stream synchronously');
  t.equal(again.reused, true);
});

t.test('a new connection only when the open ones are full', async (t) => {
  const upstream = await h2Server(t, { hold: true, maxConcurrentStreams: 2 });
  const { setup, pool } = h2Setup(t, upstream.port);
  const requests = ask(pool, 5);
  await Promise.all(requests.map((r) => r.settled()));
  for (const r of requests) r.send();
  await waitFor('five streams at the server', () => upstream.held.length === 5);
  t.equal(upstream.sessions.length, 3, 'two streams per connection');
  t.equal(setup.counter('upstream_cx_total'), 3);
  upstream.release();
  await Promise.all(requests.map((r) => r.done()));
});

t.test('max_pending_requests: a request no connection has room for may wait only within it', async (t) => {
  const upstream = await h2Server(t, { hold: true, maxConcurrentStreams: 1 });
  const { setup, pool } = h2Setup(t, upstream.port, breakers({ max_connections: 1, max_pending_requests: 1 }));
  const [first] = ask(pool, 1);
  await first.settled();
  first.send();
  const waiting = new Request();
  t.not(pool.newStream(waiting, waiting), null, 'the connection is full: it waits');
  const refused = new Request();
  t.equal(pool.newStream(refused, refused), null);
  t.same(refused.failure, { reason: 'overflow', details: 'pending_overflow' });
  t.equal(setup.counter('upstream_rq_pending_overflow'), 1);
  await waitFor('the first stream at the server', () => upstream.held.length === 1);
  upstream.release();
  await waiting.settled();
  t.equal(waiting.reused, true, 'the freed stream slot took it');
  t.equal(setup.counter('upstream_cx_total'), 1, 'max_connections kept it to one connection');
  t.ok(setup.counter('upstream_cx_overflow') >= 1);
  waiting.send();
  await waitFor('held', () => upstream.held.length === 1);
  upstream.release();
  await waiting.done();
});

t.test('GOAWAY: the connection takes nothing new, a new one serves, the old closes after its streams', async (t) => {
  const upstream = await h2Server(t, { hold: true });
  const { setup, pool } = h2Setup(t, upstream.port);
  const [first] = ask(pool, 1);
  await first.settled();
  first.send();
  await waitFor('the first stream at the server', () => upstream.held.length === 1);
  upstream.sessions[0].goaway(http2.constants.NGHTTP2_NO_ERROR, 1);
  await waitFor('the pool heard the GOAWAY', () => setup.counter('upstream_cx_close_notify') === 1);
  t.notOk(pool.hasFreeConnection());
  const [second] = ask(pool, 1);
  await second.settled();
  second.send();
  await waitFor('the second stream at the server', () => upstream.held.length === 2);
  t.equal(upstream.sessions.length, 2, 'it went to a new connection');
  upstream.release();
  await Promise.all([first.done(), second.done()]);
  await waitFor('the old connection closed', () => setup.gauge('upstream_cx_active') === 1);
});

t.test('a connection that closes before its SETTINGS fails the waiting requests as a connect failure', async (t) => {
  const server = net.createServer((socket) => socket.destroy());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => server.close());
  const { pool } = h2Setup(t, (server.address() as AddressInfo).port);
  const requests = ask(pool, 3);
  await Promise.all(requests.map((r) => r.settled()));
  t.same(requests.map((r) => r.failure?.reason), ['connection-failure', 'connection-failure', 'connection-failure']);
  t.equal(pool.counts.total, 0, 'no connection left, none made again');
});

t.test('a refused connect fails the waiting requests', async (t) => {
  const { setup, pool } = h2Setup(t, await refusedPort());
  const requests = ask(pool, 2);
  await Promise.all(requests.map((r) => r.settled()));
  t.same(requests.map((r) => r.failure?.reason), ['connection-failure', 'connection-failure']);
  t.equal(setup.counter('upstream_cx_connect_fail'), 1);
});

t.test('cancel: the request leaves the queue and the connect made for it is given up', async (t) => {
  const upstream = await h2Server(t);
  const { setup, pool } = h2Setup(t, upstream.port);
  const r = new Request();
  const handle = pool.newStream(r, r);
  handle!.cancel();
  t.equal(setup.counter('upstream_rq_cancelled'), 1);
  t.equal(pool.counts.connecting, 0);
  await pool.closed();
  t.notOk(r.ready);
});

t.test('drain: queued requests fail, busy connections close after their streams', async (t) => {
  const upstream = await h2Server(t, { hold: true });
  const { pool } = h2Setup(t, upstream.port, breakers({ max_connections: 1 }));
  const [busy] = ask(pool, 1);
  await busy.settled();
  busy.send();
  await waitFor('held', () => upstream.held.length === 1);
  pool.drain();
  const late = new Request();
  t.equal(pool.newStream(late, late), null);
  t.same(late.failure, { reason: 'local-connection-failure', details: 'pool_draining' });
  let closed = false;
  void pool.closed().then(() => (closed = true));
  upstream.release();
  await busy.done();
  await waitFor('the pool closed', () => closed);
});

t.test('idle_timeout closes a connection without streams', async (t) => {
  const upstream = await h2Server(t);
  const { setup, pool } = h2Setup(t, upstream.port, { common_http_protocol_options: { idle_timeout: '0.2s' } });
  const [r] = ask(pool, 1);
  await r.settled();
  r.send();
  await r.done();
  await waitFor('idle timeout', () => setup.counter('upstream_cx_idle_timeout') === 1);
  await pool.closed();
  t.equal(setup.gauge('upstream_cx_active'), 0);
});

t.test('pools are keyed by host and protocol: HTTP/1 and HTTP/2 connections never mix', async (t) => {
  const options = (upstream: object) => ({ typed_extension_protocol_options: { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions', ...upstream } } });
  const downstream = clusterSetup(t, [1], { raw: options({ use_downstream_protocol_config: { http2_protocol_options: {} } }) });
  const host = downstream.cluster.hosts[0];
  const h2 = downstream.cluster.httpPool(host, undefined, 'HTTP/2');
  const h1 = downstream.cluster.httpPool(host, undefined, 'HTTP/1.1');
  t.equal(h2.constructor.name, 'Http2Pool', 'an HTTP/2 request: the HTTP/2 pool');
  t.equal(h1.constructor.name, 'Http1Pool', 'an HTTP/1.1 request: the HTTP/1 pool');
  t.equal(downstream.cluster.httpPool(host, undefined, 'HTTP/2'), h2, 'one HTTP/2 pool per host');
  t.equal(downstream.cluster.httpPool(host), h1, 'no protocol given: HTTP/1');
  const explicit = clusterSetup(t, [1], { raw: options({ explicit_http_config: { http2_protocol_options: {} } }) });
  const pool = explicit.cluster.httpPool(explicit.cluster.hosts[0], undefined, 'HTTP/1.1');
  t.equal(pool.constructor.name, 'Http2Pool', 'explicit HTTP/2 whatever the downstream spoke');
  t.equal(explicit.cluster.httpPool(explicit.cluster.hosts[0], undefined, 'HTTP/2'), pool);
  const plain = clusterSetup(t, [1], {});
  t.equal(plain.cluster.httpPool(plain.cluster.hosts[0], undefined, 'HTTP/2').constructor.name, 'Http1Pool', 'HTTP/1 clusters stay HTTP/1');
});
