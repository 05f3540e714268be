// tcp_proxy tunneling_config end to end: TCP carried in an HTTP CONNECT (or POST) stream to real
// CONNECT-capable upstreams written here — node:http's 'connect' for HTTP/1.1, node:http2 streams
// for HTTP/2 (h2c, and over mutual TLS with ALPN h2 as Istio's HBONE to port 15008) — that pipe
// the stream to an echo server. Bytes both ways, half-close both ways, refusals (403, 503) as
// failed connect attempts with their flags and stats, use_post, headers_to_add and hostname
// formatters, many tunnels on one HTTP/2 connection, and 20 MiB at bounded memory.
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { bootstrap, fileAccessLog, staticCluster } from '../../support/bootstrap.ts';
import { statsMap, waitFor, waitForLines } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { createTestCa, opensslMissing } from '../../support/test-ca.ts';
import { certFiles, upstreamTls } from '../tls/support.ts';
import { closedByPeer, connectClient, exchange, startEchoServer, tcpListener } from './support.ts';

const MiB = 1024 * 1024;
const PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
const http2Options = {
  typed_extension_protocol_options: {
    [PROTOCOL_OPTIONS]: { '@type': `type.googleapis.com/${PROTOCOL_OPTIONS}`, explicit_http_config: { http2_protocol_options: {} } },
  },
};

const dir = mkdtempSync(join(tmpdir(), 'legate-tunnel-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const logPath = (name: string) => join(dir, `${name}.log`);
const withLog = (name: string) => ({ access_log: [fileAccessLog(logPath(name), '%RESPONSE_FLAGS% %UPSTREAM_HOST% %BYTES_RECEIVED% %BYTES_SENT%\n')] });

const echo = await startEchoServer();
t.teardown(() => echo.close());

/** What a tunnelling upstream saw of each tunnel request. */
interface Seen {
  method: string;
  target: string; // HTTP/1.1: the request target; HTTP/2: :authority
  headers: Record<string, unknown>;
}

/** Joins the tunnel to a new echo connection, or refuses by the target's name (refuse-403, refuse-503). */
function refusal(target: string): number | undefined {
  const m = /^refuse-(\d{3})/.exec(target);
  return m === null ? undefined : Number(m[1]);
}

/** An HTTP/1.1 proxy: CONNECT (node:http's 'connect') and POST both become a pipe to the echo server. */
async function startH1Proxy() {
  const seen: Seen[] = [];
  const afterFin: Buffer[] = [];
  const server = http.createServer((req, res) => {
    // POST tunnels: the request body is the stream, the response body the answer.
    seen.push({ method: req.method!, target: req.url!, headers: req.headers });
    res.writeHead(200);
    res.flushHeaders(); // the tunnel opens on the response head, before any byte flows
    const up = net.connect(echo.port, '127.0.0.1');
    req.pipe(up);
    up.pipe(res);
  });
  server.on('connect', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    seen.push({ method: req.method!, target: req.url!, headers: req.headers });
    socket.on('error', () => {});
    const status = refusal(req.url!);
    if (status !== undefined) {
      socket.end(`HTTP/1.1 ${status} Refused\r\ncontent-length: 0\r\n\r\n`);
      return;
    }
    if (req.url === 'greeter.test:1') {
      // The upstream half-closes first (its FIN); what the client sends after that must still arrive.
      socket.end('HTTP/1.1 200 Connection Established\r\n\r\nhello, then FIN');
      socket.on('data', (c: Buffer) => afterFin.push(c));
      return;
    }
    const up = net.connect({ port: echo.port, host: '127.0.0.1', allowHalfOpen: true }, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) up.write(head);
      socket.pipe(up);
      up.pipe(socket);
    });
    up.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return { port: (server.address() as AddressInfo).port, seen, afterFin };
}

/** What the HTTP/2 proxies do with a stream: pipe CONNECT/POST to echo, refuse by target, greet-then-FIN, never answer, or reset. */
function h2Handler(seen: Seen[], afterFin: Buffer[], silentResets: number[]) {
  return (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => {
    stream.on('error', () => {});
    const method = headers[':method']!;
    const target = (method === 'CONNECT' ? headers[':authority'] : headers[':path']) as string;
    seen.push({ method, target, headers: { ...headers } });
    const status = refusal(headers[':authority'] as string);
    if (status !== undefined) {
      stream.respond({ ':status': status }, { endStream: status === 403 });
      if (status !== 403) stream.end('no upstream here');
      return;
    }
    if (headers[':authority'] === 'silent.test:1') {
      stream.on('close', () => silentResets.push(stream.rstCode));
      return;
    }
    if (headers[':authority'] === 'reset.test:1') {
      // Up, then reset by the upstream at the client's first bytes.
      stream.respond({ ':status': 200 });
      stream.write('bye');
      stream.once('data', () => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR));
      return;
    }
    if (headers[':authority'] === 'greeter.test:1') {
      // The upstream half-closes first; what the client sends after that must still arrive.
      stream.respond({ ':status': 200 });
      stream.end('hello, then END_STREAM');
      stream.on('data', (c: Buffer) => afterFin.push(c));
      return;
    }
    const up = net.connect({ port: echo.port, host: '127.0.0.1', allowHalfOpen: true }, () => {
      stream.respond({ ':status': 200 });
      stream.pipe(up);
      up.pipe(stream);
    });
    up.on('error', () => stream.close(http2.constants.NGHTTP2_CONNECT_ERROR));
  };
}

interface H2Proxy {
  port: number;
  seen: Seen[];
  afterFin: Buffer[];
  /** RST_STREAM codes of the streams that were never answered. */
  silentResets: number[];
  sessions: http2.ServerHttp2Session[];
}

async function startH2Proxy(server: http2.Http2Server | http2.Http2SecureServer): Promise<H2Proxy> {
  const proxy: H2Proxy = { port: 0, seen: [], afterFin: [], silentResets: [], sessions: [] };
  server.on('session', (s: http2.ServerHttp2Session) => {
    proxy.sessions.push(s);
    s.on('error', () => {});
  });
  server.on('stream', h2Handler(proxy.seen, proxy.afterFin, proxy.silentResets));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.port = (server.address() as AddressInfo).port;
  t.teardown(() => {
    for (const s of proxy.sessions) s.destroy();
    server.close();
  });
  return proxy;
}

const h1 = await startH1Proxy();
const h2 = await startH2Proxy(http2.createServer());

const tunnel = (hostname: string, extra: object = {}) => ({ tunneling_config: { hostname, ...extra } });

const legate = await startLegate(
  bootstrap(
    [
      tcpListener('h1', 'h1proxy', {
        ...tunnel('echo.test:%DOWNSTREAM_LOCAL_PORT%', {
          headers_to_add: [{ header: { key: 'x-tunnel-source', value: '%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%' } }],
        }),
        ...withLog('h1'),
      }),
      tcpListener('h1_greeter', 'h1proxy', tunnel('greeter.test:1')),
      tcpListener('h1_refused', 'h1proxy', { ...tunnel('refuse-403:1'), max_connect_attempts: 2, ...withLog('h1_refused') }),
      tcpListener('h2', 'h2proxy', { ...tunnel('echo.test:443'), ...withLog('h2') }),
      tcpListener('h2_greeter', 'h2proxy', tunnel('greeter.test:1')),
      tcpListener('h2_silent', 'h2proxy', { ...tunnel('silent.test:1'), idle_timeout: '0.2s' }),
      tcpListener('h2_leave', 'h2proxy', tunnel('silent.test:1')),
      tcpListener('h2_reset', 'h2proxy', tunnel('reset.test:1')),
      tcpListener('h2_503', 'h2proxy', { ...tunnel('refuse-503:1'), ...withLog('h2_503') }),
      tcpListener('h2_403', 'h2proxy', tunnel('refuse-403:1')),
      tcpListener('h2_post', 'h2proxy', tunnel('echo.test:443', { use_post: true, post_path: '/tunnel', headers_to_add: [{ header: { key: 'x-convert', value: 'connect' } }] })),
      tcpListener('h1_post', 'h1proxy', tunnel('echo.test:443', { use_post: true })),
      tcpListener('h2_bulk', 'h2bulk', tunnel('echo.test:443')),
    ],
    [
      staticCluster('h1proxy', [{ port: h1.port }]),
      staticCluster('h2proxy', [{ port: h2.port }], http2Options),
      // The HTTP/2 stream window bounds what the upstream may send ahead of a slow client (Envoy's 256 MiB by default).
      staticCluster('h2bulk', [{ port: h2.port }], {
        typed_extension_protocol_options: {
          [PROTOCOL_OPTIONS]: {
            '@type': `type.googleapis.com/${PROTOCOL_OPTIONS}`,
            explicit_http_config: { http2_protocol_options: { initial_stream_window_size: 256 * 1024, initial_connection_window_size: MiB } },
          },
        },
      }),
    ],
  ),
);
t.teardown(() => legate.stop());
const stats = () => statsMap(legate.adminUrl(''));

t.test('HTTP/1.1 CONNECT: the authority from the hostname formatter, headers_to_add, bytes both ways and the half-close', async (t) => {
  const reply = await exchange(legate.port('h1'), 'hello through an HTTP/1.1 tunnel');
  t.equal(reply.data.toString(), 'hello through an HTTP/1.1 tunnel');
  t.ok(reply.ended, 'the upstream FIN came through after the echo');
  const seen = h1.seen.at(-1)!;
  t.equal(seen.method, 'CONNECT');
  t.equal(seen.target, `echo.test:${legate.port('h1')}`, '%DOWNSTREAM_LOCAL_PORT% is the listener port');
  t.equal(seen.headers.host, `echo.test:${legate.port('h1')}`);
  t.equal(seen.headers['x-tunnel-source'], '127.0.0.1');
  const [line] = await waitForLines(logPath('h1'), 1);
  t.equal(line, `- 127.0.0.1:${h1.port} 32 32`);
});

t.test('HTTP/1.1: a refused CONNECT (403) is a failed attempt: UF, then URX when max_connect_attempts are spent', async (t) => {
  const before = h1.seen.length;
  const reply = await exchange(legate.port('h1_refused'), 'anyone?', { endAfter: false });
  t.equal(reply.data.length, 0, 'nothing relayed');
  t.equal(h1.seen.length - before, 2, 'two CONNECTs, as max_connect_attempts says');
  const [line] = await waitForLines(logPath('h1_refused'), 1);
  t.match(line, /^UF,URX 127\.0\.0\.1:\d+ 0 0$/);
  const s = await stats();
  t.equal(s.get('cluster.h1proxy.upstream_cx_connect_attempts_exceeded'), 1);
  t.equal(s.get('tcp.h1_refused.downstream_cx_total'), 1);
});

t.test('HTTP/2 CONNECT: :method and :authority only; several tunnels share one connection', async (t) => {
  const before = h2.sessions.length;
  const payloads = Array.from({ length: 8 }, (_, i) => randomBytes(1000 + i * 3000));
  const sockets = await Promise.all(payloads.map(() => connectClient(legate.port('h2'))));
  // All eight are open at once before any of them ends.
  const replies = await Promise.all(
    sockets.map((socket, i) => {
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.write(payloads[i]);
      socket.end();
      return closedByPeer(socket).then(() => Buffer.concat(chunks));
    }),
  );
  for (let i = 0; i < payloads.length; i++) t.ok(replies[i].equals(payloads[i]), `tunnel ${i} echoed whole`);
  t.equal(h2.sessions.length - before, 1, 'one HTTP/2 connection upstream');
  const seen = h2.seen.at(-1)!;
  t.equal(seen.method, 'CONNECT');
  t.equal(seen.headers[':authority'], 'echo.test:443');
  t.notOk(':path' in seen.headers, 'no :path');
  t.notOk(':scheme' in seen.headers, 'no :scheme');
  const s = await stats();
  t.equal(s.get('cluster.h2proxy.upstream_cx_total'), 1);
  t.equal(s.get('cluster.h2proxy.upstream_cx_http2_total'), 1);
  t.equal(s.get('cluster.h2proxy.upstream_rq_total'), 8, 'one stream per tunnel');
  t.equal(s.get('tcp.h2.downstream_cx_total'), 8);
  const lines = await waitForLines(logPath('h2'), 8);
  t.ok(lines.every((l) => /^- 127\.0\.0\.1:\d+ \d+ \d+$/.test(l)), 'logged without flags');
});

/** The upstream half-closes first: its end reaches the client, which still sends, and its own end closes the tunnel. */
async function upstreamHalfClosesFirst(t: Test, listener: string, greeting: string, afterFin: Buffer[]): Promise<void> {
  const socket = await connectClient(legate.port(listener));
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  await once(socket, 'end');
  t.equal(Buffer.concat(chunks).toString(), greeting);
  const closed = once(socket, 'close');
  socket.end('still talking');
  await waitFor('the bytes sent after the upstream ended its side', () => (Buffer.concat(afterFin).toString() === 'still talking' ? true : undefined));
  await closed;
  t.pass('closed once both sides ended');
}

t.test('HTTP/1.1: the upstream FIN is the client FIN; the client still sends, and its FIN ends the tunnel', (t) => upstreamHalfClosesFirst(t, 'h1_greeter', 'hello, then FIN', h1.afterFin));

t.test('HTTP/2: the upstream END_STREAM is the client FIN; the client still sends, and its FIN ends the stream', (t) => upstreamHalfClosesFirst(t, 'h2_greeter', 'hello, then END_STREAM', h2.afterFin));

t.test('HTTP/2: an upstream that never answers the CONNECT meets idle_timeout; the stream is reset', async (t) => {
  const before = h2.silentResets.length;
  const reply = await exchange(legate.port('h2_silent'), 'hello?', { endAfter: false });
  t.equal(reply.data.length, 0);
  await waitFor('the unanswered stream to be reset', () => (h2.silentResets.length > before ? true : undefined));
  t.equal(h2.silentResets.at(-1), http2.constants.NGHTTP2_CANCEL);
  t.equal((await stats()).get('tcp.h2_silent.idle_timeout'), 1);
});

t.test('HTTP/2: a client that resets before the answer cancels the stream', async (t) => {
  const before = h2.silentResets.length;
  const seen = h2.seen.length;
  const socket = await connectClient(legate.port('h2_leave'));
  await waitFor('the CONNECT upstream', () => (h2.seen.length > seen ? true : undefined));
  socket.resetAndDestroy(); // an RST: a FIN would wait, unread, as a half-close behind the answer
  await waitFor('the stream to be reset', () => (h2.silentResets.length > before ? true : undefined));
  t.equal(h2.silentResets.at(-1), http2.constants.NGHTTP2_CANCEL);
  await waitFor('no request left active', async () => ((await stats()).get('cluster.h2proxy.upstream_rq_active') === 0 ? true : undefined));
});

t.test('HTTP/2: a reset from the upstream once the tunnel is up closes the client', async (t) => {
  const socket = await connectClient(legate.port('h2_reset'));
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  await waitFor('the greeting', () => (Buffer.concat(chunks).toString() === 'bye' ? true : undefined));
  socket.write('x');
  await closedByPeer(socket);
  t.pass('closed after the RST_STREAM');
});

t.test('HTTP/2: a 503 (with a body) or a 403 ends the connection; UF and URX', async (t) => {
  const r503 = await exchange(legate.port('h2_503'), 'x', { endAfter: false });
  t.equal(r503.data.length, 0, "the refusal's body is not relayed");
  const [line] = await waitForLines(logPath('h2_503'), 1);
  t.match(line, /^UF,URX 127\.0\.0\.1:\d+ 0 0$/);
  const r403 = await exchange(legate.port('h2_403'), 'x', { endAfter: false });
  t.equal(r403.data.length, 0);
  const s = await stats();
  t.equal(s.get('cluster.h2proxy.upstream_cx_connect_attempts_exceeded'), 2);
  t.ok((s.get('cluster.h2proxy.http2.tx_reset') ?? 0) >= 1, 'the refused stream with a body was reset');
  t.equal(s.get('cluster.h2proxy.upstream_cx_total'), 1, 'a refusal costs a stream, not the connection');
});

t.test('use_post: POST post_path with :scheme over HTTP/2, and a chunked POST over HTTP/1.1', async (t) => {
  const reply = await exchange(legate.port('h2_post'), 'posted bytes');
  t.equal(reply.data.toString(), 'posted bytes');
  const seen = h2.seen.at(-1)!;
  t.equal(seen.method, 'POST');
  t.equal(seen.headers[':path'], '/tunnel');
  t.equal(seen.headers[':scheme'], 'http');
  t.equal(seen.headers[':authority'], 'echo.test:443');
  t.equal(seen.headers['x-convert'], 'connect');
  const h1Reply = await exchange(legate.port('h1_post'), 'posted over HTTP/1.1');
  t.equal(h1Reply.data.toString(), 'posted over HTTP/1.1');
  const h1Seen = h1.seen.at(-1)!;
  t.equal(h1Seen.method, 'POST');
  t.equal(h1Seen.target, '/', "post_path's default");
  t.equal(h1Seen.headers['transfer-encoding'], 'chunked');
});

t.test('20 MiB each way through one HTTP/2 tunnel at bounded memory: a client that does not read stalls both directions', async (t) => {
  const total = 20 * MiB;
  const chunk = randomBytes(64 * 1024);
  const sent = createHash('sha256');
  for (let i = 0; i < total / chunk.length; i++) sent.update(chunk);
  const received = createHash('sha256');
  let got = 0;
  const rssBefore = process.memoryUsage().rss;
  const socket = await connectClient(legate.port('h2_bulk'));
  socket.pause(); // read nothing until everything between here and the echo server is full
  let written = 0;
  const writing = (async () => {
    for (let i = 0; i < total / chunk.length && !socket.destroyed; i++) {
      written += chunk.length;
      if (!socket.write(chunk)) await once(socket, 'drain');
    }
    socket.end();
  })();
  const paused = (s: Map<string, number>, name: string) => (s.get(name) ?? 0) > 0;
  await waitFor(
    'the tunnel to stop reading for the client, and the client to be read no more',
    async () => {
      const s = await stats();
      return paused(s, 'cluster.h2bulk.upstream_flow_control_paused_reading_total') && paused(s, 'tcp.h2_bulk.downstream_flow_control_paused_reading_total') ? true : undefined;
    },
    10_000,
  );
  const growth = process.memoryUsage().rss - rssBefore;
  t.ok(written < total, `the client could write ${(written / MiB).toFixed(1)} of 20 MiB before it had to read`);
  // A sanity bound only (this process holds the test's servers and their garbage too): the proof is
  // the two pauses above and a client that could not write everything before it read.
  t.ok(growth < 96 * MiB, `RSS grew by ${(growth / MiB).toFixed(0)} MiB with every buffer full`);
  const ended = once(socket, 'end');
  socket.on('data', (c: Buffer) => {
    received.update(c);
    got += c.length;
  });
  socket.resume();
  await Promise.all([writing, ended]);
  t.equal(got, total);
  t.equal(received.digest('hex'), sent.digest('hex'), 'in order, nothing lost');
});

t.test('HBONE-like: HTTP/2 CONNECT over mutual TLS with ALPN h2, authority %DOWNSTREAM_LOCAL_ADDRESS%', { skip: opensslMissing() }, async (t) => {
  const ca = createTestCa();
  t.teardown(() => ca.remove());
  const server = ca.issue('waypoint', ['URI:spiffe://cluster.local/ns/default/sa/waypoint']);
  const client = ca.issue('sidecar', ['URI:spiffe://cluster.local/ns/default/sa/sleep']);
  const secure = http2.createSecureServer({ cert: server.cert, key: server.key, ca: ca.cert, requestCert: true, rejectUnauthorized: true, ALPNProtocols: ['h2'] });
  const hbone = await startH2Proxy(secure);
  const mesh = await startLegate(
    bootstrap(
      [tcpListener('outbound', 'hbone', tunnel('%DOWNSTREAM_LOCAL_ADDRESS%'))],
      [
        staticCluster('hbone', [{ port: hbone.port }], {
          ...http2Options,
          transport_socket: upstreamTls(
            { tls_certificates: [certFiles(client)], validation_context: { trusted_ca: { filename: ca.certFile } } },
            { sni: 'waypoint.test' },
          ),
        }),
      ],
    ),
  );
  t.teardown(() => mesh.stop());
  const port = mesh.port('outbound');
  const replies = await Promise.all([0, 1, 2].map((i) => exchange(port, `mTLS tunnel ${i}`)));
  t.same(replies.map((r) => r.data.toString()), ['mTLS tunnel 0', 'mTLS tunnel 1', 'mTLS tunnel 2']);
  t.equal(hbone.sessions.length, 1, 'one mTLS connection carries the three tunnels');
  const session = hbone.sessions[0];
  t.equal(session.alpnProtocol, 'h2');
  const peer = (session.socket as unknown as import('node:tls').TLSSocket).getPeerCertificate();
  t.match(peer.subjectaltname, /spiffe:\/\/cluster\.local\/ns\/default\/sa\/sleep/, "the sidecar's certificate was presented");
  t.equal(hbone.seen[0].headers[':authority'], `127.0.0.1:${port}`, 'the original destination as the CONNECT authority');
});
