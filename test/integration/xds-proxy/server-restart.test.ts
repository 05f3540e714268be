// The management server is killed and restarted under load, with `legate run` as a child process:
// Legate serves the last good config meanwhile, reconnects with back-off, resubscribes with the
// versions it holds and takes the next push.
import t from 'tap';
import { statsMap, waitFor } from '../../support/http.ts';
import { spawnLegate } from '../../support/legate-process.ts';
import { steadyLoad } from '../../support/load.ts';
import { startUpstreamFor } from '../../support/upstream.ts';
import { adsBootstrap, answerTo, hit, ROUTE_TYPE_URL, setConfig, startManagementServer, taggedConfig } from '../../support/xds-proxy.ts';

for (const apiType of ['GRPC', 'DELTA_GRPC'] as const) {
  t.test(`${apiType}: the management server goes away and comes back under load`, async (t) => {
    const server = await startManagementServer(t);
    const a = await startUpstreamFor(t, 'a');
    setConfig(server, { clusters: { backend: [a.port] }, routes: [taggedConfig('r1')] });
    const legate = await spawnLegate(adsBootstrap(server.port, { apiType }));
    t.teardown(() => legate.stop('SIGKILL'));
    const connected = async () => (await statsMap(legate.adminUrl(''))).get('control_plane.connected_state');
    t.equal(await connected(), 1);

    const load = steadyLoad(legate.url('/x', 'http'), { concurrency: 4, maxMs: 60_000 });
    t.teardown(() => load.stop());
    await load.waitFor(50);
    const streams = server.streamsOpened;
    await server.stop();
    await waitFor('the stream loss to show', async () => ((await connected()) === 0 ? true : undefined), 10_000);
    await load.waitFor(load.completed() + 50);
    t.equal((await hit(legate.url('/', 'http'))).headers['x-route'], 'r1', 'the last good config serves while the server is gone');

    await server.start();
    await waitFor('the reconnect', async () => ((await connected()) === 1 ? true : undefined), 30_000, 50);
    const resubscribed = await server.waitForRequest((r) => r.stream > streams && r.request.type_url === ROUTE_TYPE_URL);
    if (apiType === 'GRPC') t.equal(resubscribed.request.version_info, 'r1', 'RDS resumes from the accepted version');
    else t.match(resubscribed.request.initial_resource_versions, { local_route: String }, 'delta resumes with the versions it holds');

    server.setResources(ROUTE_TYPE_URL, 'r2', [taggedConfig('r2')]);
    t.equal((await answerTo(server, ROUTE_TYPE_URL)).error_detail, undefined);
    t.equal((await hit(legate.url('/', 'http'))).headers['x-route'], 'r2', 'the push after the reconnect applies');
    const result = await load.stop();
    t.same(result.errors, [], 'no request failed');
    t.same([...result.statuses.keys()], [200]);
    const stats = await statsMap(legate.adminUrl(''));
    t.ok((stats.get('cluster_manager.cds.update_failure') ?? 0) >= 1, 'the lost stream counts as an update failure');
  });
}
