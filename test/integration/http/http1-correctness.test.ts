// HTTP/1 through Legate with raw bytes against a real upstream: pipelining answered in order over
// a bounded number of upstream connections, a bad request after a good one, bytes after
// Connection: close, broken chunk framing, header limits, conflicting Host headers, and request
// smuggling probes that must never reach the upstream.
import t from 'tap';
import net from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootstrap, fileAccessLog, httpListener, routes, staticCluster } from '../../support/bootstrap.ts';
import { rawExchange, statsMap, waitFor } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { startUpstream } from '../../support/upstream.ts';

const dir = mkdtempSync(join(tmpdir(), 'legate-h1-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const logPath = join(dir, 'access.log');

// Answers each request with its own path, so order can be checked.
const app = await startUpstream('app', (req, res) => {
  req.resume();
  req.once('end', () => res.end(req.url));
});
t.teardown(() => app.close());
let upstreamConnections = 0;
app.server.on('connection', () => upstreamConnections++);

const legate = await startLegate(
  bootstrap(
    [httpListener('ingress', routes([
      { match: { prefix: '/early' }, direct_response: { status: 200, body: { inline_string: 'early' } } },
      { match: { prefix: '/' }, route: { cluster: 'app' } },
    ]), { access_log: [fileAccessLog(logPath, '%REQ(:PATH)% %RESPONSE_CODE% %RESPONSE_FLAGS%\n')] })],
    [staticCluster('app', [{ port: app.port }])],
  ),
);
t.teardown(() => legate.stop());

/** The status codes and bodies of every response in a raw HTTP/1 byte stream, in order. */
function responses(raw: string): { status: number; body: string }[] {
  const out: { status: number; body: string }[] = [];
  let at = 0;
  while (at < raw.length) {
    const headEnd = raw.indexOf('\r\n\r\n', at);
    if (headEnd === -1) break;
    const head = raw.slice(at, headEnd);
    const status = Number(head.slice(9, 12));
    const length = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? '0');
    out.push({ status, body: raw.slice(headEnd + 4, headEnd + 4 + length) });
    at = headEnd + 4 + length;
  }
  return out;
}

t.test('1,000 pipelined requests in one write: all answered, in order, over one upstream connection', async (t) => {
  const before = upstreamConnections;
  const count = 1000;
  let data = '';
  for (let i = 0; i < count; i++) data += `GET /p${i} HTTP/1.1\r\nhost: x\r\n${i === count - 1 ? 'connection: close\r\n' : ''}\r\n`;
  const got = responses(await rawExchange(legate.port(), data, 30_000));
  t.equal(got.length, count, 'every request answered');
  t.ok(got.every((r, i) => r.status === 200 && r.body === `/p${i}`), 'in order, each with its own answer');
  t.ok(upstreamConnections - before <= 2, `upstream connections used: ${upstreamConnections - before}`);
});

t.test('a malformed second pipelined request: the first is answered, then 400, then close', async (t) => {
  const raw = await rawExchange(legate.port(), 'GET /first HTTP/1.1\r\nhost: x\r\n\r\nNOT HTTP AT ALL\r\n\r\n');
  const got = responses(raw);
  t.same(got.map((r) => r.status), [200, 400]);
  t.equal(got[0].body, '/first');
});

t.test('bytes after Connection: close are ignored and the response is whole', async (t) => {
  const before = app.seen.length;
  const raw = await rawExchange(legate.port(), 'GET /closing HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\nGET /never HTTP/1.1\r\nhost: x\r\n\r\n');
  const got = responses(raw);
  t.same(got, [{ status: 200, body: '/closing' }]);
  t.same(app.seen.slice(before).map((s) => s.url), ['/closing'], 'the trailing request never reached the upstream');
});

t.test('bad chunk framing mid-body: 400, DPE in the access log', async (t) => {
  const raw = await rawExchange(legate.port(), 'POST /chunky HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\nZZ\r\nbroken\r\n');
  t.match(raw, /^HTTP\/1\.1 400 /);
  const line = await waitFor('the access log line', () => (existsSync(logPath) ? readFileSync(logPath, 'utf8') : '').split('\n').find((l) => l.startsWith('/chunky ')));
  t.equal(line, '/chunky 400 DPE');
});

t.test('an answer before the request body ended: Connection: close, and the connection closes after it', async (t) => {
  // 10 of the announced 100 bytes: the rest never comes, yet the answer arrives and the socket closes.
  const raw = await rawExchange(legate.port(), 'POST /early HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n0123456789');
  t.match(raw, /^HTTP\/1\.1 200 /);
  t.match(raw, /\r\nconnection: close\r\n/);
  t.ok(raw.endsWith('early'));
});

t.test('more than 100 request headers (max_headers_count): 431', async (t) => {
  let headers = '';
  for (let i = 0; i < 101; i++) headers += `x-h${i}: v\r\n`;
  const raw = await rawExchange(legate.port(), `GET /many HTTP/1.1\r\nhost: x\r\n${headers}\r\n`);
  t.match(raw, /^HTTP\/1\.1 431 /);
});

t.test("an absolute-form target: its authority is the Host, its path the :path (Envoy's allow_absolute_url)", async (t) => {
  const before = app.seen.length;
  const got = responses(await rawExchange(legate.port(), 'GET http://example.test:8080/abs/path?q=1 HTTP/1.1\r\nhost: other\r\nconnection: close\r\n\r\n'));
  t.same(got, [{ status: 200, body: '/abs/path?q=1' }], 'routed by the path, not the whole URL');
  t.equal(app.seen[before]?.headers.host, 'example.test:8080', 'the Host comes from the URL');
  t.match(await rawExchange(legate.port(), 'GET http://[bad/x HTTP/1.1\r\nhost: x\r\n\r\n'), /^HTTP\/1\.1 400 /, 'a URL that does not parse: 400');
});

t.test('two different Host headers: 400', async (t) => {
  const raw = await rawExchange(legate.port(), 'GET /hosts HTTP/1.1\r\nhost: a\r\nhost: b\r\n\r\n');
  t.match(raw, /^HTTP\/1\.1 400 /);
});

const smuggling: [name: string, request: string][] = [
  ['CL.TE', 'POST /s HTTP/1.1\r\nhost: x\r\ncontent-length: 13\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\nSMUGGLED'],
  ['TE.CL', 'POST /s HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\ncontent-length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n'],
  ['TE obfuscated (xchunked)', 'POST /s HTTP/1.1\r\nhost: x\r\ntransfer-encoding: xchunked\r\n\r\n0\r\n\r\n'],
  ['TE obfuscated (chunked, identity)', 'POST /s HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked, identity\r\n\r\n0\r\n\r\n'],
  ['TE with a space before the colon', 'POST /s HTTP/1.1\r\nhost: x\r\ntransfer-encoding : chunked\r\n\r\n0\r\n\r\n'],
  ['duplicate differing Content-Length', 'POST /s HTTP/1.1\r\nhost: x\r\ncontent-length: 3\r\ncontent-length: 4\r\n\r\nabcd'],
];

for (const [name, request] of smuggling) {
  t.test(`smuggling probe ${name}: 400 and nothing reaches the upstream`, async (t) => {
    const before = app.seen.length;
    const raw = await rawExchange(legate.port(), request);
    t.match(raw, /^HTTP\/1\.1 400 /);
    t.equal(app.seen.length, before, 'the upstream saw no request');
  });
}

t.test('every malformed case counted in downstream_cx_protocol_error', async (t) => {
  const stats = await statsMap(legate.adminUrl(''));
  // bad second request, bad chunk, >100 headers, a URL that does not parse, two hosts, and each smuggling probe
  t.equal(stats.get('http.ingress.downstream_cx_protocol_error'), 5 + smuggling.length);
});

t.test('a half-open client socket is not needed to get the answer (keep-alive reuse works)', async (t) => {
  const socket = net.connect(legate.port(), '127.0.0.1');
  t.teardown(() => socket.destroy());
  let received = '';
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => (received += d));
  for (const path of ['/k1', '/k2', '/k3']) {
    socket.write(`GET ${path} HTTP/1.1\r\nhost: x\r\n\r\n`);
    await new Promise<void>((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error(`no answer for ${path}`)), 5000);
      const check = () => {
        if (received.endsWith(path)) {
          clearTimeout(deadline);
          socket.off('data', check);
          resolve();
        }
      };
      socket.on('data', check);
    });
  }
  t.same(responses(received).map((r) => r.body), ['/k1', '/k2', '/k3']);
});
