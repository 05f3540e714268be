// explain(): one hypothetical request through the model, step by step: listener, filter chain,
// virtual host, route, action, clusters and hosts. Pure: nothing is sent, nothing is changed.
import type { Cluster, Listener, RouteConfig } from '../config/model.ts';
import type { CompiledRoute } from '../router/index.ts';
import { hostAddress, type ClusterStatus } from '../upstream/index.ts';
import { clusterShares, explainAction } from './action.ts';
import { explainHttpFilters } from './filters.ts';
import { explainCluster } from './hosts.ts';
import { chooseFilterChain, chooseListener, connectionFacts } from './listener.ts';
import { hypotheticalRequest } from './request.ts';
import { connectionManagerPath } from './path.ts';
import { findRoute } from './route.ts';
import type { ClusterExplanation, ClusterShare, ExplainInput, Explanation } from './types.ts';

/** A Snapshot or a BootstrapConfig: what explain reads. */
export interface ExplainModel {
  listeners: readonly Listener[];
  clusters: readonly Cluster[];
  routeConfigs: Readonly<Record<string, RouteConfig>>;
}

export interface ExplainOptions {
  boundPorts?: ReadonlyMap<string, number>; // listener name -> bound port, from a running Legate
  liveClusters?: readonly ClusterStatus[]; // the workers' hosts; absent: hosts as configured
  meshRetries?: boolean; // sidecar mode: routes without a retry policy get the mesh default
}

export function explain(model: ExplainModel, input: ExplainInput, options: ExplainOptions = {}): Explanation {
  const req = hypotheticalRequest(input);
  const { listener, port, explanation: listenerExplanation } = chooseListener(model.listeners, req, input.listener, options.boundPorts ?? new Map());
  const facts = connectionFacts(listener, req);
  const out: Explanation = {
    request: { method: req.route.method, url: req.url, authority: req.route.authority, path: req.route.path, scheme: req.route.scheme },
    listener: listenerExplanation,
    connection: {
      destination: hostAddress(facts.destinationIp, facts.destinationPort),
      source: facts.sourcePort === 0 ? facts.sourceIp : hostAddress(facts.sourceIp, facts.sourcePort),
      transportProtocol: facts.transportProtocol,
      serverName: facts.serverName,
      applicationProtocols: facts.applicationProtocols,
    },
    filterChain: chooseFilterChain(listener, facts),
    httpFilters: [],
    virtualHost: null,
    route: null,
    action: null,
    clusters: [],
    notes: [],
  };
  const chain = out.filterChain === null ? undefined : out.filterChain.index === -1 ? listener.defaultFilterChain : listener.filterChains[out.filterChain.index];
  if (chain === undefined) {
    out.notes.push('no filter chain matches and there is no default_filter_chain: the connection is closed');
    return out;
  }
  const clustersOf = (shares: ClusterShare[], route: CompiledRoute | null): ClusterExplanation[] =>
    shares.map((share) => {
      const cluster = model.clusters.find((c) => c.name === share.name);
      if (cluster === undefined) return missingCluster(share.name);
      return explainCluster(cluster, options.liveClusters?.find((c) => c.name === share.name), route, req, port);
    });
  const network = chain.network;
  if (network.kind === 'tcp_proxy') {
    const shares = clusterShares(network.cluster);
    out.action = { kind: 'tcp_proxy', clusters: shares, idleTimeoutMs: network.idleTimeoutMs };
    const tunneling = network.tunneling;
    if (tunneling !== undefined) out.action.tunnel = { method: tunneling.usePost ? 'POST' : 'CONNECT', hostname: tunneling.hostname };
    out.clusters = clustersOf(shares, null);
    return out;
  }
  const config = model.routeConfigs[network.routeConfigName];
  if (config === undefined) {
    out.notes.push(`route config '${network.routeConfigName}' has not arrived${network.rds ? ' over RDS' : ''}: the listener is still warming`);
    return out;
  }
  const path = connectionManagerPath(network, req.route.path, req.route.method);
  if (path.kind === 'reject') {
    out.notes.push('path_with_escaped_slashes_action REJECT_REQUEST: the path has %2F or %5C: 400');
    return out;
  }
  if (path.kind === 'redirect') {
    out.action = { kind: 'redirect', status: 307, location: path.location };
    out.notes.push('path_with_escaped_slashes_action UNESCAPE_AND_REDIRECT: the path has %2F or %5C');
    return out;
  }
  if (path.path !== req.route.path) {
    out.request.routedPath = path.path;
    req.route.path = path.path;
  }
  const found = findRoute(config, req.route);
  out.virtualHost = found.explanation;
  out.httpFilters = explainHttpFilters(network.httpFilters, found.route?.model ?? null, found.virtualHost?.model ?? null);
  if (found.virtualHost === null) {
    out.notes.push(`no virtual host of '${config.name}' has a domain for '${req.route.authority}': 404, response flag NR`);
    return out;
  }
  if (found.route === null) {
    out.notes.push('no route of the virtual host matches: 404, response flag NR');
    return out;
  }
  out.route = found.route.name;
  out.action = explainAction(found.route, found.virtualHost.model, config, req.route, options.meshRetries ?? false);
  if (out.action.kind === 'route') {
    if (out.action.clusterHeader !== undefined && out.action.clusters.length === 0) out.notes.push(`cluster_header '${out.action.clusterHeader}' is absent: 503, response flag NC`);
    out.clusters = clustersOf(out.action.clusters, found.route);
  }
  return out;
}

function missingCluster(name: string): ClusterExplanation {
  return {
    name,
    type: '',
    lbPolicy: '',
    hostsFrom: 'config',
    hosts: [],
    pickNote: `no cluster '${name}': 503, response flag NC`,
    circuitBreakers: { maxConnections: 0, maxPendingRequests: 0, maxRequests: 0, maxRetries: 0 },
    missing: true,
  };
}
