// The layered runtime over the admin: /runtime_modify changes what requests meet at once: the
// fault filter's abort share and status (Envoy's fault.http.* keys, and a *_runtime field naming
// another key), a route's runtime_fraction; an empty value falls back to the static layer; with
// --workers 2 every worker applies the change before /runtime_modify answers.
import t from 'tap';
import { bootstrap, httpListener, ROUTER_TYPE, routes } from '../../support/bootstrap.ts';
import { fetchText, rawExchange } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { spawnLegate } from '../../support/legate-process.ts';

const FAULT_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault';
const direct = (body: string) => ({ status: 200, body: { inline_string: body } });
const config = (faultExtra: object = {}) => bootstrap(
  [httpListener('l', routes([
    { match: { prefix: '/split', runtime_fraction: { default_value: { numerator: 0 }, runtime_key: 'routing.split.new' } }, direct_response: direct('new') },
    { match: { prefix: '/' }, direct_response: direct('old') },
  ]), {
    http_filters: [
      { name: 'envoy.filters.http.fault', typed_config: { '@type': FAULT_TYPE, abort: { http_status: 503, percentage: { numerator: 0 } }, ...faultExtra } },
      { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } },
    ],
  })],
  [],
  { layered_runtime: { layers: [{ name: 'static', static_layer: { fault: { http: { abort: { http_status: 502 } } } } }, { name: 'admin', admin_layer: {} }] } },
);

t.test('runtime_modify drives the fault filter and route fractions', async (t) => {
  const legate = await startLegate(config());
  t.teardown(() => legate.stop());
  const get = (path: string) => fetchText(legate.url(path));
  const modify = (query: string) => fetchText(legate.adminUrl(`/runtime_modify?${query}`), { method: 'POST' });

  t.equal((await get('/')).status, 200, 'the configured share is 0 %');
  t.equal((await modify('fault.http.abort.abort_percent=100')).status, 200);
  const aborted = await get('/');
  t.equal(aborted.status, 502, 'every request aborted, with the static layer\'s status (overriding the configured 503)');
  t.equal(aborted.body, 'fault filter abort');
  await modify('fault.http.abort.http_status=418');
  t.equal((await get('/')).status, 418, 'the admin layer wins over the static layer');
  await modify('fault.http.abort.http_status=');
  t.equal((await get('/')).status, 502, 'an empty value removes the admin value');
  await modify('fault.http.abort.abort_percent=');
  t.equal((await get('/')).status, 200);

  t.equal((await get('/split')).body, 'old', 'runtime_fraction default 0 %');
  await modify('routing.split.new=100');
  t.equal((await get('/split')).body, 'new', 'the runtime key takes every request');

  const runtime = JSON.parse((await fetchText(legate.adminUrl('/runtime'))).body);
  t.same(runtime.entries['routing.split.new'], { layer_values: ['', '100'], final_value: '100' });
  t.equal((await fetchText(legate.adminUrl('/runtime_modify?x=1'))).status, 405, 'POST only');
});

t.test('a *_runtime field names the key the filter reads', async (t) => {
  const legate = await startLegate(config({ abort_percent_runtime: 'my.abort' }));
  t.teardown(() => legate.stop());
  await fetchText(legate.adminUrl('/runtime_modify?fault.http.abort.abort_percent=100'), { method: 'POST' });
  t.equal((await fetchText(legate.url('/'))).status, 200, 'the default key no longer applies');
  await fetchText(legate.adminUrl('/runtime_modify?my.abort=100'), { method: 'POST' });
  t.equal((await fetchText(legate.url('/'))).status, 502);
});

t.test('without an admin layer /runtime_modify is refused', async (t) => {
  const legate = await startLegate(bootstrap([httpListener('l', routes([{ match: { prefix: '/' }, direct_response: direct('x') }]))], []));
  t.teardown(() => legate.stop());
  const r = await fetchText(legate.adminUrl('/runtime_modify?a=1'), { method: 'POST' });
  t.equal(r.status, 503);
  t.same(JSON.parse((await fetchText(legate.adminUrl('/runtime'))).body), { layers: [], entries: {} });
});

t.test('--workers 2: every worker has the change when /runtime_modify answers', async (t) => {
  const legate = await spawnLegate(config(), ['--workers', '2']);
  t.teardown(() => legate.stop());
  const port = legate.port();
  const statuses = async () => {
    const out: string[] = [];
    // New connections spread over both workers' sockets (SO_REUSEPORT).
    for (let i = 0; i < 20; i++) out.push((await rawExchange(port, 'GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n')).split(' ')[1]);
    return out;
  };
  t.same(new Set(await statuses()), new Set(['200']));
  const r = await fetch(legate.adminUrl('/runtime_modify?fault.http.abort.abort_percent=100'), { method: 'POST' });
  t.equal(r.status, 200);
  t.same(new Set(await statuses()), new Set(['502']), 'no worker serves the old value');
});

t.test('local_ratelimit filter_enabled / filter_enforced runtime keys', async (t) => {
  const LOCAL_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit';
  const legate = await startLegate(bootstrap(
    [httpListener('l', routes([{ match: { prefix: '/' }, direct_response: direct('x') }]), {
      http_filters: [
        {
          name: 'envoy.filters.http.local_ratelimit',
          typed_config: {
            '@type': LOCAL_TYPE,
            stat_prefix: 'lrl',
            token_bucket: { max_tokens: 1, tokens_per_fill: 1, fill_interval: '3600s' },
            filter_enabled: { default_value: { numerator: 0 }, runtime_key: 'lrl.enabled' },
            filter_enforced: { default_value: { numerator: 0 }, runtime_key: 'lrl.enforced' },
          },
        },
        { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } },
      ],
    })],
    [],
    { layered_runtime: { layers: [{ name: 'admin', admin_layer: {} }] } },
  ));
  t.teardown(() => legate.stop());
  const statuses = async (n: number) => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push((await fetchText(legate.url('/'))).status);
    return out;
  };
  t.same(await statuses(3), [200, 200, 200], 'off by default');
  await fetchText(legate.adminUrl('/runtime_modify?lrl.enabled=100&lrl.enforced=100'), { method: 'POST' });
  t.same(await statuses(2), [200, 429], 'the runtime turns it on: one token, then 429');
});
