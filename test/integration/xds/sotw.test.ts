// State-of-the-world ADS against a real gRPC management server on loopback.
import t from 'tap';
import type { Test } from 'tap';
import {
  CLUSTER_TYPE_URL,
  createXdsClient,
  ENDPOINT_TYPE_URL,
  LISTENER_TYPE_URL,
  ROUTE_TYPE_URL,
} from '../../../xds-client/index.ts';
import type { JsonObject, XdsClient } from '../../../xds-client/index.ts';
import { edsCluster, listener, loadAssignment, routeConfig, withoutType } from '../../support/xds/fixtures.ts';
import { RecordingConsumer } from '../../support/xds/recording-consumer.ts';
import { XdsServer } from '../../support/xds-server.ts';
import type { RecordedRequest } from '../../support/xds-server.ts';

interface Setup {
  server: XdsServer;
  client: XdsClient;
  consumer: RecordingConsumer;
}

// A server with one listener -> route -> EDS cluster -> endpoints, and a client whose consumer
// subscribes, as the proxy does, to the routes its listeners name and the endpoints of its
// EDS clusters.
async function setup(t: Test): Promise<Setup> {
  const server = new XdsServer();
  await server.start();
  t.teardown(() => server.stop());
  server.setResources(CLUSTER_TYPE_URL, 'c1', [edsCluster('backend')]);
  server.setResources(ENDPOINT_TYPE_URL, 'e1', [loadAssignment('backend', [9001]), loadAssignment('unused', [9002])]);
  server.setResources(LISTENER_TYPE_URL, 'l1', [listener('http', 8080, 'local_route')]);
  server.setResources(ROUTE_TYPE_URL, 'r1', [routeConfig('local_route', 'backend'), routeConfig('other_route', 'backend')]);
  const consumer = new RecordingConsumer();
  const client = createXdsClient({
    server: { address: server.address },
    node: { id: 'sidecar~127.0.0.1~app.ns~ns.svc.cluster.local', cluster: 'app', metadata: { ISTIO_VERSION: '1.20.0' } },
    initialFetchTimeoutMs: 0,
    backoff: { baseMs: 20, maxMs: 200 },
    onResources: consumer.consume,
  });
  t.teardown(() => client.stop());
  const decide = consumer.decide;
  consumer.decide = (typeUrl, update) => {
    if (typeUrl === CLUSTER_TYPE_URL) {
      client.setResourceNames(ENDPOINT_TYPE_URL, update.resources.filter((r) => r.resource.type === 'EDS').map((r) => r.name));
    }
    if (typeUrl === LISTENER_TYPE_URL) client.setResourceNames(ROUTE_TYPE_URL, update.resources.map((r) => rdsName(r.resource)));
    return decide(typeUrl, update);
  };
  return { server, client, consumer };
}

function rdsName(listenerJson: JsonObject): string {
  const chains = listenerJson.filter_chains as JsonObject[];
  const hcm = (chains[0]!.filters as JsonObject[])[0]!.typed_config as JsonObject;
  return (hcm.rds as JsonObject).route_config_name as string;
}

const isType = (typeUrl: string) => (r: RecordedRequest) => r.request.type_url === typeUrl;

t.test('initial fetch: CDS and LDS by wildcard, then EDS and RDS by name, each after its ACK', async (t) => {
  const { server, client, consumer } = await setup(t);
  client.start();
  const routes = await consumer.waitFor((u) => u.typeUrl === ROUTE_TYPE_URL);
  const endpoints = await consumer.waitFor((u) => u.typeUrl === ENDPOINT_TYPE_URL);

  const first = server.requests[0]!;
  t.equal(first.request.type_url, CLUSTER_TYPE_URL, 'CDS is requested first');
  t.match(first.request.node, {
    id: 'sidecar~127.0.0.1~app.ns~ns.svc.cluster.local',
    cluster: 'app',
    metadata: { ISTIO_VERSION: '1.20.0' },
    user_agent_name: 'legate',
  });
  t.type((first.request.node as JsonObject).user_agent_version, 'string');
  t.same(first.request.resource_names, undefined, 'wildcard: no names');
  const lds = await server.waitForRequest(isType(LISTENER_TYPE_URL));
  t.equal(lds.request.node, undefined, 'node only on the first request of a stream');
  t.ok(lds.index > first.index);

  const cdsAck = await server.waitForRequest((r) => isType(CLUSTER_TYPE_URL)(r) && r.request.version_info === 'c1');
  const edsRequest = await server.waitForRequest(isType(ENDPOINT_TYPE_URL));
  t.ok(cdsAck.index < edsRequest.index, 'the EDS request follows the CDS ACK');
  t.same(edsRequest.request.resource_names, ['backend']);
  const ldsAck = await server.waitForRequest((r) => isType(LISTENER_TYPE_URL)(r) && r.request.version_info === 'l1');
  const rdsRequest = await server.waitForRequest(isType(ROUTE_TYPE_URL));
  t.ok(ldsAck.index < rdsRequest.index, 'the RDS request follows the LDS ACK');
  t.same(rdsRequest.request.resource_names, ['local_route']);

  t.same(routes.update.resources.map((r) => r.name), ['local_route'], 'only the route asked for');
  t.same(routes.update.resources[0]!.resource, withoutType(routeConfig('local_route', 'backend')));
  t.equal(routes.update.version, 'r1');
  t.notOk(routes.update.complete, 'RDS responses are not the whole set');
  t.same(endpoints.update.resources.map((r) => r.name), ['backend']);
  const clusters = consumer.of(CLUSTER_TYPE_URL)[0]!;
  t.ok(clusters.complete);
  t.same(clusters.resources[0]!.resource, withoutType(edsCluster('backend')));

  await server.waitForRequest((r) => isType(ROUTE_TYPE_URL)(r) && r.request.version_info === 'r1');
  const state = client.state();
  t.equal(state.connected, true);
  t.match(state.types[CLUSTER_TYPE_URL], { version: 'c1', updateSuccess: 1, updateRejected: 0, updateAttempt: 1 });
  t.match(state.types[ROUTE_TYPE_URL], { version: 'r1', updateSuccess: 1 });
  t.type(state.types[LISTENER_TYPE_URL]!.lastUpdateTime, 'number');
});

t.test('ACK carries the response version and nonce', async (t) => {
  const { server, client, consumer } = await setup(t);
  client.start();
  await consumer.waitFor((u) => u.typeUrl === ROUTE_TYPE_URL);
  const after = server.requests.length;
  server.setResources(CLUSTER_TYPE_URL, 'c2', [edsCluster('backend'), edsCluster('extra')]);
  const pushed = server.lastResponse(CLUSTER_TYPE_URL)!.response;
  const ack = await server.waitForRequest((r) => isType(CLUSTER_TYPE_URL)(r) && r.request.version_info === 'c2', { after });
  t.equal(ack.request.response_nonce, pushed.nonce);
  t.equal(ack.request.error_detail, undefined);
  const eds = await server.waitForRequest((r) => isType(ENDPOINT_TYPE_URL)(r) && (r.request.resource_names as string[]).length === 2, { after });
  t.same(eds.request.resource_names, ['backend', 'extra'], 'the new cluster is subscribed after the ACK');
  t.ok(eds.index > ack.index);
  t.equal(eds.request.version_info, 'e1', 'a subscription change carries the last accepted version');
});

t.test('NACK: previous version, the nonce, error_detail; the next good push is ACKed', async (t) => {
  const { server, client, consumer } = await setup(t);
  client.start();
  await consumer.waitFor((u) => u.typeUrl === ROUTE_TYPE_URL);
  const accept = consumer.decide;
  consumer.decide = (typeUrl, update) =>
    typeUrl === LISTENER_TYPE_URL && update.version === 'l2' ? { ok: false, error: 'listener http: port 0 is invalid' } : accept(typeUrl, update);

  const after = server.requests.length;
  server.setResources(LISTENER_TYPE_URL, 'l2', [listener('http', 0, 'local_route')]);
  const badNonce = server.lastResponse(LISTENER_TYPE_URL)!.response.nonce;
  const nack = await server.waitForRequest((r) => isType(LISTENER_TYPE_URL)(r) && r.request.error_detail !== undefined, { after });
  t.equal(nack.request.version_info, 'l1', 'NACK names the version still in use');
  t.equal(nack.request.response_nonce, badNonce);
  t.same(nack.request.error_detail, { code: 3, message: 'listener http: port 0 is invalid' });
  t.match(client.state().types[LISTENER_TYPE_URL], { version: 'l1', updateRejected: 1, lastError: 'listener http: port 0 is invalid' });

  server.setResources(LISTENER_TYPE_URL, 'l3', [listener('http', 8081, 'local_route')]);
  const goodNonce = server.lastResponse(LISTENER_TYPE_URL)!.response.nonce;
  const ack = await server.waitForRequest((r) => isType(LISTENER_TYPE_URL)(r) && r.request.version_info === 'l3', { after });
  t.equal(ack.request.response_nonce, goodNonce);
  t.equal(ack.request.error_detail, undefined);
  t.match(client.state().types[LISTENER_TYPE_URL], { version: 'l3', updateRejected: 1, updateSuccess: 2 });
});

t.test('a resource of the wrong type is NACKed without reaching the consumer', async (t) => {
  const { server, client, consumer } = await setup(t);
  client.start();
  await consumer.waitFor((u) => u.typeUrl === ROUTE_TYPE_URL);
  const before = consumer.of(LISTENER_TYPE_URL).length;
  const after = server.requests.length;
  server.setResources(LISTENER_TYPE_URL, 'l2', [edsCluster('not-a-listener')]);
  const nack = await server.waitForRequest((r) => isType(LISTENER_TYPE_URL)(r) && r.request.error_detail !== undefined, { after });
  t.match((nack.request.error_detail as JsonObject).message, /resource 0: a resource of type envoy\.config\.cluster\.v3\.Cluster in a envoy\.config\.listener\.v3\.Listener response/);
  t.equal(consumer.of(LISTENER_TYPE_URL).length, before);
});

t.test('removal: absent from LDS/CDS means removed; absent from RDS/EDS means unchanged', async (t) => {
  const { server, client, consumer } = await setup(t);
  client.start();
  await consumer.waitFor((u) => u.typeUrl === ROUTE_TYPE_URL);
  let after = consumer.updates.length;
  server.setResources(CLUSTER_TYPE_URL, 'c2', [edsCluster('backend'), edsCluster('extra')]);
  await consumer.waitFor((u) => u.typeUrl === CLUSTER_TYPE_URL && u.update.version === 'c2', { after });
  after = consumer.updates.length;
  server.setResources(CLUSTER_TYPE_URL, 'c3', [edsCluster('extra')]);
  const removal = await consumer.waitFor((u) => u.typeUrl === CLUSTER_TYPE_URL && u.update.version === 'c3', { after });
  t.same(removal.update.removed, ['backend']);
  t.same(removal.update.resources.map((r) => r.name), ['extra'], 'the full set is reported');
  t.ok(removal.update.complete);

  after = consumer.updates.length;
  server.setResources(ROUTE_TYPE_URL, 'r2', []);
  const routes = await consumer.waitFor((u) => u.typeUrl === ROUTE_TYPE_URL && u.update.version === 'r2', { after });
  t.same(routes.update.resources, []);
  t.same(routes.update.removed, [], 'a route config is dropped by unsubscribing, not by the server');

  const requestsBefore = server.requests.length;
  client.setResourceNames(ROUTE_TYPE_URL, []);
  const unsubscribe = await server.waitForRequest(isType(ROUTE_TYPE_URL), { after: requestsBefore });
  t.same(unsubscribe.request.resource_names, undefined, 'an empty list after the first request unsubscribes from all');
});
