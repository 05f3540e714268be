// Retries end to end against real upstreams: attempts counted at the upstream, URX when the
// retries run out, connect-failure fail-over, per-try timeouts, back-off, body replay, and the
// sidecar's default mesh retries.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { bootstrap, fileAccessLog, httpListener, routes, staticCluster } from '../../support/bootstrap.ts';
import { fetchText, waitForLogLine } from '../../support/http.ts';
import { startLegate, type RunningLegate } from '../../support/legate.ts';
import { startScriptedUpstream } from '../../support/scripted-upstream.ts';
import { closedPort } from '../../support/upstream.ts';

const dir = mkdtempSync(join(tmpdir(), 'legate-retries-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const logPath = join(dir, 'access.log');

const flaky = await startScriptedUpstream('flaky');
t.teardown(() => flaky.close());
const deadPort = await closedPort();

const quick = { base_interval: '0.001s', max_interval: '0.002s' };
const legate = await startLegate(
  bootstrap(
    [
      httpListener(
        'ingress',
        routes([
          { match: { prefix: '/retry' }, route: { cluster: 'flaky', retry_policy: { retry_on: '5xx', num_retries: 3, retry_back_off: quick } } },
          { match: { prefix: '/backoff' }, route: { cluster: 'flaky', retry_policy: { retry_on: '5xx', num_retries: 3, retry_back_off: { base_interval: '0.1s', max_interval: '0.1s' } } } },
          {
            match: { prefix: '/failover' },
            route: {
              cluster: 'pair',
              retry_policy: { retry_on: 'connect-failure', num_retries: 2, retry_back_off: quick, retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts' }] },
            },
          },
          { match: { prefix: '/pertry' }, route: { cluster: 'flaky', retry_policy: { retry_on: '5xx', num_retries: 1, per_try_timeout: '0.2s', retry_back_off: quick } } },
          { match: { prefix: '/plain' }, route: { cluster: 'flaky' } },
        ]),
        { access_log: [fileAccessLog(logPath, '%REQ(:PATH)% %RESPONSE_CODE% %RESPONSE_FLAGS%\n')] },
      ),
    ],
    [staticCluster('flaky', [{ port: flaky.port }]), staticCluster('pair', [{ port: deadPort }, { port: flaky.port }])],
  ),
);
t.teardown(() => legate.stop());

async function counter(instance: RunningLegate, name: string): Promise<number> {
  return (await instance.primary.stats()).counters.get(name) ?? 0;
}

/** The access log line of the request to `path` (each test uses its own path). */
const logLineFor = (path: string): Promise<string> => waitForLogLine(logPath, path);

t.test('three 503s then 200: the client gets 200 after exactly four attempts', async (t) => {
  flaky.script([503, 503, 503, 200]);
  const retriesBefore = await counter(legate, 'cluster.flaky.upstream_rq_retry');
  const reply = await fetchText(legate.url('/retry/to-success'));
  t.equal(reply.status, 200);
  t.equal(reply.body, 'flaky 200');
  t.equal(flaky.seen.length, 4, 'four attempts reached the upstream');
  t.equal((await counter(legate, 'cluster.flaky.upstream_rq_retry')) - retriesBefore, 3);
  t.equal(await logLineFor('/retry/to-success'), '/retry/to-success 200 -');
});

t.test('four 503s: the client gets the last 503, flagged URX', async (t) => {
  flaky.script([503, 503, 503, 503, 200]);
  const exceededBefore = await counter(legate, 'cluster.flaky.upstream_rq_retry_limit_exceeded');
  const reply = await fetchText(legate.url('/retry/exhausted'));
  t.equal(reply.status, 503);
  t.equal(reply.body, 'flaky 503', "the upstream's own answer");
  t.equal(flaky.seen.length, 4, 'one attempt and three retries');
  t.equal((await counter(legate, 'cluster.flaky.upstream_rq_retry_limit_exceeded')) - exceededBefore, 1);
  t.equal(await logLineFor('/retry/exhausted'), '/retry/exhausted 503 URX');
});

t.test('retry_on connect-failure fails over from a closed port to the live host', async (t) => {
  const failsBefore = await counter(legate, 'cluster.pair.upstream_cx_connect_fail');
  flaky.script([]);
  // Round robin puts the closed port first for some of these; each must still succeed.
  for (let i = 0; i < 4; i++) {
    const reply = await fetchText(legate.url('/failover'));
    t.equal(reply.status, 200, `request ${i}`);
  }
  t.equal(flaky.seen.length, 4, 'every request ended at the live host');
  t.ok((await counter(legate, 'cluster.pair.upstream_cx_connect_fail')) - failsBefore >= 1, 'the closed port was tried');
});

t.test('per_try_timeout: a hanging attempt is abandoned and retried', async (t) => {
  flaky.script(['hang', 200]);
  const timeoutsBefore = await counter(legate, 'cluster.flaky.upstream_rq_per_try_timeout');
  const reply = await fetchText(legate.url('/pertry'));
  t.equal(reply.status, 200);
  t.equal(flaky.seen.length, 2);
  t.equal((await counter(legate, 'cluster.flaky.upstream_rq_per_try_timeout')) - timeoutsBefore, 1);
  t.ok(flaky.arrivals[1] - flaky.arrivals[0] >= 190, 'the retry came after the 200 ms per-try timeout');
});

t.test('the back-off spaces the retries (full jitter within [0, 100 ms])', async (t) => {
  flaky.script([503, 503, 503, 200]);
  const reply = await fetchText(legate.url('/backoff'));
  t.equal(reply.status, 200);
  t.equal(flaky.arrivals.length, 4);
  const gaps = flaky.arrivals.slice(1).map((at, i) => at - flaky.arrivals[i]);
  // Without a back-off the gaps are ~1 ms; with it, three uniform draws all below 5 ms happen
  // once in ~8000 runs.
  t.ok(Math.max(...gaps) >= 5, `some gap is a back-off: ${gaps.map((g) => g.toFixed(1)).join(', ')} ms`);
  t.ok(Math.max(...gaps) < 100 + 150, 'no gap much beyond max_interval');
});

t.test('a POST body is replayed on the retry', async (t) => {
  flaky.script([503, 200]);
  const reply = await fetchText(legate.url('/retry'), { method: 'POST', body: 'the body', headers: { 'content-type': 'text/plain' } });
  t.equal(reply.status, 200);
  t.same(flaky.bodies, ['the body', 'the body'], 'both attempts carried the body');
});

t.test('sidecar mode retries 5xx three times on a route without a policy; ingress does not', async (t) => {
  flaky.script([503, 503, 503, 200]);
  const ingress = await fetchText(legate.url('/plain'));
  t.equal(ingress.status, 503, 'ingress: no retries');
  t.equal(flaky.seen.length, 1);

  // Listeners named like sidecar mode's virtual ones stand in for them, so this test binds no
  // fixed port (15001/15006) on the host.
  const stub = routes([{ match: { prefix: '/' }, direct_response: { status: 204 } }]);
  const sidecar = await startLegate(
    bootstrap(
      [httpListener('outbound', routes([{ match: { prefix: '/' }, route: { cluster: 'flaky' } }])), httpListener('virtualOutbound', stub), httpListener('virtualInbound', stub)],
      [staticCluster('flaky', [{ port: flaky.port }])],
    ),
    { mode: 'sidecar' },
  );
  t.teardown(() => sidecar.stop());
  flaky.script([503, 503, 503, 200]);
  const meshed = await fetchText(sidecar.url('/plain'));
  t.equal(meshed.status, 200, 'sidecar: retried to success');
  t.equal(flaky.seen.length, 4);
  flaky.script([503, 503, 503, 503, 200]);
  t.equal((await fetchText(sidecar.url('/plain'))).status, 503, 'three retries, not more');
  t.equal(flaky.seen.length, 4);
});
