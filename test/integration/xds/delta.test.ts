// Incremental (delta) ADS against a real gRPC management server on loopback.
import t from 'tap';
import type { Test } from 'tap';
import {
  CLUSTER_TYPE_URL,
  createXdsClient,
  ENDPOINT_TYPE_URL,
  LISTENER_TYPE_URL,
} from '../../../xds-client/index.ts';
import type { XdsClient } from '../../../xds-client/index.ts';
import { edsCluster, listener, loadAssignment, withoutType } from '../../support/xds/fixtures.ts';
import { RecordingConsumer } from '../../support/xds/recording-consumer.ts';
import { XdsServer } from '../../support/xds-server.ts';
import type { RecordedRequest } from '../../support/xds-server.ts';

async function setup(t: Test): Promise<{ server: XdsServer; client: XdsClient; consumer: RecordingConsumer }> {
  const server = new XdsServer();
  await server.start();
  t.teardown(() => server.stop());
  server.setResources(CLUSTER_TYPE_URL, 'c1', [edsCluster('a'), edsCluster('b')]);
  server.setResources(ENDPOINT_TYPE_URL, 'e1', [loadAssignment('a', [9001]), loadAssignment('b', [9002])]);
  server.setResources(LISTENER_TYPE_URL, 'l1', [listener('http', 8080, 'local_route')]);
  const consumer = new RecordingConsumer();
  const client = createXdsClient({
    server: { address: server.address },
    node: { id: 'router~127.0.0.1~router~default.svc.cluster.local', cluster: 'router' },
    apiType: 'DELTA_GRPC',
    initialFetchTimeoutMs: 0,
    backoff: { baseMs: 20, maxMs: 100 },
    onResources: consumer.consume,
  });
  t.teardown(() => client.stop());
  return { server, client, consumer };
}

const isType = (typeUrl: string) => (r: RecordedRequest) => r.request.type_url === typeUrl;
const isAck = (typeUrl: string, nonce: unknown) => (r: RecordedRequest) =>
  isType(typeUrl)(r) && r.request.response_nonce === nonce && r.request.error_detail === undefined;

t.test('wildcard subscribe, per-resource versions, ACK by nonce', async (t) => {
  const { server, client, consumer } = await setup(t);
  client.start();
  const clusters = await consumer.waitFor((u) => u.typeUrl === CLUSTER_TYPE_URL);
  const first = server.requests[0]!;
  t.ok(first.delta);
  t.equal(first.request.type_url, CLUSTER_TYPE_URL);
  t.match(first.request.node, { id: 'router~127.0.0.1~router~default.svc.cluster.local', user_agent_name: 'legate' });
  t.same(first.request.resource_names_subscribe, undefined, 'empty subscribe: wildcard');
  t.same(first.request.initial_resource_versions, undefined, 'nothing held yet');

  const sent = server.lastResponse(CLUSTER_TYPE_URL)!.response;
  t.same(clusters.update.resources.map((r) => r.name).sort(), ['a', 'b']);
  t.same(clusters.update.resources.find((r) => r.name === 'a')!.resource, withoutType(edsCluster('a')));
  t.equal(clusters.update.version, 'c1');
  t.notOk(clusters.update.complete);
  const versions = Object.fromEntries((sent.resources as { name: string; version: string }[]).map((r) => [r.name, r.version]));
  t.same(Object.fromEntries(clusters.update.resources.map((r) => [r.name, r.version])), versions, 'each resource has its own version');
  const ack = await server.waitForRequest(isAck(CLUSTER_TYPE_URL, sent.nonce));
  t.same(Object.keys(ack.request).sort(), ['response_nonce', 'type_url'], 'an ACK is just the nonce');
});

t.test('subscribe and unsubscribe by name; removed_resources', async (t) => {
  const { server, client, consumer } = await setup(t);
  client.start();
  await consumer.waitFor((u) => u.typeUrl === CLUSTER_TYPE_URL);
  let requests = server.requests.length;
  client.setResourceNames(ENDPOINT_TYPE_URL, ['a']);
  const subscribe = await server.waitForRequest(isType(ENDPOINT_TYPE_URL), { after: requests });
  t.same(subscribe.request.resource_names_subscribe, ['a']);
  const endpoints = await consumer.waitFor((u) => u.typeUrl === ENDPOINT_TYPE_URL);
  t.same(endpoints.update.resources.map((r) => r.name), ['a']);

  requests = server.requests.length;
  let updates = consumer.updates.length;
  client.setResourceNames(ENDPOINT_TYPE_URL, ['b']);
  const change = await server.waitForRequest((r) => isType(ENDPOINT_TYPE_URL)(r) && r.request.resource_names_subscribe !== undefined, { after: requests });
  t.same(change.request.resource_names_subscribe, ['b']);
  t.same(change.request.resource_names_unsubscribe, ['a']);
  const b = await consumer.waitFor((u) => u.typeUrl === ENDPOINT_TYPE_URL, { after: updates });
  t.same(b.update.resources.map((r) => r.name), ['b'], 'only the newly subscribed resource is sent');

  updates = consumer.updates.length;
  server.setResources(CLUSTER_TYPE_URL, 'c2', [edsCluster('b')]);
  const removal = await consumer.waitFor((u) => u.typeUrl === CLUSTER_TYPE_URL && u.update.version === 'c2', { after: updates });
  t.same(removal.update.removed, ['a']);
  t.same(removal.update.resources, [], 'b did not change, so it is not sent again');

  updates = consumer.updates.length;
  server.setResources(ENDPOINT_TYPE_URL, 'e2', [loadAssignment('a', [9001])]);
  const gone = await consumer.waitFor((u) => u.typeUrl === ENDPOINT_TYPE_URL && u.update.version === 'e2', { after: updates });
  t.same(gone.update.removed, ['b'], 'a subscribed resource the server no longer has is removed');
});

t.test('NACK carries the nonce and error_detail; versions stay as accepted', async (t) => {
  const { server, client, consumer } = await setup(t);
  client.start();
  await consumer.waitFor((u) => u.typeUrl === LISTENER_TYPE_URL);
  consumer.decide = (typeUrl, update) =>
    typeUrl === LISTENER_TYPE_URL && update.version === 'l2' ? { ok: false, error: 'no' } : { ok: true };
  const requests = server.requests.length;
  server.setResources(LISTENER_TYPE_URL, 'l2', [listener('http', 8081, 'local_route')]);
  const nonce = server.lastResponse(LISTENER_TYPE_URL)!.response.nonce;
  const nack = await server.waitForRequest((r) => isType(LISTENER_TYPE_URL)(r) && r.request.error_detail !== undefined, { after: requests });
  t.equal(nack.request.response_nonce, nonce);
  t.same(nack.request.error_detail, { code: 3, message: 'no' });
  t.match(client.state().types[LISTENER_TYPE_URL], { version: 'l1', updateRejected: 1, updateSuccess: 1 });
});

t.test('after a reconnect, initial_resource_versions lists what the proxy holds', async (t) => {
  const { server, client, consumer } = await setup(t);
  client.start();
  client.setResourceNames(ENDPOINT_TYPE_URL, ['a']);
  await consumer.waitFor((u) => u.typeUrl === CLUSTER_TYPE_URL);
  await consumer.waitFor((u) => u.typeUrl === ENDPOINT_TYPE_URL);
  const clusterVersions = Object.fromEntries(
    (server.lastResponse(CLUSTER_TYPE_URL)!.response.resources as { name: string; version: string }[]).map((r) => [r.name, r.version]),
  );
  const endpointVersion = (server.lastResponse(ENDPOINT_TYPE_URL)!.response.resources as { version: string }[])[0]!.version;
  await server.waitForRequest(isAck(ENDPOINT_TYPE_URL, server.lastResponse(ENDPOINT_TYPE_URL)!.response.nonce));

  const updates = consumer.updates.length;
  const requests = server.requests.length;
  await server.stop();
  await server.start();
  const cds = await server.waitForRequest((r) => r.stream === 2 && isType(CLUSTER_TYPE_URL)(r), { after: requests });
  t.same(cds.request.initial_resource_versions, clusterVersions);
  t.same(cds.request.resource_names_subscribe, undefined, 'still a wildcard subscription');
  t.type(cds.request.node, 'object', 'node again on the new stream');
  const eds = await server.waitForRequest((r) => r.stream === 2 && isType(ENDPOINT_TYPE_URL)(r), { after: requests });
  t.same(eds.request.resource_names_subscribe, ['a']);
  t.same(eds.request.initial_resource_versions, { a: endpointVersion });
  await server.waitForRequest((r) => r.stream === 2 && isType(LISTENER_TYPE_URL)(r), { after: requests });

  // Nothing changed, so nothing is resent; a real change is.
  server.setResources(CLUSTER_TYPE_URL, 'c2', [edsCluster('a'), edsCluster('b'), edsCluster('c')]);
  const next = await consumer.waitFor((u) => u.typeUrl === CLUSTER_TYPE_URL, { after: updates });
  t.same(next.update.resources.map((r) => r.name), ['c']);
  t.equal(consumer.updates.length, updates + 1, 'no update was delivered for what the proxy already held');
});
