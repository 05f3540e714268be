// A listener's connection limit (the connection_limit network filter, which Legate applies per
// listener): connections past max_connections are closed at once and counted in
// listener.<address>.downstream_cx_overflow; a slot freed is usable again.
import type net from 'node:net';
import t from 'tap';
import { bootstrap, socketAddress, staticCluster } from '../../support/bootstrap.ts';
import { statsMap, waitFor } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { closedByPeer, connectClient, startEchoServer, tcpProxyFilter } from './support.ts';

const echo = await startEchoServer();
t.teardown(() => echo.close());
const legate = await startLegate(
  bootstrap(
    [
      {
        name: 'limited',
        address: socketAddress('127.0.0.1', 0),
        filter_chains: [
          {
            filters: [
              { name: 'envoy.filters.network.connection_limit', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.connection_limit.v3.ConnectionLimit', stat_prefix: 'limit', max_connections: 2 } },
              tcpProxyFilter('limited', 'echo'),
            ],
          },
        ],
      },
    ],
    [staticCluster('echo', [{ port: echo.port }])],
  ),
);
t.teardown(() => legate.stop());
const overflow = async () => [...(await statsMap(legate.adminUrl('')))].filter(([k]) => k.startsWith('listener.') && k.endsWith('.downstream_cx_overflow')).reduce((sum, [, v]) => sum + v, 0);

async function echoes(socket: net.Socket, text: string): Promise<boolean> {
  const reply = new Promise<string>((resolve) => socket.once('data', (d: Buffer) => resolve(d.toString())));
  socket.write(text);
  return (await reply) === text;
}

t.test('the third connection is refused while two are open; a freed slot is reused', async (t) => {
  const port = legate.port('limited');
  const first = await connectClient(port);
  const second = await connectClient(port);
  t.teardown(() => {
    first.destroy();
    second.destroy();
  });
  t.ok(await echoes(first, 'one'));
  t.ok(await echoes(second, 'two'));
  const third = await connectClient(port);
  t.teardown(() => third.destroy());
  await closedByPeer(third);
  t.equal(await overflow(), 1, 'downstream_cx_overflow counted the refusal');
  t.equal(echo.accepted.length, 2, 'the refused connection never reached the upstream');

  first.destroy();
  const fourth = await waitFor('a freed slot', async () => {
    const s = await connectClient(port);
    const ok = await Promise.race([echoes(s, 'four'), closedByPeer(s).then(() => false)]);
    if (ok) return s;
    s.destroy();
    return undefined;
  });
  t.teardown(() => fourth.destroy());
  t.pass('a new connection works once one closed');
});
