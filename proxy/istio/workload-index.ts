// Istio's workload discovery as the peer metadata readers see it: the workloads istiod serves,
// by address. Each process keeps one (the primary for its stats and for new workers, each worker
// for its filters); updates are incremental, as istiod's delta pushes are. Keyed by IP alone, as
// Istio's proxy keys it (not by network).
import { SocketAddress } from 'node:net';
import type { IstioWorkload, WorkloadMetadata } from '../config/model.ts';

/** What changed: workloads added or replaced, uids removed; `reset` replaces the whole index. */
export interface WorkloadUpdate {
  reset: boolean;
  workloads: IstioWorkload[];
  removed: string[];
}

/** Who is at an address, for the filters. */
export interface WorkloadLookup {
  lookup(ip: string): WorkloadMetadata | undefined;
}

export class WorkloadIndex implements WorkloadLookup {
  readonly #byAddress = new Map<string, WorkloadMetadata>();
  readonly #byUid = new Map<string, IstioWorkload>();

  /** Addresses indexed (Istio's workload_discovery.total). */
  get size(): number {
    return this.#byAddress.size;
  }

  workloads(): IterableIterator<IstioWorkload> {
    return this.#byUid.values();
  }

  apply(update: WorkloadUpdate): void {
    if (update.reset) {
      this.#byAddress.clear();
      this.#byUid.clear();
    }
    for (const uid of update.removed) this.#remove(uid);
    for (const workload of update.workloads) {
      this.#remove(workload.uid);
      this.#byUid.set(workload.uid, workload);
      for (const address of workload.addresses) this.#byAddress.set(address, workload.metadata);
    }
  }

  /** `ip` as Node reports a socket's address, or as an endpoint is written. */
  lookup(ip: string): WorkloadMetadata | undefined {
    if (this.#byAddress.size === 0) return undefined;
    const found = this.#byAddress.get(ip);
    if (found !== undefined || !ip.includes(':')) return found;
    // An IPv4 client of a dual-stack socket; an IPv6 address not written as Node writes it.
    if (ip.startsWith('::ffff:') && ip.includes('.')) return this.#byAddress.get(ip.slice(7));
    try {
      return this.#byAddress.get(new SocketAddress({ address: ip, family: 'ipv6' }).address);
    } catch {
      return undefined;
    }
  }

  // An address another workload took since stays with it.
  #remove(uid: string): void {
    const old = this.#byUid.get(uid);
    if (old === undefined) return;
    this.#byUid.delete(uid);
    for (const address of old.addresses) if (this.#byAddress.get(address) === old.metadata) this.#byAddress.delete(address);
  }
}

const ORIGINAL_DST_METADATA = 'envoy.filters.listener.original_dst';

/**
 * The address Istio looks an upstream host's workload up by: the host's IP, or for an internal
 * host (a waypoint's connect_originate) the original destination its metadata names; none for
 * another network's gateway (double HBONE). `address` is the host's 'ip:port' or envoy:// name.
 */
export function upstreamWorkloadAddress(address: string, metadata: Readonly<Record<string, unknown>> | undefined): string | undefined {
  if (!address.startsWith('envoy://')) return ipOf(address);
  if ((metadata?.istio as Record<string, unknown> | undefined)?.double_hbone !== undefined) return undefined;
  const local = (metadata?.[ORIGINAL_DST_METADATA] as Record<string, unknown> | undefined)?.local;
  return typeof local === 'string' ? ipOf(local) : undefined;
}

/** 'ip:port' or '[ip]:port' -> ip. */
export function ipOf(address: string): string {
  if (address.startsWith('[')) return address.slice(1, address.indexOf(']'));
  const colon = address.lastIndexOf(':');
  return colon < 0 || address.indexOf(':') !== colon ? address : address.slice(0, colon);
}
