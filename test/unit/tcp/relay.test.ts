// The Relay on real loopback sockets, driven directly: a downstream that closes while the upstream
// still holds bytes Legate could not write yet makes the upstream flush them, then close (Envoy's
// FlushWrite and upstream_flush_*); the idle timer closes both sides.
import { once } from 'node:events';
import net, { type AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { Relay, type RelayObserver } from '../../../proxy/tcp/relay.ts';
import { waitFor } from '../../support/http.ts';

/** A connected pair on loopback: [the side Legate holds, the peer]. */
async function socketPair(t: Test): Promise<[net.Socket, net.Socket]> {
  const server = net.createServer({ allowHalfOpen: true });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const peer = net.connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, allowHalfOpen: true });
  const [held] = (await once(server, 'connection')) as [net.Socket];
  server.close();
  t.teardown(() => {
    held.destroy();
    peer.destroy();
  });
  peer.on('error', () => {});
  return [held, peer];
}

function observer(): RelayObserver & { events: string[]; read: number } {
  const o = {
    events: [] as string[],
    read: 0,
    downstreamBytes: (n: number) => (o.read += n),
    upstreamBytes: () => {},
    downstreamReadPaused: (p: boolean) => o.events.push(p ? 'paused' : 'resumed'),
    upstreamReadPaused: () => {},
    upstreamFlushing: (a: boolean) => o.events.push(a ? 'flush start' : 'flush end'),
    idleTimeout: () => o.events.push('idle'),
  };
  return o;
}

t.test('a downstream closing while the upstream holds bytes: they are flushed, then the upstream closes', async (t) => {
  const [downstream, client] = await socketPair(t);
  const [upstream, server] = await socketPair(t);
  server.pause(); // reads nothing for now
  const o = observer();
  new Relay(downstream, upstream, 0, o).start();
  client.write(Buffer.alloc(64 * 1024 * 1024, 'x'));
  await waitFor('bytes held in the upstream write buffer', () => (upstream.writableLength > 0 && o.events.at(-1) === 'paused' ? true : undefined));
  downstream.destroy(); // as if the client went away
  await waitFor('the flush to start', () => (o.events.includes('flush start') ? true : undefined));
  let received = 0;
  server.on('data', (c: Buffer) => (received += c.length));
  const ended = once(server, 'end');
  server.resume();
  await ended;
  if (!upstream.closed) await once(upstream, 'close');
  t.equal(received, o.read, 'every byte read from the client reached the upstream, then a FIN');
  t.same(o.events.slice(-2), ['flush start', 'flush end']);
});

t.test('the idle timer closes both sides after silence, not before', async (t) => {
  const [downstream, client] = await socketPair(t);
  const [upstream, server] = await socketPair(t);
  const o = observer();
  new Relay(downstream, upstream, 200, o).start();
  server.pipe(server); // echo
  let lastActivity = 0;
  for (let i = 0; i < 4; i++) {
    client.write('tick');
    await once(client, 'data');
    lastActivity = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  t.same(o.events, [], 'talking every 100 ms keeps a 200 ms idle timer quiet');
  await Promise.all([once(downstream, 'close'), once(upstream, 'close')]);
  t.same(o.events, ['idle']);
  t.ok(Date.now() - lastActivity >= 190, 'closed only after 200 ms of silence');
});
