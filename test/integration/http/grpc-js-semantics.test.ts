// gRPC semantics with grpc-js on both sides (a client over h2c, a server behind an HTTP/2
// cluster; the plain calls are grpc-js-http2.test.ts's): UNAVAILABLE from the server retried
// (retry_on unavailable), grpc_timeout_header_max cutting a longer client deadline with the server
// hearing Legate's grpc-timeout, and grpc_stats counting what the client got, messages included.
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { bootstrap, ROUTER_TYPE, httpListener, routes, staticCluster } from '../../support/bootstrap.ts';
import { startLegate } from '../../support/legate.ts';

const OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
const GRPC_STATS_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.grpc_stats.v3.FilterConfig';

const bytes = { requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b };
const method = (name: string, requestStream: boolean, responseStream: boolean) => ({ path: `/test.Echo/${name}`, requestStream, responseStream, ...bytes });
const SERVICE = {
  flaky: method('Flaky', false, false),
  wait: method('Wait', false, false),
  list: method('List', false, true),
  join: method('Join', true, false),
};

// What the server saw of the calls that wait for their end.
const waited: { deadline: number; cancelled: boolean }[] = [];
let flakyCalls = 0;
const server = new grpc.Server();
server.addService(SERVICE, {
  flaky: (call: grpc.ServerUnaryCall<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) => {
    if (++flakyCalls === 1) done({ code: grpc.status.UNAVAILABLE, details: 'warming up' });
    else done(null, call.request);
  },
  wait: (call: grpc.ServerUnaryCall<Buffer, Buffer>) => {
    const seen = { deadline: Number(call.getDeadline()), cancelled: false };
    waited.push(seen);
    call.on('cancelled', () => (seen.cancelled = true));
  },
  list: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
    for (const word of ['one', 'two', 'three']) call.write(Buffer.from(word));
    call.end();
  },
  join: (call: grpc.ServerReadableStream<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) => {
    const parts: string[] = [];
    call.on('data', (m: Buffer) => parts.push(m.toString()));
    call.on('end', () => done(null, Buffer.from(parts.join('+'))));
  },
});
const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
t.teardown(() => server.forceShutdown());

const legate = await startLegate(
  bootstrap(
    [
      httpListener(
        'ingress',
        routes([
          { match: { prefix: '/test.Echo/Flaky' }, route: { cluster: 'grpc', retry_policy: { retry_on: 'unavailable', num_retries: 1 } } },
          { match: { prefix: '/test.Echo/Wait' }, route: { cluster: 'grpc', max_stream_duration: { grpc_timeout_header_max: '0.2s' } } },
          { match: { prefix: '/' }, route: { cluster: 'grpc', timeout: '0s' } },
        ]),
        {
          http_filters: [
            { name: 'envoy.filters.http.grpc_stats', typed_config: { '@type': GRPC_STATS_TYPE, stats_for_all_methods: true } },
            { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } },
          ],
        },
      ),
    ],
    [staticCluster('grpc', [{ port }], { typed_extension_protocol_options: { [OPTIONS]: { '@type': `type.googleapis.com/${OPTIONS}`, explicit_http_config: { http2_protocol_options: {} } } } })],
  ),
);
t.teardown(() => legate.stop());

const client = new grpc.Client(new URL(legate.url('/')).host, grpc.credentials.createInsecure());
t.teardown(() => client.close());
const deadline = (ms = 5000) => ({ deadline: Date.now() + ms });

function unary(path: string, message: string, ms?: number): Promise<{ code: number; details: string; value?: string }> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(path, bytes.requestSerialize, bytes.responseDeserialize, Buffer.from(message), new grpc.Metadata(), deadline(ms), (err, value) =>
      resolve(err ? { code: err.code, details: err.details } : { code: 0, details: '', value: value?.toString() }),
    );
  });
}

t.test('UNAVAILABLE from the server is retried', async (t) => {
  t.same(await unary('/test.Echo/Flaky', 'again'), { code: 0, details: '', value: 'again' });
  t.equal(flakyCalls, 2);
});

t.test("grpc_timeout_header_max cuts the client's longer deadline; the server hears Legate's", async (t) => {
  const start = Date.now();
  const outcome = await unary('/test.Echo/Wait', '', 3000);
  t.equal(outcome.code, grpc.status.DEADLINE_EXCEEDED);
  t.equal(outcome.details, 'downstream duration timeout', "Legate's answer, not the client's own deadline");
  t.equal(waited.length, 1);
  t.ok(waited[0].deadline > start && waited[0].deadline < start + 1000, `the server's deadline is ${waited[0].deadline - start} ms away, not 3 s`);
  await t.resolves(waitUntil(() => waited[0].cancelled), 'the server call is cancelled');
});

t.test('grpc_stats counts calls and messages', async (t) => {
  const messages: string[] = [];
  await new Promise<void>((resolve) => {
    const call = client.makeServerStreamRequest('/test.Echo/List', bytes.requestSerialize, bytes.responseDeserialize, Buffer.alloc(0), new grpc.Metadata(), deadline());
    call.on('data', (m: Buffer) => messages.push(m.toString()));
    call.on('error', () => {});
    call.on('status', () => resolve());
  });
  t.same(messages, ['one', 'two', 'three']);
  const joined = await new Promise<string>((resolve, reject) => {
    const call = client.makeClientStreamRequest('/test.Echo/Join', bytes.requestSerialize, bytes.responseDeserialize, new grpc.Metadata(), deadline(), (err, v) => (err ? reject(err) : resolve(v!.toString())));
    for (const word of ['a', 'b', 'c']) call.write(Buffer.from(word));
    call.end();
  });
  t.equal(joined, 'a+b+c');
  const counters = (await legate.primary.stats()).counters;
  t.equal(counters.get('cluster.grpc.grpc.test.Echo.List.success'), 1);
  t.equal(counters.get('cluster.grpc.grpc.test.Echo.List.response_message_count'), 3);
  t.equal(counters.get('cluster.grpc.grpc.test.Echo.Join.request_message_count'), 3);
  t.equal(counters.get('cluster.grpc.grpc.test.Echo.Flaky.total'), 1, 'one call');
  t.equal(counters.get('cluster.grpc.grpc.test.Echo.Flaky.success'), 1);
  t.equal(counters.get('cluster.grpc.grpc.test.Echo.Flaky.14'), undefined, 'the UNAVAILABLE the router retried never reached the client');
  t.equal(counters.get('cluster.grpc.grpc.test.Echo.Wait.4'), 1, "Legate's DEADLINE_EXCEEDED");
});

async function waitUntil(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
