// `legate run --mode sidecar`: Istio's conventions for a proxy in an app's network namespace, on
// the ports `legate iptables apply` redirects to by default. A bootstrap that binds nothing on
// 15001 (or 15006) gets Istio's catch-all listener there:
//
//   virtualOutbound 0.0.0.0:15001  the app's outbound connections. original_dst restores where
//                                  each was going, and use_original_dst hands it to the listener
//                                  configured for that address (bind_to_port: false: e.g. a
//                                  service VIP's HTTP listener routing by :authority to a cluster
//                                  of instances); anything else passes through as TCP.
//   virtualInbound  0.0.0.0:15006  connections to the app. They go on, as TCP, to the address and
//                                  port the client dialled, from 127.0.0.6, which the capture
//                                  rules let through to the app (Istio's inbound passthrough).
//
// A connection dialled to a capture port itself is closed (Istio's blackhole chains): passing it
// through would dial the listener again, forever. Admin defaults to 127.0.0.1:15000. A bootstrap
// whose listeners come from a control plane (LDS) gets no listeners here: the control plane
// sends its own, as Istio's does.
import type { BootstrapConfig } from '../config/index.ts';
import { translateCluster, translateListener } from '../config/index.ts';

export const SIDECAR_PORTS = { outbound: 15001, inbound: 15006, admin: 15000 } as const;

const ORIGINAL_DST = { name: 'envoy.filters.listener.original_dst', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.original_dst.v3.OriginalDst' } };

function tcpProxy(cluster: string): object {
  return {
    name: 'envoy.filters.network.tcp_proxy',
    typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', stat_prefix: cluster, cluster },
  };
}

function blackhole(name: string, port: number): object {
  return { name, filter_chain_match: { destination_port: port }, filters: [tcpProxy('BlackHoleCluster')] };
}

const VIRTUAL_LISTENERS = [
  {
    port: SIDECAR_PORTS.outbound,
    clusters: ['PassthroughCluster', 'BlackHoleCluster'],
    resource: {
      name: 'virtualOutbound',
      address: { socket_address: { address: '0.0.0.0', port_value: SIDECAR_PORTS.outbound } },
      use_original_dst: true,
      traffic_direction: 'OUTBOUND',
      listener_filters: [ORIGINAL_DST],
      filter_chains: [blackhole('virtualOutbound-blackhole', SIDECAR_PORTS.outbound)],
      default_filter_chain: { name: 'PassthroughFilterChain', filters: [tcpProxy('PassthroughCluster')] },
    },
  },
  {
    port: SIDECAR_PORTS.inbound,
    clusters: ['InboundPassthroughClusterIpv4', 'BlackHoleCluster'],
    resource: {
      name: 'virtualInbound',
      address: { socket_address: { address: '0.0.0.0', port_value: SIDECAR_PORTS.inbound } },
      traffic_direction: 'INBOUND',
      listener_filters: [ORIGINAL_DST],
      filter_chains: [blackhole('virtualInbound-blackhole', SIDECAR_PORTS.inbound)],
      default_filter_chain: { name: 'virtualInbound-catchall-tcp', filters: [tcpProxy('InboundPassthroughClusterIpv4')] },
    },
  },
];

const CLUSTERS: Record<string, object> = {
  PassthroughCluster: { name: 'PassthroughCluster', type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED' },
  InboundPassthroughClusterIpv4: {
    name: 'InboundPassthroughClusterIpv4',
    type: 'ORIGINAL_DST',
    lb_policy: 'CLUSTER_PROVIDED',
    upstream_bind_config: { source_address: { address: '127.0.0.6', port_value: 0 } },
  },
  // No hosts: a connection routed here is closed.
  BlackHoleCluster: { name: 'BlackHoleCluster', type: 'STATIC' },
};

/** The bootstrap with the sidecar's defaults filled in, and what was added (for the log). */
export function withSidecarDefaults(boot: BootstrapConfig): { boot: BootstrapConfig; added: string[] } {
  const listeners = [...boot.listeners];
  const clusters = [...boot.clusters];
  const statics = (boot.raw.static_resources ?? {}) as { listeners?: object[]; clusters?: object[] };
  const raw = { listeners: [...(statics.listeners ?? [])], clusters: [...(statics.clusters ?? [])] }; // what /config_dump shows
  const added: string[] = [];
  if (boot.dynamicResources.lds === undefined) {
    for (const virtual of VIRTUAL_LISTENERS) {
      if (listeners.some((l) => l.name === virtual.resource.name || (l.bindToPort && l.address.port === virtual.port))) continue;
      listeners.push(translateListener(virtual.resource).listener);
      raw.listeners.push(virtual.resource);
      added.push(`listener ${virtual.resource.name} on 0.0.0.0:${virtual.port}`);
      // A cluster of the same name in the bootstrap is the user's choice and is kept.
      for (const name of virtual.clusters) {
        if (clusters.some((c) => c.name === name)) continue;
        clusters.push(translateCluster(CLUSTERS[name]).cluster);
        raw.clusters.push(CLUSTERS[name]);
        added.push(`cluster ${name}`);
      }
    }
  }
  let admin = boot.admin;
  if (admin.address === undefined) {
    admin = { ...admin, address: { address: '127.0.0.1', port: SIDECAR_PORTS.admin } };
    added.push(`admin on 127.0.0.1:${SIDECAR_PORTS.admin}`);
  }
  return { boot: { ...boot, listeners, clusters, admin, raw: { ...boot.raw, static_resources: { ...statics, ...raw } } }, added };
}
