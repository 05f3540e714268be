// What each scenario asks of the load generator, the upstream and the proxies. Plain data: the
// bench process and the load generator process both read it by name.

/** What a proxy must be able to do for a scenario to apply to it. */
export type Capability = 'host-routing' | 'weighted-split' | 'retry' | 'tcp' | 'tls' | 'http2';

/** Which peer config template a scenario uses (bench/peers/<target>/<route>.*). */
export type RouteKind = 'single' | 'vhosts' | 'split' | 'retry' | 'tcp' | 'tls' | 'h2c' | 'h2-tls';

/** The figure a scenario is about; the ratio columns compare it. */
export type Headline = 'rps' | 'mibps' | 'cpuPer1k';

export interface HttpLoad {
  method: 'GET' | 'POST';
  path: string;
  bodyBytes?: number;
  /** Rotate the Host header and path over the generated virtual hosts and routes. */
  rotateVirtualHosts?: boolean;
  /** Give every request a unique key: the upstream answers its first attempt 503, the next 200. */
  attemptKey?: boolean;
  newConnectionPerRequest?: boolean;
  /** Paced requests per second over all connections; absent means as fast as possible. */
  rate?: number;
}

export interface Scenario {
  name: string;
  title: string;
  protocol: 'http' | 'tcp';
  /** The client speaks HTTPS to the proxy, which terminates TLS and talks plain HTTP upstream. */
  tls?: boolean;
  /** The client speaks HTTP/2 to the proxy (h2load; h2c with prior knowledge, or h2 by ALPN with
   * tls); the proxy talks HTTP/1.1 upstream. */
  http2?: boolean;
  route: RouteKind;
  requires: readonly Capability[];
  /** Whether direct and the L4 pipe are a meaningful ceiling here; if not, why. */
  baselineNa?: string;
  http?: HttpLoad;
  /** Fixed connection count; otherwise --connections. */
  connections?: number;
  headline: Headline;
}

export const VIRTUAL_HOSTS = 1000;
/** Why direct and the L4 pipe have no TLS row: the upstream speaks plain HTTP only. */
const TLS_BASELINE_NA = 'the upstream speaks plain HTTP: nothing here terminates TLS';
/** Why direct and the L4 pipe have no HTTP/2 row: the upstream speaks HTTP/1.1 only. */
const HTTP2_BASELINE_NA = 'the upstream speaks HTTP/1.1 only: nothing here serves HTTP/2';
/** h2load's load for the HTTP/2 scenarios: streams in flight per connection (-m). */
export const H2_STREAMS_PER_CONNECTION = 10;
export const ROUTES_PER_HOST = 10;
/** Weights of the 3-way split, in upstream order. */
export const SPLIT_WEIGHTS = [50, 30, 20] as const;
/** The header carrying the retry scenario's per-request key. */
export const ATTEMPT_HEADER = 'x-bench-attempt';

export function virtualHostName(index: number): string {
  return `h${index}.bench.test`;
}

export function routePrefix(index: number): string {
  return `/r${index}`;
}

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'get64',
    title: 'GET, 64 B body, keep-alive',
    protocol: 'http',
    route: 'single',
    requires: [],
    http: { method: 'GET', path: '/64' },
    headline: 'rps',
  },
  {
    name: 'post16k',
    title: 'POST 16 KiB, echoed',
    protocol: 'http',
    route: 'single',
    requires: [],
    http: { method: 'POST', path: '/echo', bodyBytes: 16 * 1024 },
    headline: 'rps',
  },
  {
    name: 'download1m',
    title: '1 MiB download',
    protocol: 'http',
    route: 'single',
    requires: [],
    http: { method: 'GET', path: '/1m' },
    headline: 'mibps',
  },
  {
    name: 'newconn',
    title: 'GET 64 B, new connection per request',
    protocol: 'http',
    route: 'single',
    requires: [],
    http: { method: 'GET', path: '/64', newConnectionPerRequest: true },
    headline: 'rps',
  },
  {
    name: 'vhosts',
    title: `${VIRTUAL_HOSTS} virtual hosts x ${ROUTES_PER_HOST} routes`,
    protocol: 'http',
    route: 'vhosts',
    requires: ['host-routing'],
    http: { method: 'GET', path: '/', rotateVirtualHosts: true },
    headline: 'rps',
  },
  {
    name: 'split3',
    title: `weighted split ${SPLIT_WEIGHTS.join('/')} over 3 upstreams`,
    protocol: 'http',
    route: 'split',
    requires: ['weighted-split'],
    http: { method: 'GET', path: '/64' },
    headline: 'rps',
  },
  {
    name: 'retry',
    title: 'retry path: every request 503, then 200',
    protocol: 'http',
    route: 'retry',
    requires: ['retry'],
    baselineNa: 'no retries: every request would end as 503',
    http: { method: 'GET', path: '/64', attemptKey: true },
    headline: 'rps',
  },
  {
    name: 'tcp',
    title: 'TCP proxy throughput, 8 streams from the upstream',
    protocol: 'tcp',
    route: 'tcp',
    requires: ['tcp'],
    connections: 8,
    headline: 'mibps',
  },
  {
    name: 'rate1k',
    title: 'GET 64 B at a fixed 1000 req/s',
    protocol: 'http',
    route: 'single',
    requires: [],
    http: { method: 'GET', path: '/64', rate: 1000 },
    headline: 'cpuPer1k',
  },
  {
    name: 'tls-get64',
    title: 'GET 64 B over HTTPS, keep-alive, the proxy terminating TLS',
    protocol: 'http',
    tls: true,
    route: 'tls',
    requires: ['tls'],
    baselineNa: TLS_BASELINE_NA,
    http: { method: 'GET', path: '/64' },
    headline: 'rps',
  },
  {
    name: 'tls-newconn',
    title: 'GET 64 B over HTTPS, a new TLS connection per request',
    protocol: 'http',
    tls: true,
    route: 'tls',
    requires: ['tls'],
    baselineNa: TLS_BASELINE_NA,
    http: { method: 'GET', path: '/64', newConnectionPerRequest: true },
    headline: 'rps',
  },
  {
    name: 'h2-get64',
    title: `GET 64 B over HTTP/2 (h2c, prior knowledge), ${H2_STREAMS_PER_CONNECTION} streams per connection, HTTP/1.1 upstream`,
    protocol: 'http',
    http2: true,
    route: 'h2c',
    requires: ['http2'],
    baselineNa: HTTP2_BASELINE_NA,
    http: { method: 'GET', path: '/64' },
    headline: 'rps',
  },
  {
    name: 'h2-tls-get64',
    title: `GET 64 B over HTTP/2 over TLS (ALPN h2), ${H2_STREAMS_PER_CONNECTION} streams per connection, HTTP/1.1 upstream`,
    protocol: 'http',
    tls: true,
    http2: true,
    route: 'h2-tls',
    requires: ['http2', 'tls'],
    baselineNa: HTTP2_BASELINE_NA,
    http: { method: 'GET', path: '/64' },
    headline: 'rps',
  },
];

export const QUICK_SCENARIOS = ['get64', 'rate1k'];

export function scenarioByName(name: string): Scenario {
  const scenario = SCENARIOS.find((s) => s.name === name);
  if (!scenario) throw new Error(`unknown scenario '${name}' (known: ${SCENARIOS.map((s) => s.name).join(', ')})`);
  return scenario;
}
