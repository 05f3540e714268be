// gRPC retries and deadlines through a real Legate: retry_on unavailable (and the other gRPC
// conditions) read a trailers-only answer's grpc-status, not one in the trailers;
// x-envoy-retry-grpc-on adds them per request. A grpc-timeout shorter than the route's limits
// the call (max_stream_duration.grpc_timeout_header_max: DEADLINE_EXCEEDED; the older
// max_grpc_timeout: the route timeout, so UNAVAILABLE as Envoy maps its 504), and the upstream
// hears the timeout Legate enforces.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { bootstrap, fileAccessLog, httpListener, routes, staticCluster } from '../../support/bootstrap.ts';
import { grpcCall } from '../../support/grpc-http1.ts';
import { waitForLogLine } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { startUpstream } from '../../support/upstream.ts';

const dir = mkdtempSync(join(tmpdir(), 'legate-grpc-retries-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const logPath = join(dir, 'access.log');

// The first call to each path fails UNAVAILABLE, trailers-only (or in the trailers for /trailers.*);
// later calls succeed.
const calls = new Map<string, number>();
const flaky = await startUpstream('flaky', (req, res) => {
  req.resume();
  req.once('end', () => {
    const n = (calls.get(req.url!) ?? 0) + 1;
    calls.set(req.url!, n);
    if (n === 1 && !req.url!.startsWith('/trailers.')) {
      res.writeHead(200, { 'content-type': 'application/grpc', 'grpc-status': '14', 'grpc-message': 'try again', 'content-length': '0' });
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/grpc', trailer: 'grpc-status' });
    res.addTrailers({ 'grpc-status': n === 1 ? '14' : '0' });
    res.end();
  });
});
const silent = await startUpstream('silent', () => {});
t.teardown(() => Promise.all([flaky.close(), silent.close()]));

const retryOn = (conditions: string) => ({ retry_policy: { retry_on: conditions, num_retries: 2, retry_back_off: { base_interval: '0.001s' } } });
const legate = await startLegate(
  bootstrap(
    [
      httpListener(
        'ingress',
        routes([
          { match: { prefix: '/unavailable.' }, route: { cluster: 'flaky', ...retryOn('unavailable') } },
          { match: { prefix: '/trailers.' }, route: { cluster: 'flaky', ...retryOn('unavailable') } },
          { match: { prefix: '/cancelled.' }, route: { cluster: 'flaky', ...retryOn('cancelled,deadline-exceeded') } },
          { match: { prefix: '/header.' }, route: { cluster: 'flaky' } },
          { match: { prefix: '/deadline.' }, route: { cluster: 'silent', timeout: '10s', max_stream_duration: { grpc_timeout_header_max: '0s' } } },
          { match: { prefix: '/capped.' }, route: { cluster: 'silent', max_stream_duration: { grpc_timeout_header_max: '0.2s' } } },
          { match: { prefix: '/old.' }, route: { cluster: 'silent', timeout: '10s', max_grpc_timeout: '0s', grpc_timeout_offset: '0.05s' } },
        ]),
        {
          access_log: [fileAccessLog(logPath, '%REQ(:PATH)% %RESPONSE_CODE% %GRPC_STATUS% %RESPONSE_FLAGS% %UPSTREAM_REQUEST_ATTEMPT_COUNT%\n')],
          // The test's client is internal, so its x-envoy-* control headers count.
          use_remote_address: true,
          internal_address_config: { cidr_ranges: [{ address_prefix: '127.0.0.1', prefix_len: 32 }] },
        },
      ),
    ],
    [staticCluster('flaky', [{ port: flaky.port }]), staticCluster('silent', [{ port: silent.port }])],
  ),
);
t.teardown(() => legate.stop());

const counter = async (name: string): Promise<number> => (await legate.primary.stats()).counters.get(name) ?? 0;

t.test('retry_on unavailable retries a trailers-only UNAVAILABLE', async (t) => {
  const before = await counter('cluster.flaky.upstream_rq_retry');
  const reply = await grpcCall(legate.url('/unavailable.Svc/Call'));
  t.equal(reply.status, 200);
  t.equal(reply.headers['grpc-status'], undefined, 'not the first answer');
  t.same(reply.trailers, { 'grpc-status': '0' }, 'the retry answered');
  t.equal(calls.get('/unavailable.Svc/Call'), 2);
  t.equal((await counter('cluster.flaky.upstream_rq_retry')) - before, 1, 'counted as a retry');
  t.equal(await waitForLogLine(logPath, '/unavailable.Svc/Call'), '/unavailable.Svc/Call 200 Ok - 2');
});

t.test('a grpc-status in the trailers is not retried (the response has started)', async (t) => {
  const reply = await grpcCall(legate.url('/trailers.Svc/Call'));
  t.same(reply.trailers, { 'grpc-status': '14' });
  t.equal(calls.get('/trailers.Svc/Call'), 1);
  t.equal(await waitForLogLine(logPath, '/trailers.Svc/Call'), '/trailers.Svc/Call 200 Unavailable - 1');
});

t.test('other gRPC conditions do not retry UNAVAILABLE', async (t) => {
  const reply = await grpcCall(legate.url('/cancelled.Svc/Call'));
  t.equal(reply.headers['grpc-status'], '14');
  t.equal(reply.headers['grpc-message'], 'try again');
  t.equal(calls.get('/cancelled.Svc/Call'), 1);
});

t.test('x-envoy-retry-grpc-on asks for gRPC retries per request', async (t) => {
  const reply = await grpcCall(legate.url('/header.Svc/Call'), { 'x-envoy-retry-grpc-on': 'unavailable' });
  t.same(reply.trailers, { 'grpc-status': '0' });
  t.equal(calls.get('/header.Svc/Call'), 2);
  const without = await grpcCall(legate.url('/header.Svc/Other'));
  t.equal(without.headers['grpc-status'], '14', 'no retry without it');
});

t.test('grpc-timeout shorter than the route timeout ends the call: DEADLINE_EXCEEDED', async (t) => {
  const reply = await grpcCall(legate.url('/deadline.Svc/Call'), { 'grpc-timeout': '200m' });
  t.equal(reply.status, 200);
  t.equal(reply.headers['grpc-status'], '4');
  t.equal(reply.headers['grpc-message'], 'downstream duration timeout');
  t.ok(reply.ms >= 150 && reply.ms < 5000, `answered after ${Math.round(reply.ms)} ms, not the route's 10 s`);
  t.equal((await silent.waitFor('/deadline.Svc/Call')).headers['grpc-timeout'], '200m', 'the upstream hears the deadline');
  t.equal(await waitForLogLine(logPath, '/deadline.Svc/Call'), '/deadline.Svc/Call 200 DeadlineExceeded DT 1');
});

t.test('grpc_timeout_header_max caps a longer grpc-timeout', async (t) => {
  const reply = await grpcCall(legate.url('/capped.Svc/Call'), { 'grpc-timeout': '1H' });
  t.equal(reply.headers['grpc-status'], '4');
  t.ok(reply.ms < 5000, `answered after ${Math.round(reply.ms)} ms`);
  t.equal((await silent.waitFor('/capped.Svc/Call')).headers['grpc-timeout'], '200m');
});

t.test('max_grpc_timeout makes grpc-timeout (less the offset) the route timeout', async (t) => {
  const reply = await grpcCall(legate.url('/old.Svc/Call'), { 'grpc-timeout': '300m' });
  t.equal(reply.headers['grpc-status'], '14', "a route timeout: Envoy's 504, UNAVAILABLE");
  t.equal(reply.headers['grpc-message'], 'upstream request timeout');
  t.ok(reply.ms >= 200 && reply.ms < 5000, `answered after ${Math.round(reply.ms)} ms`);
  const seen = await silent.waitFor('/old.Svc/Call');
  t.equal(seen.headers['grpc-timeout'], '250m', 'the upstream hears 300 ms less the offset');
  t.equal(seen.headers['x-envoy-expected-rq-timeout-ms'], '250');
  t.equal(await waitForLogLine(logPath, '/old.Svc/Call'), '/old.Svc/Call 200 Unavailable UT 1');
});
