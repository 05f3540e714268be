// Sidecar mode's defaults: Istio's virtual listeners on 15001/15006 where the bootstrap binds
// nothing, the clusters they use unless the bootstrap has its own, and admin on 127.0.0.1:15000.
import t from 'tap';
import { translateBootstrap } from '../../../proxy/config/index.ts';
import type { ConnectionFacts } from '../../../proxy/listener/index.ts';
import { FilterChainMatcher } from '../../../proxy/listener/index.ts';
import { withSidecarDefaults } from '../../../proxy/server/sidecar.ts';

function facts(destinationPort: number): ConnectionFacts {
  return { destinationIp: '10.0.0.9', destinationPort, sourceIp: '10.0.0.2', sourcePort: 40000, directSourceIp: '10.0.0.2', serverName: '', transportProtocol: 'raw_buffer', applicationProtocols: [] };
}

t.test('a bootstrap without listeners gets virtualOutbound, virtualInbound and admin', async (t) => {
  const { boot, added } = withSidecarDefaults(translateBootstrap({ node: { id: 'app' } }));
  t.equal(added.length, 6, added.join(', '));
  const [outbound, inbound] = boot.listeners;
  t.match(outbound, { name: 'virtualOutbound', address: { address: '0.0.0.0', port: 15001 }, bindToPort: true, useOriginalDst: true, trafficDirection: 'OUTBOUND' });
  t.match(inbound, { name: 'virtualInbound', address: { address: '0.0.0.0', port: 15006 }, useOriginalDst: false, trafficDirection: 'INBOUND' });
  for (const l of [outbound, inbound]) t.strictSame(l.listenerFilters.map((f) => f.name), ['envoy.filters.listener.original_dst'], `${l.name} restores the original destination`);

  const outboundChain = new FilterChainMatcher(outbound);
  t.equal(outboundChain.match(facts(8080))?.name, 'PassthroughFilterChain', 'an unknown destination passes through');
  t.match(outboundChain.match(facts(8080))?.network, { kind: 'tcp_proxy', cluster: { name: 'PassthroughCluster' } });
  t.equal(outboundChain.match(facts(15001))?.name, 'virtualOutbound-blackhole', 'a connection to the capture port itself is not passed on (it would loop)');
  const inboundChain = new FilterChainMatcher(inbound);
  t.match(inboundChain.match(facts(8080))?.network, { kind: 'tcp_proxy', cluster: { name: 'InboundPassthroughClusterIpv4' } });
  t.equal(inboundChain.match(facts(15006))?.name, 'virtualInbound-blackhole');

  const clusters = new Map(boot.clusters.map((c) => [c.name, c]));
  t.match(clusters.get('PassthroughCluster'), { type: 'ORIGINAL_DST', lbPolicy: 'CLUSTER_PROVIDED', cleanupIntervalMs: 5000 });
  t.equal(clusters.get('PassthroughCluster')?.upstreamBindAddress, undefined);
  t.match(clusters.get('InboundPassthroughClusterIpv4'), { type: 'ORIGINAL_DST', upstreamBindAddress: '127.0.0.6' }, 'from the source the capture rules let through');
  t.match(clusters.get('BlackHoleCluster'), { type: 'STATIC', loadAssignment: { endpoints: [] } });
  t.strictSame(boot.admin.address, { address: '127.0.0.1', port: 15000 });
});

t.test("the user's own listeners, clusters and admin are kept", async (t) => {
  const user = translateBootstrap({
    node: { id: 'app' },
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: 9901 } } },
    static_resources: {
      listeners: [
        {
          name: 'my_outbound',
          address: { socket_address: { address: '0.0.0.0', port_value: 15001 } },
          filter_chains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', stat_prefix: 'out', cluster: 'PassthroughCluster' } }] }],
        },
      ],
      clusters: [{ name: 'PassthroughCluster', type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED', connect_timeout: '1s' }],
    },
  });
  const { boot } = withSidecarDefaults(user);
  t.strictSame(boot.listeners.map((l) => l.name), ['my_outbound', 'virtualInbound'], 'only the missing port gets a virtual listener');
  t.strictSame(boot.clusters.map((c) => c.name), ['PassthroughCluster', 'InboundPassthroughClusterIpv4', 'BlackHoleCluster']);
  t.equal(boot.clusters[0].connectTimeoutMs, 1000, 'a cluster of the same name is the user\'s');
  t.strictSame(boot.admin.address, { address: '127.0.0.1', port: 9901 });
});

t.test('listeners from a control plane: none generated', async (t) => {
  const { boot, added } = withSidecarDefaults(translateBootstrap({ node: { id: 'app' }, dynamic_resources: { lds_config: { path_config_source: { path: '/etc/legate/lds.yaml' } } } }));
  t.strictSame(boot.listeners, []);
  t.strictSame(added, ['admin on 127.0.0.1:15000']);
});
