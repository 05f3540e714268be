// use_original_dst hand-off: which listener takes a connection whose original destination is
// ip:port (exact address first, then the wildcard of that port; never a listener that binds), and
// the listener filter's answer when there is nothing to restore.
import { Socket } from 'node:net';
import t from 'tap';
import { translateListener } from '../../../proxy/config/index.ts';
import { ListenerManager, type ChainHandler } from '../../../proxy/listener/index.ts';
import { hasOriginalDstFilter, restoreOriginalDst } from '../../../proxy/listener/original-dst/handoff.ts';
import { Store } from '../../../proxy/stats/index.ts';

function listener(name: string, address: string, port: number, extra: object = {}) {
  return translateListener({
    name,
    address: { socket_address: { address, port_value: port } },
    filter_chains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', stat_prefix: name, cluster: 'c' } }] }],
    ...extra,
  }).listener;
}

const idle: ChainHandler = { onConnection: (socket) => socket.destroy(), drain: () => {} };

t.test('the listener for an original destination', async (t) => {
  const manager = new ListenerManager(new Store(), false, 0, () => {});
  t.teardown(() => manager.drain(0));
  const virtual = { bind_to_port: false };
  await manager.update(
    [
      listener('vip', '10.241.0.2', 8080, virtual),
      listener('any_8080', '0.0.0.0', 8080, virtual),
      listener('any6_9090', '::', 9090, virtual),
      listener('bound', '127.0.0.1', 0),
    ],
    () => idle,
  );
  const name = (ip: string, port: number) => manager.byAddress(ip, port)?.config.name;
  t.equal(name('10.241.0.2', 8080), 'vip', 'the exact address wins');
  t.equal(name('10.241.0.3', 8080), 'any_8080', 'else the wildcard on that port');
  t.equal(name('fd00::3', 8080), undefined, 'an IPv4 wildcard does not take IPv6');
  t.equal(name('10.241.0.3', 9090), 'any6_9090', ':: takes IPv4 too');
  t.equal(name('10.241.0.2', 8081), undefined, 'no listener for the port: the receiving listener keeps it');
  const bound = manager.bound().find((l) => l.name === 'bound')!;
  t.equal(name('127.0.0.1', bound.port), undefined, 'a listener that binds its port is never a hand-off target');
});

t.test('the original_dst listener filter', async (t) => {
  t.ok(hasOriginalDstFilter(listener('l', '0.0.0.0', 15001, { listener_filters: [{ name: 'envoy.filters.listener.original_dst' }] })));
  t.notOk(hasOriginalDstFilter(listener('l', '0.0.0.0', 15001)));
  const facts = { destinationIp: '10.0.0.1', destinationPort: 15001, sourceIp: '10.0.0.2', sourcePort: 1, directSourceIp: '10.0.0.2', serverName: '', transportProtocol: 'raw_buffer', applicationProtocols: [] };
  t.equal(restoreOriginalDst(new Socket(), facts), null, 'nothing to restore: the connection keeps its local address');
});
