// Http1ClientConnection against a real node:http server (plain, chunked, HEAD, close-delimited,
// 1xx, trailers, keep-alive reuse, idle close) and against a raw server sending malformed responses.
import { once } from 'node:events';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { Http1ClientConnection } from '../../../proxy/codec/index.ts';
import type { ClientConnectionCallbacks, HeaderMap, RequestHeaders } from '../../../proxy/codec/index.ts';
import { eventually, SeenResponse } from './helpers.ts';

class ConnectionEvents implements ClientConnectionCallbacks {
  idle = 0;
  closed = 0;
  onClose(): void {
    this.closed++;
  }
  onIdle(): void {
    this.idle++;
  }
}

async function connect(t: Test, port: number): Promise<{ conn: Http1ClientConnection; events: ConnectionEvents }> {
  const socket = net.connect({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  t.teardown(() => socket.destroy());
  const events = new ConnectionEvents();
  return { conn: new Http1ClientConnection(socket, events, { maxResponseHeadersKb: 60, maxHeadersCount: 100 }), events };
}

async function nodeServer(t: Test, handler: http.RequestListener): Promise<number> {
  const server = http.createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return (server.address() as AddressInfo).port;
}

function request(method: string, path: string, headers: HeaderMap = {}): RequestHeaders {
  return { method, path, scheme: 'http', protocol: 'HTTP/1.1', headers: { host: 'upstream', ...headers } };
}

/** Sends one request (body optional) and waits for the end of its response. */
async function exchange(conn: Http1ClientConnection, req: RequestHeaders, body?: string): Promise<SeenResponse> {
  const res = new SeenResponse();
  const encoder = conn.newStream(res);
  encoder.stream.setCallbacks(res);
  encoder.encodeHeaders(req, body === undefined);
  if (body !== undefined) encoder.encodeData(Buffer.from(body), true);
  await res.done;
  return res;
}

t.test('plain, chunked and empty-bodied requests and responses against node:http, with keep-alive reuse', async (t) => {
  const seen: string[] = [];
  const port = await nodeServer(t, (req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c));
    req.on('end', () => {
      seen.push(`${req.method} ${req.url} te=${req.headers['transfer-encoding'] ?? '-'} cl=${req.headers['content-length'] ?? '-'} ${body}`);
      if (req.url === '/chunked') {
        res.write('a');
        res.end('bc');
      } else res.end(`got ${body}`);
    });
  });
  const { conn, events } = await connect(t, port);
  t.equal(conn.capacity, 1);
  const a = await exchange(conn, request('GET', '/plain'));
  t.equal(a.head?.status, 200);
  t.equal(a.head?.headers['content-length'], '4');
  t.equal(a.body, 'got ');
  await eventually('idle', () => events.idle === 1);
  t.equal(conn.capacity, 1, 'reusable');
  t.equal(conn.bytesReceivedOnStream, 0, 'no stream');

  const res = new SeenResponse();
  const encoder = conn.newStream(res);
  t.equal(conn.capacity, 0, 'busy');
  encoder.stream.setCallbacks(res);
  encoder.encodeHeaders(request('POST', '/chunked'), false);
  encoder.encodeData(Buffer.from('x'), false);
  encoder.encodeData(Buffer.from('yz'), true);
  await res.done;
  t.ok(conn.bytesReceivedOnStream > 0 || events.idle === 2, 'bytes were counted for the stream');
  t.equal(res.head?.headers['transfer-encoding'], 'chunked');
  t.equal(res.body, 'abc');

  const c = await exchange(conn, request('POST', '/empty'));
  t.equal(c.body, 'got ');
  const d = await exchange(conn, request('PUT', '/sized', { 'content-length': '3' }), 'abc');
  t.equal(d.body, 'got abc');
  t.same(seen, ['GET /plain te=- cl=- ', 'POST /chunked te=chunked cl=- xyz', 'POST /empty te=- cl=0 ', 'PUT /sized te=- cl=3 abc']);
  await eventually('idle', () => events.idle === 4);
  t.equal(events.closed, 0, 'one connection for all four');
});

t.test('HEAD: headers only, even with a content-length', async (t) => {
  const port = await nodeServer(t, (_req, res) => {
    res.setHeader('content-length', '11');
    res.end();
  });
  const { conn } = await connect(t, port);
  const r = await exchange(conn, request('HEAD', '/'));
  t.equal(r.headEndStream, true);
  t.equal(r.head?.headers['content-length'], '11');
  const again = await exchange(conn, request('GET', '/'));
  t.equal(again.head?.status, 200, 'the connection is still in sync');
});

t.test('a close-delimited response ends at EOF; the connection is not reused', async (t) => {
  const server = net.createServer((s) => {
    s.once('data', () => s.end('HTTP/1.1 200 OK\r\n\r\nuntil the end'));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => server.close());
  const { conn, events } = await connect(t, (server.address() as AddressInfo).port);
  const r = await exchange(conn, request('GET', '/'));
  t.equal(r.body, 'until the end');
  t.same(r.resets, []);
  await eventually('close', () => events.closed === 1);
  t.equal(events.idle, 0);
  t.equal(conn.capacity, 0);
});

t.test('1xx: 100 Continue and 103 Early Hints come before the final response', async (t) => {
  const port = await nodeServer(t, (req, res) => {
    res.writeEarlyHints({ link: '</a.css>; rel=preload' });
    req.resume();
    req.on('end', () => res.end('done'));
  });
  const { conn } = await connect(t, port);
  const res = new SeenResponse();
  const encoder = conn.newStream(res);
  encoder.stream.setCallbacks(res);
  encoder.encodeHeaders(request('POST', '/', { expect: '100-continue', 'content-length': '4' }), false);
  await eventually('100 Continue', () => res.informational.length >= 1);
  t.equal(res.informational[0].status, 100);
  encoder.encodeData(Buffer.from('body'), true);
  await res.done;
  t.same(res.informational.map((h) => h.status), [100, 103]);
  t.equal(res.informational[1].headers.link, '</a.css>; rel=preload');
  t.equal(res.body, 'done');
});

t.test('trailers both ways', async (t) => {
  let got: NodeJS.Dict<string> = {};
  const port = await nodeServer(t, (req, res) => {
    req.resume();
    req.on('end', () => {
      got = req.trailers;
      res.setHeader('trailer', 'x-sum');
      res.write('data');
      res.addTrailers({ 'x-sum': '7' });
      res.end();
    });
  });
  const { conn } = await connect(t, port);
  const res = new SeenResponse();
  const encoder = conn.newStream(res);
  encoder.stream.setCallbacks(res);
  encoder.encodeHeaders(request('POST', '/'), false);
  encoder.encodeData(Buffer.from('abc'), false);
  encoder.encodeTrailers({ 'x-req-sum': '3' });
  await res.done;
  t.same(got, { 'x-req-sum': '3' });
  t.equal(res.body, 'data');
  t.same(res.trailers, { 'x-sum': '7' });
});

t.test('the upstream closing an idle connection: onIdle, then onClose, no stream reset', async (t) => {
  // A keep-alive response, then the upstream's idle close (FIN) with nothing outstanding.
  const server = net.createServer((s) => s.once('data', () => s.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok')));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => server.close());
  const { conn, events } = await connect(t, (server.address() as AddressInfo).port);
  const r = await exchange(conn, request('GET', '/'));
  t.equal(r.body, 'ok');
  await eventually('close', () => events.closed === 1);
  t.equal(events.idle, 1, 'it was offered back first');
  t.same(r.resets, []);
  t.equal(conn.capacity, 0);
});

t.test('the upstream dying mid-response resets the stream with connection-termination', async (t) => {
  const server = net.createServer((s) => {
    s.once('data', () => {
      s.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial');
      setImmediate(() => s.destroy());
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => server.close());
  const { conn, events } = await connect(t, (server.address() as AddressInfo).port);
  const r = await exchange(conn, request('GET', '/'));
  t.equal(r.body, 'partial');
  t.equal(r.resets.length, 1);
  t.match(r.resets[0], /^connection-termination/);
  t.ok(conn.bytesReceivedOnStream > 0 || r.chunks.length > 0);
  await eventually('close', () => events.closed === 1);
});

t.test('a reused connection closed before any response byte: bytesReceivedOnStream stays 0', async (t) => {
  let n = 0;
  const server = net.createServer((s) => {
    s.on('data', () => {
      if (n++ === 0) s.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
      else s.destroy();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => server.close());
  const { conn } = await connect(t, (server.address() as AddressInfo).port);
  await exchange(conn, request('GET', '/1'));
  const res = new SeenResponse();
  const encoder = conn.newStream(res);
  encoder.stream.setCallbacks(res);
  encoder.encodeHeaders(request('GET', '/2'), true);
  await res.done;
  t.match(res.resets[0], /^connection-termination/);
  t.equal(conn.bytesReceivedOnStream, 0, 'the pool may resend');
});

const malformed: [string, string][] = [
  ['a bad status line', 'HTTP/1.1 abc OK\r\n\r\n'],
  ['CL and TE together', 'HTTP/1.1 200 OK\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n'],
  ['bad chunk framing', 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n'],
  ['not HTTP at all', 'SSH-2.0-OpenSSH_9.0\r\n'],
  ['a header with a space before the colon', 'HTTP/1.1 200 OK\r\nfoo : bar\r\ncontent-length: 0\r\n\r\n'],
];

for (const [name, bytes] of malformed) {
  t.test(`a malformed response (${name}) -> protocol-error and the connection closes`, async (t) => {
    const server = net.createServer((s) => s.once('data', () => s.write(bytes)));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    t.teardown(() => server.close());
    const { conn, events } = await connect(t, (server.address() as AddressInfo).port);
    const r = await exchange(conn, request('GET', '/'));
    t.equal(r.resets.length, 1);
    t.match(r.resets[0], /^protocol-error: /);
    await eventually('close', () => events.closed === 1);
    t.equal(events.idle, 0);
  });
}

t.test('more than max_headers_count response headers -> protocol-error', async (t) => {
  let head = 'HTTP/1.1 200 OK\r\n';
  for (let i = 0; i < 101; i++) head += `x-h${i}: v\r\n`;
  const server = net.createServer((s) => s.once('data', () => s.write(head + 'content-length: 0\r\n\r\n')));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => server.close());
  const { conn } = await connect(t, (server.address() as AddressInfo).port);
  const r = await exchange(conn, request('GET', '/'));
  t.same(r.resets, ['protocol-error: http1.too_many_headers']);
});

t.test('Connection: close from the upstream: the response completes, the connection is not offered again', async (t) => {
  const port = await nodeServer(t, (_req, res) => {
    res.setHeader('connection', 'close');
    res.end('last');
  });
  const { conn, events } = await connect(t, port);
  const r = await exchange(conn, request('GET', '/'));
  t.equal(r.body, 'last');
  t.same(r.resets, []);
  await eventually('close', () => events.closed === 1);
  t.equal(events.idle, 0);
});
