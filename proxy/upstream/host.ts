// One upstream host of a cluster: its address, weight and health, its connection pool, and the
// per-host counters /clusters shows. It implements the LbHost the load balancers read.
import type { LbEndpoint, HealthStatus } from '../config/model.ts';
import type { LbHost } from './lb/host.ts';
import type { InternalAddress } from '../transport/index.ts';

// Why a host is unhealthy, as the flags Envoy prints in /clusters.
export const HEALTH_FLAG = {
  failedActiveHc: 1, // /failed_active_hc
  failedOutlierCheck: 2, // /failed_outlier_check
  failedEdsHealth: 4, // /failed_eds_health
} as const;

export interface HostStats {
  cxTotal: number;
  cxActive: number;
  cxConnectFail: number;
  rqTotal: number;
  rqSuccess: number;
  rqError: number;
  rqTimeout: number;
  rqActive: number;
}

export class Host implements LbHost {
  readonly address: string;
  readonly ip: string;
  readonly port: number;
  /** A Unix domain socket (Address.pipe): `ip` and `address` are its path, `port` is 0. */
  readonly pipe: boolean;
  /** An internal listener of this worker (envoy_internal_address): `ip` and `address` are envoy://name/id. */
  readonly internal: InternalAddress | undefined;
  /** An internal host's metadata.filter_metadata, for its cluster's internal_upstream. */
  readonly metadata: Readonly<Record<string, unknown>> | undefined;
  readonly hostname: string;
  readonly weight: number;
  readonly priority: number;
  readonly localityKey: string;
  readonly localityWeight: number;
  readonly healthCheckPort: number;
  /** The endpoint's "envoy.transport_socket_match" metadata, for the cluster's transport_socket_matches. */
  readonly transportSocketMatch: Record<string, unknown> | undefined;
  edsStatus: HealthStatus;
  healthFlags = 0;
  activeRequests = 0;
  readonly stats: HostStats = {
    cxTotal: 0, cxActive: 0, cxConnectFail: 0, rqTotal: 0, rqSuccess: 0, rqError: 0, rqTimeout: 0, rqActive: 0,
  };

  constructor(endpoint: LbEndpoint, priority: number, localityKey: string, localityWeight: number) {
    this.ip = endpoint.address.address;
    this.port = endpoint.address.port;
    this.pipe = endpoint.address.pipe === true;
    this.internal = endpoint.address.internal;
    this.metadata = endpoint.metadata;
    this.address = this.pipe ? this.ip : hostAddress(this.ip, this.port);
    this.hostname = endpoint.hostname;
    this.weight = endpoint.loadBalancingWeight;
    this.priority = priority;
    this.localityKey = localityKey;
    this.localityWeight = localityWeight;
    this.healthCheckPort = endpoint.healthCheckPort || endpoint.address.port;
    this.transportSocketMatch = endpoint.transportSocketMatch;
    this.edsStatus = endpoint.healthStatus;
    if (!edsHealthy(endpoint.healthStatus) && endpoint.healthStatus !== 'DEGRADED') this.healthFlags |= HEALTH_FLAG.failedEdsHealth;
  }

  healthy(): boolean {
    return this.healthFlags === 0 && this.edsStatus !== 'DEGRADED';
  }

  degraded(): boolean {
    return this.healthFlags === 0 && this.edsStatus === 'DEGRADED';
  }

  /** Envoy's /clusters health_flags text: 'healthy' or the '/failed_…' flags joined. */
  healthFlagsText(): string {
    if (this.healthFlags === 0) return this.edsStatus === 'DEGRADED' ? '/degraded_eds_health' : 'healthy';
    let text = '';
    if (this.healthFlags & HEALTH_FLAG.failedActiveHc) text += '/failed_active_hc';
    if (this.healthFlags & HEALTH_FLAG.failedOutlierCheck) text += '/failed_outlier_check';
    if (this.healthFlags & HEALTH_FLAG.failedEdsHealth) text += '/failed_eds_health';
    return text;
  }
}

export function edsHealthy(status: HealthStatus): boolean {
  return status === 'HEALTHY' || status === 'UNKNOWN';
}

export function hostAddress(ip: string, port: number): string {
  if (!ip.includes(':')) return `${ip}:${port}`;
  // An internal listener's connection: envoy://name/id has no port (tcp_proxy's access log).
  return ip.startsWith('envoy://') ? ip : `[${ip}]:${port}`;
}
