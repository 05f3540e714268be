// gRPC-Web through Legate's grpc_web filter to a real gRPC server (@grpc/grpc-js over h2c): the
// client speaks HTTP/1.1 as a browser does, binary and base64 text, and reads the trailers from the
// closing frame; a non-gRPC answer becomes a grpc-status; calls are counted per method.
import http from 'node:http';
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { bootstrap, ROUTER_TYPE, httpListener, routes, staticCluster } from '../../support/bootstrap.ts';
import { statsMap } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { startUpstream } from '../../support/upstream.ts';

const GRPC_WEB = 'type.googleapis.com/envoy.extensions.filters.http.grpc_web.v3.GrpcWeb';
const HTTP2 = {
  'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
    '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
    explicit_http_config: { http2_protocol_options: {} },
  },
};

const raw = { serialize: (b: Buffer) => b, deserialize: (b: Buffer) => b };
const method = (name: string, responseStream: boolean) => ({
  path: `/test.Echo/${name}`, requestStream: false, responseStream,
  requestSerialize: raw.serialize, requestDeserialize: raw.deserialize, responseSerialize: raw.serialize, responseDeserialize: raw.deserialize,
});
const seen: { metadata: grpc.Metadata }[] = [];
const server = new grpc.Server();
server.addService({ Echo: method('Echo', false), Words: method('Words', true), Missing: method('Missing', false) }, {
  Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) => {
    seen.push({ metadata: call.metadata });
    done(null, Buffer.concat([Buffer.from('echo:'), call.request]));
  },
  Words: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
    for (const word of ['one', 'two', 'three']) call.write(Buffer.from(word));
    call.end();
  },
  Missing: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) => done({ code: grpc.status.NOT_FOUND, details: 'no such thing' }),
});
const grpcPort = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))));
t.teardown(() => server.forceShutdown());
const page = await startUpstream('page', (_req, res) => {
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('nothing here: 100%');
});
t.teardown(() => page.close());

const legate = await startLegate(bootstrap(
  [httpListener('web', routes([
    { match: { prefix: '/test.Echo/' }, route: { cluster: 'grpc' } },
    { match: { prefix: '/page.' }, route: { cluster: 'page' } },
  ]), {
    http_filters: [
      { name: 'envoy.filters.http.grpc_web', typed_config: { '@type': GRPC_WEB } },
      { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } },
    ],
  })],
  [staticCluster('grpc', [{ port: grpcPort }], { typed_extension_protocol_options: HTTP2 }), staticCluster('page', [{ port: page.port }])],
));
t.teardown(() => legate.stop());

const frame = (flag: number, payload: Buffer) => {
  const head = Buffer.alloc(5);
  head[0] = flag;
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
};

interface WebReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  messages: string[];
  trailers: Record<string, string>;
}

/** One gRPC-Web call over HTTP/1.1; `parts` are written one by one (a body split anywhere). */
async function call(path: string, parts: Buffer[], text = false): Promise<WebReply> {
  const type = text ? 'application/grpc-web-text' : 'application/grpc-web+proto';
  const body = await new Promise<{ res: http.IncomingMessage; data: Buffer }>((resolve, reject) => {
    const req = http.request(legate.url(path), { method: 'POST', headers: { 'content-type': type, accept: type, 'x-grpc-web': '1' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('end', () => resolve({ res, data: Buffer.concat(chunks) }));
    });
    req.once('error', reject);
    for (const part of parts) req.write(part);
    req.end();
  });
  // Text: each frame is its own padded base64 segment.
  const bytes = text ? Buffer.concat(body.data.toString('latin1').split(/(?<==)(?=[^=])/).map((s) => Buffer.from(s, 'base64'))) : body.data;
  const reply: WebReply = { status: body.res.statusCode!, headers: body.res.headers, messages: [], trailers: {} };
  for (let at = 0; at + 5 <= bytes.length;) {
    const end = at + 5 + bytes.readUInt32BE(at + 1);
    const payload = bytes.subarray(at + 5, end).toString();
    if (bytes[at] === 0x80) for (const line of payload.split('\r\n').filter((l) => l !== '')) reply.trailers[line.slice(0, line.indexOf(':'))] = line.slice(line.indexOf(':') + 1);
    else reply.messages.push(payload);
    at = end;
  }
  return reply;
}

t.test('binary: a unary call, its trailers in the closing frame', async (t) => {
  const reply = await call('/test.Echo/Echo', [frame(0, Buffer.from('hello'))]);
  t.equal(reply.status, 200);
  t.equal(reply.headers['content-type'], 'application/grpc-web+proto');
  t.same(reply.messages, ['echo:hello']);
  t.match(reply.trailers, { 'grpc-status': '0' });
  t.equal(seen.at(-1)?.metadata.get('x-grpc-web')[0], '1', 'the browser\'s headers reach the gRPC server');
});

t.test('text: base64 both ways, the request split off the 4-byte grid', async (t) => {
  const encoded = Buffer.from(frame(0, Buffer.from('split me')).toString('base64'));
  const reply = await call('/test.Echo/Echo', [encoded.subarray(0, 3), encoded.subarray(3, 9), encoded.subarray(9)], true);
  t.equal(reply.headers['content-type'], 'application/grpc-web-text+proto');
  t.same(reply.messages, ['echo:split me']);
  t.match(reply.trailers, { 'grpc-status': '0' });
  const streamed = await call('/test.Echo/Words', [Buffer.from(frame(0, Buffer.alloc(0)).toString('base64'))], true);
  t.same(streamed.messages, ['one', 'two', 'three'], 'a server stream, each frame its own base64 segment');
});

t.test('errors: a gRPC status, a non-gRPC answer, bad base64', async (t) => {
  const missing = await call('/test.Echo/Missing', [frame(0, Buffer.from('x'))]);
  const status = missing.headers['grpc-status'] ?? missing.trailers['grpc-status'];
  t.equal(status, String(grpc.status.NOT_FOUND));
  const page = await call('/page.x/y', [frame(0, Buffer.from('x'))]);
  t.equal(page.status, 404);
  t.same(page.trailers, { 'grpc-status': '12', 'grpc-message': 'nothing here: 100%25' }, 'the HTTP status mapped, the body as grpc-message');
  // Legate's own answers to a gRPC-Web call are gRPC ones: grpc-status 13 (Envoy's for a 400).
  for (const [body, what] of [['abc', 'base64 short of a group'], ['ab!d', 'not base64']]) {
    const bad = await call('/test.Echo/Echo', [Buffer.from(body)], true);
    t.match(bad.headers, { 'grpc-status': '13', 'grpc-message': 'Bad gRPC-web request, invalid base64 data.' }, what);
  }
});

t.test('calls are counted per method under grpc-web', async (t) => {
  const stats = await statsMap(legate.adminUrl(''));
  t.ok((stats.get('cluster.grpc.grpc-web.test.Echo.Echo.success') ?? 0) >= 2);
  t.equal(stats.get('cluster.grpc.grpc-web.test.Echo.Missing.5'), 1);
  t.equal(stats.get('cluster.grpc.grpc-web.test.Echo.Missing.failure'), 1);
});
