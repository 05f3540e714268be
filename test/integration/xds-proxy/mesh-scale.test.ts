// A mesh-sized config (istiod's shape: an EDS cluster and a virtual host per service) where one
// endpoint changes: the change must reach traffic as a host update of that one cluster, not as a
// new snapshot composed, validated and applied in full. cluster_manager.cluster_updated counts
// the clusters whose hosts went to the workers that way; a CDS change still takes the full path.
// Timings are printed (bench/mesh-scale.ts measures them), not asserted.
import { performance } from 'node:perf_hooks';
import t from 'tap';
import { Agent, request } from 'undici';
import { statsMap } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { spawnLegate } from '../../support/legate-process.ts';
import { closedPort, startUpstreamFor, type Upstream } from '../../support/upstream.ts';
import { meshLoadAssignment, meshResources, serviceHost, type MeshResources } from '../../support/xds/mesh.ts';
import type { XdsServer } from '../../support/xds-server.ts';
import { adsBootstrap, answerTo, CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL, LISTENER_TYPE_URL, ROUTE_TYPE_URL, startManagementServer } from '../../support/xds-proxy.ts';

const SERVICES = 2000;

function serveMesh(server: XdsServer, mesh: MeshResources): void {
  server.setResources(CLUSTER_TYPE_URL, 'c1', mesh.clusters);
  server.setResources(ENDPOINT_TYPE_URL, 'e0', mesh.loadAssignments);
  server.setResources(LISTENER_TYPE_URL, 'l1', [mesh.listener]);
  server.setResources(ROUTE_TYPE_URL, 'r1', [mesh.routeConfig]);
}

/** Which upstream answers for a service's host, on one kept-alive connection. */
function upstreamFor(url: string, dispatcher: Agent) {
  return async (i: number): Promise<string> => {
    const res = await request(url, { dispatcher, headers: { host: serviceHost(i) } });
    const body = await res.body.text();
    return res.statusCode === 200 ? (JSON.parse(body) as { upstream: string }).upstream : `status ${res.statusCode}`;
  };
}

t.test(`${SERVICES} services: one endpoint change is a host update of that cluster`, async (t) => {
  const server = await startManagementServer(t);
  const a = await startUpstreamFor(t, 'a');
  const b = await startUpstreamFor(t, 'b');
  const mesh = meshResources(SERVICES, a.port);
  serveMesh(server, mesh);
  const started = performance.now();
  const legate = await startLegate(adsBootstrap(server.port));
  t.teardown(() => legate.stop());
  t.comment(`${SERVICES} services applied in ${(performance.now() - started).toFixed(0)} ms`);
  const dispatcher = new Agent({ connections: 1 });
  t.teardown(() => dispatcher.close());
  const upstreamOf = upstreamFor(legate.url('/', 'outbound'), dispatcher);
  const updated = async () => (await statsMap(legate.adminUrl(''))).get('cluster_manager.cluster_updated') ?? 0;

  t.equal(await upstreamOf(SERVICES - 1), 'a', 'the last service is routed');
  t.equal(await updated(), 0, 'the initial config is a full snapshot');

  // istiod's incremental push: a response carrying only the changed load assignment.
  const change = async (i: number, to: Upstream, push: () => void): Promise<number> => {
    const start = performance.now();
    mesh.loadAssignments[i] = meshLoadAssignment(i, [to.port]);
    push();
    t.equal((await answerTo(server, ENDPOINT_TYPE_URL)).error_detail, undefined, 'ACKed');
    const ms = performance.now() - start;
    t.equal(await upstreamOf(i), to.name, `service ${i} now goes to ${to.name}`);
    return ms;
  };
  const one = await change(1234, b, () => server.updateResources(ENDPOINT_TYPE_URL, 'e1', [mesh.loadAssignments[1234]]));
  t.equal(await updated(), 1, 'one cluster got new hosts without a new snapshot');
  t.equal(await upstreamOf(1233), 'a', 'its neighbours keep theirs');

  // State of the world with every load assignment, one of them changed: still one host update.
  const all = await change(17, b, () => server.setResources(ENDPOINT_TYPE_URL, 'e2', mesh.loadAssignments));
  t.equal(await updated(), 2, 'only the changed assignment is applied');
  t.comment(`one EDS change: ${one.toFixed(1)} ms in a response of one, ${all.toFixed(1)} ms in a response of ${SERVICES}`);

  // A cluster change is not an endpoint change: the full path, and its hosts stay.
  const clusters = mesh.clusters.map((c, i) => (i === 1234 ? { ...c, connect_timeout: '3s' } : c));
  server.setResources(CLUSTER_TYPE_URL, 'c2', clusters);
  t.equal((await answerTo(server, CLUSTER_TYPE_URL)).error_detail, undefined, 'CDS ACKed');
  t.equal(await updated(), 2, 'a CDS change is applied as a snapshot');
  t.equal(await upstreamOf(1234), 'b', 'the changed cluster keeps the hosts EDS gave it');

  // And the next endpoint change applies to the cluster the CDS change rebuilt.
  await change(1234, a, () => server.updateResources(ENDPOINT_TYPE_URL, 'e3', [mesh.loadAssignments[1234]]));
  t.equal(await updated(), 3);
});

t.test('two workers: a host update reaches both', async (t) => {
  const server = await startManagementServer(t);
  const a = await startUpstreamFor(t, 'a');
  const b = await startUpstreamFor(t, 'b');
  // A fixed port: with SO_REUSEPORT each worker binds its own socket, and port 0 would differ.
  const port = await closedPort();
  const mesh = meshResources(20, a.port, port);
  serveMesh(server, mesh);
  const legate = await spawnLegate(adsBootstrap(server.port), ['--workers', '2']);
  t.teardown(() => legate.stop('SIGKILL'));
  const url = `http://127.0.0.1:${port}/`;
  for (const [version, to] of [['e1', b], ['e2', a], ['e3', b]] as const) {
    mesh.loadAssignments[7] = meshLoadAssignment(7, [to.port]);
    server.updateResources(ENDPOINT_TYPE_URL, version, [mesh.loadAssignments[7]]);
    t.equal((await answerTo(server, ENDPOINT_TYPE_URL)).error_detail, undefined, `${version} ACKed`);
    const seen = new Set<string>();
    // Fresh connections, spread over both workers.
    for (let i = 0; i < 10; i++) {
      const dispatcher = new Agent({ connections: 1 });
      seen.add(await upstreamFor(url, dispatcher)(7));
      await dispatcher.close();
    }
    t.same([...seen], [to.name], `every worker sends service 7 to ${to.name} once ${version} is ACKed`);
  }
  const stats = await statsMap(legate.adminUrl(''));
  t.equal(stats.get('cluster_manager.cluster_updated'), 3, 'three host updates, no snapshot');
});
