// gRPC over TLS both ways: a @grpc/grpc-js client with TLS credentials to Legate's TLS listener
// (ALPN h2 on codec_type AUTO), Legate to a grpc-js server over TLS (h2 by ALPN, the server's SAN
// checked). Unary and bidi calls, a gRPC error status passed through, and an unknown route answered
// by Legate as a gRPC local reply.
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { bootstrap, routes, socketAddress, staticCluster } from '../../support/bootstrap.ts';
import { startLegate } from '../../support/legate.ts';
import { createTestCa, opensslMissing } from '../../support/test-ca.ts';
import { downstreamTls, hcmToBackend, upstreamTls } from './support.ts';

const skip = opensslMissing();
const PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
const raw = { serialize: (b: Buffer) => b, deserialize: (b: Buffer) => b };
const method = (name: string, requestStream: boolean, responseStream: boolean) => ({
  path: `/test.Echo/${name}`, requestStream, responseStream,
  requestSerialize: raw.serialize, requestDeserialize: raw.deserialize, responseSerialize: raw.serialize, responseDeserialize: raw.deserialize,
});
const service: grpc.ServiceDefinition = { Echo: method('Echo', false, false), Chat: method('Chat', true, true), Fail: method('Fail', false, false) };

t.test('grpc-js over TLS on both legs of Legate', { skip }, async (t) => {
  const ca = createTestCa();
  t.teardown(() => ca.remove());
  const serverCert = ca.issue('grpc-upstream', ['DNS:upstream.test']);
  const legateCert = ca.issue('legate', ['DNS:legate.test']);

  const server = new grpc.Server();
  server.addService(service, {
    Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.concat([Buffer.from('tls:'), call.request])),
    Chat: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      call.on('data', (b: Buffer) => call.write(Buffer.from(b.toString().toUpperCase())));
      call.on('end', () => call.end());
    },
    Fail: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb({ code: grpc.status.NOT_FOUND, details: 'no such thing' }),
  });
  const serverCreds = grpc.ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(serverCert.cert), private_key: Buffer.from(serverCert.key) }]);
  const upstreamPort = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', serverCreds, (err, port) => (err ? reject(err) : resolve(port))));
  t.teardown(() => server.forceShutdown());

  const cluster = staticCluster('grpc', [{ port: upstreamPort }], {
    typed_extension_protocol_options: { [PROTOCOL_OPTIONS]: { '@type': `type.googleapis.com/${PROTOCOL_OPTIONS}`, explicit_http_config: { http2_protocol_options: {} } } },
    transport_socket: upstreamTls({
      validation_context: { trusted_ca: { inline_string: ca.cert }, match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: 'upstream.test' } }] },
    }, { sni: 'upstream.test' }),
  });
  const backendRoutes = routes([{ match: { prefix: '/test.Echo/' }, route: { cluster: 'grpc', timeout: '0s' } }]);
  const hcm = hcmToBackend('grpc_tls', { codec_type: 'AUTO', route_config: backendRoutes });
  const legate = await startLegate(bootstrap([{
    name: 'grpc_tls',
    address: socketAddress('127.0.0.1', 0),
    filter_chains: [{
      transport_socket: downstreamTls({ tls_certificates: [{ certificate_chain: { inline_string: legateCert.cert }, private_key: { inline_string: legateCert.key } }], alpn_protocols: ['h2', 'http/1.1'] }),
      filters: [hcm],
    }],
  }], [cluster]));
  t.teardown(() => legate.stop());

  const Client = grpc.makeGenericClientConstructor(service, 'Echo');
  const client = new Client(`127.0.0.1:${legate.port('grpc_tls')}`, grpc.credentials.createSsl(Buffer.from(ca.cert)), {
    'grpc.ssl_target_name_override': 'legate.test',
    'grpc.default_authority': 'legate.test',
  }) as unknown as Record<string, (...args: unknown[]) => unknown> & grpc.Client;
  t.teardown(() => client.close());

  const reply = await new Promise<Buffer>((resolve, reject) => client.Echo(Buffer.from('hi'), (err: Error | null, res: Buffer) => (err ? reject(err) : resolve(res))));
  t.equal(reply.toString(), 'tls:hi', 'unary over TLS both ways');

  const chat = client.Chat() as grpc.ClientDuplexStream<Buffer, Buffer>;
  const heard: string[] = [];
  chat.on('data', (b: Buffer) => heard.push(b.toString()));
  const ended = new Promise<void>((resolve, reject) => {
    chat.on('end', () => resolve());
    chat.on('error', reject);
  });
  for (const word of ['one', 'two', 'three']) chat.write(Buffer.from(word));
  chat.end();
  await ended;
  t.same(heard, ['ONE', 'TWO', 'THREE'], 'bidi streaming over TLS');

  const failure = await new Promise<grpc.ServiceError>((resolve) => client.Fail(Buffer.from('x'), (err: grpc.ServiceError | null) => resolve(err!)));
  t.equal(failure.code, grpc.status.NOT_FOUND, 'the upstream status passes through');
  t.equal(failure.details, 'no such thing');

  // A method no route takes: Legate's own answer is a gRPC status, not an HTTP 404.
  const unrouted = new (grpc.makeGenericClientConstructor({ Other: { ...method('Other', false, false), path: '/other.Service/Other' } }, 'Other'))(
    `127.0.0.1:${legate.port('grpc_tls')}`, grpc.credentials.createSsl(Buffer.from(ca.cert)), { 'grpc.ssl_target_name_override': 'legate.test', 'grpc.default_authority': 'legate.test' },
  ) as unknown as Record<string, (...args: unknown[]) => unknown> & grpc.Client;
  t.teardown(() => unrouted.close());
  const noRoute = await new Promise<grpc.ServiceError>((resolve) => unrouted.Other(Buffer.from('x'), (err: grpc.ServiceError | null) => resolve(err!)));
  t.equal(noRoute.code, grpc.status.UNIMPLEMENTED, 'no route: UNIMPLEMENTED (Envoy maps its 404 so)');

  const stats = (await (await fetch(legate.adminUrl('/stats?format=json'))).json() as { stats: { name: string; value: number }[] }).stats;
  const stat = (name: string) => stats.find((s) => s.name === name)?.value ?? 0;
  t.ok(stat('http.grpc_tls.downstream_cx_http2_total') >= 1, 'the client spoke h2 to Legate over TLS');
  t.ok(stat('cluster.grpc.upstream_cx_http2_total') >= 1, 'Legate spoke h2 to the upstream');
  t.ok(stat('cluster.grpc.ssl.handshake') >= 1, 'over TLS');
});
