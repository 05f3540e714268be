// The management server is killed and restarted on the same port: the client reconnects with
// back-off, says so once (not once per attempt), and resubscribes with what it holds.
import { once } from 'node:events';
import t from 'tap';
import type { Test } from 'tap';
import {
  CLUSTER_TYPE_URL,
  createXdsClient,
  ENDPOINT_TYPE_URL,
  LISTENER_TYPE_URL,
} from '../../../xds-client/index.ts';
import { edsCluster, listener, loadAssignment } from '../../support/xds/fixtures.ts';
import { RecordingConsumer } from '../../support/xds/recording-consumer.ts';
import { pollUntil } from '../../support/xds/wait.ts';
import { XdsServer } from '../../support/xds-server.ts';

// A client with a short back-off whose log lines are kept, to count what it says.
function loggingClient(t: Test, server: XdsServer) {
  const lines: string[] = [];
  const consumer = new RecordingConsumer();
  const client = createXdsClient({
    server: { address: server.address },
    node: { id: 'n1', cluster: 'c' },
    initialFetchTimeoutMs: 0,
    backoff: { baseMs: 10, maxMs: 50 },
    onResources: consumer.consume,
    logger: { info: (m) => lines.push(`info ${m}`), warn: (m) => lines.push(`warn ${m}`) },
  });
  t.teardown(() => client.stop());
  return { client, consumer, lines };
}

t.test('SotW: reconnect with back-off, resubscribe with known versions', async (t) => {
  const server = new XdsServer();
  await server.start();
  t.teardown(() => server.stop());
  server.setResources(CLUSTER_TYPE_URL, 'c1', [edsCluster('backend')]);
  server.setResources(ENDPOINT_TYPE_URL, 'e1', [loadAssignment('backend', [9001])]);
  server.setResources(LISTENER_TYPE_URL, 'l1', [listener('http', 8080, 'local_route')]);

  const { client, consumer, lines } = loggingClient(t, server);
  const disconnects: string[] = [];
  client.on('disconnected', (reason) => disconnects.push(reason));
  client.setResourceNames(ENDPOINT_TYPE_URL, ['backend']);
  client.start();
  await consumer.waitFor((u) => u.typeUrl === LISTENER_TYPE_URL);
  await consumer.waitFor((u) => u.typeUrl === ENDPOINT_TYPE_URL);
  await server.waitForRequest((r) => r.request.type_url === LISTENER_TYPE_URL && r.request.version_info === 'l1');
  t.equal(client.state().connected, true);

  await server.stop();
  await once(client, 'disconnected');
  t.equal(client.state().connected, false);
  // Let several attempts fail while the server is down.
  await pollUntil('several failed attempts', () => client.state().types[CLUSTER_TYPE_URL]!.updateFailure >= 4);

  const requests = server.requests.length;
  const streams = server.streamsOpened;
  await server.start();
  await once(client, 'connected');
  const cds = await server.waitForRequest((r) => r.stream > streams && r.request.type_url === CLUSTER_TYPE_URL, { after: requests });
  t.equal(cds.request.version_info, 'c1', 'CDS resumes from the accepted version');
  t.equal(cds.request.response_nonce, undefined, 'nonces belong to the old stream');
  t.type(cds.request.node, 'object', 'the node is sent again on the new stream');
  const eds = await server.waitForRequest((r) => r.stream > streams && r.request.type_url === ENDPOINT_TYPE_URL, { after: requests });
  t.same(eds.request.resource_names, ['backend']);
  t.equal(eds.request.version_info, 'e1');
  const lds = await server.waitForRequest((r) => r.stream > streams && r.request.type_url === LISTENER_TYPE_URL, { after: requests });
  t.equal(lds.request.version_info, 'l1');
  t.ok(cds.index < eds.index && eds.index < lds.index, 'CDS, EDS, LDS order on the new stream');

  // The server had nothing newer, so it sent nothing; a new version flows as before.
  const updates = consumer.updates.length;
  server.setResources(LISTENER_TYPE_URL, 'l2', [listener('http', 8081, 'local_route')]);
  const update = await consumer.waitFor((u) => u.typeUrl === LISTENER_TYPE_URL, { after: updates });
  t.equal(update.update.version, 'l2');

  t.equal(disconnects.length, 1);
  t.same(
    lines.map((l) => l.split(' ').slice(0, 3).join(' ')),
    ['info xDS: connected', 'warn xDS: lost', 'info xDS: connected'],
    'one line per change of state, none per failed attempt',
  );
  t.match(client.state().types[CLUSTER_TYPE_URL], { version: 'c1', updateSuccess: 1 });
});

t.test('a server that is down from the start is reported once, then connected to', async (t) => {
  const server = new XdsServer();
  await server.start();
  await server.stop(); // a port that refuses connections until start() again
  t.teardown(() => server.stop());
  const { client, consumer, lines } = loggingClient(t, server);
  client.start();
  await pollUntil('three failed attempts', () => client.state().types[LISTENER_TYPE_URL]!.updateFailure >= 3);
  server.setResources(LISTENER_TYPE_URL, 'l1', [listener('http', 8080, 'r')]);
  await server.start();
  await consumer.waitFor((u) => u.typeUrl === LISTENER_TYPE_URL);
  t.same(lines.map((l) => l.split(' ').slice(0, 3).join(' ')), ['warn xDS: cannot', 'info xDS: connected']);
});
