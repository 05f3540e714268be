// The cluster's hosts, as a running Legate sees them (its workers' host health, through the same
// path as /clusters) or as configured, and the host its load balancer picks next for this
// request. Hash balancers are deterministic: a balancer built over the same hosts with the same
// health picks what the workers' balancers pick for the route's hash.
import type { Cluster, LbEndpoint, LocalityLbEndpoints } from '../config/model.ts';
import type { CompiledRoute, RouteRequest } from '../router/index.ts';
import { createLoadBalancer, HEALTH_FLAG, Host, hostAddress, type ClusterStatus, type HostStatus } from '../upstream/index.ts';
import type { HypotheticalRequest } from './request.ts';
import type { ClusterExplanation } from './types.ts';

export function explainCluster(cluster: Cluster, live: ClusterStatus | undefined, route: CompiledRoute | null, hypothetical: HypotheticalRequest, localPort: number): ClusterExplanation {
  const hosts = live === undefined ? configuredHosts(cluster) : live.hosts.map((status) => liveHost(status, cluster.loadAssignment.endpoints));
  const breaker = cluster.circuitBreakers[0];
  const out: ClusterExplanation = {
    name: cluster.name,
    type: cluster.type,
    lbPolicy: cluster.lbPolicy,
    hostsFrom: live === undefined ? 'config' : 'live',
    upstream: { protocol: cluster.upstreamProtocol, tls: upstreamTls(cluster, hypothetical), connectTimeoutMs: cluster.connectTimeoutMs },
    hosts: hosts.map((h, i) => {
      const stats = live?.hosts[i].stats;
      const host = { address: h.address, health: h.healthFlagsText(), weight: h.weight, priority: h.priority, locality: h.localityKey };
      return stats === undefined ? host : { ...host, active: { requests: stats.rqActive, connections: stats.cxActive } };
    }),
    pickNote: '',
    circuitBreakers: { maxConnections: breaker.maxConnections, maxPendingRequests: breaker.maxPendingRequests, maxRequests: breaker.maxRequests, maxRetries: breaker.maxRetries },
  };
  if (live !== undefined) {
    const sum = (key: 'rqActive' | 'cxActive') => live.hosts.reduce((total, h) => total + h.stats[key], 0);
    out.active = { connections: sum('cxActive'), requests: sum('rqActive') };
  }
  const req: RouteRequest = hypothetical.route;
  if (cluster.type === 'ORIGINAL_DST') {
    out.pick = hostAddress(hypothetical.host, hypothetical.port);
    out.pickNote = 'ORIGINAL_DST: the connection\'s original destination';
    return out;
  }
  if (cluster.lbPolicy === 'RING_HASH' || cluster.lbPolicy === 'MAGLEV') {
    const connection = { remoteAddress: hypothetical.sourceIp, remotePort: hypothetical.sourcePort, localAddress: hypothetical.host, localPort };
    const hash = route?.hash(req, connection)?.hash;
    if (hash === undefined) {
      out.pickNote = route?.model.action.kind === 'route' && route.model.action.hashPolicy.length > 0 ? 'no hash_policy applies to this request: a random host' : 'the route has no hash_policy: a random host';
      return out;
    }
    out.hash = hash;
    const picked = createLoadBalancer(cluster.lbPolicy, hosts, cluster).chooseHost({ hash });
    if (picked === null) out.pickNote = 'no host available';
    else {
      out.pick = picked.address;
      out.pickNote = `${cluster.lbPolicy} over the ${out.hostsFrom === 'live' ? 'current' : 'configured'} hosts`;
    }
    return out;
  }
  const usable = hosts.filter((h) => h.healthy()).length;
  out.pickNote = `${cluster.lbPolicy}: each worker picks among ${usable} healthy of ${hosts.length} hosts with its own state; no single next host`;
  return out;
}

function upstreamTls(cluster: Cluster, req: HypotheticalRequest): string {
  const matches = cluster.transportSocketMatches === undefined ? '' : ` (transport_socket_matches: ${cluster.transportSocketMatches.map((m) => m.name).join(', ')})`;
  if (cluster.tls === undefined) return `none${matches}`;
  const auto = cluster.autoSni?.sni === true ? (cluster.autoSni.header === '' ? req.route.authority.replace(/:\d+$/, '') : `from header ${cluster.autoSni.header}`) : '';
  const sni = auto !== '' ? `auto_sni ${auto}` : cluster.tls.sni === '' ? 'no SNI' : `SNI ${cluster.tls.sni}`;
  return `${sni}${cluster.autoSni?.sanValidation === true ? ', auto_san_validation' : ''}${matches}`;
}

function configuredHosts(cluster: Cluster): Host[] {
  return cluster.loadAssignment.endpoints.flatMap((l) => l.lbEndpoints.map((e) => new Host(e, l.priority, localityKey(l), l.loadBalancingWeight)));
}

/** A host rebuilt from a worker's status: its health flags as the worker has them. */
function liveHost(status: HostStatus, localities: readonly LocalityLbEndpoints[]): Host {
  const colon = status.address.lastIndexOf(':');
  const degraded = status.healthFlags === '/degraded_eds_health';
  const endpoint: LbEndpoint = {
    address: { address: status.address.slice(0, colon).replace(/^\[|\]$/g, ''), port: Number(status.address.slice(colon + 1)) },
    hostname: status.hostname,
    healthStatus: degraded ? 'DEGRADED' : 'HEALTHY',
    loadBalancingWeight: status.weight,
    healthCheckPort: 0,
  };
  const locality = localities.find((l) => l.priority === status.priority && localityKey(l) === status.locality);
  const host = new Host(endpoint, status.priority, status.locality, locality?.loadBalancingWeight ?? 0);
  if (status.healthFlags.includes('/failed_active_hc')) host.healthFlags |= HEALTH_FLAG.failedActiveHc;
  if (status.healthFlags.includes('/failed_outlier_check')) host.healthFlags |= HEALTH_FLAG.failedOutlierCheck;
  if (status.healthFlags.includes('/failed_eds_health')) host.healthFlags |= HEALTH_FLAG.failedEdsHealth;
  return host;
}

function localityKey(l: LocalityLbEndpoints): string {
  return `${l.locality.region}/${l.locality.zone}/${l.locality.subZone}`;
}
