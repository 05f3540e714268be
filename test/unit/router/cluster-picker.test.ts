import t from 'tap';
import type { WeightedCluster } from '../../../proxy/config/model.ts';
import { CompiledRoute } from '../../../proxy/router/compiled-route.ts';
import { compileHeaderMutationLevel, literalValue } from '../../../proxy/router/header-mutation.ts';
import { mutations, request, route, routeAction } from './builders.ts';

function weighted(name: string, weight: number, header?: string): WeightedCluster {
  const added = header === undefined ? [] : [{ key: header, value: name, appendAction: 'APPEND_IF_EXISTS_OR_ADD' as const, keepEmptyValue: false }];
  return { name, weight, mutations: mutations({ requestHeadersToAdd: added }), typedPerFilterConfig: {} };
}

function splitting(clusters: WeightedCluster[]) {
  const totalWeight = clusters.reduce((sum, c) => sum + c.weight, 0);
  const action = routeAction({ cluster: { kind: 'weighted_clusters', clusters, totalWeight } });
  return new CompiledRoute(route('r', { kind: 'prefix', value: '/' }, { action }), [], literalValue);
}

t.test('a single cluster', async (t) => {
  const compiled = new CompiledRoute(route('r', { kind: 'prefix', value: '/' }), [], literalValue);
  t.same(compiled.pickCluster(request()), { name: 'r' });
});

t.test('weighted clusters split by weight (1:3 within 2 %)', async (t) => {
  const route = splitting([weighted('a', 1), weighted('b', 3)]);
  const picks = 40000;
  let a = 0;
  for (let i = 0; i < picks; i++) if (route.pickCluster(request()).name === 'a') a++;
  t.ok(Math.abs(a / picks - 0.25) < 0.02, `a got ${((100 * a) / picks).toFixed(2)} %`);
});

t.test('zero-weight clusters are never picked; many clusters split evenly', async (t) => {
  const clusters = [weighted('zero', 0)];
  for (let i = 0; i < 20; i++) clusters.push(weighted(`c${i}`, 5), weighted(`z${i}`, 0));
  const route = splitting(clusters);
  const counts = new Map<string, number>();
  for (let i = 0; i < 40000; i++) {
    const name = route.pickCluster(request()).name;
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  t.equal(counts.size, 20, 'only the weighted ones');
  for (const [name, count] of counts) t.ok(name.startsWith('c') && count > 1600 && count < 2400, `${name}: ${count}`);
  t.throws(() => splitting([weighted('a', 0)]), 'a total weight of 0 is a config error');
});

t.test('cluster_header takes the cluster from the request', async (t) => {
  const action = routeAction({ cluster: { kind: 'cluster_header', header: 'x-cluster' } });
  const compiled = new CompiledRoute(route('r', { kind: 'prefix', value: '/' }, { action }), [], literalValue);
  t.equal(compiled.pickCluster(request({ headers: { 'x-cluster': 'blue' } })).name, 'blue');
  t.equal(compiled.pickCluster(request({ headers: { 'x-cluster': ['green', 'red'] } })).name, 'green', 'the first value');
  t.equal(compiled.pickCluster(request()).name, '', 'none: the router answers no cluster');
});

t.test("a weighted cluster's header mutations come first in its chain", async (t) => {
  const hostLevel = compileHeaderMutationLevel(
    mutations({ requestHeadersToAdd: [{ key: 'x-chain', value: 'host', appendAction: 'APPEND_IF_EXISTS_OR_ADD', keepEmptyValue: false }] }),
    literalValue,
  );
  const clusters = [weighted('a', 1, 'x-chain'), weighted('b', 1, 'x-chain')];
  const action = routeAction({ cluster: { kind: 'weighted_clusters', clusters, totalWeight: 2 } });
  const routeMutations = mutations({
    requestHeadersToAdd: [{ key: 'x-chain', value: 'route', appendAction: 'APPEND_IF_EXISTS_OR_ADD', keepEmptyValue: false }],
  });
  const compiled = new CompiledRoute(route('r', { kind: 'prefix', value: '/' }, { action, mutations: routeMutations }), [hostLevel], literalValue);
  for (let i = 0; i < 20; i++) {
    const choice = compiled.pickCluster(request());
    const headers: Record<string, string | string[]> = {};
    compiled.mutations(choice.weighted).applyRequest(headers, undefined);
    t.same(headers['x-chain'], [choice.name, 'route', 'host']);
  }
  const headers: Record<string, string | string[]> = {};
  compiled.mutations().applyRequest(headers, undefined);
  t.same(headers['x-chain'], ['route', 'host'], 'without a weighted cluster: the route chain');
});
