// The router filter's contracts: what it needs of the downstream stream, its per-request state,
// the connection manager's counters it adds to, and how it is built. Types only, so the router's
// parts (router-filter, upstream-request, attempt, connect-tunnel) share them without a cycle.
import type { StreamInfo } from '../access-log/index.ts';
import type { HeaderMap } from '../codec/index.ts';
import type { RouterConfig } from '../config/model.ts';
import type { FilterStream } from '../http-filter/index.ts';
import type { Counter, Gauge } from '../stats/index.ts';
import type { ClusterManager } from '../upstream/index.ts';
import type { ClusterChoice } from './cluster-picker.ts';
import type { RouteRequest } from './request.ts';
import type { RouteMatchResult } from './route-table.ts';
import type { HttpTracing, Span } from '../tracing/index.ts';

/** What the router needs of the downstream stream beyond any filter's view (the HCM's stream implements it). */
export interface RouterStream extends FilterStream {
  /** The request as route matching saw it (original path and authority). */
  readonly request: RouteRequest;
  readonly route: RouteMatchResult<StreamInfo> | null;
  /** The route's cluster, picked once when the route matched. */
  readonly cluster: ClusterChoice | undefined;
  /** 'websocket', 'connect', …: the stream is an upgrade (or a CONNECT). */
  readonly upgradeType: string | undefined;
  /** The route's hash policy result for the load balancer (it may add a Set-Cookie). */
  hashKey(): number | undefined;
  /** The router's per-request state (an UpstreamRequest or a ConnectTunnel). */
  routerState: unknown;
  /** The request's span when the connection manager traces; each attempt propagates it or a child. */
  readonly activeSpan?: Span | null;
  /** ALPN protocols for the upstream TLS connection, set by Istio's istio.alpn filter. */
  readonly upstreamAlpn?: readonly string[];
  /** The request's, then the connection's dynamic metadata (for an ORIGINAL_DST cluster's metadata_key). */
  dynamicMetadata?(): ReadonlyArray<Readonly<Record<string, unknown>> | undefined>;
}

/** The per-request router state the filter hands body and trailers to. */
export interface RouterState {
  decodeData(data: Buffer, endStream: boolean): void;
  decodeTrailers(trailers: HeaderMap): void;
}

/** The connection manager's counters the router adds to (Envoy keeps them under http.<prefix>.). */
export interface RouterStats {
  rqTotal: Counter;
  noRoute: Counter;
  rqDirectResponse: Counter;
  rqRedirect: Counter;
  noCluster: Counter;
  downstreamCxUpgradesTotal: Counter;
  downstreamCxUpgradesActive: Gauge;
  downstreamFlowControlPausedReading: Counter;
  downstreamFlowControlResumedReading: Counter;
}

export interface RouterOptions {
  clusters: ClusterManager;
  /** The router filter's own config (suppress_envoy_headers, respect_expected_rq_timeout); Envoy's defaults when absent. */
  config?: RouterConfig;
  meshRetries: boolean; // sidecar mode: routes without a policy retry 5xx three times
  bufferLimitBytes: number;
  stats: RouterStats;
  /** The connection manager's tracing: a span per upstream attempt when it spawns them. */
  tracing?: HttpTracing | null;
}
