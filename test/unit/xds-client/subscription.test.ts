import t from 'tap';
import {
  CLUSTER_TYPE_URL,
  ENDPOINT_TYPE_URL,
  LISTENER_TYPE_URL,
  resourceNameOf,
  ROUTE_TYPE_URL,
  WORKLOAD_TYPE_URL,
} from '../../../xds-client/resource-types.ts';
import { Subscription, Subscriptions } from '../../../xds-client/subscription.ts';

t.test('warming order: CDS, EDS, LDS, RDS, then other types', async (t) => {
  const subscriptions = new Subscriptions([LISTENER_TYPE_URL, CLUSTER_TYPE_URL]);
  subscriptions.named('type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret');
  subscriptions.named(ROUTE_TYPE_URL);
  subscriptions.named(ENDPOINT_TYPE_URL);
  t.same(subscriptions.inWarmingOrder().map((s) => s.typeUrl), [
    CLUSTER_TYPE_URL,
    ENDPOINT_TYPE_URL,
    LISTENER_TYPE_URL,
    ROUTE_TYPE_URL,
    'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
  ]);
});

t.test('wildcard types want everything and take no names', async (t) => {
  const subscriptions = new Subscriptions([LISTENER_TYPE_URL]);
  const listeners = subscriptions.named(LISTENER_TYPE_URL);
  t.ok(listeners.wildcard);
  t.ok(listeners.active);
  t.ok(listeners.fullState);
  t.ok(listeners.wants('anything'));
  t.throws(() => listeners.setNames(['a']), TypeError);
});

t.test('named types: active once they have names; changes are reported', async (t) => {
  const routes = new Subscription(ROUTE_TYPE_URL, false);
  t.notOk(routes.active);
  t.notOk(routes.fullState);
  t.ok(routes.setNames(['a', 'b']));
  t.ok(routes.active);
  t.notOk(routes.setNames(['b', 'a']), 'same set in another order is no change');
  t.ok(routes.wants('a'));
  t.notOk(routes.wants('c'));
  t.ok(routes.setNames([]));
  t.notOk(routes.active);
});

t.test('accepting records versions; names dropped are forgotten', async (t) => {
  const endpoints = new Subscription(ENDPOINT_TYPE_URL, false);
  endpoints.setNames(['a', 'b']);
  endpoints.accept('v1', [['a', '1'], ['b', '2']], [], 1000);
  t.same(endpoints.knownVersions(), { a: '1', b: '2' });
  endpoints.setNames(['b', 'c']);
  t.same(endpoints.knownVersions(), { b: '2' }, 'a is no longer wanted, so no longer claimed');
  endpoints.accept('v2', [['c', '3']], ['b'], 2000);
  t.same(endpoints.knownVersions(), { c: '3' });
  t.equal(endpoints.acceptedVersion, 'v2');
  t.match(endpoints.stats(), { version: 'v2', updateSuccess: 2, updateAttempt: 2, lastUpdateTime: 2000 });
});

t.test('full-state types: a response without a known resource removes it', async (t) => {
  const clusters = new Subscription(CLUSTER_TYPE_URL, true);
  clusters.accept('1', [['a', '1'], ['b', '1']], [], 1);
  t.same(clusters.removedBy(new Set(['b', 'c'])), ['a']);
  const routes = new Subscription(ROUTE_TYPE_URL, false);
  routes.setNames(['a']);
  routes.accept('1', [['a', '1']], [], 1);
  t.same(routes.removedBy(new Set()), [], 'absent means unchanged for named types');
});

t.test('rejections and stream failures count without touching accepted state', async (t) => {
  const listeners = new Subscription(LISTENER_TYPE_URL, true);
  listeners.accept('1', [['l', '1']], [], 5);
  listeners.reject('bad port');
  listeners.streamFailed();
  listeners.initialFetchTimedOut();
  t.same(listeners.stats(), {
    version: '1',
    updateAttempt: 3,
    updateSuccess: 1,
    updateRejected: 1,
    updateFailure: 1,
    initFetchTimeout: 1,
    lastUpdateTime: 5,
    lastError: 'bad port',
  });
  t.equal(listeners.acceptedVersion, '1');
  t.same(listeners.knownVersions(), { l: '1' });
});

t.test('a new stream forgets the nonce and what was sent, not what was accepted', async (t) => {
  const routes = new Subscription(ROUTE_TYPE_URL, false);
  routes.setNames(['r']);
  routes.nonce = '7';
  routes.requested = true;
  routes.sentNames.add('r');
  routes.accept('3', [['r', '3']], [], 1);
  routes.resetStream();
  t.equal(routes.nonce, '');
  t.notOk(routes.requested);
  t.equal(routes.sentNames.size, 0);
  t.equal(routes.acceptedVersion, '3');
  t.same(routes.knownVersions(), { r: '3' });
});

t.test("Istio's workloads: a wildcard, full-state type named by uid", async (t) => {
  const workloads = new Subscriptions([WORKLOAD_TYPE_URL]).named(WORKLOAD_TYPE_URL);
  t.ok(workloads.wildcard && workloads.fullState, "a SotW response is the whole set, as Istio's proxy takes it");
  workloads.accept('1', [['Kubernetes//Pod/default/a', '1'], ['Kubernetes//Pod/default/b', '1']], [], 0);
  t.same(workloads.removedBy(new Set(['Kubernetes//Pod/default/b'])), ['Kubernetes//Pod/default/a']);
  t.equal(resourceNameOf(WORKLOAD_TYPE_URL, { uid: 'Kubernetes//Pod/default/a', name: 'a-5d7c' }), 'Kubernetes//Pod/default/a', 'named by uid, not by the pod name');
});
