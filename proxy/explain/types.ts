// What `legate explain` answers for one hypothetical request: plain JSON-safe data, the same for
// the CLI's tree, its --json and the admin's GET /explain.

export interface ExplainInput {
  url: string; // http(s)://authority/path?query
  method?: string; // GET
  headers?: Record<string, string>; // lower-cased names
  listener?: string; // take this listener instead of finding one by the URL's port
  source?: string; // the downstream's address (source IP matches, hash_policy source_ip); 127.0.0.1
}

export interface ListenerExplanation {
  name: string;
  address: string; // ip:port as configured
  why: string; // how the listener was found
}

export interface ConnectionExplanation {
  destination: string; // ip:port (the original destination on a capturing listener)
  source: string;
  transportProtocol: string; // 'tls' only when the listener's tls_inspector reads the ClientHello
  serverName: string; // SNI; '' when none
  applicationProtocols: string[]; // ALPN offered
}

export interface FilterChainExplanation {
  name: string; // '' when unnamed
  index: number; // in filter_chains; -1 for the default_filter_chain
  why: string[]; // the chain's match criteria and the connection facts they met
  transportSocket: 'tls' | 'raw_buffer';
  networkFilter: string; // envoy.filters.network.http_connection_manager | ...tcp_proxy
  statPrefix: string;
}

export interface RouteCheck {
  name: string;
  matched: boolean;
  failed?: string; // the first condition that failed, in Envoy's order
  note?: string; // e.g. a runtime fraction below 100 %
}

export interface VirtualHostExplanation {
  routeConfig: string;
  name: string;
  domains: string[];
  // The routes tried, up to and including the one that matched; after a match on a runtime
  // fraction below 100 %, on to the route the other requests reach.
  routes: RouteCheck[];
}

export interface ClusterShare {
  name: string;
  weight?: number;
  sharePercent: number;
}

export interface HeaderChange {
  level: 'weighted cluster' | 'route' | 'virtual host' | 'route config';
  cluster?: string; // for a weighted cluster's own mutations
  add: { name: string; value: string; action: string }[];
  remove: string[];
}

export interface RetryExplanation {
  source: 'route' | 'mesh default';
  retryOn: string[];
  numRetries: number;
  perTryTimeoutMs: number; // 0 = none
  retriableStatusCodes: number[];
}

export interface HttpFilterExplanation {
  name: string;
  type: string; // the short kind: fault, local_ratelimit, ratelimit, rbac, cors, compressor, router, ...
  disabled: boolean; // typed_per_filter_config disabled for this route or virtual host
  detail?: string;
}

export type ActionExplanation =
  | { kind: 'direct_response'; status: number; bodyBytes: number }
  | { kind: 'redirect'; status: number; location: string }
  | {
      kind: 'route';
      clusters: ClusterShare[];
      clusterHeader?: string; // cluster_header: the header the cluster name comes from
      pathRewrite?: { from: string; to: string };
      hostRewrite?: string;
      requestHeaders: HeaderChange[];
      responseHeaders: HeaderChange[];
      timeoutMs: number; // 0 = none
      idleTimeoutMs: number;
      maxStreamDurationMs?: number;
      retry?: RetryExplanation;
      hashPolicy: string[];
      rateLimits: number; // rate_limits descriptors on the route (and the virtual host's when included)
      mirrors: string[];
    }
  | { kind: 'tcp_proxy'; clusters: ClusterShare[]; idleTimeoutMs: number; tunnel?: { method: 'CONNECT' | 'POST'; hostname: string } };

export interface HostExplanation {
  address: string;
  health: string; // 'healthy', '/failed_active_hc', ...
  weight: number;
  priority: number;
  locality: string; // region/zone/sub_zone
  active?: { requests: number; connections: number }; // live only, summed over the workers
}

export interface ClusterExplanation {
  name: string;
  type: string;
  lbPolicy: string;
  hostsFrom: 'live' | 'config';
  // How connections to its hosts are made: the protocol, TLS with its SNI, the connect timeout.
  upstream?: { protocol: string; tls: string; connectTimeoutMs: number };
  hosts: HostExplanation[];
  hash?: number; // the request's hash_policy hash (RING_HASH, MAGLEV)
  pick?: string; // the host the balancer picks next for this request
  pickNote: string; // how the pick was made, or why none can be named
  // The DEFAULT priority's thresholds; Legate counts against them in each worker process.
  circuitBreakers: { maxConnections: number; maxPendingRequests: number; maxRequests: number; maxRetries: number };
  active?: { connections: number; requests: number }; // live only: over all hosts and workers
  missing?: true; // the route names a cluster the snapshot does not have (503 NC)
}

export interface Explanation {
  request: { method: string; url: string; authority: string; path: string; scheme: string; routedPath?: string }; // routedPath: after the connection manager's normalization, when it differs
  listener: ListenerExplanation;
  connection: ConnectionExplanation; // what the filter chain match sees
  filterChain: FilterChainExplanation | null; // null: no chain matches, the connection is closed
  httpFilters: HttpFilterExplanation[];
  virtualHost: VirtualHostExplanation | null; // null: no virtual host for the authority (404 NR)
  route: string | null; // the matched route's name; null: no route (404 NR)
  action: ActionExplanation | null;
  clusters: ClusterExplanation[];
  notes: string[]; // what stops the walk early, or changes what happens (no route config yet, ...)
}
