// The hosts of an ORIGINAL_DST cluster (lb_policy CLUSTER_PROVIDED), as Envoy's: none are
// configured; each connection or request goes where its client was going, the downstream
// connection's local address as the original_dst listener filter restored it. A host is made on
// first use and dropped by the cleanup_interval sweep that finds it unused since the sweep before,
// so a passthrough cluster holds only the destinations in use, and their pools stay warm meanwhile.
// metadata_key names a dynamic metadata value 'ip:port' (the request's, else the connection's) that
// takes the original destination's place when present (istiod: a waypoint's address on
// connect_originate); upstream_port_override then keeps the destination's IP and replaces its port
// (a headless service's target port; HBONE's 15008). Before both, an address in the downstream's
// filter state under envoy.network.transport_socket.original_dst_address (Envoy's filter state override).
import { isIP, isIPv4 } from 'node:net';
import { AddressObject, ORIGINAL_DST_ADDRESS_KEY } from '../filter-state/index.ts';
import type { LbContext, LoadBalancer } from './lb/host.ts';
import { Host, hostAddress } from './host.ts';

/** Told the new host list, and the hosts just dropped (their pools can close). */
export type HostSetListener = (hosts: Host[], removed: Host[]) => void;

export interface OriginalDstOptions {
  portOverride?: number;
  metadataKey?: { key: string; path: string[] };
  /** A metadata value that is no address (Envoy's original_dst_host_invalid). */
  onInvalidHost?: () => void;
}


export class OriginalDstHosts implements LoadBalancer {
  private readonly hosts = new Map<string, Host>();
  private readonly used = new Set<Host>();
  private readonly cleanupIntervalMs: number;
  private readonly onChange: HostSetListener;
  private readonly options: OriginalDstOptions;
  private timer: NodeJS.Timeout | undefined;

  constructor(cleanupIntervalMs: number, onChange: HostSetListener, options: OriginalDstOptions = {}) {
    this.cleanupIntervalMs = cleanupIntervalMs;
    this.onChange = onChange;
    this.options = options;
  }

  /** The host for the original destination; null when the stream has no usable one. */
  chooseHost(ctx?: LbContext): Host | null {
    const destination = filterStateDestination(ctx) ?? this.metadataDestination(ctx) ?? (ctx?.downstreamLocalAddress === undefined ? null : parseAddress(ctx.downstreamLocalAddress));
    if (destination === null) return null;
    if (this.options.portOverride !== undefined) destination.port = this.options.portOverride;
    const key = hostAddress(destination.ip, destination.port);
    let host = this.hosts.get(key);
    if (host === undefined) {
      host = new Host(
        { address: { address: destination.ip, port: destination.port }, hostname: '', healthStatus: 'HEALTHY', loadBalancingWeight: 1, healthCheckPort: 0 },
        0,
        '//',
        0,
      );
      this.hosts.set(key, host);
      this.onChange([...this.hosts.values()], []);
      this.timer ??= setInterval(() => this.sweep(), this.cleanupIntervalMs).unref();
    }
    this.used.add(host);
    return host;
  }

  // As Envoy's metadataOverrideHost: the first source whose value at the key is a string (or a
  // list starting with one) decides; a string that is no address counts and falls back.
  private metadataDestination(ctx: LbContext | undefined): { ip: string; port: number } | null {
    const metadataKey = this.options.metadataKey;
    const sources = metadataKey === undefined ? undefined : ctx?.metadata?.dynamicMetadata?.();
    if (metadataKey === undefined || sources === undefined) return null;
    for (const source of sources) {
      let value: unknown = source?.[metadataKey.key];
      for (const segment of metadataKey.path) value = isRecord(value) ? value[segment] : undefined;
      if (Array.isArray(value)) value = value[0];
      if (typeof value !== 'string') continue;
      const destination = parseAddress(value);
      if (destination === null) this.options.onInvalidHost?.();
      return destination;
    }
    return null;
  }

  /** Health does not choose here: the original destination is the only candidate. */
  refresh(): void {}

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private sweep(): void {
    const removed: Host[] = [];
    for (const [key, host] of this.hosts) {
      if (this.used.has(host)) continue;
      this.hosts.delete(key);
      removed.push(host);
    }
    this.used.clear();
    if (this.hosts.size === 0) this.close();
    if (removed.length > 0) this.onChange([...this.hosts.values()], removed);
  }
}

// Envoy's filterStateOverrideHost: an address object the downstream's filter state holds under
// this key (Istio's set_internal_dst_address sets it on connect_originate) decides first.
function filterStateDestination(ctx: LbContext | undefined): { ip: string; port: number } | null {
  const object = ctx?.filterState?.get(ORIGINAL_DST_ADDRESS_KEY);
  return object instanceof AddressObject ? { ip: object.ip, port: object.port } : null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** 'ip:port', '[v6]:port' or 'v6:port' (as StreamInfo writes addresses); v4-mapped IPv6 as IPv4. */
export function parseAddress(text: string): { ip: string; port: number } | null {
  const colon = text.lastIndexOf(':');
  if (colon <= 0) return null;
  let ip = text.startsWith('[') && text[colon - 1] === ']' ? text.slice(1, colon - 1) : text.slice(0, colon);
  const port = Number(text.slice(colon + 1));
  if (!Number.isInteger(port) || port < 1 || port > 65535) return null;
  if (ip.startsWith('::ffff:') && isIPv4(ip.slice(7))) ip = ip.slice(7);
  return isIP(ip) === 0 ? null : { ip, port };
}
