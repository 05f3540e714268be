// Envoy's per-connection limits on both codecs: max_requests_per_connection and
// max_connection_duration drain the connection (Connection: close on HTTP/1; on HTTP/2 the
// shutdown notice, then the final GOAWAY after drain_timeout), counted as
// downstream_cx_max_requests_reached / downstream_cx_max_duration_reached; delayed_close_timeout
// (0 closes at once after the last response; a value bounds how long a peer that never closes
// keeps the socket); the connection idle_timeout and the connection manager's max_stream_duration.
import http2 from 'node:http2';
import net from 'node:net';
import t, { type Test } from 'tap';
import { bootstrap, httpListener, routes, staticCluster } from '../../support/bootstrap.ts';
import { FRAME_GOAWAY, FRAME_HEADERS, goawayLastStream, RawH2Client } from '../../support/h2-frames.ts';
import { fetchText, rawExchange, statsMap, waitFor } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { startUpstream } from '../../support/upstream.ts';

// /hold answers when the test releases it; everything else at once.
const held: (() => void)[] = [];
const upstream = await startUpstream('up', (req, res) => {
  req.resume();
  const answer = () => {
    if (!res.destroyed) res.end('ok');
  };
  if (req.url?.startsWith('/hold')) held.push(answer);
  else answer();
});
t.teardown(() => {
  for (const release of held) release();
  return upstream.close();
});
const releaseHeld = () => {
  for (const release of held.splice(0)) release();
};

const toUp = routes([{ match: { prefix: '/' }, route: { cluster: 'up', timeout: '0s' } }]);
const legate = await startLegate(bootstrap(
  [
    httpListener('maxrq', toUp, { common_http_protocol_options: { max_requests_per_connection: 2 } }),
    httpListener('maxrq2', toUp, { codec_type: 'HTTP2', drain_timeout: '0.1s', common_http_protocol_options: { max_requests_per_connection: 2 } }),
    httpListener('maxdur', toUp, { common_http_protocol_options: { max_connection_duration: '0.3s' } }),
    httpListener('maxdur2', toUp, { codec_type: 'HTTP2', drain_timeout: '0.6s', common_http_protocol_options: { max_connection_duration: '0.3s' } }),
    httpListener('noclose', toUp, { delayed_close_timeout: '0s' }),
    httpListener('shortclose', toUp, { delayed_close_timeout: '0.3s' }),
    httpListener('idle', toUp, { common_http_protocol_options: { idle_timeout: '0.3s' } }),
    httpListener('maxstream', toUp, { common_http_protocol_options: { max_stream_duration: '0.3s' } }),
    httpListener('upstreamdur', routes([{ match: { prefix: '/' }, route: { cluster: 'shortlived' } }])),
    httpListener('upstreamstream', routes([{ match: { prefix: '/' }, route: { cluster: 'shortstreams', timeout: '0s' } }])),
  ],
  [
    staticCluster('up', [{ port: upstream.port }]),
    staticCluster('shortlived', [{ port: upstream.port }], { common_http_protocol_options: { max_connection_duration: '0.3s' } }),
    staticCluster('shortstreams', [{ port: upstream.port }], { common_http_protocol_options: { max_stream_duration: '0.3s' } }),
  ],
));
t.teardown(() => legate.stop());
const stats = () => statsMap(legate.adminUrl(''));

/** `promise`, or a rejection naming `what` after timeoutMs. */
function within<T>(promise: Promise<T>, what: string, timeoutMs = 5000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${timeoutMs} ms`)), timeoutMs)));
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** Opens a keep-alive connection; resolves the socket, the data it got and when it closed. */
function keepAlive(port: number, allowHalfOpen = false) {
  const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen });
  let data = '';
  socket.setEncoding('utf8');
  socket.on('data', (c: string) => (data += c));
  socket.on('error', () => undefined);
  const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(performance.now())));
  return { socket, closed, received: () => data };
}

t.test('max_requests_per_connection on HTTP/1: the second response says Connection: close, the third request is never read', async (t) => {
  const raw = await rawExchange(legate.port('maxrq'), 'GET /a HTTP/1.1\r\nhost: x\r\n\r\nGET /b HTTP/1.1\r\nhost: x\r\n\r\nGET /c HTTP/1.1\r\nhost: x\r\n\r\n');
  t.equal(raw.match(/HTTP\/1\.1 200 /g)?.length, 2, 'two answers');
  const [first, second] = raw.split(/(?=HTTP\/1\.1 200 )/);
  t.notMatch(first, /connection: close/);
  t.match(second, /connection: close/);
  t.equal((await stats()).get('http.maxrq.downstream_cx_max_requests_reached'), 1);
});

t.test('max_requests_per_connection on HTTP/2: GOAWAY after the second stream', async (t) => {
  const session = http2.connect(`http://127.0.0.1:${legate.port('maxrq2')}`);
  session.on('error', () => undefined);
  t.teardown(() => session.destroy());
  const goaway = new Promise<void>((resolve) => session.once('goaway', () => resolve()));
  for (const path of ['/1', '/2']) {
    const status = await new Promise<number>((resolve) => {
      const req = session.request({ ':path': path });
      let s = 0;
      req.on('response', (h) => (s = Number(h[':status'])));
      req.resume();
      req.on('close', () => resolve(s));
      req.on('error', () => undefined);
    });
    t.equal(status, 200, `${path} served`);
  }
  await goaway;
  t.equal((await stats()).get('http.maxrq2.downstream_cx_max_requests_reached'), 1);
});

t.test('max_connection_duration on HTTP/1: an idle connection closes at the deadline', async (t) => {
  const start = performance.now();
  const conn = keepAlive(legate.port('maxdur'));
  conn.socket.write('GET /idle HTTP/1.1\r\nhost: x\r\n\r\n');
  const closedAt = await within(conn.closed, 'the close');
  t.match(conn.received(), /^HTTP\/1\.1 200 /);
  t.ok(closedAt - start >= 250, `closed after ${Math.round(closedAt - start)} ms`);
});

t.test('max_connection_duration on HTTP/1: a request in flight finishes with Connection: close', async (t) => {
  const conn = keepAlive(legate.port('maxdur'));
  conn.socket.write('GET /hold-h1 HTTP/1.1\r\nhost: x\r\n\r\n');
  await upstream.waitFor('/hold-h1');
  const before = (await stats()).get('http.maxdur.downstream_cx_max_duration_reached') ?? 0;
  await waitFor('the duration reached', async () => (((await stats()).get('http.maxdur.downstream_cx_max_duration_reached') ?? 0) > before ? true : undefined));
  t.equal(conn.socket.destroyed, false, 'the busy connection is not cut');
  releaseHeld();
  await within(conn.closed, 'the close');
  t.match(conn.received(), /^HTTP\/1\.1 200 [^]*connection: close\r\n[^]*ok$/);
});

t.test('max_connection_duration on HTTP/2: GOAWAY, and drain_timeout later the connection closes under a stream still in flight', async (t) => {
  const client = new RawH2Client(legate.port('maxdur2'));
  t.teardown(() => client.close());
  client.get(1, '/hold-h2');
  await upstream.waitFor('/hold-h2');
  const goaway = await client.waitFrame('GOAWAY', (f) => f.type === FRAME_GOAWAY);
  t.equal(goawayLastStream(goaway), 1, 'GOAWAY names the stream in flight as the last');
  const closedAt = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the connection did not close within 5 s')), 5000);
    client.socket.once('close', () => {
      clearTimeout(timer);
      resolve(performance.now());
    });
  });
  t.ok(closedAt - goaway.at >= 500, `closed ${Math.round(closedAt - goaway.at)} ms after GOAWAY (drain_timeout 600 ms)`);
  t.notOk(client.frames.some((f) => f.type === FRAME_HEADERS && f.streamId === 1), 'the held stream was cut, not answered');
  t.equal((await stats()).get('http.maxdur2.downstream_cx_max_duration_reached'), 1);
  releaseHeld();
});

// A client that reads the connection: close response and keeps its side open, so only Legate
// closes (seen in its downstream_cx_active: the client's socket stays half-open).
async function closeDelay(t: Test, name: string): Promise<number> {
  const conn = keepAlive(legate.port(name), true);
  t.teardown(() => conn.socket.destroy());
  const fin = new Promise<number>((resolve) => conn.socket.on('end', () => resolve(performance.now())));
  conn.socket.write('GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
  const finAt = await within(fin, "Legate's FIN");
  await waitFor('Legate closed the connection', async () => ((await stats()).get(`http.${name}.downstream_cx_active`) === 0 ? true : undefined));
  return performance.now() - finAt;
}

t.test('delayed_close_timeout 0: closed right after the response', async (t) => {
  const ms = await closeDelay(t, 'noclose');
  t.ok(ms < 250, `closed ${Math.round(ms)} ms after Legate's FIN`);
});

t.test('delayed_close_timeout 0.3s: a peer that never closes is cut at 300 ms', async (t) => {
  const ms = await closeDelay(t, 'shortclose');
  t.ok(ms >= 250 && ms < 900, `closed ${Math.round(ms)} ms after Legate's FIN`);
});

t.test('idle_timeout: a keep-alive HTTP/1 connection without requests closes', async (t) => {
  const start = performance.now();
  const conn = keepAlive(legate.port('idle'));
  conn.socket.write('GET /once HTTP/1.1\r\nhost: x\r\n\r\n');
  const closedAt = await within(conn.closed, 'the close');
  t.match(conn.received(), /^HTTP\/1\.1 200 /);
  t.ok(closedAt - start >= 250, `closed after ${Math.round(closedAt - start)} ms`);
});

t.test("the connection manager's max_stream_duration: 408 and downstream_rq_max_duration_reached", async (t) => {
  const reply = await fetchText(legate.url('/hold-stream', 'maxstream'));
  t.equal(reply.status, 408);
  t.equal((await stats()).get('http.maxstream.downstream_rq_max_duration_reached'), 1);
});

t.test("a cluster's max_connection_duration: the upstream connection is closed at the deadline and the next request opens another", async (t) => {
  t.equal((await fetchText(legate.url('/first', 'upstreamdur'))).status, 200);
  await waitFor('the upstream connection expired', async () => ((await stats()).get('cluster.shortlived.upstream_cx_max_duration_reached') === 1 ? true : undefined));
  await waitFor('the expired idle connection closed', async () => ((await stats()).get('cluster.shortlived.upstream_cx_active') === 0 ? true : undefined));
  t.equal((await fetchText(legate.url('/second', 'upstreamdur'))).status, 200);
  t.equal((await stats()).get('cluster.shortlived.upstream_cx_total'), 2, 'a second connection');
});

t.test("a cluster's max_stream_duration: an upstream attempt past it ends in 504 UMSDR", async (t) => {
  const start = performance.now();
  const reply = await fetchText(legate.url('/hold-upstream-stream', 'upstreamstream'));
  t.equal(reply.status, 504);
  t.equal(reply.body, 'upstream max stream duration reached');
  t.ok(performance.now() - start >= 250, 'at the deadline');
  t.equal((await stats()).get('cluster.shortstreams.upstream_rq_max_duration_reached'), 1);
  releaseHeld();
});
