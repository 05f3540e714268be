// Cluster.transport_socket_matches: the first entry whose every `match` field the host's
// "envoy.transport_socket_match" metadata has with an equal value (an empty match takes every
// host); -1 when none does (the cluster's own transport_socket). Shared by the pools and the
// active health checker, so probes use the transport the host's traffic uses.
import type { TransportSocketMatch } from '../config/model.ts';

// Not an ESM import: that reads every export of node:util, loading what its lazy ones need.
const { isDeepStrictEqual } = process.getBuiltinModule('node:util');

export function matchTransport(matches: readonly TransportSocketMatch[], metadata: Record<string, unknown> | undefined): number {
  const md = metadata ?? {};
  return matches.findIndex((m) => Object.entries(m.match).every(([k, v]) => k in md && isDeepStrictEqual(md[k], v)));
}
