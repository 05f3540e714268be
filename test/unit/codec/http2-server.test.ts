// Http2ServerConnection against node:http2 clients on loopback, with a small recording owner:
// header blocks both ways, bodies and trailers, 1xx, resets both ways, readDisable, watermarks,
// drain (GOAWAY), close, request_headers_timeout, connection_keepalive; and the header helpers.
import { once } from 'node:events';
import http2 from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { Http2ServerConnection, http2RequestHeaders, http2ResponseHeaders, requestFromHttp2 } from '../../../proxy/codec/index.ts';
import type { HeaderMap, RequestDecoder, RequestHeaders, ResponseEncoder, StreamCallbacks, StreamResetReason } from '../../../proxy/codec/index.ts';

class Seen implements RequestDecoder, StreamCallbacks {
  readonly encoder: ResponseEncoder;
  head: RequestHeaders | null = null;
  headEndStream = false;
  events: string[] = [];
  body: Buffer[] = [];
  trailers: HeaderMap | null = null;
  resets: string[] = [];
  above = 0;
  below = 0;
  constructor(encoder: ResponseEncoder) {
    this.encoder = encoder;
    encoder.stream.setCallbacks(this);
  }
  decodeHeaders(head: RequestHeaders, endStream: boolean): void {
    this.head = head;
    this.headEndStream = endStream;
    this.events.push(`headers${endStream ? ' end' : ''}`);
  }
  decodeData(data: Buffer, endStream: boolean): void {
    this.body.push(data);
    this.events.push(`data ${data.length}${endStream ? ' end' : ''}`);
  }
  decodeTrailers(trailers: HeaderMap): void {
    this.trailers = trailers;
    this.events.push('trailers');
  }
  onResetStream(reason: StreamResetReason): void {
    this.resets.push(reason);
  }
  onAboveWriteBufferHighWatermark(): void {
    this.above++;
  }
  onBelowWriteBufferLowWatermark(): void {
    this.below++;
  }
}

interface Harness {
  port: number;
  streams: Seen[];
  conns: Http2ServerConnection[];
  counts: Record<string, number>;
  /** Resolves with the next stream the owner sees. */
  nextStream(): Promise<Seen>;
  client(): http2.ClientHttp2Session;
}

async function harness(t: Test, onStream: (s: Seen) => void = () => undefined, extra: Partial<ConstructorParameters<typeof Http2ServerConnection>[2]> = {}): Promise<Harness> {
  const streams: Seen[] = [];
  const conns: Http2ServerConnection[] = [];
  const counts: Record<string, number> = {};
  const waiters: ((s: Seen) => void)[] = [];
  const counter = (name: string) => ({ inc: () => void (counts[name] = (counts[name] ?? 0) + 1) });
  const server = net.createServer((socket) => {
    const conn = new Http2ServerConnection(socket, {
      newStream(encoder) {
        const seen = new Seen(encoder);
        streams.push(seen);
        onStream(seen);
        waiters.shift()?.(seen);
        return seen;
      },
      onProtocolError() {},
    }, {
      scheme: 'http', maxRequestHeadersKb: 60, maxHeadersCount: 100, hpackTableSize: 4096, maxConcurrentStreams: 100,
      initialStreamWindowSize: 65535, initialConnectionWindowSize: 1048576, allowConnect: true,
      stats: { rxReset: counter('rx_reset'), txReset: counter('tx_reset'), goawaySent: counter('goaway_sent'), keepaliveTimeout: counter('keepalive_timeout'),
        outboundControlFlood: counter('outbound_control_flood'), protocolError: counter('protocol_error') },
      ...extra,
    });
    conns.push(conn);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const sessions: http2.ClientHttp2Session[] = [];
  t.teardown(() => {
    for (const s of sessions) s.destroy();
    for (const c of conns) c.close();
    server.close();
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port, streams, conns, counts,
    nextStream: () => new Promise((resolve) => waiters.push(resolve)),
    client() {
      const s = http2.connect(`http://127.0.0.1:${port}`);
      s.on('error', () => undefined);
      sessions.push(s);
      return s;
    },
  };
}

/** Collects a client stream's response. */
function collect(req: http2.ClientHttp2Stream): Promise<{ status: number; headers: http2.IncomingHttpHeaders; body: string; trailers?: http2.IncomingHttpHeaders; informational: number[]; rst: number | undefined }> {
  return new Promise((resolve) => {
    let status = 0;
    let headers: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders | undefined;
    const informational: number[] = [];
    let body = '';
    req.on('headers', (h) => informational.push(Number(h[':status'])));
    req.on('response', (h) => {
      status = Number(h[':status']);
      headers = h;
    });
    req.on('trailers', (h) => (trailers = h));
    req.on('data', (c) => (body += c));
    req.on('error', () => undefined);
    req.on('close', () => resolve({ status, headers, body, trailers, informational, rst: req.rstCode }));
  });
}

t.test('header blocks', async (t) => {
  const head = requestFromHttp2([':method', 'GET', ':scheme', 'https', ':authority', 'a.test', ':path', '/x?y', 'cookie', 'a=1', 'cookie', 'b=2', 'x-r', '1', 'x-r', '2', 'host', 'other'], 'http');
  t.same(head, { method: 'GET', path: '/x?y', scheme: 'http', protocol: 'HTTP/2', headers: { cookie: 'a=1; b=2', 'x-r': ['1', '2'], host: 'a.test' } });
  const connect = requestFromHttp2([':method', 'CONNECT', ':authority', 'db:5432'], 'http');
  t.equal(connect.path, 'db:5432', 'CONNECT takes the authority as its path');
  const ws = requestFromHttp2([':method', 'CONNECT', ':protocol', 'websocket', ':scheme', 'http', ':path', '/chat', ':authority', 'a'], 'http');
  t.same([ws.method, ws.path, ws.headers.upgrade, ws.headers.connection], ['GET', '/chat', 'websocket', 'upgrade'], 'extended CONNECT is the HTTP/1 upgrade it stands for');
  const out = http2ResponseHeaders({ status: 200, headers: { connection: 'close', 'keep-alive': 'x', 'transfer-encoding': 'chunked', upgrade: 'h2c', 'proxy-connection': 'x', 'content-type': ['a', 'b'], 'set-cookie': ['1', '2'], te: 'trailers, deflate' } });
  t.same({ ...out }, { ':status': 200, 'content-type': 'a, b', 'set-cookie': ['1', '2'], te: 'trailers' }, 'connection-specific headers are dropped, single-value repeats joined');
  const req = http2RequestHeaders({ method: 'POST', path: '/p', scheme: 'http', protocol: 'HTTP/1.1', headers: { host: 'h.test', connection: 'keep-alive', 'x-a': 'b' } });
  t.same(req, [':method', 'POST', ':scheme', 'http', ':path', '/p', ':authority', 'h.test', 'x-a', 'b'], 'the raw list request() takes');
});

t.test('a request with body and trailers; a response with 100-continue, body and trailers', async (t) => {
  const h = await harness(t, (s) => {
    s.decodeTrailers = (trailers) => {
      s.trailers = trailers;
      s.events.push('trailers');
      s.encoder.encode1xxHeaders({ status: 100, headers: {} });
      s.encoder.encodeHeaders({ status: 200, headers: { 'x-reply': 'yes', connection: 'close' } }, false);
      s.encoder.encodeData(Buffer.from('hello '), false);
      s.encoder.encodeData(Buffer.from('world'), false);
      s.encoder.encodeTrailers({ 'grpc-status': '0' });
    };
  });
  const session = h.client();
  const req = session.request({ ':method': 'POST', ':path': '/up', 'content-type': 'text/plain' }, { waitForTrailers: true });
  req.on('wantTrailers', () => req.sendTrailers({ 'x-sum': '42' }));
  req.end('payload');
  const res = await collect(req);
  const seen = h.streams[0];
  t.equal(seen.head!.method, 'POST');
  t.equal(seen.head!.headers.host, `127.0.0.1:${h.port}`);
  t.same(seen.events, ['headers', 'data 7', 'trailers']);
  t.same(seen.trailers, { 'x-sum': '42' });
  t.same(res.informational, [100]);
  t.equal(res.status, 200);
  t.equal(res.headers['x-reply'], 'yes');
  t.equal(res.headers.connection, undefined);
  t.equal(res.body, 'hello world');
  t.equal(res.trailers?.['grpc-status'], '0');
  t.equal(res.rst, http2.constants.NGHTTP2_NO_ERROR);
});

t.test('noTrailers: the response ends without waiting for trailers; the last body chunk ends the stream', async (t) => {
  const waits: number[] = [];
  const h = await harness(t, (s) => {
    queueMicrotask(() => {
      const noTrailers = s.head!.path === '/fixed';
      let wants = 0;
      const h2 = (s.encoder as unknown as { h2: http2.ServerHttp2Stream }).h2;
      h2.prependListener('wantTrailers', () => wants++);
      h2.on('close', () => waits.push(wants));
      s.encoder.encodeHeaders({ status: 200, headers: {}, noTrailers }, false);
      s.encoder.encodeData(Buffer.from('first '), false);
      s.encoder.encodeData(Buffer.from('last'), true);
    });
  });
  const session = h.client();
  for (const path of ['/fixed', '/maybe']) {
    const res = await collect(session.request({ ':method': 'GET', ':path': path }));
    t.equal(res.body, 'first last', path);
    t.equal(res.trailers, undefined, `${path}: no trailers`);
    t.equal(res.rst, 0, `${path}: ended cleanly`);
  }
  t.same(waits, [0, 1], "node asked for trailers only where they could come");
});

t.test('HEAD and 204: body bytes from the owner are dropped', async (t) => {
  const h = await harness(t, (s) => {
    queueMicrotask(() => {
      s.encoder.encodeHeaders({ status: s.head!.method === 'HEAD' ? 200 : 204, headers: { 'content-length': '5' } }, false);
      s.encoder.encodeData(Buffer.from('12345'), true);
    });
  });
  const session = h.client();
  for (const method of ['HEAD', 'GET']) {
    const res = await collect(session.request({ ':method': method, ':path': '/' }));
    t.equal(res.body, '', method);
    t.equal(res.rst, 0);
  }
});

t.test('resets both ways', async (t) => {
  const h = await harness(t);
  const session = h.client();
  // Ours: RST_STREAM reaches the client.
  const first = h.nextStream();
  const a = collect(session.request({ ':method': 'GET', ':path': '/a' }));
  (await first).encoder.stream.resetStream('local-reset');
  t.equal((await a).rst, http2.constants.NGHTTP2_NO_ERROR, "Envoy's local reset code");
  t.equal(h.counts.tx_reset, 1);
  // Theirs: the owner hears remote-reset.
  const second = h.nextStream();
  const req = session.request({ ':method': 'POST', ':path': '/b' });
  req.on('error', () => undefined);
  req.write('x');
  const seen = await second;
  req.close(http2.constants.NGHTTP2_CANCEL);
  await new Promise<void>((resolve) => {
    const poll = setInterval(() => seen.resets.length > 0 && (clearInterval(poll), resolve()), 5);
    setTimeout(() => (clearInterval(poll), resolve()), 2000);
  });
  t.same(seen.resets, ['remote-reset']);
  t.equal(h.counts.rx_reset, 1);
  // A response complete before its request: the rest of the request is cut off with RST_STREAM.
  const third = h.nextStream();
  const early = session.request({ ':method': 'POST', ':path': '/c' });
  early.write('partial');
  const s3 = await third;
  s3.encoder.encodeHeaders({ status: 413, headers: {} }, true);
  const res = await collect(early);
  t.equal(res.status, 413);
  t.same(s3.resets, [], 'no reset reported for a stream the owner completed');
});

t.test('readDisable nests and holds the body; write watermarks', async (t) => {
  const h = await harness(t);
  const session = h.client();
  const next = h.nextStream();
  const req = session.request({ ':method': 'POST', ':path': '/' });
  const seen = await next;
  seen.encoder.stream.readDisable(true);
  seen.encoder.stream.readDisable(true);
  req.write(Buffer.alloc(1000));
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.same(seen.events, ['headers'], 'nothing delivered while disabled');
  seen.encoder.stream.readDisable(false);
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.same(seen.events, ['headers'], 'still disabled once');
  seen.encoder.stream.readDisable(false);
  req.end();
  const deadline = Date.now() + 2000;
  while (!seen.events.some((e) => e.endsWith('end')) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  t.equal(Buffer.concat(seen.body).length, 1000);
  // Watermarks: the client does not read, the stream window (64 KiB) fills, writes queue up.
  req.pause();
  seen.encoder.encodeHeaders({ status: 200, headers: {} }, false);
  for (let i = 0; i < 20 && seen.above === 0; i++) seen.encoder.encodeData(Buffer.alloc(16 * 1024), false);
  t.equal(seen.above, 1, 'above the high watermark');
  const drained = new Promise<void>((resolve) => {
    const poll = setInterval(() => seen.below > 0 && (clearInterval(poll), resolve()), 5);
    setTimeout(() => (clearInterval(poll), resolve()), 3000);
  });
  req.resume();
  await drained;
  t.equal(seen.below, 1, 'below the low watermark once the client read');
  seen.encoder.encodeData(Buffer.alloc(0), true);
});

t.test('drain: GOAWAY, the stream in flight finishes; close resets; expireRequestHeaders', async (t) => {
  const h = await harness(t);
  const session = h.client();
  const next = h.nextStream();
  const inFlight = collect(session.request({ ':method': 'GET', ':path': '/' }));
  const seen = await next;
  const goaway = once(session, 'goaway');
  h.conns[0].drain();
  await goaway;
  t.equal(h.counts.goaway_sent, 1);
  seen.encoder.encodeHeaders({ status: 200, headers: {} }, true);
  t.equal((await inFlight).status, 200);
  await once(session, 'close');

  const s2 = h.client();
  const next2 = h.nextStream();
  const r2 = collect(s2.request({ ':method': 'GET', ':path': '/' }));
  const seen2 = await next2;
  h.conns[1].close();
  await r2;
  t.same(seen2.resets, ['connection-termination']);

  // A connection that never started a stream is closed by request_headers_timeout.
  const raw = net.connect(h.port, '127.0.0.1');
  await once(raw, 'connect');
  while (h.conns.length < 3) await new Promise((resolve) => setTimeout(resolve, 5));
  h.conns[2].expireRequestHeaders();
  raw.resume();
  await once(raw, 'close');
  t.pass('closed');
});

t.test('connection_keepalive: a peer that never answers PINGs is closed', async (t) => {
  const h = await harness(t, undefined, { keepalive: { intervalMs: 50, timeoutMs: 50 } });
  const raw = net.connect(h.port, '127.0.0.1');
  raw.on('error', () => undefined);
  await once(raw, 'connect');
  // The preface and an empty SETTINGS; then silence (no SETTINGS ACK, no PING ACK).
  raw.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
  raw.write(Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]));
  raw.resume();
  await once(raw, 'close');
  t.equal(h.counts.keepalive_timeout, 1);
});

t.test('oversized headers are refused by nghttp2 without taking the connection owner down', async (t) => {
  const h = await harness(t);
  const session = h.client();
  const res = await collect(session.request({ ':method': 'GET', ':path': '/', 'x-big': 'a'.repeat(70 * 1024) }));
  t.equal(res.status, 0, 'no response');
  t.not(res.rst, 0, 'the stream was reset');
  t.equal(h.streams.length, 0, 'the owner never saw it');
});
