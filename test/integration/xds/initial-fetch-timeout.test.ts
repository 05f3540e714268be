// initial_fetch_timeout: a type whose first response does not come in time is reported once.
import t from 'tap';
import {
  CLUSTER_TYPE_URL,
  createXdsClient,
  ENDPOINT_TYPE_URL,
  LISTENER_TYPE_URL,
} from '../../../xds-client/index.ts';
import { edsCluster, listener } from '../../support/xds/fixtures.ts';
import { RecordingConsumer } from '../../support/xds/recording-consumer.ts';
import { XdsServer } from '../../support/xds-server.ts';

t.test('only the type that got no response times out', async (t) => {
  const server = new XdsServer();
  await server.start();
  t.teardown(() => server.stop());
  server.setResources(CLUSTER_TYPE_URL, 'c1', [edsCluster('backend')]);
  server.setResources(LISTENER_TYPE_URL, 'l1', [listener('http', 8080, 'r')]);
  // No endpoints at all: the EDS subscription never gets a response.
  const consumer = new RecordingConsumer();
  const client = createXdsClient({
    server: { address: server.address },
    node: { id: 'n1', cluster: 'c' },
    // Long enough for CDS and LDS to answer on a loaded machine; EDS never answers, so it still fires.
    initialFetchTimeoutMs: 3000,
    onResources: consumer.consume,
  });
  t.teardown(() => client.stop());
  const timedOut: string[] = [];
  client.on('initialFetchTimeout', (typeUrl) => timedOut.push(typeUrl));
  client.start();
  await consumer.waitFor((u) => u.typeUrl === CLUSTER_TYPE_URL);
  await consumer.waitFor((u) => u.typeUrl === LISTENER_TYPE_URL);
  // Subscribed after CDS and LDS, so its timer is the last to fire.
  client.setResourceNames(ENDPOINT_TYPE_URL, ['backend']);
  await new Promise<void>((resolve) => client.once('initialFetchTimeout', () => resolve()));
  t.same(timedOut, [ENDPOINT_TYPE_URL]);
  t.equal(client.state().types[ENDPOINT_TYPE_URL]!.initFetchTimeout, 1);
  t.equal(client.state().types[CLUSTER_TYPE_URL]!.initFetchTimeout, 0);
});

t.test('an unreachable server: every subscribed type times out, once', async (t) => {
  const server = new XdsServer();
  await server.start();
  await server.stop();
  const client = createXdsClient({
    server: { address: server.address },
    node: { id: 'n1', cluster: 'c' },
    initialFetchTimeoutMs: 100,
    backoff: { baseMs: 10, maxMs: 20 },
    onResources: async () => ({ ok: true }),
  });
  t.teardown(() => client.stop());
  const timedOut: string[] = [];
  const both = new Promise<void>((resolve) => {
    client.on('initialFetchTimeout', (typeUrl) => {
      timedOut.push(typeUrl);
      if (timedOut.length === 2) resolve();
    });
  });
  client.start();
  await both;
  t.same(timedOut.sort(), [CLUSTER_TYPE_URL, LISTENER_TYPE_URL].sort());
  t.equal(client.state().connected, false);
});
