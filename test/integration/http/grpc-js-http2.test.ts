// @grpc/grpc-js through Legate over HTTP/2 both ways: a grpc-js client (h2c) to Legate to a
// grpc-js server (h2c upstream). Unary, server-streaming, client-streaming and bidi calls, a
// deadline and a cancellation reaching the server. Messages are raw bytes (no protobuf needed).
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { bootstrap, httpListener, routes, staticCluster } from '../../support/bootstrap.ts';
import { startLegate } from '../../support/legate.ts';

const PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
const raw = { serialize: (b: Buffer) => b, deserialize: (b: Buffer) => b };
const service: grpc.ServiceDefinition = {
  Echo: { path: '/test.Echo/Echo', requestStream: false, responseStream: false, requestSerialize: raw.serialize, requestDeserialize: raw.deserialize, responseSerialize: raw.serialize, responseDeserialize: raw.deserialize },
  Split: { path: '/test.Echo/Split', requestStream: false, responseStream: true, requestSerialize: raw.serialize, requestDeserialize: raw.deserialize, responseSerialize: raw.serialize, responseDeserialize: raw.deserialize },
  Join: { path: '/test.Echo/Join', requestStream: true, responseStream: false, requestSerialize: raw.serialize, requestDeserialize: raw.deserialize, responseSerialize: raw.serialize, responseDeserialize: raw.deserialize },
  Chat: { path: '/test.Echo/Chat', requestStream: true, responseStream: true, requestSerialize: raw.serialize, requestDeserialize: raw.deserialize, responseSerialize: raw.serialize, responseDeserialize: raw.deserialize },
  Hang: { path: '/test.Echo/Hang', requestStream: false, responseStream: false, requestSerialize: raw.serialize, requestDeserialize: raw.deserialize, responseSerialize: raw.serialize, responseDeserialize: raw.deserialize },
};

let cancelled = 0;
const onCancelled: (() => void)[] = [];
const onStarted: (() => void)[] = [];
const server = new grpc.Server();
server.addService(service, {
  Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.concat([Buffer.from('echo:'), call.request])),
  Split: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
    for (const part of call.request.toString().split(' ')) call.write(Buffer.from(part));
    call.end();
  },
  Join: (call: grpc.ServerReadableStream<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
    const parts: string[] = [];
    call.on('data', (b: Buffer) => parts.push(b.toString()));
    call.on('end', () => cb(null, Buffer.from(parts.join('+'))));
  },
  Chat: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
    call.on('data', (b: Buffer) => call.write(Buffer.from(b.toString().toUpperCase())));
    call.on('end', () => call.end());
  },
  Hang: (call: grpc.ServerUnaryCall<Buffer, Buffer>) => {
    onStarted.shift()?.();
    call.on('cancelled', () => {
      cancelled++;
      onCancelled.shift()?.();
    });
  },
});
const upstreamPort = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))));
t.teardown(() => server.forceShutdown());

const cluster = staticCluster('grpc', [{ port: upstreamPort }], { typed_extension_protocol_options: { [PROTOCOL_OPTIONS]: { '@type': `type.googleapis.com/${PROTOCOL_OPTIONS}`, explicit_http_config: { http2_protocol_options: {} } } } });
const legate = await startLegate(bootstrap([httpListener('grpc', routes([{ match: { prefix: '/' }, route: { cluster: 'grpc', timeout: '0s' } }]), { codec_type: 'AUTO' })], [cluster]));
t.teardown(() => legate.stop());

const Client = grpc.makeGenericClientConstructor(service, 'Echo');
const client = new Client(`127.0.0.1:${legate.port()}`, grpc.credentials.createInsecure()) as unknown as Record<string, (...args: unknown[]) => unknown> & grpc.Client;
t.teardown(() => client.close());

t.test('unary', async (t) => {
  const reply = await new Promise<Buffer>((resolve, reject) => client.Echo(Buffer.from('hi'), (err: Error | null, res: Buffer) => (err ? reject(err) : resolve(res))));
  t.equal(reply.toString(), 'echo:hi');
});

t.test('server streaming', async (t) => {
  const call = client.Split(Buffer.from('a b c d')) as grpc.ClientReadableStream<Buffer>;
  const parts: string[] = [];
  call.on('data', (b: Buffer) => parts.push(b.toString()));
  await new Promise<void>((resolve, reject) => {
    call.on('end', () => resolve());
    call.on('error', reject);
  });
  t.same(parts, ['a', 'b', 'c', 'd']);
});

t.test('client streaming', async (t) => {
  const reply = await new Promise<Buffer>((resolve, reject) => {
    const call = client.Join((err: Error | null, res: Buffer) => (err ? reject(err) : resolve(res))) as grpc.ClientWritableStream<Buffer>;
    for (const p of ['x', 'y', 'z']) call.write(Buffer.from(p));
    call.end();
  });
  t.equal(reply.toString(), 'x+y+z');
});

t.test('bidi', async (t) => {
  const call = client.Chat() as grpc.ClientDuplexStream<Buffer, Buffer>;
  const got: string[] = [];
  for (const word of ['one', 'two', 'three']) {
    call.write(Buffer.from(word));
    got.push(await new Promise<string>((resolve) => call.once('data', (b: Buffer) => resolve(b.toString()))));
  }
  call.end();
  await new Promise<void>((resolve) => call.on('status', () => resolve()));
  t.same(got, ['ONE', 'TWO', 'THREE']);
});

t.test('a client deadline and a cancellation reach the server as a cancelled call', async (t) => {
  onStarted.push(() => undefined);
  const deadlineSeen = new Promise<void>((resolve) => onCancelled.push(resolve));
  const err = await new Promise<grpc.ServiceError>((resolve) => client.Hang(Buffer.from('x'), { deadline: Date.now() + 300 }, (e: grpc.ServiceError) => resolve(e)));
  t.equal(err.code, grpc.status.DEADLINE_EXCEEDED);
  await deadlineSeen;
  const cancelSeen = new Promise<void>((resolve) => onCancelled.push(resolve));
  const started = new Promise<void>((resolve) => onStarted.push(resolve));
  const call = client.Hang(Buffer.from('x'), () => undefined) as grpc.ClientUnaryCall;
  await started;
  call.cancel();
  await cancelSeen;
  t.equal(cancelled, 2);
});
