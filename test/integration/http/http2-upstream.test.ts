// HTTP/1.1 clients through Legate to HTTP/2 upstreams (node:http2 servers on loopback): h2c and h2
// over TLS with ALPN, GET/POST, many requests multiplexed on one upstream connection, a new
// connection when max_concurrent_streams is full, GOAWAY mid-load and REFUSED_STREAM losing no
// request, max_requests_per_connection, a few MiB both ways, response trailers to a chunked
// HTTP/1.1 response, auto_config by ALPN and use_downstream_protocol_config.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { request } from 'undici';
import { bootstrap, httpListener, routes, staticCluster } from '../../support/bootstrap.ts';
import { statsMap, waitFor } from '../../support/http.ts';
import { startLegate, type RunningLegate } from '../../support/legate.ts';
import { createTestCa, opensslMissing, type LeafCert } from '../../support/test-ca.ts';
import { startH2Upstream, type H2Handler, type H2Upstream } from '../../support/h2-upstream.ts';

const MiB = 1024 * 1024;
/** The upstream of the running test (answers name their session by its index). */
let current: H2Upstream | null = null;
const PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
const noCa = opensslMissing();

/** Answers 200 with the request's method, path, authority and session number; echoes the body. */
const echo: H2Handler = (stream, headers) => {
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  stream.on('end', () => {
    if (stream.destroyed) return;
    stream.respond({
      ':status': 200,
      'x-method': String(headers[':method']),
      'x-path': String(headers[':path']),
      'x-authority': String(headers[':authority']),
      'x-session': String(sessionOf(current, stream)),
    });
    stream.end(Buffer.concat(chunks));
  });
};

/** The index of a stream's session among the upstream's sessions. */
function sessionOf(upstream: H2Upstream | null, stream: http2.ServerHttp2Stream): number {
  return upstream === null ? -1 : upstream.sessions.indexOf(stream.session as http2.ServerHttp2Session);
}

async function h2Upstream(t: Test, handler: H2Handler, options: { settings?: http2.Settings; tls?: LeafCert } = {}): Promise<H2Upstream> {
  current = await startH2Upstream(t, handler, options);
  return current;
}

function protocolOptions(upstream: object, common: object = {}) {
  return { typed_extension_protocol_options: { [PROTOCOL_OPTIONS]: { '@type': `type.googleapis.com/${PROTOCOL_OPTIONS}`, ...upstream, common_http_protocol_options: common } } };
}

function h2Cluster(port: number, http2Options: object = {}, common: object = {}, extra: object = {}) {
  return staticCluster('h2', [{ port }], { ...protocolOptions({ explicit_http_config: { http2_protocol_options: http2Options } }, common), ...extra });
}

async function legateFor(t: Test, cluster: object, routeExtra: object = {}): Promise<RunningLegate> {
  const legate = await startLegate(bootstrap([httpListener('in', routes([{ match: { prefix: '/' }, route: { cluster: 'h2', ...routeExtra } }]))], [cluster]));
  t.teardown(() => legate.stop());
  return legate;
}

async function get(url: string, options: Parameters<typeof request>[1] = {}): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  const res = await request(url, options);
  return { status: res.statusCode, headers: res.headers, body: Buffer.from(await res.body.arrayBuffer()) };
}

async function stat(legate: RunningLegate, name: string, expected: number): Promise<void> {
  await waitFor(`${name} = ${expected}`, async () => ((await statsMap(legate.adminUrl(''))).get(name) === expected ? true : undefined));
}

/** An HTTP/1.1 upstream answers with the protocol version it was asked in. */
function answerVersion(req: http.IncomingMessage, res: http.ServerResponse): void {
  res.end(`http/${req.httpVersion}`);
}

/** Listens on 127.0.0.1:0 until the test ends; returns the port. */
async function listenHttp1(t: Test, server: http.Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return (server.address() as AddressInfo).port;
}

/** One request on an HTTP/2 client session: the response head, body and trailers. */
function h2Request(client: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: string): Promise<{ headers: http2.IncomingHttpHeaders; body: string; trailers: http2.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = client.request(headers);
    const reply = { headers: {} as http2.IncomingHttpHeaders, body: '', trailers: {} as http2.IncomingHttpHeaders };
    req.on('response', (h) => (reply.headers = h));
    req.on('trailers', (tr) => (reply.trailers = tr));
    req.setEncoding('utf8');
    req.on('data', (c: string) => (reply.body += c));
    req.on('end', () => resolve(reply));
    req.on('error', reject);
    req.end(body);
  });
}

/** Holds every stream until `count` arrived, then lets `answer` handle each. */
function heldUntil(count: number, answer: (streams: { stream: http2.ServerHttp2Stream; headers: http2.IncomingHttpHeaders }[]) => void): H2Handler {
  const held: { stream: http2.ServerHttp2Stream; headers: http2.IncomingHttpHeaders }[] = [];
  return (stream, headers) => {
    stream.resume();
    held.push({ stream, headers });
    if (held.length === count) answer(held.splice(0));
  };
}

function respondAll(held: { stream: http2.ServerHttp2Stream; headers: http2.IncomingHttpHeaders }[]): void {
  for (const { stream, headers } of held) {
    if (stream.closed) continue;
    stream.respond({ ':status': 200, 'x-path': String(headers[':path']), 'x-session': String(sessionOf(current, stream)) });
    stream.end('ok');
  }
}

t.test('h2c: GET and POST over one HTTP/2 connection, :authority from Host, stats', async (t) => {
  const upstream = await h2Upstream(t, echo);
  const legate = await legateFor(t, h2Cluster(upstream.port));
  const a = await get(legate.url('/a?x=1'), { headers: { host: 'svc.test' } });
  t.equal(a.status, 200);
  t.equal(a.headers['x-method'], 'GET');
  t.equal(a.headers['x-path'], '/a?x=1');
  t.equal(a.headers['x-authority'], 'svc.test');
  const b = await get(legate.url('/b'), { method: 'POST', body: 'hello h2' });
  t.equal(b.status, 200);
  t.equal(b.body.toString(), 'hello h2');
  t.equal(upstream.sessions.length, 1, 'one upstream connection');
  await stat(legate, 'cluster.h2.upstream_cx_http2_total', 1);
  await stat(legate, 'cluster.h2.upstream_rq_200', 2);
});

t.test('50 concurrent requests are multiplexed on ONE upstream connection', async (t) => {
  const upstream = await h2Upstream(t, heldUntil(50, respondAll));
  const legate = await legateFor(t, h2Cluster(upstream.port));
  const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => get(legate.url(`/m${i}`))));
  t.same(replies.map((r) => r.status), Array(50).fill(200));
  t.same(replies.map((r) => r.headers['x-path']), Array.from({ length: 50 }, (_, i) => `/m${i}`), 'each answer is its own');
  t.equal(upstream.sessions.length, 1, 'the upstream saw one session');
  t.equal(upstream.streams, 50);
});

t.test('a new connection when the peer max_concurrent_streams is full', async (t) => {
  const upstream = await h2Upstream(t, heldUntil(6, respondAll), { settings: { maxConcurrentStreams: 2 } });
  const legate = await legateFor(t, h2Cluster(upstream.port));
  const replies = await Promise.all(Array.from({ length: 6 }, (_, i) => get(legate.url(`/c${i}`))));
  t.same(replies.map((r) => r.status), Array(6).fill(200));
  t.equal(upstream.sessions.length, 3, 'three connections of two streams');
  t.same(new Set(replies.map((r) => r.headers['x-session'])).size, 3);
});

t.test("the cluster's max_concurrent_streams caps a connection too", async (t) => {
  const upstream = await h2Upstream(t, heldUntil(4, respondAll));
  const legate = await legateFor(t, h2Cluster(upstream.port, { max_concurrent_streams: 1 }));
  const replies = await Promise.all(Array.from({ length: 4 }, (_, i) => get(legate.url(`/s${i}`))));
  t.same(replies.map((r) => r.status), Array(4).fill(200));
  t.equal(upstream.sessions.length, 4);
});

t.test('GOAWAY mid-load: the streams the server did not process go to a new connection, none lost', async (t) => {
  let goneAway = false;
  const upstream = await h2Upstream(t, (stream, headers) => {
    stream.resume();
    if (goneAway) {
      respondAll([{ stream, headers }]);
      return;
    }
    pending.push({ stream, headers });
    if (pending.length < 20) return;
    // The first session answers its first 10 streams and refuses the rest with GOAWAY.
    goneAway = true;
    const held = pending.splice(0);
    const last = held[9].stream.id!;
    held[0].stream.session!.goaway(http2.constants.NGHTTP2_NO_ERROR, last);
    respondAll(held.slice(0, 10));
  });
  const pending: { stream: http2.ServerHttp2Stream; headers: http2.IncomingHttpHeaders }[] = [];
  const legate = await legateFor(t, h2Cluster(upstream.port));
  const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => get(legate.url(`/g${i}`))));
  t.same(replies.map((r) => r.status), Array(20).fill(200), 'every request answered');
  const sessions = replies.map((r) => Number(r.headers['x-session']));
  t.equal(sessions.filter((s) => s === 0).length, 10, 'ten answered before the GOAWAY');
  t.equal(sessions.filter((s) => s > 0).length, 10, 'ten resent on a new connection');
  await stat(legate, 'cluster.h2.upstream_cx_close_notify', 1);
  await stat(legate, 'cluster.h2.upstream_rq_retry', 0);
});

t.test('a refused stream is sent again once, not counted as a retry', async (t) => {
  let refused = 0;
  const upstream = await h2Upstream(t, (stream, headers) => {
    if (refused === 0) {
      refused++;
      stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
      return;
    }
    echo(stream, headers);
  });
  const legate = await legateFor(t, h2Cluster(upstream.port));
  const reply = await get(legate.url('/r'), { method: 'POST', body: 'again' });
  t.equal(reply.status, 200);
  t.equal(reply.body.toString(), 'again');
  t.equal(upstream.streams, 2);
  await stat(legate, 'cluster.h2.http2.rx_reset', 1);
  await stat(legate, 'cluster.h2.upstream_rq_retry', 0);
  await stat(legate, 'cluster.h2.upstream_rq_200', 1);
});

t.test('a stream refused twice fails 503 without a retry policy', async (t) => {
  const upstream = await h2Upstream(t, (stream) => stream.close(http2.constants.NGHTTP2_REFUSED_STREAM));
  const legate = await legateFor(t, h2Cluster(upstream.port));
  const reply = await get(legate.url('/r'));
  t.equal(reply.status, 503);
  t.equal(upstream.streams, 2, 'sent, then resent once');
});

t.test('max_requests_per_connection: a connection takes that many streams, then closes', async (t) => {
  const upstream = await h2Upstream(t, echo);
  const legate = await legateFor(t, h2Cluster(upstream.port, {}, { max_requests_per_connection: 3 }));
  const sessions: string[] = [];
  for (let i = 0; i < 7; i++) {
    const reply = await get(legate.url(`/q${i}`));
    t.equal(reply.status, 200);
    sessions.push(String(reply.headers['x-session']));
  }
  t.same(sessions, ['0', '0', '0', '1', '1', '1', '2']);
  await stat(legate, 'cluster.h2.upstream_cx_max_requests', 2);
  await waitFor('the spent connections closed', () => (upstream.sessions.filter((s) => s.closed || s.destroyed).length >= 2 ? true : undefined));
});

t.test('4 MiB both ways', async (t) => {
  const upstream = await h2Upstream(t, echo);
  const legate = await legateFor(t, h2Cluster(upstream.port, { initial_stream_window_size: 65535, initial_connection_window_size: 65535 }));
  const body = Buffer.alloc(4 * MiB);
  for (let i = 0; i < body.length; i += 4) body.writeUInt32BE(i, i);
  const reply = await get(legate.url('/big'), { method: 'POST', body });
  t.equal(reply.status, 200);
  t.equal(reply.body.length, body.length);
  t.equal(createHash('sha256').update(reply.body).digest('hex'), createHash('sha256').update(body).digest('hex'));
});

t.test('response trailers reach an HTTP/1.1 client in the chunked trailer section', async (t) => {
  const upstream = await h2Upstream(t, (stream) => {
    stream.resume();
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': 'ok' }));
    stream.end('payload');
  });
  const legate = await legateFor(t, h2Cluster(upstream.port));
  const reply = await new Promise<{ body: string; trailers: NodeJS.Dict<string> }>((resolve, reject) => {
    const req = http.request(legate.url('/t'), { headers: { te: 'trailers' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ body, trailers: res.trailers }));
    });
    req.on('error', reject);
    req.end();
  });
  t.equal(reply.body, 'payload');
  t.equal(reply.trailers['grpc-status'], '0');
  t.equal(reply.trailers['grpc-message'], 'ok');
});

t.test('use_downstream_protocol_config: an HTTP/1.1 request goes upstream as HTTP/1.1', async (t) => {
  const port = await listenHttp1(t, http.createServer(answerVersion));
  const legate = await legateFor(t, staticCluster('h2', [{ port }], protocolOptions({ use_downstream_protocol_config: { http_protocol_options: {}, http2_protocol_options: {} } })));
  const reply = await get(legate.url('/d'));
  t.equal(reply.body.toString(), 'http/1.1');
  await stat(legate, 'cluster.h2.upstream_cx_http1_total', 1);
});

t.test('h2 over TLS', { skip: noCa }, async (t) => {
  const ca = createTestCa();
  t.teardown(() => ca.remove());
  const leaf = ca.issue('upstream', ['DNS:upstream.test']);
  const tls = (alpn: string[] = []) => ({
    transport_socket: {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
        sni: 'upstream.test',
        common_tls_context: { validation_context: { trusted_ca: { filename: ca.certFile } }, ...(alpn.length > 0 ? { alpn_protocols: alpn } : {}) },
      },
    },
  });

  t.test('explicit HTTP/2: ALPN h2 is offered by default', async (t) => {
    const upstream = await h2Upstream(t, echo, { tls: leaf });
    const legate = await legateFor(t, h2Cluster(upstream.port, {}, {}, tls()));
    const replies = await Promise.all(Array.from({ length: 10 }, (_, i) => get(legate.url(`/tls${i}`), { method: 'POST', body: `b${i}` })));
    t.same(replies.map((r) => r.body.toString()), Array.from({ length: 10 }, (_, i) => `b${i}`));
    t.equal(upstream.sessions.length, 1);
    t.equal(upstream.sessions[0].alpnProtocol, 'h2');
  });

  t.test('auto_config: h2 when the host picks it', async (t) => {
    const upstream = await h2Upstream(t, echo, { tls: leaf });
    const legate = await legateFor(t, staticCluster('h2', [{ port: upstream.port }], { ...protocolOptions({ auto_config: { http2_protocol_options: {} } }), ...tls() }));
    const reply = await get(legate.url('/auto'));
    t.equal(reply.status, 200);
    t.equal(upstream.sessions[0].alpnProtocol, 'h2');
    await stat(legate, 'cluster.h2.upstream_cx_http2_total', 1);
  });

  t.test('auto_config: HTTP/1.1 when the host only speaks it', async (t) => {
    const port = await listenHttp1(t, https.createServer({ cert: leaf.cert, key: leaf.key, ALPNProtocols: ['http/1.1'] }, answerVersion));
    const legate = await legateFor(t, staticCluster('h2', [{ port }], { ...protocolOptions({ auto_config: { http2_protocol_options: {} } }), ...tls() }));
    const replies = [await get(legate.url('/one')), await get(legate.url('/two'))];
    t.same(replies.map((r) => r.body.toString()), ['http/1.1', 'http/1.1']);
    await stat(legate, 'cluster.h2.upstream_cx_http1_total', 1);
    await stat(legate, 'cluster.h2.upstream_cx_http2_total', 0);
  });
});

t.test('HTTP/2 downstream to HTTP/2 upstream, trailers end to end', async (t) => {
  const upstream = await h2Upstream(t, (stream) => {
    stream.resume();
    stream.on('end', () => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end('h2 all the way');
    });
  });
  const legate = await startLegate(bootstrap([httpListener('in', routes([{ match: { prefix: '/' }, route: { cluster: 'h2' } }]), { codec_type: 'HTTP2' })], [h2Cluster(upstream.port)]));
  t.teardown(() => legate.stop());
  const client = http2.connect(`http://127.0.0.1:${legate.port()}`);
  t.teardown(() => client.destroy());
  const reply = await h2Request(client, { ':method': 'POST', ':path': '/svc/Method', 'content-type': 'application/grpc', te: 'trailers' }, 'request');
  t.equal(reply.headers[':status'], 200);
  t.equal(reply.trailers['grpc-status'], '0');
  t.equal(reply.body, 'h2 all the way');
  t.equal(upstream.sessions.length, 1);
});

t.test('use_downstream_protocol_config over TLS: HTTP/2 requests on h2 connections, HTTP/1.1 on HTTP/1.1 ones', { skip: noCa }, async (t) => {
  const ca = createTestCa();
  t.teardown(() => ca.remove());
  const leaf = ca.issue('upstream', ['DNS:upstream.test']);
  // One TLS server speaking both: ALPN h2 gets HTTP/2, no ALPN HTTP/1.1.
  const server = http2.createSecureServer({ cert: leaf.cert, key: leaf.key, allowHTTP1: true }, (req, res) => res.end(`http/${req.httpVersion}`));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => server.close());
  const sockets = new Set<import('node:net').Socket>();
  server.on('secureConnection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  t.teardown(() => {
    for (const s of sockets) s.destroy();
  });
  const port = (server.address() as AddressInfo).port;
  const cluster = staticCluster('h2', [{ port }], {
    ...protocolOptions({ use_downstream_protocol_config: { http_protocol_options: {}, http2_protocol_options: {} } }),
    transport_socket: {
      name: 'envoy.transport_sockets.tls',
      typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext', sni: 'upstream.test', common_tls_context: { validation_context: { trusted_ca: { filename: ca.certFile } } } },
    },
  });
  const legate = await startLegate(bootstrap([httpListener('in', routes([{ match: { prefix: '/' }, route: { cluster: 'h2' } }]), { codec_type: 'AUTO' })], [cluster]));
  t.teardown(() => legate.stop());
  const h1 = await get(legate.url('/one'));
  t.equal(h1.body.toString(), 'http/1.1', 'an HTTP/1.1 request: HTTP/1.1 upstream');
  const client = http2.connect(`http://127.0.0.1:${legate.port()}`);
  t.teardown(() => client.destroy());
  const { body } = await h2Request(client, { ':path': '/two' });
  t.equal(body, 'http/2.0', 'an HTTP/2 request: HTTP/2 upstream');
  await stat(legate, 'cluster.h2.upstream_cx_http1_total', 1);
  await stat(legate, 'cluster.h2.upstream_cx_http2_total', 1);
});
