// gRPC semantics with a real gRPC client: @grpc/grpc-js over h2c to Legate, HTTP/1.1 upstreams
// (gRPC's framing carried as a chunked body with trailers). The client sees Legate's local
// replies as gRPC statuses, a deadline Legate enforces from grpc-timeout, a retried UNAVAILABLE,
// and the upstream's trailers.
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { bootstrap, ROUTER_TYPE, httpListener, routes, staticCluster } from '../../support/bootstrap.ts';
import { startLegate } from '../../support/legate.ts';
import { startUpstream } from '../../support/upstream.ts';

const FAULT_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault';

const frame = (text: string) => {
  const payload = Buffer.from(text);
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(payload.length, 1);
  return Buffer.concat([prefix, payload]);
};

// A message echoed back, OK in the trailers; the first call to /flaky.* fails UNAVAILABLE
// (trailers-only); /stream.* answers three messages, each written on its own.
let flakyCalls = 0;
const app = await startUpstream('app', (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.once('end', () => {
    if (req.url!.startsWith('/flaky.') && ++flakyCalls === 1) {
      res.writeHead(200, { 'content-type': 'application/grpc', 'grpc-status': '14', 'grpc-message': 'warming up', 'content-length': '0' });
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/grpc', trailer: 'grpc-status, grpc-message' });
    if (req.url!.startsWith('/stream.')) for (const word of ['one', 'two', 'three']) res.write(frame(word));
    else res.write(Buffer.concat(chunks));
    res.addTrailers({ 'grpc-status': '0', 'grpc-message': '' });
    res.end();
  });
});
const silent = await startUpstream('silent', () => {});
t.teardown(() => Promise.all([app.close(), silent.close()]));

const legate = await startLegate(
  bootstrap(
    [
      httpListener(
        'ingress',
        routes([
          { match: { prefix: '/echo.' }, route: { cluster: 'app' } },
          { match: { prefix: '/flaky.' }, route: { cluster: 'app', retry_policy: { retry_on: 'unavailable', num_retries: 1 } } },
          { match: { prefix: '/empty.' }, route: { cluster: 'empty' } },
          { match: { prefix: '/stream.' }, route: { cluster: 'app' } },
          { match: { prefix: '/hang.' }, route: { cluster: 'silent', timeout: '0s' } },
          { match: { prefix: '/slow.' }, route: { cluster: 'silent', max_stream_duration: { grpc_timeout_header_max: '0.2s' } } },
          {
            match: { prefix: '/fault.' },
            route: { cluster: 'app' },
            typed_per_filter_config: { 'envoy.filters.http.fault': { '@type': FAULT_TYPE, abort: { grpc_status: 9, percentage: { numerator: 100 } } } },
          },
        ]),
        {
          http_filters: [
            { name: 'envoy.filters.http.fault', typed_config: { '@type': FAULT_TYPE } },
            { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } },
          ],
        },
      ),
    ],
    [staticCluster('app', [{ port: app.port }]), staticCluster('silent', [{ port: silent.port }]), staticCluster('empty', [])],
  ),
);
t.teardown(() => legate.stop());

const client = new grpc.Client(new URL(legate.url('/')).host, grpc.credentials.createInsecure());
t.teardown(() => client.close());

interface Outcome {
  code: number;
  details: string;
  value?: Buffer;
  ms: number;
}

function call(path: string, message: Buffer, deadlineMs = 5000): Promise<Outcome> {
  const start = performance.now();
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      message,
      new grpc.Metadata(),
      { deadline: Date.now() + deadlineMs },
      (err, value) => resolve(err ? { code: err.code, details: err.details, ms: performance.now() - start } : { code: 0, details: '', value, ms: performance.now() - start }),
    );
  });
}

t.test('a call through Legate: the message and OK from the trailers', async (t) => {
  const outcome = await call('/echo.Svc/Say', Buffer.from('hello'));
  t.equal(outcome.code, grpc.status.OK, outcome.details);
  t.equal(outcome.value?.toString(), 'hello');
});

t.test('no route: UNIMPLEMENTED', async (t) => {
  t.equal((await call('/nowhere.Svc/Call', Buffer.alloc(0))).code, grpc.status.UNIMPLEMENTED);
});

t.test('no healthy upstream: UNAVAILABLE with the reason', async (t) => {
  const outcome = await call('/empty.Svc/Call', Buffer.alloc(0));
  t.equal(outcome.code, grpc.status.UNAVAILABLE);
  t.equal(outcome.details, 'no healthy upstream');
});

t.test("a fault's grpc_status", async (t) => {
  const outcome = await call('/fault.Svc/Call', Buffer.alloc(0));
  t.equal(outcome.code, grpc.status.FAILED_PRECONDITION);
  t.equal(outcome.details, 'fault filter abort');
});

t.test("Legate's grpc_timeout_header_max cuts a longer client deadline: DEADLINE_EXCEEDED", async (t) => {
  const outcome = await call('/slow.Svc/Call', Buffer.alloc(0), 3000);
  t.equal(outcome.code, grpc.status.DEADLINE_EXCEEDED);
  t.equal(outcome.details, 'downstream duration timeout', "Legate's answer, not the client's own deadline");
  t.ok(outcome.ms < 2000, `after ${Math.round(outcome.ms)} ms`);
});

t.test('UNAVAILABLE is retried (retry_on unavailable)', async (t) => {
  const outcome = await call('/flaky.Svc/Call', Buffer.from('again'));
  t.equal(outcome.code, grpc.status.OK, outcome.details);
  t.equal(outcome.value?.toString(), 'again');
  t.equal(flakyCalls, 2);
});

t.test('server streaming: every message, then the status', async (t) => {
  const messages: string[] = [];
  const status = await new Promise<grpc.StatusObject>((resolve) => {
    const stream = client.makeServerStreamRequest('/stream.Svc/List', (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), new grpc.Metadata(), { deadline: Date.now() + 5000 });
    stream.on('data', (m: Buffer) => messages.push(m.toString()));
    stream.on('error', () => {}); // the status event carries the outcome
    stream.on('status', resolve);
  });
  t.equal(status.code, grpc.status.OK, status.details);
  t.same(messages, ['one', 'two', 'three']);
});

t.test("a client's cancel reaches the upstream", async (t) => {
  const outcome = new Promise<number>((resolve) => {
    const pending = client.makeUnaryRequest('/hang.Svc/Call', (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), new grpc.Metadata(), {}, (err) => resolve(err?.code ?? 0));
    void silent.waitFor('/hang.Svc/Call').then(() => pending.cancel());
  });
  t.equal(await outcome, grpc.status.CANCELLED);
  const seen = await silent.waitFor('/hang.Svc/Call', 'done');
  t.equal(seen.aborted, true, "the upstream request was abandoned, not left to Legate's timeouts");
});
