// HTTP/2 downstream: node:http2 clients through a running Legate to plain HTTP/1 upstreams. h2c
// with prior knowledge, many streams on one connection, flow control both ways, trailers, client
// resets, GOAWAY on drain, codec_type AUTO serving HTTP/1 and h2c on one listener, h2 over TLS by
// ALPN, and curl when it is installed.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import t, { type Test } from 'tap';
import { bootstrap, fileAccessLog, httpListener, routes, staticCluster } from '../../support/bootstrap.ts';
import { startLegate, type RunningLegate } from '../../support/legate.ts';
import { startUpstream, type Upstream } from '../../support/upstream.ts';
import { createTestCa, opensslMissing } from '../../support/test-ca.ts';

const MiB = 1024 * 1024;

interface H2Response {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: Buffer;
  trailers: http2.IncomingHttpHeaders | undefined;
}

/** One request on an open session; the body (if any) is written whole. */
function h2request(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: Buffer | string): Promise<H2Response> {
  return new Promise((resolve, reject) => {
    const req = session.request(headers, { endStream: body === undefined });
    const chunks: Buffer[] = [];
    let status = 0;
    let head: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders | undefined;
    req.on('response', (h) => {
      status = Number(h[':status']);
      head = h;
    });
    req.on('trailers', (h) => (trailers = h));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve({ status, headers: head, body: Buffer.concat(chunks), trailers }));
    req.on('error', reject);
    if (body !== undefined) req.end(body);
  });
}

function connect(t: Test, url: string, options: http2.SecureClientSessionOptions = {}): http2.ClientHttp2Session {
  const session = http2.connect(url, options);
  session.on('error', () => undefined);
  t.teardown(() => session.destroy());
  return session;
}

async function stat(legate: RunningLegate, name: string): Promise<number> {
  const res = await fetch(legate.adminUrl('/stats?format=json'));
  const json = (await res.json()) as { stats: { name: string; value: number }[] };
  return json.stats.find((s) => s.name === name)?.value ?? 0;
}

// The upstream: /echo answers with what it got (method, url, headers, body length and digest);
// /big/N sends N MiB; /chunked sends a chunked body with trailers; /fixed sends 5 bytes with a
// content-length; /slow never answers.
const upstream: Upstream = await startUpstream('h1', (req, res) => {
  const url = req.url ?? '';
  if (url.startsWith('/big/')) {
    const total = Number(url.slice(5)) * MiB;
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': total });
    const chunk = Buffer.alloc(64 * 1024, 'x');
    let sent = 0;
    const pump = (): void => {
      while (sent < total) {
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
    return;
  }
  if (url === '/chunked') {
    res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-checksum' });
    res.write('part one, ');
    res.addTrailers({ 'x-checksum': 'abc123' });
    res.end('part two');
    return;
  }
  if (url === '/slow') return;
  if (url === '/fixed') {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 5 });
    res.end('fixed');
    return;
  }
  const hash = createHash('sha256');
  let bytes = 0;
  req.on('data', (c: Buffer) => {
    bytes += c.length;
    hash.update(c);
  });
  req.on('end', () => {
    const text = JSON.stringify({ method: req.method, url, headers: req.headers, bytes, digest: hash.digest('hex') });
    res.writeHead(200, { 'content-type': 'application/json', 'set-cookie': ['a=1', 'b=2'], 'x-upstream': 'h1' });
    res.end(text);
  });
});
t.teardown(() => upstream.close());

const route = routes([{ match: { prefix: '/' }, route: { cluster: 'h1', timeout: '10s' } }]);

async function legateWith(t: Test, hcmExtra: object, listenerExtra: object = {}): Promise<RunningLegate> {
  const legate = await startLegate(bootstrap([{ ...httpListener('h2in', route, hcmExtra), ...listenerExtra }], [staticCluster('h1', [{ port: upstream.port }])]));
  t.teardown(() => legate.stop());
  return legate;
}

t.test('h2c with prior knowledge (codec_type HTTP2)', async (t) => {
  const legate = await legateWith(t, { codec_type: 'HTTP2' });
  const session = connect(t, `http://127.0.0.1:${legate.port()}`);

  t.test('GET: pseudo-headers become the HTTP/1 request, set-cookie comes back as two', async (t) => {
    const res = await h2request(session, { ':method': 'GET', ':path': '/echo?q=1', ':scheme': 'https', ':authority': 'example.test', cookie: ['a=1', 'b=2'] });
    t.equal(res.status, 200);
    const seen = JSON.parse(res.body.toString());
    t.equal(seen.method, 'GET');
    t.equal(seen.url, '/echo?q=1');
    t.equal(seen.headers.host, 'example.test', ':authority is the Host');
    t.equal(seen.headers.cookie, 'a=1; b=2', 'split cookies are joined for HTTP/1');
    t.equal(seen.headers['x-forwarded-proto'], 'http', "the transport's scheme, not the client's :scheme");
    t.same(res.headers['set-cookie'], ['a=1', 'b=2']);
    t.equal(res.headers['x-upstream'], 'h1');
    t.equal(res.headers.connection, undefined, 'no connection-specific headers');
  });

  t.test('POST with a body', async (t) => {
    const body = Buffer.alloc(100_000, 'p');
    const res = await h2request(session, { ':method': 'POST', ':path': '/echo', ':authority': 'example.test', 'content-type': 'text/plain' }, body);
    const seen = JSON.parse(res.body.toString());
    t.equal(seen.method, 'POST');
    t.equal(seen.bytes, body.length);
    t.equal(seen.digest, createHash('sha256').update(body).digest('hex'));
  });

  t.test('100 concurrent streams on one connection', async (t) => {
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => h2request(session, { ':method': 'GET', ':path': `/echo/${i}`, ':authority': 'example.test' })),
    );
    t.same(results.map((r) => r.status), Array(100).fill(200));
    t.same(results.map((r) => JSON.parse(r.body.toString()).url), Array.from({ length: 100 }, (_, i) => `/echo/${i}`));
  });

  t.test('trailers of a chunked HTTP/1 upstream response reach the HTTP/2 client', async (t) => {
    const res = await h2request(session, { ':method': 'GET', ':path': '/chunked', ':authority': 'example.test' });
    t.equal(res.body.toString(), 'part one, part two');
    t.equal(res.trailers?.['x-checksum'], 'abc123');
  });

  t.test('an unknown route is a local reply over HTTP/2', async (t) => {
    const legate404 = await startLegate(bootstrap([httpListener('nr', routes([{ match: { prefix: '/only' }, route: { cluster: 'h1' } }]), { codec_type: 'HTTP2' })], [staticCluster('h1', [{ port: upstream.port }])]));
    t.teardown(() => legate404.stop());
    const s = connect(t, `http://127.0.0.1:${legate404.port()}`);
    const res = await h2request(s, { ':method': 'GET', ':path': '/other', ':authority': 'x' });
    t.equal(res.status, 404);
  });

  t.test('stats and protocol', async (t) => {
    t.ok((await stat(legate, 'http.h2in.downstream_cx_http2_total')) >= 1);
    t.equal(await stat(legate, 'http.h2in.downstream_cx_http2_active'), 1);
    t.ok((await stat(legate, 'http.h2in.downstream_rq_http2_total')) >= 103);
    t.equal(await stat(legate, 'http.h2in.downstream_rq_http1_total'), 0);
  });
});

t.test('large bodies both ways with flow control', async (t) => {
  // Small windows make flow control matter: 64 KiB per stream.
  const legate = await legateWith(t, { codec_type: 'HTTP2', http2_protocol_options: { initial_stream_window_size: 65535, initial_connection_window_size: 1048576 } });
  const session = connect(t, `http://127.0.0.1:${legate.port()}`);
  const up = Buffer.alloc(8 * MiB);
  for (let i = 0; i < up.length; i += 4096) up.writeUInt32BE(i, i);
  const post = await h2request(session, { ':method': 'POST', ':path': '/echo', ':authority': 'x' }, up);
  const seen = JSON.parse(post.body.toString());
  t.equal(seen.bytes, up.length, '8 MiB up');
  t.equal(seen.digest, createHash('sha256').update(up).digest('hex'));

  // Down: the client reads slowly at first (paused), so Legate must stop reading the upstream.
  const req = session.request({ ':method': 'GET', ':path': '/big/16', ':authority': 'x' });
  let received = 0;
  req.pause();
  await new Promise<void>((resolve) => req.once('response', () => resolve()));
  await new Promise((resolve) => setTimeout(resolve, 200));
  req.on('data', (c: Buffer) => (received += c.length));
  req.resume();
  await new Promise((resolve, reject) => {
    req.once('end', resolve);
    req.once('error', reject);
  });
  t.equal(received, 16 * MiB, '16 MiB down');
});

t.test('RST_STREAM from the client resets the upstream request', async (t) => {
  const legate = await legateWith(t, { codec_type: 'HTTP2' });
  const session = connect(t, `http://127.0.0.1:${legate.port()}`);
  const req = session.request({ ':method': 'GET', ':path': '/slow', ':authority': 'x' });
  req.on('error', () => undefined);
  await upstream.waitFor('/slow');
  req.close(http2.constants.NGHTTP2_CANCEL);
  const done = await upstream.waitFor('/slow', 'done');
  t.equal(done.aborted, true, 'the upstream request was cut');
  t.ok((await stat(legate, 'http2.rx_reset')) >= 1, 'http2.rx_reset');
  t.ok((await stat(legate, 'http.h2in.downstream_rq_rx_reset')) >= 1);
  // The connection serves on.
  const res = await h2request(session, { ':method': 'GET', ':path': '/echo', ':authority': 'x' });
  t.equal(res.status, 200);
});

t.test('a route timeout after the response started resets the stream (tx_reset)', async (t) => {
  const legate = await startLegate(bootstrap([httpListener('h2in', routes([{ match: { prefix: '/' }, route: { cluster: 'h1', timeout: '0.2s' } }]), { codec_type: 'HTTP2' })], [staticCluster('h1', [{ port: upstream.port }])]));
  t.teardown(() => legate.stop());
  const session = connect(t, `http://127.0.0.1:${legate.port()}`);
  const res = await h2request(session, { ':method': 'GET', ':path': '/slow', ':authority': 'x' });
  t.equal(res.status, 504, 'no response yet: a 504');
});

t.test('GOAWAY on drain: the stream in flight finishes, the connection then closes', async (t) => {
  const legate = await startLegate(bootstrap([httpListener('h2in', route, { codec_type: 'HTTP2' })], [staticCluster('h1', [{ port: upstream.port }])]));
  const session = connect(t, `http://127.0.0.1:${legate.port()}`);
  const first = await h2request(session, { ':method': 'GET', ':path': '/echo', ':authority': 'x' });
  t.equal(first.status, 200);
  const goaway = new Promise<number>((resolve) => session.once('goaway', (code) => resolve(code)));
  // A request whose body is still coming when the drain starts.
  const req = session.request({ ':method': 'POST', ':path': '/echo/draining', ':authority': 'x' });
  req.write('early ');
  await upstream.waitFor('/echo/draining');
  const drainedGoaway = await stat(legate, 'http2.goaway_sent');
  const stopping = legate.stop();
  t.equal(await goaway, http2.constants.NGHTTP2_NO_ERROR, 'GOAWAY NO_ERROR');
  req.end('late');
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  const status = await new Promise<number>((resolve) => req.once('response', (h) => resolve(Number(h[':status']))));
  await new Promise((resolve) => req.once('end', resolve));
  t.equal(status, 200, 'the stream in flight finished');
  t.equal(JSON.parse(Buffer.concat(chunks).toString()).bytes, 'early late'.length);
  await new Promise<void>((resolve) => (session.closed || session.destroyed ? resolve() : session.once('close', () => resolve())));
  await stopping;
  t.equal(drainedGoaway, 0);
});

t.test('codec_type AUTO: one plaintext listener serves HTTP/1.1 and h2c', async (t) => {
  const legate = await legateWith(t, {});
  const h1 = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    http.get(legate.url('/echo'), (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
  t.equal(h1.status, 200);
  t.equal(JSON.parse(h1.body).method, 'GET');
  const session = connect(t, `http://127.0.0.1:${legate.port()}`);
  const res = await h2request(session, { ':method': 'GET', ':path': '/echo', ':authority': 'x' });
  t.equal(res.status, 200);
  // The preface in two pieces: the sniffer waits for the rest.
  const raw = net.connect(legate.port(), '127.0.0.1');
  t.teardown(() => raw.destroy());
  await new Promise((resolve) => raw.once('connect', resolve));
  raw.write('PRI * HTTP/2.0\r\n');
  await new Promise((resolve) => setTimeout(resolve, 50));
  raw.write('\r\nSM\r\n\r\n');
  // An empty SETTINGS frame from the client; the server's SETTINGS comes back.
  raw.write(Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]));
  const frame = await new Promise<Buffer>((resolve) => raw.once('data', resolve));
  t.equal(frame[3], 4, 'the server answers with SETTINGS');
  t.equal(await stat(legate, 'http.h2in.downstream_cx_http1_total'), 1);
  t.equal(await stat(legate, 'http.h2in.downstream_cx_http2_total'), 2);
});

t.test('h2 over TLS, chosen by ALPN', { skip: opensslMissing() }, async (t) => {
  const ca = createTestCa();
  t.teardown(() => ca.remove());
  const leaf = ca.issue('legate', ['DNS:legate.test']);
  const tlsChain = {
    transport_socket: {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
        common_tls_context: { tls_certificates: [{ certificate_chain: { filename: leaf.certFile }, private_key: { filename: leaf.keyFile } }], alpn_protocols: ['h2', 'http/1.1'] },
      },
    },
  };
  const listener = httpListener('h2in', route);
  listener.filter_chains[0] = { ...listener.filter_chains[0], ...tlsChain };
  const legate = await startLegate(bootstrap([listener], [staticCluster('h1', [{ port: upstream.port }])]));
  t.teardown(() => legate.stop());
  const session = connect(t, `https://127.0.0.1:${legate.port()}`, { ca: ca.cert, servername: 'legate.test' });
  const res = await h2request(session, { ':method': 'GET', ':path': '/echo', ':authority': 'legate.test' });
  t.equal(res.status, 200);
  t.equal(JSON.parse(res.body.toString()).headers['x-forwarded-proto'], 'https');
  t.equal(await stat(legate, 'http.h2in.downstream_cx_http2_total'), 1);
});

const curlMissing = await new Promise<string | false>((resolve) => execFile('curl', ['--version'], (err, out) => resolve(err !== null ? 'needs curl' : /HTTP2/.test(out) ? false : 'curl without HTTP/2')));

t.test('curl --http2-prior-knowledge', { skip: curlMissing }, async (t) => {
  const legate = await legateWith(t, {});
  const out = await new Promise<string>((resolve, reject) =>
    execFile('curl', ['-sS', '--max-time', '5', '--http2-prior-knowledge', '-o', '/dev/null', '-w', '%{http_version} %{http_code}', legate.url('/echo')], (err, stdout) => (err !== null ? reject(err) : resolve(stdout))),
  );
  t.equal(out, '2 200');
});

const nghttpMissing = await new Promise<string | false>((resolve) => execFile('nghttp', ['--version'], (err) => resolve(err !== null ? 'needs nghttp (nghttp2-client)' : false)));

/** The frames nghttp received for its one request, as `TYPE flags`. */
async function nghttpFrames(url: string): Promise<string[]> {
  const out = await new Promise<string>((resolve, reject) =>
    execFile('nghttp', ['-v', '-n', '-t', '5', url], (err, stdout) => (err !== null ? reject(err) : resolve(stdout))),
  );
  return [...out.matchAll(/recv (DATA|HEADERS) frame <length=\d+, flags=(0x[0-9a-f]+), stream_id=(\d+)>/g)].filter((m) => m[3] !== '0').map((m) => `${m[1]} ${m[2]}`);
}

t.test('frames on the wire (nghttp): trailers where the HTTP/1 upstream sent them, none otherwise', { skip: nghttpMissing }, async (t) => {
  const legate = await legateWith(t, { codec_type: 'HTTP2' });
  // A content-length body from HTTP/1: the data, then END_STREAM (0x01) on a DATA frame.
  const fixed = await nghttpFrames(legate.url('/fixed'));
  t.same(fixed.filter((f) => f.startsWith('HEADERS')), ['HEADERS 0x04'], 'one header block, no trailers');
  t.equal(fixed.at(-1), 'DATA 0x01', 'a DATA frame ends the stream');
  // A chunked body with trailers: they end the stream as a HEADERS frame (END_STREAM | END_HEADERS).
  const chunked = await nghttpFrames(legate.url('/chunked'));
  t.equal(chunked.at(-1), 'HEADERS 0x05', 'the trailers end the stream');
  t.notOk(chunked.slice(0, -1).some((f) => f.endsWith('1')), 'nothing before the trailers ended it');
});

t.test('curl --http2 over TLS (ALPN h2) and a POST with a body', { skip: curlMissing || opensslMissing() }, async (t) => {
  const ca = createTestCa();
  t.teardown(() => ca.remove());
  const leaf = ca.issue('legate', ['DNS:legate.test']);
  const listener = httpListener('h2in', route);
  listener.filter_chains[0] = {
    ...listener.filter_chains[0],
    transport_socket: {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
        common_tls_context: { tls_certificates: [{ certificate_chain: { filename: leaf.certFile }, private_key: { filename: leaf.keyFile } }], alpn_protocols: ['h2', 'http/1.1'] },
      },
    },
  } as typeof listener.filter_chains[0];
  const legate = await startLegate(bootstrap([listener], [staticCluster('h1', [{ port: upstream.port }])]));
  t.teardown(() => legate.stop());
  const port = legate.port();
  const out = await new Promise<string>((resolve, reject) =>
    execFile('curl', ['-sS', '--max-time', '5', '--http2', '--cacert', ca.certFile, '--resolve', `legate.test:${port}:127.0.0.1`, '-d', 'curl body', '-w', '\n%{http_version} %{http_code}', `https://legate.test:${port}/echo`], (err, stdout) => (err !== null ? reject(err) : resolve(stdout))),
  );
  const [body, summary] = out.split('\n');
  t.equal(summary, '2 200');
  t.equal(JSON.parse(body).bytes, 'curl body'.length);
});

t.test('%PROTOCOL% in the access log is HTTP/2', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'legate-h2-log-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'access.log');
  const legate = await startLegate(bootstrap([httpListener('h2in', route, { codec_type: 'AUTO', access_log: [fileAccessLog(path, '%PROTOCOL% %REQ(:METHOD)% %REQ(:PATH)% %RESPONSE_CODE%\n')] })], [staticCluster('h1', [{ port: upstream.port }])]));
  const session = connect(t, `http://127.0.0.1:${legate.port()}`);
  t.equal((await h2request(session, { ':method': 'GET', ':path': '/echo/logged', ':authority': 'x' })).status, 200);
  session.close();
  await legate.stop();
  t.equal(readFileSync(path, 'utf8'), 'HTTP/2 GET /echo/logged 200\n');
});

t.test('rapid reset (CVE-2023-44487): HEADERS + RST_STREAM floods do not take Legate down', async (t) => {
  const legate = await legateWith(t, { codec_type: 'HTTP2' });
  const session = connect(t, `http://127.0.0.1:${legate.port()}`);
  const closed = new Promise<void>((resolve) => session.once('close', () => resolve()));
  const deadline = Date.now() + 10_000;
  let sent = 0;
  while (sent < 5000 && !session.closed && !session.destroyed && Date.now() < deadline) {
    try {
      const req = session.request({ ':method': 'GET', ':path': '/slow', ':authority': 'x' });
      req.on('error', () => undefined);
      req.close(http2.constants.NGHTTP2_CANCEL);
    } catch {
      break;
    }
    sent++;
    if (sent % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 5000))]);
  // A fresh connection is served.
  const fresh = connect(t, `http://127.0.0.1:${legate.port()}`);
  const res = await h2request(fresh, { ':method': 'GET', ':path': '/echo', ':authority': 'x' });
  t.equal(res.status, 200, `served after ${sent} reset streams`);
  t.equal(session.closed || session.destroyed, true, 'nghttp2 closed the flooding connection');
  t.ok((await stat(legate, 'http.h2in.downstream_cx_protocol_error')) >= 1, 'counted as a protocol error');
  t.equal(await stat(legate, 'http.h2in.downstream_rq_active'), 0, 'no stream left behind');
});

t.test('streams over max_concurrent_streams are refused, the others served', async (t) => {
  const legate = await legateWith(t, { codec_type: 'HTTP2', http2_protocol_options: { max_concurrent_streams: 2 } });
  const session = connect(t, `http://127.0.0.1:${legate.port()}`);
  await new Promise<void>((resolve) => session.once('remoteSettings', () => resolve()));
  t.equal(session.remoteSettings.maxConcurrentStreams, 2, 'the limit is announced in SETTINGS');
  const results = await Promise.all(Array.from({ length: 6 }, (_, i) => h2request(session, { ':method': 'GET', ':path': `/echo/limit/${i}`, ':authority': 'x' })));
  t.same(results.map((r) => r.status), Array(6).fill(200), 'the client queues what the limit holds back');
});

t.test('extended CONNECT (RFC 8441, allow_connect): WebSocket over HTTP/2 to an HTTP/1 upgrade upstream', async (t) => {
  const wsUpstream = http.createServer((_req, res) => res.end('plain'));
  wsUpstream.on('upgrade', (req: http.IncomingMessage, socket: net.Socket) => {
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nupgrade: ${req.headers.upgrade}\r\nconnection: upgrade\r\n\r\n`);
    socket.on('data', (d: Buffer) => socket.write(Buffer.concat([Buffer.from(`${req.method} ${req.url}: `), d])));
    socket.on('end', () => socket.end());
  });
  await new Promise<void>((resolve) => wsUpstream.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    wsUpstream.closeAllConnections();
    wsUpstream.close();
  });
  const wsPort = (wsUpstream.address() as net.AddressInfo).port;
  const legate = await startLegate(bootstrap(
    [httpListener('ws', routes([{ match: { prefix: '/' }, route: { cluster: 'ws' } }]), { codec_type: 'HTTP2', upgrade_configs: [{ upgrade_type: 'websocket' }], http2_protocol_options: { allow_connect: true } })],
    [staticCluster('ws', [{ port: wsPort }])],
  ));
  t.teardown(() => legate.stop());
  const session = connect(t, `http://127.0.0.1:${legate.port()}`);
  await new Promise<void>((resolve) => session.once('remoteSettings', () => resolve()));
  t.equal(session.remoteSettings.enableConnectProtocol, true, 'SETTINGS_ENABLE_CONNECT_PROTOCOL');
  const req = session.request({ ':method': 'CONNECT', ':protocol': 'websocket', ':path': '/chat', ':scheme': 'http', ':authority': 'x' }, { endStream: false });
  const status = await new Promise<number>((resolve) => req.once('response', (h) => resolve(Number(h[':status']))));
  t.equal(status, 200, "the upstream's 101 is HTTP/2's 200");
  req.write('hello');
  const echoed = await new Promise<string>((resolve) => req.once('data', (d: Buffer) => resolve(d.toString())));
  t.equal(echoed, 'GET /chat: hello', 'the upstream saw a GET upgrade; bytes flow both ways');
  req.end();
  await new Promise((resolve) => req.once('close', resolve));
  t.equal(req.rstCode, http2.constants.NGHTTP2_NO_ERROR);
});

t.test('idle_timeout: an idle HTTP/2 connection gets GOAWAY and closes', async (t) => {
  const legate = await legateWith(t, { codec_type: 'HTTP2', common_http_protocol_options: { idle_timeout: '0.2s' } });
  const session = connect(t, `http://127.0.0.1:${legate.port()}`);
  t.equal((await h2request(session, { ':method': 'GET', ':path': '/echo', ':authority': 'x' })).status, 200);
  const goaway = new Promise<number>((resolve) => session.once('goaway', (code) => resolve(code)));
  const closed = new Promise<void>((resolve) => session.once('close', () => resolve()));
  t.equal(await goaway, http2.constants.NGHTTP2_NO_ERROR);
  await closed;
  t.pass('closed');
});

t.test('a PING flood from a peer that never reads does not take Legate down', async (t) => {
  const legate = await legateWith(t, { codec_type: 'HTTP2' });
  const raw = net.connect(legate.port(), '127.0.0.1');
  raw.on('error', () => undefined);
  t.teardown(() => raw.destroy());
  await new Promise((resolve) => raw.once('connect', resolve));
  const closed = new Promise<void>((resolve) => raw.once('close', () => resolve()));
  raw.pause(); // never read: the PING ACKs pile up on Legate's side
  raw.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
  raw.write(Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]));
  const ping = Buffer.from([0, 0, 8, 6, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]);
  const burst = Buffer.concat(Array(1000).fill(ping));
  const deadline = Date.now() + 10_000;
  let bursts = 0;
  let open = true;
  void closed.then(() => (open = false));
  while (open && bursts < 200 && Date.now() < deadline) {
    if (!raw.write(burst)) await Promise.race([new Promise((resolve) => raw.once('drain', resolve)), closed, new Promise((resolve) => setTimeout(resolve, 200))]);
    bursts++;
  }
  raw.resume();
  await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 5000))]);
  t.equal(open, false, `the flooding connection was closed (after ${bursts * 1000} PINGs at most)`);
  t.equal(await stat(legate, 'http2.outbound_control_flood'), 1, 'http2.outbound_control_flood');
  const session = connect(t, `http://127.0.0.1:${legate.port()}`);
  t.equal((await h2request(session, { ':method': 'GET', ':path': '/echo', ':authority': 'x' })).status, 200, 'others are served');
});

t.test('HTTP/2 end to end: an h2c client through Legate to an h2c upstream, trailers both ways', async (t) => {
  const PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
  const h2server = http2.createServer();
  const sessions: http2.ServerHttp2Session[] = [];
  h2server.on('session', (s: http2.ServerHttp2Session) => sessions.push(s));
  await new Promise<void>((resolve) => h2server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const s of sessions) s.destroy();
    h2server.close();
  });
  h2server.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    let requestTrailers: http2.IncomingHttpHeaders = {};
    stream.on('trailers', (tr) => (requestTrailers = tr));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'x-path': String(headers[':path']) }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'x-request-trailer': String(requestTrailers['x-checksum']) }));
      stream.end(Buffer.concat(chunks));
    });
  });
  const cluster = staticCluster('h2', [{ port: (h2server.address() as net.AddressInfo).port }], { typed_extension_protocol_options: { [PROTOCOL_OPTIONS]: { '@type': `type.googleapis.com/${PROTOCOL_OPTIONS}`, explicit_http_config: { http2_protocol_options: {} } } } });
  const legate = await startLegate(bootstrap([httpListener('e2e', routes([{ match: { prefix: '/' }, route: { cluster: 'h2' } }]))], [cluster]));
  t.teardown(() => legate.stop());
  const session = connect(t, `http://127.0.0.1:${legate.port()}`);
  const results = await Promise.all(Array.from({ length: 20 }, async (_, i) => {
    const req = session.request({ ':method': 'POST', ':path': `/svc/Method${i}`, ':authority': 'x', 'content-type': 'application/grpc', te: 'trailers' }, { waitForTrailers: true });
    req.on('wantTrailers', () => req.sendTrailers({ 'x-checksum': `sum${i}` }));
    const res = collectStream(req);
    req.end(`message ${i}`);
    return res;
  }));
  results.forEach((res, i) => {
    t.equal(res.status, 200);
    t.equal(res.headers['x-path'], `/svc/Method${i}`);
    t.equal(res.body, `message ${i}`);
    t.equal(res.trailers?.['grpc-status'], '0');
    t.equal(res.trailers?.['x-request-trailer'], `sum${i}`, 'request trailers reached the upstream');
  });
  t.equal(sessions.length, 1, 'one upstream connection multiplexes them');
});

function collectStream(req: http2.ClientHttp2Stream): Promise<{ status: number; headers: http2.IncomingHttpHeaders; body: string; trailers?: http2.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    let status = 0;
    let headers: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders | undefined;
    let body = '';
    req.on('response', (h) => {
      status = Number(h[':status']);
      headers = h;
    });
    req.on('trailers', (h) => (trailers = h));
    req.on('data', (c) => (body += c));
    req.on('error', reject);
    req.on('end', () => resolve({ status, headers, body, trailers }));
  });
}

t.test('stream_idle_timeout and request_timeout are per stream on HTTP/2', async (t) => {
  const legate = await legateWith(t, { codec_type: 'HTTP2', stream_idle_timeout: '0.3s', request_timeout: '0.6s' });
  const session = connect(t, `http://127.0.0.1:${legate.port()}`);
  // An idle stream expires while a busy one on the same connection goes on.
  const idle = h2request(session, { ':method': 'GET', ':path': '/slow', ':authority': 'x' });
  const busy = session.request({ ':method': 'POST', ':path': '/echo/trickle', ':authority': 'x' });
  const busyRes = new Promise<number>((resolve) => busy.once('response', (h) => resolve(Number(h[':status']))));
  busy.on('data', () => undefined);
  // The trickling request outlives the idle timeout, but not request_timeout.
  const timer = setInterval(() => busy.write('.'), 50);
  t.teardown(() => clearInterval(timer));
  t.equal((await idle).status, 408, 'the idle stream: 408');
  t.equal(await stat(legate, 'http.h2in.downstream_rq_idle_timeout'), 1, 'only the idle one');
  t.equal(await busyRes, 408, 'request_timeout: 408 while the body still trickles');
  clearInterval(timer);
  t.ok((await stat(legate, 'http.h2in.downstream_rq_timeout')) >= 1);
});

t.test('CONNECT over HTTP/2 terminated by Legate (connect_config): 200, then raw TCP both ways', async (t) => {
  const echo = net.createServer((s) => {
    s.on('data', (d: Buffer) => s.write(Buffer.concat([Buffer.from('tcp:'), d])));
    s.on('end', () => s.end());
  });
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  t.teardown(() => echo.close());
  const rc = { name: 'rc', virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { connect_matcher: {} }, route: { cluster: 'echo', upgrade_configs: [{ upgrade_type: 'CONNECT', connect_config: {} }] } }] }] };
  const legate = await startLegate(bootstrap([httpListener('c', rc, { codec_type: 'HTTP2', upgrade_configs: [{ upgrade_type: 'CONNECT' }] })], [staticCluster('echo', [{ port: (echo.address() as net.AddressInfo).port }])]));
  t.teardown(() => legate.stop());
  const session = connect(t, `http://127.0.0.1:${legate.port()}`);
  const req = session.request({ ':method': 'CONNECT', ':authority': 'echo.test:443' }, { endStream: false });
  t.equal(await new Promise<number>((resolve) => req.once('response', (h) => resolve(Number(h[':status'])))), 200);
  req.write('ping');
  t.equal(await new Promise<string>((resolve) => req.once('data', (d: Buffer) => resolve(d.toString()))), 'tcp:ping');
  req.end();
  await new Promise((resolve) => req.once('close', resolve));
  t.equal(req.rstCode, http2.constants.NGHTTP2_NO_ERROR, 'both halves closed cleanly');
});

t.test('a zero-window stall: the stream idle timeout resets the stalled stream', async (t) => {
  const legate = await legateWith(t, { codec_type: 'HTTP2', stream_idle_timeout: '0.3s' });
  // The client never opens its stream window: no DATA can reach it. 4 MiB is past the stream's
  // 1 MiB write buffer (per_connection_buffer_limit_bytes), so the response cannot end.
  const session = connect(t, `http://127.0.0.1:${legate.port()}`, { settings: { initialWindowSize: 0 } });
  const req = session.request({ ':method': 'GET', ':path': '/big/4', ':authority': 'x' });
  req.on('error', () => undefined);
  t.equal(await new Promise<number>((resolve) => req.once('response', (h) => resolve(Number(h[':status'])))), 200, 'the headers are not flow-controlled');
  await new Promise((resolve) => req.once('close', resolve));
  t.not(req.rstCode, undefined, 'then the stalled stream is reset');
  t.equal(await stat(legate, 'http.h2in.downstream_rq_idle_timeout'), 1);
  t.ok((await stat(legate, 'http2.tx_reset')) >= 1, 'http2.tx_reset');
  const fresh = connect(t, `http://127.0.0.1:${legate.port()}`);
  t.equal((await h2request(fresh, { ':method': 'GET', ':path': '/echo', ':authority': 'x' })).status, 200, 'others are served');
});

t.test('a zero-window stall after the whole response was buffered: reset at the stream idle timeout (stream flush timeout)', async (t) => {
  const legate = await legateWith(t, { codec_type: 'HTTP2', stream_idle_timeout: '0.3s' });
  // 1 MiB fits the stream's write buffer: the response ends on Legate's side, unsent.
  const session = connect(t, `http://127.0.0.1:${legate.port()}`, { settings: { initialWindowSize: 0 } });
  const req = session.request({ ':method': 'GET', ':path': '/big/1', ':authority': 'x' });
  req.on('error', () => undefined);
  t.equal(await new Promise<number>((resolve) => req.once('response', (h) => resolve(Number(h[':status'])))), 200);
  await new Promise((resolve) => req.once('close', resolve));
  t.not(req.rstCode, undefined, 'the stream is reset, not held forever');
  t.equal(await stat(legate, 'http2.tx_flush_timeout'), 1, 'http2.tx_flush_timeout');
});

t.test('a SETTINGS flood from a peer that never reads does not take Legate down', async (t) => {
  const legate = await legateWith(t, { codec_type: 'HTTP2' });
  const raw = net.connect(legate.port(), '127.0.0.1');
  raw.on('error', () => undefined);
  t.teardown(() => raw.destroy());
  await new Promise((resolve) => raw.once('connect', resolve));
  let open = true;
  const closed = new Promise<void>((resolve) => raw.once('close', () => resolve()));
  void closed.then(() => (open = false));
  raw.pause();
  raw.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
  // SETTINGS_MAX_CONCURRENT_STREAMS = 100, over and over: each asks for an ACK.
  const settings = Buffer.from([0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 100]);
  const burst = Buffer.concat(Array(1000).fill(settings));
  const deadline = Date.now() + 10_000;
  let bursts = 0;
  while (open && bursts < 200 && Date.now() < deadline) {
    if (!raw.write(burst)) await Promise.race([new Promise((resolve) => raw.once('drain', resolve)), closed, new Promise((resolve) => setTimeout(resolve, 200))]);
    bursts++;
  }
  raw.resume();
  await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 5000))]);
  t.equal(open, false, 'the flooding connection was closed');
  t.equal(await stat(legate, 'http2.outbound_control_flood'), 1, 'http2.outbound_control_flood');
  const session = connect(t, `http://127.0.0.1:${legate.port()}`);
  t.equal((await h2request(session, { ':method': 'GET', ':path': '/echo', ':authority': 'x' })).status, 200, 'others are served');
});

t.test('HTTP/1.1 to a codec_type HTTP2 listener: the connection is closed as a protocol error', async (t) => {
  const legate = await legateWith(t, { codec_type: 'HTTP2' });
  const raw = net.connect(legate.port(), '127.0.0.1');
  raw.on('error', () => undefined);
  t.teardown(() => raw.destroy());
  await new Promise((resolve) => raw.once('connect', resolve));
  raw.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
  raw.resume();
  await new Promise((resolve) => raw.once('close', resolve));
  t.equal(await stat(legate, 'http.h2in.downstream_cx_protocol_error'), 1);
});
