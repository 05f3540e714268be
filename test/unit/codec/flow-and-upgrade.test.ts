// Back-pressure (watermark callbacks, readDisable), a 100 MiB body streamed with bounded memory,
// and upgrades/CONNECT relaying raw bytes both ways, server and client side.
import { once } from 'node:events';
import net, { type AddressInfo } from 'node:net';
import t from 'tap';
import { Http1ClientConnection } from '../../../proxy/codec/index.ts';
import type { HeaderMap, ResponseDecoder, ResponseHeaders } from '../../../proxy/codec/index.ts';
import { codecServer, eventually, RawClient, TestOwner, type SeenRequest } from './helpers.ts';

t.test('a client that does not read: onAboveWriteBufferHighWatermark, then Below once it reads', async (t) => {
  const owner = new TestOwner();
  let req: SeenRequest | null = null;
  let sent = 0;
  owner.onEnd = (r) => {
    req = r;
    r.encoder.encodeHeaders({ status: 200, headers: {} }, false);
    // Produce until told to stop (bounded: 256 MiB at most).
    const chunk = Buffer.alloc(1024 * 1024, 'x');
    while (r.above === 0 && sent < 256 * chunk.length) {
      r.encoder.encodeData(chunk, false);
      sent += chunk.length;
    }
  };
  const srv = await codecServer(t, () => owner);
  const c = new RawClient(srv.port, t);
  c.socket.pause();
  c.write('GET /big HTTP/1.1\r\nHost: a\r\n\r\n');
  await eventually('the high watermark', () => req !== null && req.above === 1);
  t.ok(sent < 256 * 1024 * 1024, `production stopped after ${sent} bytes`);
  t.equal(req!.below, 0);
  c.socket.resume();
  await eventually('the low watermark', () => req!.below === 1);
  req!.encoder.encodeData(Buffer.alloc(0), true);
  await c.until('the whole body', () => c.received > sent);
});

t.test('readDisable stops delivering the body; enabling again resumes it (calls nest)', async (t) => {
  const owner = new TestOwner();
  owner.onHeaders = (r) => {
    r.keep = false;
    r.encoder.stream.readDisable(true);
    r.encoder.stream.readDisable(true);
  };
  const srv = await codecServer(t, () => owner);
  const c = new RawClient(srv.port, t);
  const total = 32 * 1024 * 1024;
  c.write(`POST / HTTP/1.1\r\nHost: a\r\nContent-Length: ${total}\r\n\r\n`);
  c.write(Buffer.alloc(total, 'y'));
  await eventually('the client to be blocked by a full socket', () => owner.requests.length === 1 && c.socket.writableLength > 0);
  const before = owner.requests[0].bodyBytes;
  t.ok(before < total, `only ${before} of ${total} bytes were delivered while disabled`);
  owner.requests[0].encoder.stream.readDisable(false);
  t.ok(owner.requests[0].bodyBytes < total, 'still disabled: one enable is missing');
  owner.requests[0].encoder.stream.readDisable(false);
  await c.until('the answer', (s) => s.endsWith(`POST / ${total}`), 10_000);
});

t.test('a 100 MiB request body streams through with bounded memory', async (t) => {
  const owner = new TestOwner();
  owner.onHeaders = (r) => (r.keep = false);
  const srv = await codecServer(t, () => owner);
  const c = new RawClient(srv.port, t);
  const total = 100 * 1024 * 1024;
  const chunk = Buffer.alloc(256 * 1024, 'z');
  const rss0 = process.memoryUsage().rss;
  let peak = rss0;
  c.write(`POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n`);
  for (let sent = 0; sent < total; sent += chunk.length) {
    c.socket.write(`${chunk.length.toString(16)}\r\n`);
    c.socket.write(chunk);
    if (!c.socket.write('\r\n')) await once(c.socket, 'drain');
    peak = Math.max(peak, process.memoryUsage().rss);
  }
  c.write('0\r\n\r\n');
  await c.until('the answer', (s) => s.endsWith(`POST /up ${total}`), 20_000);
  t.equal(owner.requests[0].bodyBytes, total);
  // Below the body size: buffering it would fail. What grows is uncollected 64 KiB read copies.
  const growth = (peak - rss0) / 1024 / 1024;
  t.ok(growth < 80, `RSS grew ${growth.toFixed(1)} MiB while 100 MiB went through`);
});

t.test('websocket-style upgrade: early bytes, raw relay both ways, half-close', async (t) => {
  const owner = new TestOwner();
  owner.onHeaders = (r) => {
    r.encoder.encodeHeaders({ status: 101, headers: { upgrade: 'websocket', connection: 'Upgrade' } }, false);
  };
  owner.onData = (r, data) => r.encoder.encodeData(Buffer.from(data.toString().toUpperCase()), false);
  owner.onEnd = (r) => {
    if (!r.headEndStream) r.encoder.encodeData(Buffer.from('bye'), true);
  };
  const srv = await codecServer(t, () => owner);
  const c = new RawClient(srv.port, t);
  c.write('GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nearly');
  await c.until('the 101 and the early bytes echoed', (s) => s.endsWith('EARLY'));
  t.match(c.text, /^HTTP\/1\.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\r\nEARLY$/);
  c.write('GET / HTTP/1.1\r\n\r\n'); // not parsed: raw payload now
  await c.until('the relayed bytes', (s) => s.endsWith('GET / HTTP/1.1\r\n\r\n'));
  c.socket.end();
  const text = await c.untilEnd();
  t.match(text, /bye$/);
  t.equal(owner.requests.length, 1);
  t.equal(owner.requests[0].head?.headers.upgrade, 'websocket');
  t.equal(owner.requests[0].headEndStream, false);
  t.same(owner.requests[0].resets, []);
});

t.test('CONNECT: 200 then a raw tunnel', async (t) => {
  const owner = new TestOwner();
  owner.onHeaders = (r) => r.encoder.encodeHeaders({ status: 200, headers: {} }, false);
  owner.onData = (r, data) => r.encoder.encodeData(data, false);
  owner.onEnd = (r) => r.encoder.encodeData(Buffer.alloc(0), true);
  const srv = await codecServer(t, () => owner);
  const c = new RawClient(srv.port, t);
  c.write('CONNECT db.internal:5432 HTTP/1.1\r\nHost: db.internal:5432\r\n\r\n');
  await c.until('200', (s) => s === 'HTTP/1.1 200 OK\r\n\r\n');
  t.equal(owner.requests[0].head?.path, 'db.internal:5432');
  c.write('\x00\x01binary\r\n\r\n');
  await c.until('echo', (s) => s.endsWith('\x00\x01binary\r\n\r\n'));
  c.socket.end();
  await c.untilEnd();
});

t.test('a refused upgrade is an ordinary response, then the connection closes', async (t) => {
  const owner = new TestOwner();
  owner.onHeaders = (r) => r.reply(403, 'no');
  const srv = await codecServer(t, () => owner);
  const c = new RawClient(srv.port, t);
  c.write('GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
  const text = await c.untilEnd();
  t.equal(text, 'HTTP/1.1 403 Forbidden\r\ncontent-length: 2\r\nconnection: close\r\n\r\nno');
});

t.test('an h2c upgrade request is served as plain HTTP/1.1, headers left for the owner', async (t) => {
  const srv = await codecServer(t);
  const c = new RawClient(srv.port, t);
  c.write('GET /a HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n');
  await c.until('two answers', (s) => s.endsWith('GET /b 0'));
  t.equal(srv.owners[0].requests[0].head?.headers.upgrade, 'h2c');
  t.equal(srv.owners[0].requests.length, 2);
});

t.test('client side: a 101 response switches the connection to a raw tunnel', async (t) => {
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    s.once('data', () => {
      s.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nhello');
      s.on('data', (d: Buffer) => s.write(d));
      s.on('end', () => s.end());
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => server.close());
  const socket = net.connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, allowHalfOpen: true });
  await once(socket, 'connect');
  t.teardown(() => socket.destroy());
  let closed = 0;
  const conn = new Http1ClientConnection(socket, { onClose: () => closed++, onIdle: () => t.fail('a tunnel is never idle') }, { maxResponseHeadersKb: 60, maxHeadersCount: 100 });
  const got: string[] = [];
  let head: ResponseHeaders | null = null;
  let ended = false;
  const decoder: ResponseDecoder = {
    decode1xxHeaders: () => {},
    decodeHeaders: (h) => (head = h),
    decodeData: (d, end) => {
      got.push(d.toString());
      ended ||= end;
    },
    decodeTrailers: (_t: HeaderMap) => {},
  };
  const encoder = conn.newStream(decoder);
  encoder.encodeHeaders({ method: 'GET', path: '/ws', scheme: 'http', protocol: 'HTTP/1.1', headers: { host: 'a', upgrade: 'websocket', connection: 'Upgrade' } }, false);
  await eventually('the 101', () => head !== null && got.join('') === 'hello');
  t.equal(head!.status, 101);
  encoder.encodeData(Buffer.from('HTTP/1.1 is not parsed here'), false);
  await eventually('the echo', () => got.join('').endsWith('not parsed here'));
  encoder.encodeData(Buffer.alloc(0), true);
  await eventually('the far end closing too', () => ended && closed === 1);
  t.equal(conn.capacity, 0);
});
