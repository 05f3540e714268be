// Legate driven by the test management server: a bootstrap whose dynamic_resources point at it,
// and Envoy resources (proto3 JSON with "@type") for the LDS/RDS/CDS/EDS flows of the tests.
import type { Test } from 'tap';
import type { JsonObject } from '../../xds-client/index.ts';
import { CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL, LISTENER_TYPE_URL, ROUTE_TYPE_URL } from '../../xds-client/index.ts';
import { bootstrap, staticCluster } from './bootstrap.ts';
import { fetchJson, nodeRequest } from './http.ts';
import { configSourceOf, loadAssignment, rdsListener } from './xds/fixtures.ts';
import { XdsServer } from './xds-server.ts';

export { CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL, LISTENER_TYPE_URL, loadAssignment, rdsListener, ROUTE_TYPE_URL };

const TYPE = 'type.googleapis.com/';

export interface AdsBootstrapOptions {
  apiType?: 'GRPC' | 'DELTA_GRPC';
  initialFetchTimeout?: string; // default 10s: tests wait for what they push
  ldsAndCds?: boolean; // default true: lds_config and cds_config over ADS
  listeners?: object[]; // static resources besides the management server's cluster
  clusters?: object[];
}

/** A bootstrap with ads_config naming the server on xdsPort, and LDS and CDS over ADS. */
export function adsBootstrap(xdsPort: number, opts: AdsBootstrapOptions = {}) {
  const source = { ads: {}, resource_api_version: 'V3', initial_fetch_timeout: opts.initialFetchTimeout ?? '10s' };
  const http2 = {
    'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
      '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
      explicit_http_config: { http2_protocol_options: {} },
    },
  };
  const xdsCluster = staticCluster('xds_cluster', [{ port: xdsPort }], { typed_extension_protocol_options: http2 });
  return bootstrap(opts.listeners ?? [], [xdsCluster, ...(opts.clusters ?? [])], {
    dynamic_resources: {
      ads_config: { api_type: opts.apiType ?? 'GRPC', transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: 'xds_cluster' } }] },
      ...(opts.ldsAndCds === false ? {} : { lds_config: source, cds_config: source }),
    },
  });
}

/** An EDS cluster; `serviceName` names its ClusterLoadAssignment (default: the cluster's name). */
export function edsCluster(name: string, opts: { serviceName?: string; edsPath?: string } = {}): JsonObject {
  const edsConfig = configSourceOf(opts.edsPath);
  return {
    '@type': `${TYPE}envoy.config.cluster.v3.Cluster`,
    name,
    type: 'EDS',
    connect_timeout: '1s',
    eds_cluster_config: { eds_config: edsConfig, ...(opts.serviceName === undefined ? {} : { service_name: opts.serviceName }) },
  };
}

/** One virtual host '*' with the given routes (default: everything to `cluster`). */
export function routeConfig(name: string, cluster: string, routes?: JsonObject[]): JsonObject {
  return {
    '@type': `${TYPE}envoy.config.route.v3.RouteConfiguration`,
    name,
    virtual_hosts: [{ name: 'all', domains: ['*'], routes: routes ?? [{ match: { prefix: '/' }, route: { cluster } }] }],
  };
}

/** A route to `cluster` for a path prefix that tags its responses with `x-route: <tag>`. */
export function taggedRoute(prefix: string, cluster: string, tag: string): JsonObject {
  return {
    match: { prefix },
    route: { cluster },
    response_headers_to_add: [{ header: { key: 'x-route', value: tag } }],
  };
}

/** One request on a fresh connection: status, headers, body and the upstream's name (default handler). */
export async function hit(url: string): Promise<{ status: number; upstream?: string; body: string; headers: Record<string, unknown> }> {
  const reply = await nodeRequest(url);
  let upstream: string | undefined;
  try {
    upstream = (JSON.parse(reply.body) as { upstream?: string }).upstream;
  } catch {
    upstream = undefined;
  }
  return { status: reply.status, upstream, body: reply.body, headers: reply.headers };
}

/** A management server on 127.0.0.1 port 0, stopped at the end of the test. */
export async function startManagementServer(t: Test): Promise<XdsServer> {
  const server = new XdsServer();
  await server.start();
  t.teardown(() => server.stop());
  return server;
}

export interface ConfigSet {
  clusters: Record<string, number[]>; // EDS cluster name -> the ports of its endpoints
  listeners?: JsonObject[]; // default: listener 'http' taking route config 'local_route'
  routes: JsonObject[]; // route configs
  versions?: { clusters?: string; endpoints?: string; listeners?: string; routes?: string }; // default c1, e1, l1, r1
}

/** Sets all four types at once: CDS, EDS, LDS, RDS. */
export function setConfig(server: XdsServer, set: ConfigSet): void {
  const clusters = Object.entries(set.clusters);
  const versions = set.versions ?? {};
  server.setResources(CLUSTER_TYPE_URL, versions.clusters ?? 'c1', clusters.map(([name]) => edsCluster(name)));
  server.setResources(ENDPOINT_TYPE_URL, versions.endpoints ?? 'e1', clusters.map(([name, ports]) => loadAssignment(name, ports)));
  server.setResources(LISTENER_TYPE_URL, versions.listeners ?? 'l1', set.listeners ?? [rdsListener('http', 'local_route')]);
  server.setResources(ROUTE_TYPE_URL, versions.routes ?? 'r1', set.routes);
}

/** The usual set: listener 'http' -> route config 'local_route' -> EDS cluster 'backend' -> ports. */
export function setBasicConfig(server: XdsServer, ports: number[]): void {
  setConfig(server, { clusters: { backend: ports }, routes: [routeConfig('local_route', 'backend')] });
}

/** Two of each, for removals: listeners 'http' and 'other' -> 'local_route' -> /spare to EDS cluster 'spare', the rest (tagged) to 'backend'. */
export function setPairConfig(server: XdsServer, ports: { backend: number; spare: number }, tag: string): void {
  setConfig(server, {
    clusters: { backend: [ports.backend], spare: [ports.spare] },
    listeners: [rdsListener('http', 'local_route'), rdsListener('other', 'local_route')],
    routes: [routeConfig('local_route', 'backend', [taggedRoute('/spare', 'spare', 'spare'), taggedRoute('/', 'backend', tag)])],
  });
}

/** Route config 'local_route': everything to cluster 'backend', its responses tagged `x-route: <tag>`. */
export function taggedConfig(tag: string): JsonObject {
  return routeConfig('local_route', 'backend', [taggedRoute('/', 'backend', tag)]);
}

interface DumpedResource {
  name: string;
  version_info: string;
  last_updated: string;
}

interface DumpedRejection {
  source: string;
  version_info: string;
  error: string;
  time: string;
}

/** The dynamic resources of /config_dump?include_eds by kind, and Legate's section of it. */
export interface DynamicDump {
  control_plane?: { address: string; api_type: string; connected: boolean };
  listeners: { version_info: string; dynamic_active_listeners: DumpedResource[]; dynamic_warming_listeners: DumpedResource[]; last_rejected?: DumpedRejection };
  clusters: { version_info: string; dynamic_active_clusters: DumpedResource[]; dynamic_warming_clusters: DumpedResource[]; last_rejected?: DumpedRejection };
  route_configs: { dynamic_route_configs: DumpedResource[]; last_rejected?: DumpedRejection };
  endpoint_configs: { dynamic_endpoint_configs: DumpedResource[]; last_rejected?: DumpedRejection };
}

type Section = Record<string, unknown> & { '@type': string };
type Dumped = { version_info: string; last_updated: string } & Record<string, unknown>;

export async function dynamicDump(adminUrl: string): Promise<DynamicDump> {
  const { configs } = await fetchJson<{ configs: Section[] }>(`${adminUrl}/config_dump?include_eds`);
  const section = (type: string) => configs.find((c) => c['@type'].endsWith(`.${type}`)) ?? ({} as Section);
  const listed = (s: Section, field: string, inner: string, name = 'name'): DumpedResource[] =>
    ((s[field] as Dumped[] | undefined) ?? []).map((d) => ({ name: String((d[inner] as Record<string, unknown>)[name]), version_info: d.version_info, last_updated: d.last_updated }));
  const listeners = section('ListenersConfigDump');
  const states = (key: string): DumpedResource[] => ((listeners.dynamic_listeners as Record<string, Dumped>[] | undefined) ?? [])
    .flatMap((l) => (l[key] !== undefined ? [{ name: String(l.name), version_info: l[key].version_info, last_updated: l[key].last_updated }] : []));
  const clusters = section('ClustersConfigDump');
  const sources = section('ConfigSourcesDump') as { control_plane?: DynamicDump['control_plane']; last_rejected?: Record<string, DumpedRejection> };
  const rejected = sources.last_rejected ?? {};
  return {
    ...(sources.control_plane !== undefined ? { control_plane: sources.control_plane } : {}),
    listeners: { version_info: String(listeners.version_info), dynamic_active_listeners: states('active_state'), dynamic_warming_listeners: states('warming_state'), last_rejected: rejected.lds },
    clusters: {
      version_info: String(clusters.version_info),
      dynamic_active_clusters: listed(clusters, 'dynamic_active_clusters', 'cluster'),
      dynamic_warming_clusters: listed(clusters, 'dynamic_warming_clusters', 'cluster'),
      last_rejected: rejected.cds,
    },
    route_configs: { dynamic_route_configs: listed(section('RoutesConfigDump'), 'dynamic_route_configs', 'route_config'), last_rejected: rejected.rds },
    endpoint_configs: {
      dynamic_endpoint_configs: listed(section('EndpointsConfigDump'), 'dynamic_endpoint_configs', 'endpoint_config', 'cluster_name'),
      last_rejected: rejected.eds,
    },
  };
}

/** Waits for the ACK (or NACK) of the last response of a type: a request carrying its nonce. */
export async function answerTo(server: XdsServer, typeUrl: string): Promise<JsonObject> {
  const sent = server.lastResponse(typeUrl);
  if (sent === undefined) throw new Error(`the server sent no ${typeUrl}`);
  const nonce = sent.response.nonce;
  return (await server.waitForRequest((r) => r.request.type_url === typeUrl && r.request.response_nonce === nonce)).request;
}
