// Request smuggling and malformed input: strict llhttp plus our own checks answer 400/431 and the
// owner never sees the request (no decodeHeaders, so nothing is forwarded); the connection closes.
import t from 'tap';
import { codecServer, RawClient, TestOwner } from './helpers.ts';

const rejected: [string, string, number, string][] = [
  ['CL.TE', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG', 400, 'http1.content_length_and_chunked_not_allowed'],
  ['TE.CL', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n', 400, 'http1.content_length_and_chunked_not_allowed'],
  ['Transfer-Encoding: xchunked', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n', 400, 'http1.invalid_transfer_encoding'],
  ['Transfer-Encoding: chunked, identity', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n', 400, 'http1.invalid_transfer_encoding'],
  ['Transfer-Encoding: gzip, chunked', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n', 400, 'http1.invalid_transfer_encoding'],
  ['two Transfer-Encoding headers', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400, 'http1.invalid_transfer_encoding'],
  ['a space before the colon', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n', 400, 'http1.invalid_characters'],
  ['a vertical tab before chunked', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\x0bchunked\r\n\r\n0\r\n\r\n', 400, 'http1.invalid_characters'],
  ['an obs-folded Transfer-Encoding', 'POST / HTTP/1.1\r\nHost: a\r\nX: y\r\n Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400, 'http1.invalid_characters'],
  ['duplicate differing Content-Length', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd', 400, 'http1.codec_error'],
  ['Content-Length: 3, 4', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 4\r\n\r\nabcd', 400, 'http1.codec_error'],
  ['Content-Length: +3', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\nabc', 400, 'http1.codec_error'],
  ['two different Host headers', 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 400, 'http1.invalid_host'],
  ['bare LF line endings', 'GET / HTTP/1.1\nHost: a\n\n', 400, 'http1.codec_error'],
  ['an HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 400, 'http1.codec_error'],
];

for (const [name, bytes, status, details] of rejected) {
  t.test(`${name} -> ${status} ${details}, nothing forwarded, connection closed`, async (t) => {
    const srv = await codecServer(t);
    const c = new RawClient(srv.port, t);
    c.write(bytes);
    const text = await c.untilEnd();
    t.match(text, new RegExp(`^HTTP/1\\.1 ${status} `));
    t.match(text, /connection: close\r\n/);
    const owner = srv.owners[0];
    t.same(owner.errors, [{ status, details }]);
    t.equal(owner.requests.length, 1, 'one stream, for the error');
    t.equal(owner.requests[0].head, null, 'the owner never saw request headers');
  });
}

t.test('Transfer-Encoding:<tab>chunked is valid whitespace and is decoded as chunked', async (t) => {
  const srv = await codecServer(t);
  const c = new RawClient(srv.port, t);
  c.write('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\tchunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n');
  await c.until('the answer', (s) => s.endsWith('POST / 3'));
  t.same(srv.owners[0].errors, []);
});

t.test('the same Host twice is one Host', async (t) => {
  const srv = await codecServer(t);
  const c = new RawClient(srv.port, t);
  c.write('GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n');
  await c.until('the answer', (s) => s.endsWith('GET / 0'));
  t.equal(srv.owners[0].requests[0].head?.headers.host, 'a');
});

t.test('more than max_headers_count headers -> 431 http1.too_many_headers', async (t) => {
  const srv = await codecServer(t);
  const c = new RawClient(srv.port, t);
  let head = 'GET / HTTP/1.1\r\nHost: a\r\n';
  for (let i = 0; i < 100; i++) head += `X-H${i}: v\r\n`;
  c.write(head + '\r\n');
  const text = await c.untilEnd();
  t.match(text, /^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
  t.same(srv.owners[0].errors, [{ status: 431, details: 'http1.too_many_headers' }]);
  t.equal(srv.owners[0].requests[0].head, null);
});

t.test('exactly max_headers_count headers is fine (batches of more than 32 are gathered)', async (t) => {
  const srv = await codecServer(t);
  const c = new RawClient(srv.port, t);
  let head = 'GET / HTTP/1.1\r\nHost: a\r\n';
  for (let i = 0; i < 99; i++) head += `X-H${i}: v${i}\r\n`;
  c.write(head + '\r\n' + head + '\r\n');
  await c.until('two answers', (s) => s.split('GET / 0').length === 3);
  const headers = srv.owners[0].requests[1].head!.headers;
  t.equal(Object.keys(headers).length, 100);
  t.equal(headers['x-h98'], 'v98');
  t.equal(headers.host, 'a');
});

t.test('a header block over max_request_headers_kb -> 431 http1.headers_too_large', async (t) => {
  const srv = await codecServer(t, () => new TestOwner(), { maxRequestHeadersKb: 8 });
  const c = new RawClient(srv.port, t);
  c.write(`GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${'x'.repeat(9 * 1024)}\r\n\r\n`);
  const text = await c.untilEnd();
  t.match(text, /^HTTP\/1\.1 431 /);
  t.same(srv.owners[0].errors, [{ status: 431, details: 'http1.headers_too_large' }]);
});

t.test('bad chunk framing mid-body surfaces on that stream; the owner answers 400 and the connection closes', async (t) => {
  const srv = await codecServer(t);
  const c = new RawClient(srv.port, t);
  c.write('POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel');
  c.write('lo\r\nzz\r\n');
  const text = await c.untilEnd();
  t.match(text, /^HTTP\/1\.1 400 /);
  const owner = srv.owners[0];
  t.equal(owner.requests.length, 1, 'the same stream');
  t.equal(owner.requests[0].head?.path, '/up');
  t.equal(owner.requests[0].body, 'hello');
  t.equal(owner.requests[0].ended, false, 'the request never ended');
  t.same(owner.errors, [{ status: 400, details: 'http1.codec_error' }]);
});

t.test('a protocol error after the response started: the owner resets and the connection closes', async (t) => {
  const owner = new TestOwner();
  owner.onHeaders = (req) => req.encoder.encodeHeaders({ status: 200, headers: {} }, false);
  const srv = await codecServer(t, () => owner);
  const c = new RawClient(srv.port, t);
  c.write('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nnot-hex\r\n');
  await c.closed;
  t.same(owner.errors, [{ status: 400, details: 'http1.codec_error' }]);
  t.notMatch(c.text, /400/);
});
