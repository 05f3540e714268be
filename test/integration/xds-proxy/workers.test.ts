// `legate run --workers 2` over ADS: one stream in the primary, every push applied to both workers
// before it is ACKed, so the first requests after the ACK see it whichever worker takes them.
import t from 'tap';
import { spawnLegate } from '../../support/legate-process.ts';
import { closedPort, startUpstreamFor } from '../../support/upstream.ts';
import { adsBootstrap, answerTo, hit, rdsListener, ROUTE_TYPE_URL, setConfig, startManagementServer, taggedConfig } from '../../support/xds-proxy.ts';

t.test('two workers: a push is applied to both before the ACK', async (t) => {
  const server = await startManagementServer(t);
  const a = await startUpstreamFor(t, 'a');
  // A fixed port: with SO_REUSEPORT each worker binds its own socket, and port 0 would differ.
  const port = await closedPort();
  setConfig(server, { clusters: { backend: [a.port] }, listeners: [rdsListener('http', 'local_route', { port })], routes: [taggedConfig('r1')] });
  const legate = await spawnLegate(adsBootstrap(server.port), ['--workers', '2']);
  t.teardown(() => legate.stop('SIGKILL'));
  t.equal(server.streamsOpened, 1, 'one stream, from the primary');

  for (const tag of ['r2', 'r3', 'r4']) {
    server.setResources(ROUTE_TYPE_URL, tag, [taggedConfig(tag)]);
    t.equal((await answerTo(server, ROUTE_TYPE_URL)).error_detail, undefined);
    const seen = new Set<unknown>();
    // Fresh connections, spread over both workers.
    for (let i = 0; i < 10; i++) seen.add((await hit(`http://127.0.0.1:${port}/`)).headers['x-route']);
    t.same([...seen], [tag], `every worker serves ${tag} once it is ACKed`);
  }
  t.equal(server.streamsOpened, 1);
});
