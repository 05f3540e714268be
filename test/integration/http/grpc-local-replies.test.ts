// gRPC requests (content-type application/grpc) that Legate answers itself get Envoy's gRPC local
// reply: HTTP 200, trailers-only, grpc-status mapped from the HTTP status (or named by the filter),
// grpc-message from the body text. Trailers from the upstream reach the client, and %GRPC_STATUS%
// logs the status from the trailers, the headers or the HTTP status. HTTP/1.1 requests here;
// the same replies go to HTTP/2 clients once that codec is in.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { bootstrap, fileAccessLog, httpListener, ROUTER_TYPE, routes, staticCluster } from '../../support/bootstrap.ts';
import { nodeRequest, waitForLogLine } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { closedPort, startUpstream } from '../../support/upstream.ts';
import { grpcCall } from '../../support/grpc-http1.ts';

const FAULT_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault';
const LOCAL_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit';
const ALWAYS = { runtime_key: 'unused', default_value: { numerator: 100, denominator: 'HUNDRED' } };

const dir = mkdtempSync(join(tmpdir(), 'legate-grpc-replies-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const logPath = join(dir, 'access.log');

const silent = await startUpstream('silent', () => {});
// A gRPC server's answers over HTTP/1.1: a message, then grpc-status in chunked trailers.
const app = await startUpstream('app', (req, res) => {
  req.resume();
  req.once('end', () => {
    res.writeHead(200, { 'content-type': 'application/grpc', trailer: 'grpc-status, grpc-message' });
    res.write(Buffer.from([0, 0, 0, 0, 2, 8, 1]));
    res.addTrailers({ 'grpc-status': req.url === '/pkg.Svc/Fail' ? '7' : '0', 'grpc-message': 'from the app' });
    res.end();
  });
});
t.teardown(() => Promise.all([silent.close(), app.close()]));
const refusing = await closedPort();

const fault = (abort: object) => ({ typed_per_filter_config: { 'envoy.filters.http.fault': { '@type': FAULT_TYPE, abort: { percentage: { numerator: 100 }, ...abort } } } });
const limit = (extra: object) => ({
  typed_per_filter_config: {
    'envoy.filters.http.local_ratelimit': { '@type': LOCAL_TYPE, stat_prefix: 'grpc', token_bucket: { max_tokens: 1, fill_interval: '3600s' }, filter_enabled: ALWAYS, filter_enforced: ALWAYS, ...extra },
  },
});

const legate = await startLegate(
  bootstrap(
    [
      httpListener(
        'ingress',
        routes([
          { match: { prefix: '/empty.' }, route: { cluster: 'empty' } },
          { match: { prefix: '/refused.' }, route: { cluster: 'refusing' } },
          { match: { prefix: '/slow.' }, route: { cluster: 'silent', timeout: '0.2s' } },
          { match: { prefix: '/fault.Grpc/' }, route: { cluster: 'app' }, ...fault({ grpc_status: 9 }) },
          { match: { prefix: '/fault.Http/' }, route: { cluster: 'app' }, ...fault({ http_status: 403 }) },
          { match: { prefix: '/limited.Default/' }, route: { cluster: 'app' }, ...limit({}) },
          { match: { prefix: '/limited.Exhausted/' }, route: { cluster: 'app' }, ...limit({ rate_limited_as_resource_exhausted: true }) },
          { match: { prefix: '/pkg.' }, route: { cluster: 'app' } },
        ]),
        {
          access_log: [fileAccessLog(logPath, '%REQ(:PATH)% %RESPONSE_CODE% %GRPC_STATUS% %GRPC_STATUS(NUMBER)% %RESPONSE_FLAGS%\n')],
          http_filters: [
            { name: 'envoy.filters.http.fault', typed_config: { '@type': FAULT_TYPE } },
            { name: 'envoy.filters.http.local_ratelimit', typed_config: { '@type': LOCAL_TYPE, stat_prefix: 'off' } },
            { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } },
          ],
        },
      ),
    ],
    [
      staticCluster('empty', []),
      staticCluster('refusing', [{ port: refusing }]),
      staticCluster('silent', [{ port: silent.port }]),
      staticCluster('app', [{ port: app.port }]),
    ],
  ),
);
t.teardown(() => legate.stop());

/** A trailers-only gRPC answer: 200, application/grpc, no body, the status in the headers. */
async function localReply(t: Test, path: string, grpcStatus: number, message: string | undefined, logged: string): Promise<void> {
  const reply = await grpcCall(legate.url(path));
  t.equal(reply.status, 200, `${path}: HTTP 200`);
  t.equal(reply.headers['content-type'], 'application/grpc');
  t.equal(reply.headers['grpc-status'], String(grpcStatus), `${path}: grpc-status ${grpcStatus}`);
  t.equal(reply.headers['grpc-message'], message);
  t.equal(reply.body.length, 0, 'no body');
  t.same(reply.trailers, {}, 'no trailers');
  t.equal(await waitForLogLine(logPath, path), `${path} 200 ${logged}`);
}

t.test('no route: UNIMPLEMENTED', (t) => localReply(t, '/nowhere.Svc/Call', 12, undefined, 'Unimplemented 12 NR'));

t.test('no healthy upstream: UNAVAILABLE', (t) => localReply(t, '/empty.Svc/Call', 14, 'no healthy upstream', 'Unavailable 14 UH'));

t.test('connect failure: UNAVAILABLE with the reset reason', (t) =>
  localReply(t, '/refused.Svc/Call', 14, 'upstream connect error or disconnect/reset before headers. reset reason: connection failure', 'Unavailable 14 UF'),
);

t.test('route timeout: UNAVAILABLE, as Envoy maps its 504', (t) => localReply(t, '/slow.Svc/Call', 14, 'upstream request timeout', 'Unavailable 14 UT'));

t.test("a fault's grpc_status is the answer's", (t) => localReply(t, '/fault.Grpc/Call', 9, 'fault filter abort', 'FailedPrecondition 9 FI'));

t.test("a fault's http_status is mapped", (t) => localReply(t, '/fault.Http/Call', 7, 'fault filter abort', 'PermissionDenied 7 FI'));

t.test('rate limited: UNAVAILABLE, or RESOURCE_EXHAUSTED when configured', async (t) => {
  t.equal((await grpcCall(legate.url('/limited.Default/First'))).headers['grpc-status'], undefined, 'the first passes');
  await localReply(t, '/limited.Default/Second', 14, 'local_rate_limited', 'Unavailable 14 RL');
  t.equal((await grpcCall(legate.url('/limited.Exhausted/First'))).trailers['grpc-status'], '0');
  const reply = await grpcCall(legate.url('/limited.Exhausted/Second'));
  t.equal(reply.headers['grpc-status'], '8');
  t.equal(reply.headers['x-envoy-ratelimited'], 'true', "the filter's headers stay");
});

t.test('a request that is not gRPC gets the plain reply', async (t) => {
  const reply = await nodeRequest(legate.url('/empty.Svc/Call'), { method: 'POST', headers: { 'content-type': 'application/grpc-web' }, body: '' });
  t.equal(reply.status, 503);
  t.equal(reply.body, 'no healthy upstream');
  t.equal(reply.headers['grpc-status'], undefined);
});

t.test("the upstream's trailers reach the client and the log", async (t) => {
  const ok = await grpcCall(legate.url('/pkg.Svc/Call'));
  t.equal(ok.status, 200);
  t.same([...ok.body], [0, 0, 0, 0, 2, 8, 1], 'the message');
  t.same(ok.trailers, { 'grpc-status': '0', 'grpc-message': 'from the app' });
  t.equal(await waitForLogLine(logPath, '/pkg.Svc/Call'), '/pkg.Svc/Call 200 Ok 0 -');
  const failed = await grpcCall(legate.url('/pkg.Svc/Fail'));
  t.equal(failed.trailers['grpc-status'], '7');
  t.equal(await waitForLogLine(logPath, '/pkg.Svc/Fail'), '/pkg.Svc/Fail 200 PermissionDenied 7 -');
});
