// The folder-level arrows of DESIGN.md, held to the code: a part imports another only along an
// arrow (or a chain of them), or as one of the exceptions listed below as the code stands.
// Every static import counts, type-only ones included; dynamic import() does not.
import t from 'tap';
import { importGraph } from '../../support/import-graph.ts';

/** DESIGN.md's arrows. A part may import what it reaches along them. */
const ARROWS: Record<string, readonly string[]> = {
  cli: ['server', 'iptables', 'envoy-cli'], // cli.ts "delegates to iptables/"; envoy-cli.ts reads Envoy's flags
  'envoy-cli': [],
  // Istio's peer metadata and metric labels, for the HTTP filters and tcp_proxy.
  istio: ['stats', 'config/model'],
  server: ['config', 'listener', 'http', 'router', 'upstream', 'tcp', 'admin', 'stats', 'xds-client', 'allocator'],
  listener: ['transport', 'collections'],
  http: ['codec', 'router', 'grpc', 'collections'],
  codec: ['transport', 'collections'],
  router: ['upstream', 'grpc'],
  grpc: [], // gRPC's wire facts (status codes, grpc-timeout): pure, like Envoy's source/common/grpc
  upstream: ['codec', 'transport', 'config/model', 'stats'],
  config: ['config/model', 'envoy-api'], // envoy-api: "shared by config/ and xds-client/"
  'xds-client': ['envoy-api'],
  'config/model': [],
  'envoy-api': [], // "imports no other part"
  // `legate explain`: a request through the model with the listener's, router's and balancers' own code.
  explain: ['config', 'http', 'listener', 'router', 'upstream'],
  // The layered runtime and the overload manager: per-process state read on the hot paths.
  runtime: ['config/model'],
  overload: ['runtime', 'config/model', 'stats', 'allocator'],
  // Data structures the data path shares (LiveList: members that churn, without a Set). Imports nothing.
  collections: [],
  // malloc_trim through an addon: a process's freed native memory back to the kernel. Imports nothing.
  allocator: [],
  // Spans and their reporters: posts to a collector cluster through upstream/'s pools.
  tracing: ['upstream', 'codec', 'config/model', 'stats', 'access-log'],
  // Envoy's filter state: objects by key on connections and streams. Imports no other part.
  'filter-state': [],
};

/** Imports the arrows do not draw, as the code stands. Each is a `from -> to` pair. */
const EXCEPTIONS: readonly string[] = [
  // The snapshot's plain data types (config/model.ts, snapshot.ts) are what every part is
  // configured by.
  'access-log -> config/model',
  'admin -> config/model',
  'listener -> config/model',
  'ratelimit -> config/model',
  'tcp -> config/model',
  'transport -> config/model',
  // Stats are counted everywhere.
  'admin -> stats',
  'listener -> stats',
  'ratelimit -> stats',
  'tcp -> stats',
  'transport -> stats',
  // Access logs are written by both network filters and flushed by the worker at drain.
  'http -> access-log',
  'tcp -> access-log',
  'router -> access-log',
  'server -> access-log',
  // Rate limiting: the http filters use its token bucket and service; the worker creates it; its
  // limits file is read with config's YAML reader and errors.
  'http -> ratelimit',
  'server -> ratelimit',
  'ratelimit -> config',
  // Runtime helpers that live in config/: the listener's extension names, the router's RE2 check.
  'listener -> config',
  'router -> config',
  // The HCM reads the listener's connection types; CONNECT/upgrades hand the socket to tcp/.
  'http -> listener',
  'http -> tcp',
  // Istio's filters: the HTTP ones and tcp_proxy share proxy/istio.
  'http -> istio',
  'tcp -> istio',
  // Istio's workload discovery: the primary keeps the workloads and each worker its index.
  'server -> istio',
  // tcp_proxy connects through the upstream clusters and uses the listener's connection types.
  'tcp -> upstream',
  'tcp -> listener',
  // tunneling_config: the tunnel is a stream on a pool's codec connection, its request built with
  // the router's header operations (headers_to_add).
  'tcp -> codec',
  'tcp -> router',
  // The TCP proxy reads the downstream TLS facts (version, peer certificate) for its access log.
  'tcp -> transport',
  // The admin reports cluster status; the CLI prints the version.
  'admin -> upstream',
  // The dashboard reads a listener's stats under the root the listener names them by.
  'admin -> listener',
  'cli -> admin',
  // The admin's /explain runs explain on the running snapshot.
  'admin -> explain',
  // `legate demo` runs a Primary.
  'demo -> server',
  // http-filter/: the filter interface the HTTP rewrite in progress adds.
  'http -> http-filter',
  'router -> http-filter',
  'http-filter -> access-log',
  'http-filter -> codec',
  // stats_config's tag regexes are checked, as they will run, by the stats tag producer.
  'config -> stats',
  // tunneling_config's format strings are checked, as they will run, by the access log's formatter.
  'config -> access-log',
  // %GRPC_STATUS% reads gRPC's status codes.
  'access-log -> grpc',
  // gRPC health checks read grpc-status and content-type and write grpc-timeout as Envoy does.
  'upstream -> grpc',
  // RBAC's engine serves the HTTP filter and the network filter; it matches with the router's
  // string and header matchers, reads the TLS peer and counts Envoy's rbac stats.
  'http -> rbac',
  'listener -> rbac',
  'rbac -> config/model',
  'rbac -> router',
  'rbac -> stats',
  'rbac -> transport',
  // Runtime values are read where Envoy reads them (route fractions, faults, panic threshold), and
  // the overload actions where they act (accept, request and response headers, idle timers).
  'router -> runtime',
  'upstream -> runtime',
  'http -> runtime',
  'server -> runtime',
  'listener -> overload',
  'http -> overload',
  'server -> overload',
  'http -> tracing',
  'router -> tracing',
  'server -> tracing',
  // Filter state is set and read wherever Envoy's StreamInfo and connections carry it.
  'access-log -> filter-state',
  // set_filter_state formats its values with the access log's formatter (listener/set-filter-state.ts).
  'listener -> access-log',
  'listener -> filter-state',
  'transport -> filter-state',
  'upstream -> filter-state',
  'http -> filter-state',
  'tcp -> filter-state',
  'router -> filter-state',
  'rbac -> filter-state',
  'config -> filter-state',
];

/** The part a source file belongs to: its top folder, proxy/'s subfolder, cli for proxy/cli.ts. */
function partOf(file: string): string {
  const [top, second, third] = file.split('/');
  if (top !== 'proxy') return top;
  if (third === undefined) return second.replace(/\.ts$/, '');
  if (second === 'config' && (third === 'model.ts' || third === 'snapshot.ts')) return 'config/model';
  return second;
}

function reachable(from: string): Set<string> {
  const seen = new Set<string>();
  const queue = [...(ARROWS[from] ?? [])];
  while (queue.length > 0) {
    const next = queue.shift()!;
    if (seen.has(next)) continue;
    seen.add(next);
    queue.push(...(ARROWS[next] ?? []));
  }
  return seen;
}

t.test('parts import each other only along the arrows or a listed exception', async (t) => {
  const graph = importGraph(['proxy', 'xds-client', 'envoy-api', 'iptables']);
  const found = new Map<string, string>(); // "a -> b" -> one import that makes it
  for (const [file, edges] of graph) {
    for (const edge of edges) {
      if (edge.external || !graph.has(edge.target)) continue;
      const from = partOf(file);
      const to = partOf(edge.target);
      if (from !== to && !found.has(`${from} -> ${to}`)) found.set(`${from} -> ${to}`, `${file} imports ${edge.target}`);
    }
  }
  t.ok(found.size > 10, `${found.size} part-to-part imports`);
  const exceptions = new Set(EXCEPTIONS);
  const undrawn = [...found].filter(([arrow]) => {
    const [from, to] = arrow.split(' -> ');
    return !reachable(from).has(to) && !exceptions.has(arrow);
  });
  t.same(undrawn.map(([arrow, example]) => `${arrow} (${example})`), [], 'no import outside the arrows and exceptions');
  const unused = EXCEPTIONS.filter((e) => !found.has(e));
  if (unused.length > 0) t.comment(`exceptions no longer needed: ${unused.join(', ')}`);
});
