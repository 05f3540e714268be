// Internal listeners with --workers 2: each worker process registers its own internal listeners
// (the bootstrap extension's settings reach the forked workers), and the route through one serves
// every request; the admin merges the internal listener's stats.
import t from 'tap';
import { request } from 'undici';
import { bootstrap, httpListener, routes, staticCluster } from '../../support/bootstrap.ts';
import { spawnLegate } from '../../support/legate-process.ts';
import { steadyLoad } from '../../support/load.ts';
import { startUpstreamFor } from '../../support/upstream.ts';
import { INTERNAL_LISTENER_EXTENSION, internalCluster, internalHttpListener } from './fixtures.ts';

t.test('two workers, each with its internal listener', async (t) => {
  const app = await startUpstreamFor(t, 'app');
  const legate = await spawnLegate(bootstrap(
    [httpListener('public', routes([{ match: { prefix: '/' }, route: { cluster: 'to_inner' } }])), internalHttpListener('inner', 'app')],
    [internalCluster('to_inner', 'inner'), staticCluster('app', [{ port: app.port }])],
    { bootstrap_extensions: [INTERNAL_LISTENER_EXTENSION] },
  ), ['--workers', '2']);
  t.teardown(() => legate.stop('SIGKILL'));
  const load = steadyLoad(legate.url('/', 'public'), { concurrency: 8, maxRequests: 200 });
  const result = await load.done;
  t.equal(result.errors.length, 0, 'no request failed');
  t.equal(result.statuses.get(200), 200, 'every request went through an internal listener to the upstream');
  const stats = await (await request(legate.adminUrl('/stats?filter=inner'))).body.text();
  t.match(stats, /http\.inner\.downstream_rq_completed: 200\b/, "the internal listeners' connection managers served them all (summed over the workers)");
  t.match(stats, /listener\.envoy_internal_inner\.downstream_cx_total: [1-9]/);
});
