// gRPC active health checks against a real grpc-js health server and, for the answers grpc-js
// never gives, a scripted node:http2 server: SERVING is healthy, NOT_SERVING and NOT_FOUND fail at
// once, a server gone fails after unhealthy_threshold network failures, recovery takes
// healthy_threshold successes, the request is Envoy's, and one connection serves every check.
import { once } from 'node:events';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import type { Test } from 'tap';
import { translateBootstrap } from '../../../proxy/config/index.ts';
import type { Cluster } from '../../../proxy/config/model.ts';
import { Store } from '../../../proxy/stats/index.ts';
import { startGrpcHealthServer } from '../../support/grpc-health-server.ts';
import { checking } from '../../support/health-changes.ts';
import { createTestCa, opensslMissing } from '../../support/test-ca.ts';

const PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
const UPSTREAM_TLS = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';

/** An HTTP/2 cluster of hosts on 127.0.0.1 with one gRPC health check. */
function grpcCluster(name: string, ports: number[], grpcCheck: object, extra: object = {}): Cluster {
  const raw = {
    name,
    type: 'STATIC',
    connect_timeout: '1s',
    typed_extension_protocol_options: { [PROTOCOL_OPTIONS]: { '@type': `type.googleapis.com/${PROTOCOL_OPTIONS}`, explicit_http_config: { http2_protocol_options: {} } } },
    health_checks: [{ timeout: '1s', interval: '0.02s', unhealthy_threshold: 2, healthy_threshold: 2, grpc_health_check: grpcCheck }],
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: ports.map((port) => ({ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } })) }],
    },
    ...extra,
  };
  return translateBootstrap({ static_resources: { clusters: [raw] } }).clusters[0];
}

const counter = (store: Store, name: string) => store.snapshot().counters[name] ?? 0;

t.test('SERVING is healthy; the request names the service, the authority and the metadata', async (t) => {
  const server = await startGrpcHealthServer(t, { 'echo.Echo': 'SERVING' });
  const { manager, changes } = checking(t);
  manager.update([grpcCluster('grpcsvc', [server.port], { service_name: 'echo.Echo', initial_metadata: [{ header: { key: 'x-check', value: 'yes' } }] })]);
  t.same(await changes.next(), ['grpcsvc', `127.0.0.1:${server.port}`, false]);
  const call = server.calls[0];
  t.equal(call.service, 'echo.Echo');
  t.equal(call.authority, 'grpcsvc', 'the cluster name when no authority is set');
  t.equal(call.metadata['x-check'], 'yes');
  t.match(call.metadata['user-agent'], /^Envoy\/HC/);
  t.ok(call.deadlineMs > 0 && call.deadlineMs <= 1000, `grpc-timeout carries the check timeout (${call.deadlineMs})`);

  const other = await startGrpcHealthServer(t, { '': 'SERVING' });
  manager.update([grpcCluster('named', [other.port], { authority: 'health.test' })]);
  t.same((await changes.next())[2], false, 'the empty service name: the server overall');
  t.equal(other.calls[0].authority, 'health.test');
});

t.test('NOT_SERVING and NOT_FOUND fail at once; back after healthy_threshold successes', async (t) => {
  const server = await startGrpcHealthServer(t, { svc: 'SERVING' });
  const store = new Store();
  const { manager, changes } = checking(t, store);
  manager.update([grpcCluster('g', [server.port], { service_name: 'svc' }, {})]);
  t.equal((await changes.next())[2], false);

  server.statuses.set('svc', 'NOT_SERVING');
  const before = counter(store, 'cluster.g.health_check.failure');
  t.equal((await changes.next())[2], true, 'NOT_SERVING');
  t.equal(counter(store, 'cluster.g.health_check.failure') - before, 1, 'one answer is enough: not a network failure');
  t.equal(counter(store, 'cluster.g.health_check.network_failure'), 0);

  server.statuses.set('svc', 'SERVING');
  const successes = counter(store, 'cluster.g.health_check.success');
  t.equal((await changes.next())[2], false);
  t.ok(counter(store, 'cluster.g.health_check.success') - successes >= 2, 'healthy_threshold 2');

  server.statuses.delete('svc'); // grpc-status NOT_FOUND
  t.equal((await changes.next())[2], true, 'an unknown service');
  t.equal(counter(store, 'cluster.g.health_check.network_failure'), 0);
});

t.test('a server gone: unhealthy, its checks network failures', async (t) => {
  const server = await startGrpcHealthServer(t, { '': 'SERVING' });
  const store = new Store();
  const { manager, changes } = checking(t, store);
  manager.update([grpcCluster('gone', [server.port], {})]);
  t.equal((await changes.next())[2], false);
  server.stop();
  // A check in flight at shutdown may get an answer (grpc-status UNAVAILABLE) rather than a reset.
  t.equal((await changes.next())[2], true);
  const deadline = Date.now() + 5000;
  while (counter(store, 'cluster.gone.health_check.network_failure') < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  t.ok(counter(store, 'cluster.gone.health_check.network_failure') >= 2, 'connections refused');
});

/** A node:http2 server answering each check as `answer` says, counting its connections. */
async function scriptedServer(t: Test, answer: (stream: http2.ServerHttp2Stream) => void) {
  const server = http2.createServer();
  const state = { sessions: 0, streams: 0 };
  server.on('session', (session) => {
    state.sessions++;
    session.on('error', () => {});
  });
  server.on('stream', (stream) => {
    state.streams++;
    stream.on('error', () => {});
    stream.resume();
    stream.once('end', () => answer(stream));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port: (server.address() as AddressInfo).port, state, server };
}

/** A HealthCheckResponse frame with this status (field 1, varint). */
const responseFrame = (status: number) => Buffer.from([0, 0, 0, 0, 2, 0x08, status]);

function serve(stream: http2.ServerHttp2Stream, status: number, trailers: http2.OutgoingHttpHeaders = { 'grpc-status': '0' }) {
  stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
  stream.once('wantTrailers', () => stream.sendTrailers(trailers));
  stream.end(responseFrame(status));
}

t.test('one connection serves every check; a GOAWAY makes the next check reconnect', async (t) => {
  const s = await scriptedServer(t, (stream) => serve(stream, 1));
  const store = new Store();
  const { manager, changes } = checking(t, store);
  manager.update([grpcCluster('reuse', [s.port], {})]);
  t.equal((await changes.next())[2], false);
  const deadline = Date.now() + 5000;
  while (s.state.streams < 4 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  t.ok(s.state.streams >= 4);
  t.equal(s.state.sessions, 1, 'checks share the connection');
  for (const session of await sessionsOf(s.server)) session.goaway(0);
  const seen = s.state.streams;
  while (s.state.streams < seen + 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  t.equal(s.state.sessions, 2, 'a new connection after GOAWAY');
  t.equal(counter(store, 'cluster.reuse.health_check.network_failure'), 0, 'a graceful GOAWAY between checks fails nothing');
});

/** The server's open session, reached through its next stream. */
async function sessionsOf(server: http2.Http2Server): Promise<http2.Http2Session[]> {
  const [stream] = (await once(server, 'stream')) as [http2.ServerHttp2Stream];
  return [stream.session!];
}

t.test('answers grpc-js never gives: each a failure, a reset a network failure', async (t) => {
  const cases: [string, (stream: http2.ServerHttp2Stream) => void, 'failure' | 'network'][] = [
    ['HTTP 503', (stream) => { stream.respond({ ':status': 503 }); stream.end(); }, 'failure'],
    ['trailers-only grpc-status 0, no message', (stream) => stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '0' }, { endStream: true }), 'failure'],
    ['not gRPC', (stream) => { stream.respond({ ':status': 200, 'content-type': 'text/plain' }); stream.end('ok'); }, 'failure'],
    ['no trailers', (stream) => { stream.respond({ ':status': 200, 'content-type': 'application/grpc' }); stream.end(responseFrame(1)); }, 'failure'],
    ['grpc-status 14 after SERVING', (stream) => serve(stream, 1, { 'grpc-status': '14' }), 'failure'],
    ['two messages', (stream) => { stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true }); stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' })); stream.end(Buffer.concat([responseFrame(1), responseFrame(1)])); }, 'failure'],
    ['a compressed message', (stream) => { stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true }); stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' })); const f = responseFrame(1); f[0] = 1; stream.end(f); }, 'failure'],
    ['RST_STREAM', (stream) => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR), 'network'],
  ];
  for (const [name, bad, kind] of cases) {
    t.test(name, async (t) => {
      let healthy = true;
      const s = await scriptedServer(t, (stream) => (healthy ? serve(stream, 1) : bad(stream)));
      const store = new Store();
      const { manager, changes } = checking(t, store);
      manager.update([grpcCluster('odd', [s.port], {})]);
      t.equal((await changes.next())[2], false);
      healthy = false;
      t.equal((await changes.next())[2], true);
      const network = counter(store, 'cluster.odd.health_check.network_failure');
      if (kind === 'network') t.ok(network >= 2, 'after unhealthy_threshold network failures');
      else t.equal(network, 0, 'a wrong answer, not a network failure');
    });
  }
});

t.test('a check without an answer within timeout is a network failure', async (t) => {
  let hang = false;
  const s = await scriptedServer(t, (stream) => (hang ? undefined : serve(stream, 1)));
  const store = new Store();
  const { manager, changes } = checking(t, store);
  const cluster = grpcCluster('slow', [s.port], {});
  cluster.healthChecks[0] = { ...cluster.healthChecks[0], timeoutMs: 50 };
  manager.update([cluster]);
  t.equal((await changes.next())[2], false);
  hang = true;
  t.equal((await changes.next())[2], true);
  t.ok(counter(store, 'cluster.slow.health_check.network_failure') >= 2);
  t.equal(s.state.sessions, 1, 'a timed-out stream is cancelled, the connection kept');
});

t.test('over TLS: ALPN h2, the cluster\'s certificate checks', { skip: opensslMissing() }, async (t) => {
  const ca = createTestCa();
  t.teardown(() => ca.remove());
  const leaf = ca.issue('backend', ['DNS:backend.test']);
  const server = http2.createSecureServer({ cert: leaf.cert, key: leaf.key });
  server.on('stream', (stream) => {
    stream.resume();
    stream.once('end', () => serve(stream, 1));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as AddressInfo).port;
  const tls = (caFile: string) => ({
    transport_socket: {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': UPSTREAM_TLS,
        sni: 'backend.test',
        common_tls_context: { validation_context: { trusted_ca: { filename: caFile }, match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: 'backend.test' } }] } },
      },
    },
  });
  const store = new Store();
  const { manager, changes } = checking(t, store);
  manager.update([grpcCluster('secure', [port], {}, tls(ca.certFile))]);
  t.same(await changes.next(), ['secure', `127.0.0.1:${port}`, false]);

  const otherCa = createTestCa('Other CA');
  t.teardown(() => otherCa.remove());
  manager.update([grpcCluster('secure', [port], {}, tls(ca.certFile)), grpcCluster('untrusted', [port], {}, tls(otherCa.certFile))]);
  const deadline = Date.now() + 5000;
  while (counter(store, 'cluster.untrusted.health_check.network_failure') < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  t.ok(counter(store, 'cluster.untrusted.health_check.network_failure') >= 2, 'a server the CA does not vouch for is a network failure');
  t.equal(counter(store, 'cluster.untrusted.health_check.success'), 0);
});
