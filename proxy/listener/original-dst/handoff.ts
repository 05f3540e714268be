// Envoy's original_dst listener filter and use_original_dst hand-off. iptables REDIRECTs the app's
// connections to the sidecar's catch-all listeners; the filter reads where each was going
// (SO_ORIGINAL_DST) and makes that the connection's destination, for filter chain matching, the
// access log and ORIGINAL_DST clusters. With use_original_dst the connection then moves to the
// listener configured for that destination (bind_to_port: false), if there is one.
import type { Socket } from 'node:net';
import type { Listener } from '../../config/model.ts';
import type { ConnectionFacts } from '../filter-chain.ts';
import { originalDst, originalDstAvailable } from './index.ts';

const FILTER_NAME = 'envoy.filters.listener.original_dst';
const FILTER_TYPE = 'envoy.extensions.filters.listener.original_dst.v3.OriginalDst';

export function hasOriginalDstFilter(listener: Listener): boolean {
  return listener.listenerFilters.some((f) => f.type === FILTER_TYPE || f.name === FILTER_NAME);
}

/**
 * The facts with the pre-redirect destination, or null when there is none to restore (the
 * connection was not redirected, or the addon is unavailable): it then keeps its local address.
 */
export function restoreOriginalDst(socket: Socket, facts: ConnectionFacts): ConnectionFacts | null {
  let original;
  try {
    original = originalDst(socket);
  } catch {
    return null; // the socket went away while being accepted
  }
  if (original === null) return null;
  return { ...facts, destinationIp: original.address, destinationPort: original.port };
}

/** One line for the log when listeners ask for original_dst and it cannot work here, else null. */
export function originalDstUnavailableMessage(listeners: readonly Listener[]): string | null {
  const available = originalDstAvailable();
  if (available.ok) return null;
  // An internal listener's original_dst reads metadata, not the socket.
  const names = listeners.filter((l) => hasOriginalDstFilter(l) && l.internal !== true).map((l) => `'${l.name}'`);
  if (names.length === 0) return null;
  return `original_dst is unavailable (${available.reason}); connections on listener${names.length === 1 ? '' : 's'} ${names.join(', ')} keep their local address as their destination`;
}
