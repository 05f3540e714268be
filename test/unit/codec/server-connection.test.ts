// Http1ServerConnection on loopback sockets, driven with exact request bytes: decoding, response
// framing (content-length, chunked, HEAD, 204/304, HTTP/1.0, trailers), 100-continue, keep-alive
// and close, drain, resets.
import t from 'tap';
import { codecServer, RawClient, TestOwner, countResponses, eventually } from './helpers.ts';

t.test('a simple GET is decoded and answered with a content-length', async (t) => {
  const srv = await codecServer(t);
  const c = new RawClient(srv.port, t);
  c.write('GET /hello?x=1 HTTP/1.1\r\nHost: example.com\r\nX-Multi: a\r\nX-MULTI: b\r\n\r\n');
  const text = await c.until('a response', (s) => s.endsWith('GET /hello?x=1 0'));
  t.match(text, /^HTTP\/1\.1 200 OK\r\n/);
  t.match(text, /\r\ncontent-length: 16\r\n/);
  t.notMatch(text, /connection:/i, 'keep-alive is the HTTP/1.1 default: nothing to say');
  const req = srv.owners[0].requests[0];
  t.same(
    { method: req.head?.method, path: req.head?.path, scheme: req.head?.scheme, protocol: req.head?.protocol },
    { method: 'GET', path: '/hello?x=1', scheme: 'http', protocol: 'HTTP/1.1' },
  );
  t.equal(req.head?.headers.host, 'example.com');
  t.same(req.head?.headers['x-multi'], ['a', 'b'], 'repeated headers become an array, lower-case name');
  t.equal(req.headEndStream, true, 'no body: endStream at the headers');
  t.match(req.encoder.stream.remoteAddress, /^127\.0\.0\.1:\d+$/);
  t.equal(req.encoder.stream.localAddress, `127.0.0.1:${srv.port}`);
});

t.test('keep-alive: a second request on the same connection gets its own stream', async (t) => {
  const srv = await codecServer(t);
  const c = new RawClient(srv.port, t);
  c.write('GET /1 HTTP/1.1\r\nHost: a\r\n\r\n');
  await c.until('first', (s) => countResponses(s) === 1 && s.endsWith('/1 0'));
  c.write('POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello');
  const text = await c.until('second', (s) => s.endsWith('POST /2 5'));
  t.equal(countResponses(text), 2);
  t.equal(srv.connections.length, 1, 'one connection');
  t.equal(srv.owners[0].requests.length, 2);
  t.equal(srv.owners[0].requests[1].body, 'hello');
  t.equal(srv.owners[0].requests[1].headEndStream, false);
});

t.test('a chunked request body is decoded chunk by chunk; its trailers end the stream', async (t) => {
  const srv = await codecServer(t);
  const c = new RawClient(srv.port, t);
  c.write('POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: 42\r\n\r\n');
  await c.until('a response', (s) => s.endsWith('POST /up 11'));
  const req = srv.owners[0].requests[0];
  t.equal(req.body, 'hello world');
  t.same(req.trailers, { 'x-checksum': '42' });
});

t.test('a response without content-length to an HTTP/1.1 client is chunked, with trailers', async (t) => {
  const owner = new TestOwner();
  owner.onEnd = (req) => {
    req.encoder.encodeHeaders({ status: 200, headers: { 'content-type': 'text/plain' } }, false);
    req.encoder.encodeData(Buffer.from('abc'), false);
    req.encoder.encodeData(Buffer.alloc(0), false); // must not end the chunked body
    req.encoder.encodeData(Buffer.from('defgh'), false);
    req.encoder.encodeTrailers({ 'grpc-status': '0' });
  };
  const srv = await codecServer(t, () => owner);
  const c = new RawClient(srv.port, t);
  c.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  const text = await c.until('the trailers', (s) => s.endsWith('\r\n\r\n') && s.includes('grpc-status'));
  t.equal(text, 'HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n5\r\ndefgh\r\n0\r\ngrpc-status: 0\r\n\r\n');
});

t.test('the head and a small body leave in one write', async (t) => {
  const owner = new TestOwner();
  owner.onEnd = (req) => {
    req.encoder.encodeHeaders({ status: 200, headers: {} }, false);
    req.encoder.encodeData(Buffer.from('one'), false);
    req.encoder.encodeData(Buffer.from('two'), true);
  };
  const srv = await codecServer(t, () => owner);
  const c = new RawClient(srv.port, t);
  let reads = 0;
  c.socket.on('data', () => reads++);
  c.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  const text = await c.until('the end', (s) => s.endsWith('0\r\n\r\n'));
  t.equal(text, 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\none\r\n3\r\ntwo\r\n0\r\n\r\n');
  t.equal(reads, 1, 'one segment on loopback');
});

t.test('endStream at the headers without a length adds content-length: 0, except 204/304 and HEAD', async (t) => {
  const owner = new TestOwner();
  owner.onEnd = (req) => {
    const status = Number(req.head?.path.slice(1));
    req.encoder.encodeHeaders({ status, headers: {} }, true);
  };
  const srv = await codecServer(t, () => owner);
  const c = new RawClient(srv.port, t);
  c.write('GET /200 HTTP/1.1\r\nHost: a\r\n\r\nGET /204 HTTP/1.1\r\nHost: a\r\n\r\nGET /304 HTTP/1.1\r\nHost: a\r\n\r\nHEAD /200 HTTP/1.1\r\nHost: a\r\n\r\n');
  const text = await c.until('four responses', (s) => countResponses(s) === 4 && s.endsWith('\r\n\r\n'));
  t.equal(
    text,
    'HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n' +
      'HTTP/1.1 204 No Content\r\n\r\n' +
      'HTTP/1.1 304 Not Modified\r\n\r\n' +
      'HTTP/1.1 200 OK\r\n\r\n',
  );
});

t.test('a HEAD response keeps its content-length and sends no body bytes', async (t) => {
  const owner = new TestOwner();
  owner.onEnd = (req) => {
    req.encoder.encodeHeaders({ status: 200, headers: { 'content-length': '5' } }, false);
    req.encoder.encodeData(Buffer.from('hello'), true);
  };
  const srv = await codecServer(t, () => owner);
  const c = new RawClient(srv.port, t);
  c.write('HEAD / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n');
  const text = await c.until('two responses', (s) => s.endsWith('hello'));
  t.equal(text, 'HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello');
});

t.test('204 and 304 never carry a body, even when the owner sends one', async (t) => {
  const owner = new TestOwner();
  owner.onEnd = (req) => {
    req.encoder.encodeHeaders({ status: 204, headers: {} }, false);
    req.encoder.encodeData(Buffer.from('nope'), true);
  };
  const srv = await codecServer(t, () => owner);
  const c = new RawClient(srv.port, t);
  c.write('GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n');
  const text = await c.until('two responses', (s) => countResponses(s) === 2 && s.endsWith('\r\n\r\n'));
  t.equal(text, 'HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n');
});

t.test('HTTP/1.0: keep-alive is answered with connection: keep-alive; without it the connection closes', async (t) => {
  const srv = await codecServer(t);
  const c = new RawClient(srv.port, t);
  c.write('GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
  await c.until('first', (s) => s.endsWith('/a 0'));
  t.match(c.text, /\r\nconnection: keep-alive\r\n/);
  t.equal(srv.owners[0].requests[0].head?.protocol, 'HTTP/1.0');
  c.write('GET /b HTTP/1.0\r\n\r\n');
  const text = await c.untilEnd();
  t.match(text, /\r\nconnection: close\r\n\r\nGET \/b 0$/);
});

t.test('HTTP/1.0 without a length: the body is close-delimited', async (t) => {
  const owner = new TestOwner();
  owner.onEnd = (req) => {
    req.encoder.encodeHeaders({ status: 200, headers: {} }, false);
    req.encoder.encodeData(Buffer.from('streamed'), true);
  };
  const srv = await codecServer(t, () => owner);
  const c = new RawClient(srv.port, t);
  c.write('GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
  const text = await c.untilEnd();
  t.equal(text, 'HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nstreamed');
});

t.test('Connection: close: the response is intact, then the connection closes; later bytes are never parsed', async (t) => {
  const srv = await codecServer(t);
  const c = new RawClient(srv.port, t);
  c.write('GET /only HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /never HTTP/1.1\r\nHost: a\r\n\r\ngarbage\r\n\r\n');
  const text = await c.untilEnd();
  t.equal(text, 'HTTP/1.1 200 OK\r\ncontent-length: 11\r\nconnection: close\r\n\r\nGET /only 0');
  t.equal(srv.owners[0].requests.length, 1, 'the owner saw one request');
  t.same(srv.owners[0].errors, []);
});

t.test('a response with connection: close closes the connection after it', async (t) => {
  const owner = new TestOwner();
  owner.onEnd = (req) => req.reply(200, 'bye', { connection: 'close' });
  const srv = await codecServer(t, () => owner);
  const c = new RawClient(srv.port, t);
  c.write('GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /second HTTP/1.1\r\nHost: a\r\n\r\n');
  const text = await c.untilEnd();
  t.equal(countResponses(text), 1);
  t.match(text, /connection: close\r\n\r\nbye$/);
  t.equal(owner.requests.length, 1);
});

t.test('Expect: 100-continue: the owner sends 100 at once, the body follows, then the response', async (t) => {
  const owner = new TestOwner();
  owner.onHeaders = (req) => {
    if (req.head?.headers.expect === '100-continue') req.encoder.encode1xxHeaders({ status: 100, headers: {} });
  };
  const srv = await codecServer(t, () => owner);
  const c = new RawClient(srv.port, t);
  c.write('PUT /file HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n');
  await c.until('100 Continue', (s) => s === 'HTTP/1.1 100 Continue\r\n\r\n');
  c.write('data');
  const text = await c.until('the final response', (s) => s.endsWith('PUT /file 4'));
  t.match(text, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
});

t.test('a response may start before the request body ended (streaming echo)', async (t) => {
  const owner = new TestOwner();
  owner.onHeaders = (req) => req.encoder.encodeHeaders({ status: 200, headers: {} }, false);
  owner.onData = (req, data) => {
    if (data.length > 0) req.encoder.encodeData(data, false);
  };
  owner.onEnd = (req) => req.encoder.encodeData(Buffer.alloc(0), true);
  const srv = await codecServer(t, () => owner);
  const c = new RawClient(srv.port, t);
  c.write('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n');
  await c.until('the first echo', (s) => s.endsWith('3\r\nabc\r\n'));
  c.write('2\r\nde\r\n0\r\n\r\n');
  await c.until('the end', (s) => s.endsWith('2\r\nde\r\n0\r\n\r\n'));
  c.write('GET /next HTTP/1.1\r\nHost: a\r\n\r\n');
  await c.until('the next response on the same connection', (s) => s.endsWith('0\r\n\r\n') && countResponses(s) === 2);
  t.equal(owner.requests.length, 2);
});

t.test('drain: an idle connection closes at once; a busy one answers with connection: close first', async (t) => {
  const owner = new TestOwner();
  let hold: (() => void) | null = null;
  owner.onEnd = (req) => (hold = () => req.reply(200, 'late'));
  const srv = await codecServer(t, () => owner);
  const c = new RawClient(srv.port, t);
  c.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  await eventually('the request', () => hold !== null);
  srv.connections[0].drain();
  hold!();
  const text = await c.untilEnd();
  t.match(text, /connection: close\r\n\r\nlate$/);

  const idle = new RawClient(srv.port, t);
  await eventually('the second connection', () => srv.connections.length === 2);
  srv.connections[1].drain();
  t.equal(await idle.untilEnd(), '');
});

t.test('the client going away mid-request resets the stream with connection-termination', async (t) => {
  const srv = await codecServer(t);
  const c = new RawClient(srv.port, t);
  c.write('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\npartial');
  await eventually('the headers', () => srv.owners[0]?.requests.length === 1);
  c.socket.destroy();
  const req = srv.owners[0].requests[0];
  await eventually('the reset', () => req.resets.length > 0);
  t.equal(req.resets.length, 1);
  t.match(req.resets[0], /^connection-termination /);
});

t.test('resetStream closes the connection without a callback; close() resets the active stream', async (t) => {
  const owner = new TestOwner();
  owner.onEnd = (req) => {
    if (req.head?.path === '/reset') req.encoder.stream.resetStream('local-reset');
  };
  const srv = await codecServer(t, () => owner);
  const c = new RawClient(srv.port, t);
  c.write('GET /reset HTTP/1.1\r\nHost: a\r\n\r\n');
  await c.closed;
  t.same(owner.requests[0].resets, [], 'no callback for our own reset');

  const d = new RawClient(srv.port, t);
  d.write('GET /hang HTTP/1.1\r\nHost: a\r\n\r\n');
  await eventually('the request', () => owner.requests.length === 2);
  srv.connections[1].close();
  await d.closed;
  await eventually('the reset', () => owner.requests[1].resets.length === 1);
  t.match(owner.requests[1].resets[0], /^connection-termination/);
});
