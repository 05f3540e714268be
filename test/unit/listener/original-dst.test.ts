import { connect, createServer, Socket, type AddressInfo } from 'node:net';
import { once } from 'node:events';
import t from 'tap';
import { originalDst, originalDstAvailable } from '../../../proxy/listener/original-dst/index.ts';

const available = originalDstAvailable();

t.test('availability is a yes, or a no with a one-line reason', async (t) => {
  if (available.ok) {
    t.strictSame(available, { ok: true });
  } else {
    t.type(available.reason, 'string');
    t.match(available.reason!, /original_dst/);
    t.notMatch(available.reason!, /\n/);
  }
});

t.test('a socket without an fd has no original destination', async (t) => {
  t.equal(originalDst(new Socket()), null);
});

t.test('a loopback connection that was not redirected', { skip: available.ok ? false : available.reason }, async (t) => {
  const server = createServer();
  t.teardown(() => server.close());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const client = connect(port, '127.0.0.1');
  t.teardown(() => client.destroy());
  const [accepted] = (await once(server, 'connection')) as [Socket];
  t.teardown(() => accepted.destroy());
  const dst = originalDst(accepted);
  // With conntrack active here its entry names the connection's own destination; without, none.
  if (dst === null) t.pass('no conntrack entry');
  else t.strictSame(dst, { address: '127.0.0.1', port, family: 4 });
});
