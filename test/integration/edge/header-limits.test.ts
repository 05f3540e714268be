// Envoy's header limits at the edge, on both codecs: headers_with_underscores_action (REJECT_REQUEST
// answers 400 on HTTP/1 and resets the stream on HTTP/2; DROP_HEADER removes the headers; both
// counted under http1.* / http2.*), and configured max_request_headers_kb and max_headers_count
// (431 on HTTP/1; on HTTP/2 the request is refused and never reaches the upstream).
import http2 from 'node:http2';
import t, { type Test } from 'tap';
import { bootstrap, httpListener, routes, staticCluster } from '../../support/bootstrap.ts';
import { rawExchange, statsMap } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { echoHandler, startUpstream } from '../../support/upstream.ts';

const upstream = await startUpstream('echo', echoHandler('echo'));
t.teardown(() => upstream.close());
const toEcho = routes([{ match: { prefix: '/' }, route: { cluster: 'echo' } }]);
const listener = (name: string, action: string | undefined, extra: object = {}) =>
  httpListener(name, toEcho, { common_http_protocol_options: action === undefined ? {} : { headers_with_underscores_action: action }, ...extra });
const legate = await startLegate(bootstrap(
  [
    listener('reject', 'REJECT_REQUEST'),
    listener('drop', 'DROP_HEADER'),
    listener('allow', undefined),
    httpListener('small', toEcho, { max_request_headers_kb: 8, common_http_protocol_options: { max_headers_count: 20 } }),
  ],
  [staticCluster('echo', [{ port: upstream.port }])],
));
t.teardown(() => legate.stop());

const stats = () => statsMap(legate.adminUrl(''));

function seenHeaders(url: string): Record<string, unknown> | undefined {
  return upstream.seen.find((s) => s.url === url)?.headers;
}

interface H2Result {
  status: number;
  rstCode?: number;
}

function h2get(session: http2.ClientHttp2Session, path: string, headers: http2.OutgoingHttpHeaders = {}): Promise<H2Result> {
  return new Promise((resolve) => {
    const req = session.request({ ':path': path, ':method': 'GET', ...headers });
    let status = 0;
    req.on('response', (h) => (status = Number(h[':status'])));
    req.resume();
    req.on('error', () => undefined);
    req.on('close', () => resolve(status === 0 ? { status, rstCode: req.rstCode } : { status }));
    req.end();
  });
}

function h2session(t: Test, name: string): http2.ClientHttp2Session {
  const session = http2.connect(`http://127.0.0.1:${legate.port(name)}`);
  session.on('error', () => undefined);
  t.teardown(() => session.destroy());
  return session;
}

t.test('REJECT_REQUEST on HTTP/1: 400, counted, nothing reaches the upstream', async (t) => {
  const raw = await rawExchange(legate.port('reject'), 'GET /h1-reject HTTP/1.1\r\nhost: x\r\nx_user: admin\r\n\r\n');
  t.match(raw, /^HTTP\/1\.1 400 /);
  t.equal(seenHeaders('/h1-reject'), undefined);
  t.equal((await stats()).get('http1.requests_rejected_with_underscores_in_headers'), 1);
  const ok = await rawExchange(legate.port('reject'), 'GET /h1-dashes HTTP/1.1\r\nhost: x\r\nx-user: a\r\nconnection: close\r\n\r\n');
  t.match(ok, /^HTTP\/1\.1 200 /, 'a request without underscores is served');
});

t.test('DROP_HEADER on HTTP/1: the underscored headers are removed and counted, the rest pass', async (t) => {
  const raw = await rawExchange(legate.port('drop'), 'GET /h1-drop HTTP/1.1\r\nhost: x\r\nx_a: 1\r\nx-b: 2\r\nX_C: 3\r\nconnection: close\r\n\r\n');
  t.match(raw, /^HTTP\/1\.1 200 /);
  const seen = seenHeaders('/h1-drop');
  t.equal(seen?.['x-b'], '2');
  t.equal(seen?.['x_a'], undefined);
  t.equal(seen?.['x_c'], undefined);
  t.equal((await stats()).get('http1.dropped_headers_with_underscores'), 2);
});

t.test('ALLOW (the default): underscored headers pass', async (t) => {
  const raw = await rawExchange(legate.port('allow'), 'GET /h1-allow HTTP/1.1\r\nhost: x\r\nx_a: 1\r\nconnection: close\r\n\r\n');
  t.match(raw, /^HTTP\/1\.1 200 /);
  t.equal(seenHeaders('/h1-allow')?.['x_a'], '1');
});

t.test('REJECT_REQUEST on HTTP/2: the stream is reset, the connection serves on', async (t) => {
  const session = h2session(t, 'reject');
  const rejected = await h2get(session, '/h2-reject', { x_user: 'admin' });
  t.equal(rejected.status, 0, 'no response');
  t.equal(rejected.rstCode, http2.constants.NGHTTP2_INTERNAL_ERROR, 'RST_STREAM');
  t.equal(seenHeaders('/h2-reject'), undefined);
  t.equal((await stats()).get('http2.requests_rejected_with_underscores_in_headers'), 1);
  const next = await h2get(session, '/h2-after');
  t.equal(next.status, 200, 'the next stream on the same connection is served');
});

t.test('DROP_HEADER on HTTP/2', async (t) => {
  const session = h2session(t, 'drop');
  const res = await h2get(session, '/h2-drop', { x_a: '1', 'x-b': '2' });
  t.equal(res.status, 200);
  t.equal(seenHeaders('/h2-drop')?.['x-b'], '2');
  t.equal(seenHeaders('/h2-drop')?.['x_a'], undefined);
  t.equal((await stats()).get('http2.dropped_headers_with_underscores'), 1);
});

t.test('max_request_headers_kb 8 on HTTP/1: 431 past it, served under it', async (t) => {
  const big = await rawExchange(legate.port('small'), `GET /h1-big HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(9 * 1024)}\r\n\r\n`);
  t.match(big, /^HTTP\/1\.1 431 /);
  const fits = await rawExchange(legate.port('small'), `GET /h1-fits HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(6 * 1024)}\r\nconnection: close\r\n\r\n`);
  t.match(fits, /^HTTP\/1\.1 200 /);
});

t.test('max_headers_count 20 on HTTP/1: 431 past it', async (t) => {
  const lines = (n: number) => Array.from({ length: n }, (_, i) => `x-h${i}: v\r\n`).join('');
  t.match(await rawExchange(legate.port('small'), `GET /h1-many HTTP/1.1\r\nhost: x\r\n${lines(20)}\r\n`), /^HTTP\/1\.1 431 /);
  t.match(await rawExchange(legate.port('small'), `GET /h1-few HTTP/1.1\r\nhost: x\r\n${lines(15)}connection: close\r\n\r\n`), /^HTTP\/1\.1 200 /);
});

t.test('max_request_headers_kb and max_headers_count on HTTP/2: refused past them, served under them', async (t) => {
  const big = await h2get(h2session(t, 'small'), '/h2-big', { 'x-big': 'a'.repeat(9 * 1024) });
  t.not(big.status, 200, `a 9 KiB header list is refused (status ${big.status}, rst ${big.rstCode})`);
  const many: http2.OutgoingHttpHeaders = {};
  for (let i = 0; i < 25; i++) many[`x-h${i}`] = 'v';
  const crowded = await h2get(h2session(t, 'small'), '/h2-many', many);
  t.not(crowded.status, 200, `25 headers are refused (status ${crowded.status}, rst ${crowded.rstCode})`);
  t.equal(seenHeaders('/h2-big'), undefined);
  t.equal(seenHeaders('/h2-many'), undefined);
  t.equal((await stats()).get('http2.header_overflow'), 1, 'the oversized list is counted');
  const fits = await h2get(h2session(t, 'small'), '/h2-fits', { 'x-big': 'a'.repeat(6 * 1024) });
  t.equal(fits.status, 200);
});
