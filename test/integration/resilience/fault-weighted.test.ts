// A fault scoped to upstream_cluster applies to exactly the requests whose weighted pick is that
// cluster: the pick is made once, before the filters, and the router keeps it.
import t from 'tap';
import { bootstrap, httpListener, ROUTER_TYPE, routes, staticCluster } from '../../support/bootstrap.ts';
import { fetchText } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { startUpstream } from '../../support/upstream.ts';

const FAULT_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault';

const a = await startUpstream('a');
const b = await startUpstream('b');
t.teardown(() => a.close());
t.teardown(() => b.close());

const legate = await startLegate(
  bootstrap(
    [
      httpListener('ingress', routes([{ match: { prefix: '/' }, route: { weighted_clusters: { clusters: [{ name: 'a', weight: 50 }, { name: 'b', weight: 50 }] } } }]), {
        http_filters: [
          { name: 'envoy.filters.http.fault', typed_config: { '@type': FAULT_TYPE, upstream_cluster: 'b', abort: { http_status: 418, percentage: { numerator: 100 } } } },
          { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } },
        ],
      }),
    ],
    [staticCluster('a', [{ port: a.port }]), staticCluster('b', [{ port: b.port }])],
  ),
);
t.teardown(() => legate.stop());

t.test('requests picked for b are aborted, those picked for a reach a, none reach b', async (t) => {
  const statuses = new Map<number, number>();
  for (let i = 0; i < 200; i++) {
    const { status } = await fetchText(legate.url('/'));
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
  }
  t.same([...statuses.keys()].sort(), [200, 418], 'both outcomes happen');
  t.equal(b.seen.length, 0, 'no request picked for b got past the fault');
  t.equal(a.seen.length, statuses.get(200), 'every 200 came from a');
  const aborted = statuses.get(418) ?? 0;
  t.ok(aborted > 50 && aborted < 150, `about half aborted (${aborted})`);
});
