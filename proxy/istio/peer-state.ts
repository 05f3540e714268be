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
