// Envoy's original_dst listener filter on an internal listener's connection: there is no socket
// to ask SO_ORIGINAL_DST. As Envoy, the destination and source come first from the connection's
// filter state (envoy.filters.listener.original_dst.local_ip and .remote_ip, which the upstream
// side shared: Istio's connect_terminate sets them from the CONNECT authority and its peer);
// without either, the destination is the `local` field ("ip:port") of the dynamic metadata
// namespace envoy.filters.listener.original_dst that the cluster's internal_upstream passed
// through from the endpoint (Istio's waypoints set it on each internal endpoint).
import { isIP } from 'node:net';
import { AddressObject, ORIGINAL_DST_LOCAL_IP_KEY, ORIGINAL_DST_REMOTE_IP_KEY } from '../../filter-state/index.ts';
import type { ConnectionFacts } from '../filter-chain.ts';

const NAMESPACE = 'envoy.filters.listener.original_dst';

/** The facts with the restored destination (and source), or null when nothing restores them. */
export function internalOriginalDst(metadata: Readonly<Record<string, unknown>> | undefined, facts: ConnectionFacts): ConnectionFacts | null {
  const state = facts.filterState;
  const local = state?.get(ORIGINAL_DST_LOCAL_IP_KEY);
  const remote = state?.get(ORIGINAL_DST_REMOTE_IP_KEY);
  if (local instanceof AddressObject || remote instanceof AddressObject) {
    const restored = { ...facts };
    if (local instanceof AddressObject) {
      restored.destinationIp = local.ip;
      restored.destinationPort = local.port;
    }
    if (remote instanceof AddressObject) {
      restored.sourceIp = remote.ip;
      restored.sourcePort = remote.port;
    }
    return restored;
  }
  const fromMetadata = (metadata?.[NAMESPACE] as { local?: unknown } | undefined)?.local;
  if (typeof fromMetadata !== 'string') return null;
  const match = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(fromMetadata);
  if (match === null || isIP(match[1]) === 0 || Number(match[2]) > 65535) return null;
  return { ...facts, destinationIp: match[1], destinationPort: Number(match[2]) };
}
