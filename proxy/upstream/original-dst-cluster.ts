// The hosts of an ORIGINAL_DST cluster (lb_policy CLUSTER_PROVIDED), as Envoy's: none are
// configured; each connection or request goes where its client was going, the downstream
// connection's local address as the original_dst listener filter restored it. A host is made on
// first use and dropped by the cleanup_interval sweep that finds it unused since the sweep before,
// so a passthrough cluster holds only the destinations in use, and their pools stay warm meanwhile.
// upstream_port_override keeps the destination's IP and replaces its port (istiod: a headless
// service's target port; HBONE's 15008 on connect_originate).
import { isIP, isIPv4 } from 'node:net';
import type { LbContext, LoadBalancer } from './lb/host.ts';
import { Host, hostAddress } from './host.ts';

/** Told the new host list, and the hosts just dropped (their pools can close). */
export type HostSetListener = (hosts: Host[], removed: Host[]) => void;

export class OriginalDstHosts implements LoadBalancer {
  private readonly hosts = new Map<string, Host>();
  private readonly used = new Set<Host>();
  private readonly cleanupIntervalMs: number;
  private readonly onChange: HostSetListener;
  private readonly portOverride: number | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(cleanupIntervalMs: number, onChange: HostSetListener, portOverride?: number) {
    this.cleanupIntervalMs = cleanupIntervalMs;
    this.onChange = onChange;
    this.portOverride = portOverride;
  }

  /** The host for the original destination; null when the stream has no usable one. */
  chooseHost(ctx?: LbContext): Host | null {
    const destination = ctx?.downstreamLocalAddress === undefined ? null : parseAddress(ctx.downstreamLocalAddress);
    if (destination === null) return null;
    if (this.portOverride !== undefined) destination.port = this.portOverride;
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
