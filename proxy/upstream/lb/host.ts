// The contract between a cluster's hosts and the load balancers. The cluster owns the host
// objects and their health; the balancers only read them.
import type { FilterState } from '../../filter-state/index.ts';

export interface LbHost {
  readonly address: string; // 'ip:port': stable identity, also the consistent-hashing key
  readonly weight: number; // load_balancing_weight >= 1
  readonly priority: number;
  readonly localityKey: string; // region/zone/subzone
  readonly localityWeight: number; // the locality's load_balancing_weight; 0 = unset
  // Not failing active HC, not outlier-ejected, EDS status HEALTHY or UNKNOWN.
  healthy(): boolean;
  // EDS DEGRADED (or degraded by HC) and otherwise fit; consulted only when healthy() is false,
  // so a degraded host that fails HC or is ejected must return false here too.
  degraded(): boolean;
  activeRequests: number; // maintained by the caller, read by LEAST_REQUEST
}

export interface LbContext {
  hash?: number; // uint32 from the route's hash policy (RING_HASH, MAGLEV)
  // The retry host predicates (previous_hosts): true = pick another host.
  exclude?: (host: LbHost) => boolean;
  // The route's host_selection_retry_max_attempts (Envoy default 1): how many times a host that
  // `exclude` rejects is re-picked. When every pick is rejected the last one is still returned,
  // as Envoy does: a retry on a used host beats no retry.
  maxAttempts?: number;
  // The downstream connection's local address, 'ip:port' (after the original_dst listener filter:
  // where the client was going). ORIGINAL_DST clusters connect there; other balancers ignore it.
  downstreamLocalAddress?: string;
  // Where the request's, then the downstream connection's dynamic metadata (namespace -> values)
  // are read: by an ORIGINAL_DST cluster with metadata_key only, so they are gathered when asked
  // (the stream itself is passed: nothing is made per request).
  metadata?: { dynamicMetadata?(): ReadonlyArray<Readonly<Record<string, unknown>> | undefined> };
  // The downstream's filter state, where an ORIGINAL_DST cluster finds Envoy's
  // envoy.network.transport_socket.original_dst_address before anything else.
  filterState?: FilterState;
}

export interface LoadBalancer {
  chooseHost(ctx?: LbContext): LbHost | null;
}

// Number of picks chooseHost may make for one request.
export function selectionPicks(ctx: LbContext | undefined): number {
  if (ctx === undefined || ctx.exclude === undefined) return 1;
  return (ctx.maxAttempts ?? 1) + 1;
}

// A uint32 from a [0, 1) random source.
export function randomUint32(random: () => number): number {
  return (random() * 4294967296) >>> 0;
}
