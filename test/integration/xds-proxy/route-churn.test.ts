// A route config of 100 routes rewritten 50 times over ADS under steady load: every request is
// answered, and the routes in force move between two clusters as the pushes say.
import t from 'tap';
import type { JsonObject } from '../../../xds-client/index.ts';
import { startLegate } from '../../support/legate.ts';
import { steadyLoad } from '../../support/load.ts';
import { startUpstreamFor } from '../../support/upstream.ts';
import { adsBootstrap, answerTo, hit, ROUTE_TYPE_URL, routeConfig, setConfig, startManagementServer, taggedRoute } from '../../support/xds-proxy.ts';

const ROUTES = 100;
const PUSHES = 50;

function manyRoutes(push: number): JsonObject {
  const cluster = push % 2 === 0 ? 'a' : 'b';
  const routes = Array.from({ length: ROUTES }, (_, i) => taggedRoute(`/r${i}/`, cluster, `push-${push}`));
  return routeConfig('local_route', cluster, routes);
}

t.test(`${ROUTES} routes rewritten ${PUSHES} times under load: no request fails`, async (t) => {
  const server = await startManagementServer(t);
  const a = await startUpstreamFor(t, 'a');
  const b = await startUpstreamFor(t, 'b');
  setConfig(server, { clusters: { a: [a.port], b: [b.port] }, routes: [manyRoutes(0)], versions: { routes: 'r0' } });
  const legate = await startLegate(adsBootstrap(server.port));
  t.teardown(() => legate.stop());

  const load = steadyLoad(legate.url('/r57/item', 'http'), { concurrency: 4, maxMs: 60_000 });
  t.teardown(() => load.stop());
  await load.waitFor(50);
  for (let push = 1; push <= PUSHES; push++) {
    server.setResources(ROUTE_TYPE_URL, `r${push}`, [manyRoutes(push)]);
    const answer = await answerTo(server, ROUTE_TYPE_URL);
    if (answer.error_detail !== undefined) t.fail(`push ${push} was NACKed: ${JSON.stringify(answer.error_detail)}`);
  }
  const result = await load.stop();

  t.same(result.errors, [], 'no request failed');
  t.same([...result.statuses.keys()], [200], 'every answer is a 200');
  t.ok(result.sent > PUSHES, `${result.sent} requests`);
  const upstreams = new Set([...result.bodies.keys()].map((body) => (JSON.parse(body) as { upstream: string }).upstream));
  t.same([...upstreams].sort(), ['a', 'b'], 'the load followed the pushes between both clusters');
  const last = await hit(legate.url('/r99/x', 'http'));
  t.equal(last.headers['x-route'], `push-${PUSHES}`);
  t.equal(last.upstream, PUSHES % 2 === 0 ? 'a' : 'b');
});
