// The HTTP/1 pool on the cluster's own codec (Http1ClientConnection) against a real
// node:http upstream on loopback: keep-alive reuse, max_requests_per_connection, idle_timeout,
// the keep-alive race and its resend on a fresh connection, drain.
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import t, { type Test } from 'tap';
import type { Host } from '../../../../proxy/upstream/index.ts';
import { breakers, clusterSetup, Request, waitFor } from './support.ts';

/** A node:http upstream on 127.0.0.1:0 answering 'ok <path>'; counts connections, can drop the Nth request's connection. */
async function httpUpstream(t: Test) {
  const state = { connections: 0, sockets: new Set<Socket>(), dropRequest: 0, requests: 0 };
  const server = http.createServer((req, res) => {
    state.requests++;
    if (state.requests === state.dropRequest) {
      // The keep-alive race: the upstream closes the connection the request arrived on without a byte.
      req.socket.destroy();
      return;
    }
    res.end(`ok ${req.url}`);
  });
  server.keepAliveTimeout = 60_000;
  server.on('connection', (socket: Socket) => {
    state.connections++;
    state.sockets.add(socket);
    socket.on('close', () => state.sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(async () => {
    for (const socket of state.sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { server, state, port: (server.address() as AddressInfo).port };
}

const hostOf = (setup: { cluster: { hosts: Host[] } }): Host => setup.cluster.hosts[0];

t.test('100 sequential requests on one keep-alive connection', async (t) => {
  const upstream = await httpUpstream(t);
  const setup = clusterSetup(t, [upstream.port], {});
  const pool = setup.cluster.httpPool(hostOf(setup));
  let ok = 0;
  for (let i = 0; i < 100; i++) {
    const request = new Request();
    pool.newStream(request, request);
    await request.settled();
    if (!request.ready) break;
    request.send(`/${i}`);
    await request.finished();
    if (request.status !== 200 || request.body !== `ok /${i}` || request.reused !== i > 0) break;
    ok++;
  }
  t.equal(ok, 100, 'every response was right, every request after the first on a reused connection');
  t.equal(upstream.state.connections, 1);
  t.equal(setup.counter('upstream_cx_total'), 1);
  pool.drain();
  await pool.closed();
  t.ok(setup.counter('upstream_cx_rx_bytes_total') > 100 * 'HTTP/1.1 200 OK\r\n'.length, 'response bytes counted at close');
  t.ok(setup.counter('upstream_cx_tx_bytes_total') > 100 * 'GET / HTTP/1.1\r\n'.length, 'request bytes counted at close');
});

t.test('max_connections 1: concurrent requests queue and take the connection in turn', async (t) => {
  const upstream = await httpUpstream(t);
  const setup = clusterSetup(t, [upstream.port], { raw: breakers({ max_connections: 1 }) });
  const pool = setup.cluster.httpPool(hostOf(setup));
  const requests = Array.from({ length: 5 }, () => new Request());
  for (const r of requests) pool.newStream(r, r);
  t.equal(setup.gauge('upstream_rq_pending_active'), 5);
  for (const [i, r] of requests.entries()) {
    await r.settled();
    r.send(`/${i}`);
    await r.finished();
    t.equal(r.body, `ok /${i}`);
  }
  t.same(requests.map((r) => r.reused), [false, true, true, true, true]);
  t.equal(upstream.state.connections, 1);
  t.ok(setup.counter('upstream_cx_overflow') >= 1);
  t.equal(setup.gauge('upstream_rq_pending_active'), 0);
});

t.test('max_requests_per_connection 2: four requests, two connections', async (t) => {
  const upstream = await httpUpstream(t);
  const setup = clusterSetup(t, [upstream.port], { model: { maxRequestsPerConnection: 2 } });
  const pool = setup.cluster.httpPool(hostOf(setup));
  for (let i = 0; i < 4; i++) {
    const request = new Request();
    pool.newStream(request, request);
    await request.settled();
    request.send();
    await request.finished();
    t.equal(request.status, 200);
  }
  t.equal(setup.counter('upstream_cx_total'), 2);
  t.equal(setup.counter('upstream_cx_max_requests'), 2);
  await waitFor('the used-up connections closed', () => upstream.state.connections === 2 && upstream.state.sockets.size === 0);
});

t.test('idle_timeout closes the idle connection', async (t) => {
  const upstream = await httpUpstream(t);
  const setup = clusterSetup(t, [upstream.port], { model: { upstreamIdleTimeoutMs: 50 } });
  const pool = setup.cluster.httpPool(hostOf(setup));
  const request = new Request();
  pool.newStream(request, request);
  await request.settled();
  request.send();
  await request.finished();
  t.equal(request.status, 200);
  await pool.closed();
  t.equal(setup.counter('upstream_cx_idle_timeout'), 1);
  t.equal(setup.gauge('upstream_cx_active'), 0);
});

t.test('keep-alive race: the reused connection dies before a byte; the resend goes on a fresh connection', async (t) => {
  const upstream = await httpUpstream(t);
  upstream.state.dropRequest = 2;
  const setup = clusterSetup(t, [upstream.port], {});
  const pool = setup.cluster.httpPool(hostOf(setup));
  const first = new Request();
  pool.newStream(first, first);
  await first.settled();
  first.send();
  await first.finished();
  t.equal(first.status, 200);
  const second = new Request();
  t.equal(pool.newStream(second, second), null);
  t.equal(second.reused, true);
  second.send();
  await second.finished();
  t.equal(second.reset, 'connection-termination', 'reset, no response');
  t.notOk(second.completed);
  t.equal(second.status, 0, 'before any response byte');
  const resend = new Request();
  t.not(pool.newStream(resend, resend, { freshConnection: true }), null, 'waits for a new connection');
  await resend.settled();
  t.equal(resend.reused, false);
  resend.send();
  await resend.finished();
  t.equal(resend.status, 200);
  t.equal(upstream.state.connections, 2);
});

t.test('drain: the busy connection finishes its response, then every connection is closed', async (t) => {
  const upstream = await httpUpstream(t);
  const setup = clusterSetup(t, [upstream.port], {});
  const pool = setup.cluster.httpPool(hostOf(setup));
  const request = new Request();
  pool.newStream(request, request);
  await request.settled();
  request.send();
  pool.drain();
  await request.finished();
  t.equal(request.status, 200, 'the stream in flight completed');
  await pool.closed();
  t.equal(setup.gauge('upstream_cx_active'), 0);
  await waitFor('the upstream saw the close', () => upstream.state.sockets.size === 0);
});
