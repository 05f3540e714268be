// Http2ClientConnection against a real node:http2 server on loopback: requests and responses both
// ways, 1xx, trailers both ways, many streams on one session, capacity from the peer's SETTINGS,
// connection-specific headers stripped, reset both ways, REFUSED_STREAM, GOAWAY (streams above
// the last stream id reset 'refused-stream', the others finish) and flow control.
import { once } from 'node:events';
import http2 from 'node:http2';
import net from 'node:net';
import t, { type Test } from 'tap';
import { Http2ClientConnection, type Http2ClientConnectionCallbacks, type Http2ClientOptions } from '../../../proxy/codec/index.ts';
import type { HeaderMap, RequestHeaders } from '../../../proxy/codec/index.ts';
import { eventually, SeenResponse } from './helpers.ts';
import { startH2Upstream, type H2Upstream } from '../../support/h2-upstream.ts';

class Events implements Http2ClientConnectionCallbacks {
  closed = false;
  idle = 0;
  capacity = 0;
  goAway = 0;
  onClose(): void {
    this.closed = true;
  }
  onIdle(): void {
    this.idle++;
  }
  onCapacity(): void {
    this.capacity++;
  }
  onGoAway(): void {
    this.goAway++;
  }
}

// Envoy's defaults (http2_protocol_options absent), no max_requests_per_connection.
const HTTP2_CLIENT_DEFAULTS: Http2ClientOptions = {
  maxConcurrentStreams: 2147483647,
  initialStreamWindowSize: 268435456,
  initialConnectionWindowSize: 268435456,
  hpackTableSize: 4096,
  maxResponseHeadersKb: 60,
  maxStreams: 0,
};

type Handler = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => void;

async function server(t: Test, handler: Handler, settings: http2.Settings = {}): Promise<H2Upstream> {
  return startH2Upstream(t, handler, { settings });
}

async function client(t: Test, port: number, options: Partial<Http2ClientOptions> = {}): Promise<{ conn: Http2ClientConnection; events: Events }> {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  const events = new Events();
  const conn = new Http2ClientConnection(socket, events, { ...HTTP2_CLIENT_DEFAULTS, ...options });
  t.teardown(() => conn.session.destroy());
  await eventually('the peer SETTINGS', () => conn.capacity > 0);
  return { conn, events };
}

function request(path: string, method = 'GET', headers: HeaderMap = {}): RequestHeaders {
  return { method, path, scheme: 'http', protocol: 'HTTP/1.1', headers: { host: 'example.test', ...headers } };
}

function start(conn: Http2ClientConnection, head: RequestHeaders, endStream = true): { seen: SeenResponse; encoder: ReturnType<Http2ClientConnection['newStream']> } {
  const seen = new SeenResponse();
  const encoder = conn.newStream(seen);
  encoder.stream.setCallbacks(seen);
  encoder.encodeHeaders(head, endStream);
  return { seen, encoder };
}

t.test('GET: :authority from host, connection headers stripped, response and body', async (t) => {
  let got: http2.IncomingHttpHeaders = {};
  const { port } = await server(t, (stream, headers) => {
    got = headers;
    stream.respond({ ':status': 200, 'x-multi': ['a', 'b'] });
    stream.end('hello');
  });
  const { conn, events } = await client(t, port);
  t.equal(conn.protocol, 'HTTP/2');
  const { seen } = start(conn, request('/x?y=1', 'GET', { connection: 'keep-alive', 'keep-alive': '5', 'transfer-encoding': 'chunked', upgrade: 'foo', te: 'gzip', 'x-a': '1' }));
  await seen.done;
  t.equal(got[':authority'], 'example.test');
  t.equal(got[':path'], '/x?y=1');
  t.equal(got[':scheme'], 'http');
  t.equal(got[':method'], 'GET');
  t.equal(got.host, undefined);
  for (const h of ['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'te']) t.equal(got[h], undefined, `${h} stripped`);
  t.equal(got['x-a'], '1');
  t.equal(seen.head?.status, 200);
  t.same(seen.head?.headers['x-multi'], ['a', 'b']);
  t.equal(seen.head?.headers[':status'], undefined, 'no pseudo-headers in the map');
  t.equal(seen.body, 'hello');
  await eventually('idle after the stream', () => events.idle === 1);
  t.equal(conn.capacity > 1, true);
});

t.test('te: trailers passes; POST body and request trailers; response trailers; 1xx', async (t) => {
  let te: unknown;
  let body = '';
  let trailers: http2.IncomingHttpHeaders = {};
  const { port } = await server(t, (stream, headers) => {
    te = headers.te;
    stream.on('data', (c: Buffer) => (body += c.toString()));
    stream.on('trailers', (tr) => (trailers = tr));
    stream.on('end', () => {
      stream.additionalHeaders({ ':status': 103, link: '</a>' });
      stream.respond({ ':status': 201 }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end('ok:' + body);
    });
  });
  const { conn } = await client(t, port);
  const { seen, encoder } = start(conn, request('/p', 'POST', { te: 'trailers' }), false);
  encoder.encodeData(Buffer.from('abc'), false);
  encoder.encodeData(Buffer.from('def'), false);
  encoder.encodeTrailers({ 'x-checksum': '42' });
  await seen.done;
  t.equal(te, 'trailers');
  t.equal(body, 'abcdef');
  t.equal(trailers['x-checksum'], '42');
  t.equal(seen.informational[0]?.status, 103);
  t.equal(seen.head?.status, 201);
  t.equal(seen.body, 'ok:abcdef');
  t.same(seen.trailers, { 'grpc-status': '0' });
});

t.test('a body ended by encodeData(x, true) with no trailers; HEAD-like end at headers', async (t) => {
  const { port } = await server(t, (stream, headers) => {
    if (headers[':method'] === 'HEAD') {
      stream.respond({ ':status': 204 }, { endStream: true });
      return;
    }
    let n = 0;
    stream.on('data', (c: Buffer) => (n += c.length));
    stream.on('end', () => {
      stream.respond({ ':status': 200 });
      stream.end(String(n));
    });
  });
  const { conn } = await client(t, port);
  const a = start(conn, request('/', 'PUT'), false);
  a.encoder.encodeData(Buffer.alloc(1000), true);
  const b = start(conn, request('/', 'HEAD'));
  await Promise.all([a.seen.done, b.seen.done]);
  t.equal(a.seen.body, '1000');
  t.equal(b.seen.head?.status, 204);
  t.equal(b.seen.headEndStream, true);
});

t.test('many streams on one session; capacity follows the peer max_concurrent_streams', async (t) => {
  const held: http2.ServerHttp2Stream[] = [];
  const { port, sessions } = await server(t, (stream) => {
    held.push(stream);
  }, { maxConcurrentStreams: 3 });
  const { conn, events } = await client(t, port);
  t.equal(conn.capacity, 3);
  const seen = [0, 1, 2].map(() => start(conn, request('/')).seen);
  t.equal(conn.capacity, 0, 'full');
  await eventually('three streams at the server', () => held.length === 3);
  held[0].respond({ ':status': 200 }, { endStream: true });
  await seen[0].done;
  await eventually('one slot free', () => conn.capacity === 1);
  t.ok(events.capacity >= 2, 'the pool heard capacity');
  for (const s of held.slice(1)) s.respond({ ':status': 200 }, { endStream: true });
  await Promise.all(seen.map((s) => s.done));
  t.equal(sessions.length, 1);
});

t.test('cluster max_concurrent_streams and max streams per connection cap capacity', async (t) => {
  const { port } = await server(t, (stream) => stream.respond({ ':status': 200 }, { endStream: true }));
  const { conn } = await client(t, port, { maxConcurrentStreams: 2, maxStreams: 3 });
  t.equal(conn.capacity, 2);
  const a = start(conn, request('/')).seen;
  const b = start(conn, request('/')).seen;
  t.equal(conn.capacity, 0);
  await Promise.all([a.done, b.done]);
  await eventually('one stream left of three', () => conn.capacity === 1);
});

t.test('resetStream sends RST_STREAM CANCEL; a peer reset is remote-reset; REFUSED_STREAM is refused-stream', async (t) => {
  const codes: number[] = [];
  const rx: number[] = [];
  const tx: number[] = [];
  const stats = { rxReset: { inc: () => rx.push(1) }, txReset: { inc: () => tx.push(1) } };
  const { port } = await server(t, (stream, headers) => {
    if (headers[':path'] === '/hold') stream.on('close', () => codes.push(stream.rstCode));
    else if (headers[':path'] === '/reset') stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    else stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
  });
  const { conn } = await client(t, port, { stats });
  const held = start(conn, request('/hold'));
  const reset = start(conn, request('/reset')).seen;
  const refused = start(conn, request('/refuse')).seen;
  await Promise.all([reset.done, refused.done]);
  t.same(reset.resetReasons, ['remote-reset']);
  t.same(refused.resetReasons, ['refused-stream']);
  t.equal(rx.length, 2, 'http2.rx_reset');
  held.encoder.stream.resetStream('local-reset');
  await eventually('the server saw the reset', () => codes.length === 1);
  t.equal(codes[0], http2.constants.NGHTTP2_CANCEL);
  t.same(held.seen.resetReasons, [], 'no callback for our own reset');
  t.equal(tx.length, 1, 'http2.tx_reset');
});

t.test('GOAWAY: streams the peer processed finish, the others reset refused-stream; no new streams', async (t) => {
  const held: http2.ServerHttp2Stream[] = [];
  const { port, sessions } = await server(t, (stream) => {
    held.push(stream);
  });
  const { conn, events } = await client(t, port);
  const first = start(conn, request('/')).seen;
  await eventually('the first stream at the server', () => held.length === 1);
  // The server processed stream 1 only; streams 3 and 5 are sent before the GOAWAY reaches us.
  const later = [start(conn, request('/')).seen, start(conn, request('/')).seen];
  sessions[0].goaway(http2.constants.NGHTTP2_NO_ERROR, 1);
  await Promise.all(later.map((s) => s.done));
  for (const s of later) t.same(s.resetReasons, ['refused-stream']);
  t.equal(events.goAway, 1);
  t.equal(conn.capacity, 0, 'no new streams after GOAWAY');
  held[0].respond({ ':status': 200 });
  held[0].end('done');
  await first.done;
  t.equal(first.body, 'done', 'the processed stream finished');
  await eventually('the connection closes once its streams ended', () => events.closed);
});

t.test('the connection closing under active streams resets them connection-termination', async (t) => {
  let streams = 0;
  const { port, sessions } = await server(t, () => streams++);
  const { conn, events } = await client(t, port);
  const seen = start(conn, request('/')).seen;
  await eventually('the stream at the server', () => streams === 1);
  sessions[0].socket.destroy();
  await seen.done;
  t.same(seen.resetReasons, ['connection-termination']);
  await eventually('onClose', () => events.closed);
});

t.test('flow control: readDisable holds a large response; write backpressure raises watermarks', async (t) => {
  const big = Buffer.alloc(4 * 1024 * 1024, 7);
  let received = 0;
  const { port } = await server(t, (stream) => {
    stream.on('data', (c: Buffer) => (received += c.length));
    stream.respond({ ':status': 200 });
    stream.end(big);
  });
  const { conn } = await client(t, port, { initialStreamWindowSize: 65535, initialConnectionWindowSize: 65535 });
  const { seen, encoder } = start(conn, request('/', 'POST'), false);
  encoder.stream.readDisable(true);
  encoder.stream.readDisable(true);
  for (let i = 0; i < 64; i++) encoder.encodeData(Buffer.alloc(64 * 1024, 1), false);
  t.ok(seen.above >= 1, 'above the high watermark');
  await eventually('below the low watermark again', () => seen.below === 1);
  encoder.encodeData(Buffer.alloc(0), true);
  await eventually('the upload arrived', () => received === 64 * 64 * 1024);
  const before = Buffer.concat(seen.chunks).length;
  t.ok(before < big.length, 'reading is disabled');
  encoder.stream.readDisable(false);
  t.equal(seen.ended, false, 'still disabled: nested');
  encoder.stream.readDisable(false);
  await seen.done;
  t.equal(Buffer.concat(seen.chunks).length, big.length);
});

t.test('a request node:http2 refuses to send: a bad header name is local-reset, a destroyed session refused-stream', async (t) => {
  const { port } = await server(t, (stream) => stream.respond({ ':status': 200 }, { endStream: true }));
  const { conn } = await client(t, port);
  const bad = start(conn, request('/', 'GET', { 'bad name': 'x' })).seen;
  t.same(bad.resetReasons, ['local-reset'], 'at once, from encodeHeaders');
  conn.session.destroy();
  const late = start(conn, request('/')).seen;
  await late.done;
  t.same(late.resetReasons, ['refused-stream'], 'it never left: the router may send it elsewhere');
});
