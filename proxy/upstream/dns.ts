// STRICT_DNS and LOGICAL_DNS clusters: endpoint hostnames are resolved now and again every
// dns_refresh_rate. STRICT_DNS uses every address returned; LOGICAL_DNS only the first, as Envoy.
// A failed refresh keeps the last good hosts.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Cluster, ClusterLoadAssignment, LbEndpoint } from '../config/model.ts';

export async function resolveAssignment(cluster: Cluster): Promise<ClusterLoadAssignment> {
  const family = cluster.dnsLookupFamily === 'V4_ONLY' ? 4 : cluster.dnsLookupFamily === 'V6_ONLY' ? 6 : 0;
  const endpoints = await Promise.all(
    cluster.loadAssignment.endpoints.map(async (locality) => {
      const resolved: LbEndpoint[] = [];
      for (const endpoint of locality.lbEndpoints) {
        const name = endpoint.address.address;
        if (isIP(name)) {
          resolved.push(endpoint);
          continue;
        }
        const found = await lookup(name, { all: true, family, order: cluster.dnsLookupFamily === 'V4_PREFERRED' ? 'ipv4first' : 'verbatim' });
        const chosen = cluster.type === 'LOGICAL_DNS' ? found.slice(0, 1) : found;
        for (const a of chosen) {
          resolved.push({ ...endpoint, hostname: endpoint.hostname || name, address: { address: a.address, port: endpoint.address.port } });
        }
      }
      return { ...locality, lbEndpoints: resolved };
    }),
  );
  return { ...cluster.loadAssignment, endpoints };
}

export function needsDns(cluster: Cluster): boolean {
  return cluster.type === 'STRICT_DNS' || cluster.type === 'LOGICAL_DNS';
}
