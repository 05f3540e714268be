// Cluster discovery types with real upstreams: STATIC, STRICT_DNS and LOGICAL_DNS (resolving
// 'localhost'), and connect_timeout against a port whose connects hang.
import { lookup } from 'node:dns/promises';
import t from 'tap';
import { bootstrap, dnsCluster, httpListener, routes, staticCluster } from '../../support/bootstrap.ts';
import { fetchJson, fetchText, statsMap } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { echoHandler, startUpstream, unresponsivePort, type Echo } from '../../support/upstream.ts';

interface ClustersJson {
  cluster_statuses: { name: string; host_statuses: { address: { socket_address: { address: string; port_value: number } }; hostname: string }[] }[];
}

const localhostV4 = await lookup('localhost', { family: 4 }).then(
  (a) => (a.address === '127.0.0.1' ? false : `localhost resolves to ${a.address}, not 127.0.0.1`),
  (err: Error) => `localhost does not resolve here: ${err.message}`,
);

const echo = await startUpstream('echo', echoHandler('echo'));
t.teardown(() => echo.close());
const parked = await unresponsivePort();
if ('close' in parked) t.teardown(() => parked.close());

const dnsClusters = localhostV4 === false
  ? [
      dnsCluster('strict', 'STRICT_DNS', 'localhost', echo.port, { dns_lookup_family: 'V4_ONLY' }),
      dnsCluster('logical', 'LOGICAL_DNS', 'localhost', echo.port, { dns_lookup_family: 'V4_ONLY' }),
    ]
  : [];

const legate = await startLegate(
  bootstrap(
    [
      httpListener(
        'ingress',
        routes([
          { match: { prefix: '/static' }, route: { cluster: 'static' } },
          { match: { prefix: '/strict' }, route: { cluster: 'strict', auto_host_rewrite: true } },
          { match: { prefix: '/logical' }, route: { cluster: 'logical', auto_host_rewrite: true } },
          { match: { prefix: '/parked' }, route: { cluster: 'parked' } },
        ]),
      ),
    ],
    [
      staticCluster('static', [{ port: echo.port }]),
      ...dnsClusters,
      ...('port' in parked ? [staticCluster('parked', [{ port: parked.port }], { connect_timeout: '0.25s' })] : []),
    ],
  ),
);
t.teardown(() => legate.stop());

const hostsOf = async (cluster: string) => {
  const json = await fetchJson<ClustersJson>(legate.adminUrl('/clusters?format=json'));
  return json.cluster_statuses.find((c) => c.name === cluster)?.host_statuses ?? [];
};

t.test('STATIC: the endpoint as configured', async (t) => {
  const seen = await fetchJson<Echo>(legate.url('/static'));
  t.equal(seen.url, '/static');
  const hosts = await hostsOf('static');
  t.same(hosts.map((h) => h.address.socket_address), [{ address: '127.0.0.1', port_value: echo.port }]);
});

for (const [type, cluster] of [['STRICT_DNS', 'strict'], ['LOGICAL_DNS', 'logical']] as const) {
  t.test(`${type}: 'localhost' is resolved to its address`, { skip: localhostV4 }, async (t) => {
    const seen = await fetchJson<Echo>(legate.url(`/${cluster}`), { headers: { host: 'public.example' } });
    t.equal(seen.url, `/${cluster}`, 'requests reach the resolved address');
    t.equal(seen.headers.host, 'localhost', 'auto_host_rewrite uses the DNS name');
    const hosts = await hostsOf(cluster);
    t.equal(hosts.length, 1);
    t.same(hosts[0]?.address.socket_address, { address: '127.0.0.1', port_value: echo.port });
    t.equal(hosts[0]?.hostname, 'localhost');
  });
}

t.test('connect_timeout: a connect that hangs fails with 503 UF after the timeout', { skip: 'skip' in parked ? parked.skip : false }, async (t) => {
  const started = performance.now();
  const reply = await fetchText(legate.url('/parked'));
  const elapsed = performance.now() - started;
  t.equal(reply.status, 503);
  t.match(reply.body, /reset reason: connection failure/);
  t.ok(elapsed >= 240 && elapsed < 3000, `failed after the 0.25 s connect_timeout (${elapsed.toFixed(0)} ms)`);
  const stats = await statsMap(legate.adminUrl(''));
  t.equal(stats.get('cluster.parked.upstream_cx_connect_timeout'), 1);
  t.equal(stats.get('cluster.parked.upstream_cx_connect_fail'), 1);
});
