// tcp_proxy honours the cluster's max_connections: with one connection open, the next one is
// closed at once with UO and counted in upstream_cx_overflow.
import t from 'tap';
import { bootstrap, staticCluster } from '../../support/bootstrap.ts';
import { statsMap } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { closedByPeer, connectClient, exchange, startEchoServer, tcpListener } from './support.ts';

const echo = await startEchoServer();
t.teardown(() => echo.close());
const legate = await startLegate(
  bootstrap(
    [tcpListener('capped', 'echo')],
    [staticCluster('echo', [{ port: echo.port }], { circuit_breakers: { thresholds: [{ max_connections: 1 }] } })],
  ),
);
t.teardown(() => legate.stop());

t.test('the second connection overflows while the first is open', async (t) => {
  const first = await connectClient(legate.port('capped'));
  t.teardown(() => first.destroy());
  // An echo proves the first connection has its upstream connection before the second comes.
  first.write('still here');
  const reply = await new Promise<string>((resolve) => first.once('data', (c: Buffer) => resolve(c.toString())));
  t.equal(reply, 'still here');
  const second = await exchange(legate.port('capped'), 'ping', { timeoutMs: 2000 }).catch(() => null);
  t.ok(second !== null && second.data.length === 0, 'the second connection was closed with no echo');
  const stats = await statsMap(legate.adminUrl(''));
  t.equal(stats.get('cluster.echo.upstream_cx_overflow'), 1);
  first.end();
  await closedByPeer(first);
});
