// Envoy's original_dst listener filter on an internal listener's connection: there is no socket
// to ask SO_ORIGINAL_DST, so the destination is the `local` field ("ip:port") of the dynamic
// metadata namespace envoy.filters.listener.original_dst, as the cluster's internal_upstream
// passed it through from the endpoint (Istio's waypoints set it on each internal endpoint).
import { isIP } from 'node:net';
import type { ConnectionFacts } from '../filter-chain.ts';

const NAMESPACE = 'envoy.filters.listener.original_dst';

/** The facts with the metadata's destination, or null when it has none that parses. */
export function internalOriginalDst(metadata: Readonly<Record<string, unknown>> | undefined, facts: ConnectionFacts): ConnectionFacts | null {
  const local = (metadata?.[NAMESPACE] as { local?: unknown } | undefined)?.local;
  if (typeof local !== 'string') return null;
  const match = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(local);
  if (match === null || isIP(match[1]) === 0 || Number(match[2]) > 65535) return null;
  return { ...facts, destinationIp: match[1], destinationPort: Number(match[2]) };
}
