// The fault filter end to end: aborts (FI) and delays (DI) from a route's override, faults
// controlled by request headers, a route that disables the filter, and max_active_faults.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { bootstrap, fileAccessLog, httpListener, ROUTER_TYPE, routes, staticCluster } from '../../support/bootstrap.ts';
import { fetchText, waitFor, waitForLogLine } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { startUpstream } from '../../support/upstream.ts';

const FAULT_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault';
const FILTER_CONFIG_TYPE = 'type.googleapis.com/envoy.config.route.v3.FilterConfig';

const dir = mkdtempSync(join(tmpdir(), 'legate-fault-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const logPath = join(dir, 'access.log');

const app = await startUpstream('app');
t.teardown(() => app.close());

const override = (fault: object) => ({ typed_per_filter_config: { 'envoy.filters.http.fault': { '@type': FAULT_TYPE, ...fault } } });
const legate = await startLegate(
  bootstrap(
    [
      httpListener(
        'ingress',
        routes([
          { match: { prefix: '/abort' }, route: { cluster: 'app' }, ...override({ abort: { http_status: 418, percentage: { numerator: 100 } } }) },
          { match: { prefix: '/delay' }, route: { cluster: 'app' }, ...override({ delay: { fixed_delay: '0.2s', percentage: { numerator: 100 } } }) },
          { match: { prefix: '/never' }, route: { cluster: 'app' }, ...override({ abort: { http_status: 500, percentage: { numerator: 0 } } }) },
          { match: { prefix: '/off' }, route: { cluster: 'app' }, typed_per_filter_config: { 'envoy.filters.http.fault': { '@type': FILTER_CONFIG_TYPE, disabled: true } } },
          { match: { prefix: '/' }, route: { cluster: 'app' } },
        ]),
        {
          access_log: [fileAccessLog(logPath, '%REQ(:PATH)% %RESPONSE_CODE% %RESPONSE_FLAGS%\n')],
          http_filters: [
            {
              name: 'envoy.filters.http.fault',
              typed_config: {
                '@type': FAULT_TYPE,
                delay: { header_delay: {}, percentage: { numerator: 100 } },
                abort: { header_abort: {}, percentage: { numerator: 100 } },
                max_active_faults: 1,
              },
            },
            { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } },
          ],
        },
      ),
    ],
    [staticCluster('app', [{ port: app.port }])],
  ),
);
t.teardown(() => legate.stop());

const logLineFor = (path: string): Promise<string> => waitForLogLine(logPath, path);

async function counter(name: string): Promise<number> {
  return (await legate.primary.stats()).counters.get(`http.ingress.fault.${name}`) ?? 0;
}

t.test('abort 100 %: the configured status, flag FI, the upstream untouched', async (t) => {
  const before = app.seen.length;
  const reply = await fetchText(legate.url('/abort/1'));
  t.equal(reply.status, 418);
  t.equal(reply.body, 'fault filter abort');
  t.equal(app.seen.length, before, 'not forwarded');
  t.equal(await logLineFor('/abort/1'), '/abort/1 418 FI');
  t.equal(await counter('aborts_injected'), 1);
});

t.test('a fixed delay holds the request for at least the delay, flag DI', async (t) => {
  const started = performance.now();
  const reply = await fetchText(legate.url('/delay/1'));
  const took = performance.now() - started;
  t.equal(reply.status, 200, 'then forwarded');
  t.ok(took >= 195, `took ${took.toFixed(0)} ms`);
  t.ok(took < 2000, 'and not much more');
  t.equal(await logLineFor('/delay/1'), '/delay/1 200 DI');
  t.equal(await counter('delays_injected'), 1);
});

t.test('percentage 0 never faults', async (t) => {
  t.equal((await fetchText(legate.url('/never'))).status, 200);
});

t.test('header-controlled faults', async (t) => {
  const plain = await fetchText(legate.url('/h/plain'));
  t.equal(plain.status, 200, 'no headers, no fault');

  const aborted = await fetchText(legate.url('/h/abort'), { headers: { 'x-envoy-fault-abort-request': '503' } });
  t.equal(aborted.status, 503);
  t.equal(await logLineFor('/h/abort'), '/h/abort 503 FI');

  const lowered = await fetchText(legate.url('/h/lowered'), { headers: { 'x-envoy-fault-abort-request': '503', 'x-envoy-fault-abort-request-percentage': '0' } });
  t.equal(lowered.status, 200, 'the percentage header lowered the share to 0');

  t.equal((await fetchText(legate.url('/h/bad'), { headers: { 'x-envoy-fault-abort-request': '99' } })).status, 200, 'an invalid status is ignored');

  const started = performance.now();
  const delayed = await fetchText(legate.url('/h/delay'), { headers: { 'x-envoy-fault-delay-request': '150' } });
  t.equal(delayed.status, 200);
  t.ok(performance.now() - started >= 145, 'delayed by the header value');
  t.equal(await logLineFor('/h/delay'), '/h/delay 200 DI');
});

t.test('a route can disable the filter', async (t) => {
  const reply = await fetchText(legate.url('/off'), { headers: { 'x-envoy-fault-abort-request': '503' } });
  t.equal(reply.status, 200);
});

t.test('max_active_faults: a fault past the limit is not injected', async (t) => {
  const overflowBefore = await counter('faults_overflow');
  const slow = fetchText(legate.url('/m/slow'), { headers: { 'x-envoy-fault-delay-request': '400' } });
  await waitFor('the active fault', async () => ((await legate.primary.stats()).gauges.get('http.ingress.fault.active_faults') === 1 ? true : undefined));
  const second = await fetchText(legate.url('/m/second'), { headers: { 'x-envoy-fault-abort-request': '503' } });
  t.equal(second.status, 200, 'not aborted while another fault is active');
  t.equal((await counter('faults_overflow')) - overflowBefore, 1);
  t.equal((await slow).status, 200);
  await waitFor('no active fault', async () => ((await legate.primary.stats()).gauges.get('http.ingress.fault.active_faults') === 0 ? true : undefined));
});
