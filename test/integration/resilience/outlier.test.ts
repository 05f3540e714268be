// Outlier detection end to end: a host answering 5xx five times in a row gets no traffic until
// its ejection time is over, then serves again.
import t from 'tap';
import { bootstrap, httpListener, routes, staticCluster } from '../../support/bootstrap.ts';
import { fetchText, waitFor } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { startScriptedUpstream } from '../../support/scripted-upstream.ts';
import { startUpstream } from '../../support/upstream.ts';

const bad = await startScriptedUpstream('bad');
t.teardown(() => bad.close());
const good = await startUpstream('good');
t.teardown(() => good.close());

const legate = await startLegate(
  bootstrap(
    [httpListener('ingress', routes([{ match: { prefix: '/' }, route: { cluster: 'svc' } }]))],
    [
      staticCluster('svc', [{ port: bad.port }, { port: good.port }], {
        // One host of two is 50 %: Envoy's default 10 % would never eject it.
        outlier_detection: { consecutive_5xx: 5, interval: '0.05s', base_ejection_time: '0.5s', max_ejection_percent: 50 },
      }),
    ],
  ),
);
t.teardown(() => legate.stop());

async function badHostFlags(): Promise<string> {
  const svc = (await legate.primary.clusters()).find((c) => c.name === 'svc')!;
  return svc.hosts.find((h) => h.address === bad.address)!.healthFlags;
}

t.test('five 5xx in a row eject the host; it gets no traffic until the ejection ends', async (t) => {
  bad.script(Array(50).fill(503));
  for (let i = 0; i < 20 && bad.seen.length < 5; i++) await fetchText(legate.url('/'));
  t.equal(bad.seen.length, 5);
  const ejectedAt = performance.now();
  t.equal(await badHostFlags(), '/failed_outlier_check', 'ejected on the fifth 5xx');
  let stats = await legate.primary.stats();
  t.equal(stats.counters.get('cluster.svc.outlier_detection.ejections_enforced_consecutive_5xx'), 1);
  t.equal(stats.gauges.get('cluster.svc.outlier_detection.ejections_active'), 1);

  for (let i = 0; i < 10; i++) t.equal((await fetchText(legate.url('/'))).status, 200);
  t.equal(bad.seen.length, 5, 'no request reached the ejected host');

  bad.script([]); // healthy from now on
  await waitFor('the unejection', async () => ((await badHostFlags()) === 'healthy' ? true : undefined), 5000);
  t.ok(performance.now() - ejectedAt >= 450, 'ejected for about base_ejection_time');
  for (let i = 0; i < 10 && bad.seen.length === 0; i++) t.equal((await fetchText(legate.url('/'))).status, 200);
  t.ok(bad.seen.length > 0, 'the host serves again');
  stats = await legate.primary.stats();
  t.equal(stats.gauges.get('cluster.svc.outlier_detection.ejections_active'), 0);
});
