// Envoy's filter state keys downstream_peer and upstream_peer, per stream: what the peer metadata
// filter found out about the peers, for the stats filter of the same stream. The first find wins.
import type { WorkloadMetadata } from './workload-metadata.ts';

export type PeerSide = 'downstream' | 'upstream';

const peers = new WeakMap<object, { downstream?: WorkloadMetadata; upstream?: WorkloadMetadata }>();

export function setPeer(stream: object, side: PeerSide, peer: WorkloadMetadata): void {
  let entry = peers.get(stream);
  if (entry === undefined) peers.set(stream, (entry = {}));
  entry[side] ??= peer;
}

export function peerOf(stream: object, side: PeerSide): WorkloadMetadata | undefined {
  return peers.get(stream)?.[side];
}

// Istio's older filter state object wasm.downstream_peer (a CelState holding the peer's node info,
// hashable): what connect_baggage sets on a CONNECT stream and shares once with the tunnel's
// internal connection, where istio.stats (HTTP and TCP) reads it as the downstream peer. Shaped as
// a filter-state object (proxy/filter-state/) without importing it: this folder stands below it.
export const DOWNSTREAM_PEER_KEY = 'wasm.downstream_peer';
// Set beside it, as Istio does, so that nothing waits for a TCP exchange's peer id.
export const DOWNSTREAM_PEER_ID_KEY = 'wasm.downstream_peer_id';

export class DownstreamPeer {
  readonly peer: WorkloadMetadata;
  readonly hashKey: string;

  constructor(peer: WorkloadMetadata) {
    this.peer = peer;
    this.hashKey = JSON.stringify(peer);
  }

  // Istio's value is a flatbuffer, nothing a format string can print.
  asString(): undefined {
    return undefined;
  }
}

/** The downstream peer in a filter state (a stream's sees its connection's), if one was set. */
export function downstreamPeerIn(state: { get(key: string): unknown } | undefined): WorkloadMetadata | undefined {
  const object = state?.get(DOWNSTREAM_PEER_KEY);
  return object instanceof DownstreamPeer ? object.peer : undefined;
}
