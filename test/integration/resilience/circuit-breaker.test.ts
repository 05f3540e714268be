// Circuit breakers end to end: max_requests, max_pending_requests with max_connections, and
// max_retries overflow as Envoy answers them (503, x-envoy-overloaded, flag UO) and count them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { bootstrap, fileAccessLog, httpListener, routes, staticCluster } from '../../support/bootstrap.ts';
import { fetchText, waitFor, waitForLogLine } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { startScriptedUpstream } from '../../support/scripted-upstream.ts';
import { startUpstream } from '../../support/upstream.ts';

const dir = mkdtempSync(join(tmpdir(), 'legate-breakers-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const logPath = join(dir, 'access.log');

// Holds every request until release() is called.
const held: (() => void)[] = [];
const slow = await startUpstream('slow', (req, res) => {
  req.resume();
  held.push(() => res.end('slow'));
});
t.teardown(() => slow.close());
const release = () => held.splice(0).forEach((answer) => answer());
const failing = await startScriptedUpstream('failing');
t.teardown(() => failing.close());

const thresholds = (limits: object) => ({ circuit_breakers: { thresholds: [{ track_remaining: true, ...limits }] } });
const legate = await startLegate(
  bootstrap(
    [
      httpListener(
        'ingress',
        routes([
          { match: { prefix: '/requests' }, route: { cluster: 'one_request' } },
          { match: { prefix: '/pending' }, route: { cluster: 'one_connection' } },
          { match: { prefix: '/retries' }, route: { cluster: 'no_retries', retry_policy: { retry_on: '5xx', num_retries: 3 } } },
        ]),
        { access_log: [fileAccessLog(logPath, '%REQ(:PATH)% %RESPONSE_CODE% %RESPONSE_FLAGS%\n')] },
      ),
    ],
    [
      staticCluster('one_request', [{ port: slow.port }], thresholds({ max_requests: 1 })),
      staticCluster('one_connection', [{ port: slow.port }], thresholds({ max_connections: 1, max_pending_requests: 1 })),
      staticCluster('no_retries', [{ port: failing.port }], thresholds({ max_retries: 0 })),
    ],
  ),
);
t.teardown(() => legate.stop());

const logLineFor = (path: string): Promise<string> => waitForLogLine(logPath, path);

async function stats() {
  return legate.primary.stats();
}

t.test('max_requests 1: of two concurrent slow requests one gets 503 UO with x-envoy-overloaded', async (t) => {
  const first = fetchText(legate.url('/requests/first'));
  await waitFor('the first request upstream', () => (held.length === 1 ? true : undefined));
  let s = await stats();
  t.equal(s.gauges.get('cluster.one_request.circuit_breakers.default.rq_open'), 1, 'the breaker is open');
  t.equal(s.gauges.get('cluster.one_request.circuit_breakers.default.remaining_rq'), 0);

  const second = await fetchText(legate.url('/requests/second'));
  t.equal(second.status, 503);
  t.equal(second.headers['x-envoy-overloaded'], 'true');
  t.equal(await logLineFor('/requests/second'), '/requests/second 503 UO');
  t.equal(held.length, 1, 'the overflowing request never went upstream');

  release();
  t.equal((await first).status, 200);
  s = await stats();
  t.equal(s.counters.get('cluster.one_request.upstream_rq_pending_overflow'), 1);
  t.equal(s.gauges.get('cluster.one_request.circuit_breakers.default.rq_open'), 0, 'closed again');
  const third = fetchText(legate.url('/requests/third'));
  await waitFor('the third request upstream', () => (held.length === 1 ? true : undefined));
  release();
  t.equal((await third).status, 200, 'a later request passes');
});

t.test('max_connections 1, max_pending_requests 1: a third concurrent request overflows', async (t) => {
  const first = fetchText(legate.url('/pending/1'));
  await waitFor('the first request upstream', () => (held.length === 1 ? true : undefined));
  const second = fetchText(legate.url('/pending/2')); // waits for the one connection
  await waitFor('the second request pending', async () => ((await stats()).gauges.get('cluster.one_connection.upstream_rq_pending_active') === 1 ? true : undefined));
  const third = await fetchText(legate.url('/pending/3'));
  t.equal(third.status, 503);
  t.equal(third.headers['x-envoy-overloaded'], 'true');
  t.equal(await logLineFor('/pending/3'), '/pending/3 503 UO');

  release();
  await waitFor('the second request upstream', () => (held.length === 1 ? true : undefined));
  release();
  t.equal((await first).status, 200);
  t.equal((await second).status, 200, 'the pending request was served on the freed connection');
  const s = await stats();
  t.equal(s.counters.get('cluster.one_connection.upstream_rq_pending_overflow'), 1);
  t.ok((s.counters.get('cluster.one_connection.upstream_cx_overflow') ?? 0) >= 1, 'it waited because of the connection limit');
  t.equal(s.counters.get('cluster.one_connection.upstream_cx_total'), 1, 'one connection only');
});

t.test('max_retries 0: the retry overflows, the upstream answer passes with flag UO', async (t) => {
  failing.script([503, 200]);
  const reply = await fetchText(legate.url('/retries/x'));
  t.equal(reply.status, 503);
  t.equal(failing.seen.length, 1, 'no retry');
  t.equal(await logLineFor('/retries/x'), '/retries/x 503 UO');
  t.equal((await stats()).counters.get('cluster.no_retries.upstream_rq_retry_overflow'), 1);
});
