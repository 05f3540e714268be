// releaseOnClose: once a real TLS connection has closed, neither its TLSSocket nor the TCP socket
// under it holds a listener (so nothing of the connection is reachable from node's closed socket
// objects), every 'close' listener still ran, and a late error does not throw.
import t from 'tap';
import net from 'node:net';
import tls from 'node:tls';
import { once } from 'node:events';
import { setImmediate as nextImmediate } from 'node:timers/promises';
import { releaseOnClose } from '../../../proxy/transport/release.ts';
import { createTestCa, opensslMissing } from '../../support/test-ca.ts';

const missing = opensslMissing();
if (missing) t.plan(0, missing);

const EVENTS = ['data', 'end', 'close', 'error', 'finish', 'timeout', 'secure'];
const listeners = (socket: net.Socket): number => EVENTS.reduce((sum, event) => sum + socket.listenerCount(event), 0);

t.test('a closed TLS connection\'s sockets keep no listener but a quiet error handler', async (t) => {
  const ca = createTestCa();
  t.teardown(() => ca.remove());
  const leaf = ca.issue('server', ['DNS:server.test']);
  const context = tls.createSecureContext({ cert: leaf.cert, key: leaf.key });
  const accepted: { raw: net.Socket; secure: tls.TLSSocket }[] = [];
  const lateCloses: string[] = [];
  const server = net.createServer((raw) => {
    const secure = new tls.TLSSocket(raw, { isServer: true, secureContext: context });
    releaseOnClose(secure, raw);
    // What a connection's owner hangs on its sockets (the codec's listeners and their state).
    const state = { received: 0 };
    secure.on('data', (chunk: Buffer) => (state.received += chunk.length));
    secure.on('end', () => secure.end());
    raw.on('end', () => undefined);
    secure.on('close', () => lateCloses.push('secure'));
    raw.on('close', () => lateCloses.push('raw'));
    secure.on('error', () => undefined);
    accepted.push({ raw, secure });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => server.close());

  const client = tls.connect({ port: (server.address() as net.AddressInfo).port, host: '127.0.0.1', servername: 'server.test', ca: ca.cert });
  await once(client, 'secureConnect');
  t.equal(accepted.length, 1);
  const { raw, secure } = accepted[0];
  t.ok(listeners(secure) > 1 && listeners(raw) > 0, 'the open connection\'s listeners are in place');
  client.end('ping');
  await once(secure, 'close');
  t.ok(listeners(secure) > 1, 'nothing is removed while \'close\' is being emitted');
  await nextImmediate();
  await nextImmediate();
  t.same(lateCloses.sort(), ['raw', 'secure'], 'every close listener ran, the ones added after the release too');
  t.equal(listeners(secure), 1, 'the TLSSocket keeps one listener');
  t.equal(listeners(raw), 1, 'the TCP socket keeps one listener');
  t.equal(secure.listenerCount('error'), 1, 'it is for errors');
  t.doesNotThrow(() => secure.emit('error', new Error('late')), 'a late error does not throw');
  t.doesNotThrow(() => raw.emit('error', new Error('late')));
});
