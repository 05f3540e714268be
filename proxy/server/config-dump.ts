// /config_dump in Envoy's shape (envoy.admin.v3.ConfigDump): a list of typed sections, each
// resource as the bootstrap or the control plane wrote it (an Any with its @type), with its version
// and when it last changed. This is what tools written for Envoy read: `istioctl proxy-config`,
// scripts with jq. Sections come in Envoy's order; endpoints only when asked (?include_eds).
type JsonObject = Record<string, unknown>;

const ADMIN = 'type.googleapis.com/envoy.admin.v3.';
const TYPES = {
  listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  routeConfig: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  endpoints: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
  secret: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
  hcm: 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
};

/** One accepted dynamic resource. */
export interface DumpedResource {
  version: string;
  lastUpdated: number; // ms since the epoch
  raw: JsonObject;
}

/** The last update of a resource that was rejected (Envoy's UpdateFailureState). */
export interface FailedUpdate {
  version: string;
  time: number;
  details: string;
  raw?: JsonObject;
}

/** A dynamic resource by name: what runs, what waits for its dependencies, what was refused. */
export interface DynamicEntry {
  name: string;
  active?: DumpedResource;
  warming?: DumpedResource;
  failed?: FailedUpdate;
}

export interface DynamicDumpParts {
  ldsVersion: string;
  cdsVersion: string;
  listeners: DynamicEntry[];
  clusters: DynamicEntry[];
  routeConfigs: DynamicEntry[];
  endpointConfigs: DynamicEntry[];
}

export interface ConfigDumpInput {
  bootstrap: JsonObject; // as loaded (sidecar mode's listeners included)
  loadedAt: number;
  dynamic?: DynamicDumpParts;
  secrets?: DynamicEntry[]; // from SDS
  extra?: JsonObject; // a section of Legate's own, last
  includeEds: boolean;
}

const iso = (ms: number): string => new Date(ms).toISOString();
const any = (type: string, raw: JsonObject): JsonObject => ({ '@type': type, ...raw });
const objects = (value: unknown): JsonObject[] => (Array.isArray(value) ? value.filter((v): v is JsonObject => v !== null && typeof v === 'object') : []);

function errorState(type: string, failed: FailedUpdate | undefined): JsonObject | undefined {
  if (failed === undefined) return undefined;
  return {
    ...(failed.raw !== undefined ? { failed_configuration: any(type, failed.raw) } : {}),
    last_update_attempt: iso(failed.time),
    details: failed.details,
    version_info: failed.version,
  };
}

// A DynamicCluster, DynamicRouteConfig or DynamicEndpointConfig: the resource under `field`.
function dynamicResource(type: string, field: string, resource: DumpedResource, failed?: FailedUpdate): JsonObject {
  return {
    version_info: resource.version,
    [field]: any(type, resource.raw),
    last_updated: iso(resource.lastUpdated),
    ...(failed !== undefined ? { error_state: errorState(type, failed), client_status: 'NACKED' } : { client_status: 'ACKED' }),
  };
}

function listenerState(resource: DumpedResource | undefined): JsonObject | undefined {
  return resource === undefined ? undefined : { version_info: resource.version, listener: any(TYPES.listener, resource.raw), last_updated: iso(resource.lastUpdated) };
}

// Route configs written inside an HCM (route_config) are Envoy's "static" route configs, whether
// the listener is static or came from LDS.
function inlineRouteConfigs(listener: JsonObject): JsonObject[] {
  const chains = [...objects(listener.filter_chains), ...objects([listener.default_filter_chain])];
  const configs: JsonObject[] = [];
  for (const chain of chains) {
    for (const filter of objects(chain.filters)) {
      const typed = filter.typed_config as JsonObject | undefined;
      if (typed?.['@type'] === TYPES.hcm && typed.route_config !== undefined) configs.push(typed.route_config as JsonObject);
    }
  }
  return configs;
}

// A bootstrap may name an Any's type without the type.googleapis.com/ prefix; a dump carries full URLs.
function withTypeUrls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withTypeUrls);
  if (value === null || typeof value !== 'object') return value;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(value)) out[k] = k === '@type' && typeof v === 'string' && !v.includes('/') ? `type.googleapis.com/${v}` : withTypeUrls(v);
  return out;
}

export function envoyConfigDump(input: ConfigDumpInput): JsonObject[] {
  const dynamic = input.dynamic;
  const bootstrap = withTypeUrls(input.bootstrap) as JsonObject;
  const loaded = iso(input.loadedAt);
  const statics = (bootstrap.static_resources ?? {}) as JsonObject;
  const staticListeners = objects(statics.listeners);
  const staticClusters = objects(statics.clusters);
  const active = (entries: DynamicEntry[] | undefined) => (entries ?? []).flatMap((e) => (e.active !== undefined ? [e.active.raw] : []));
  const sections: JsonObject[] = [{ '@type': `${ADMIN}BootstrapConfigDump`, bootstrap, last_updated: loaded }];

  const clusters = dynamic?.clusters ?? [];
  sections.push({
    '@type': `${ADMIN}ClustersConfigDump`,
    ...(dynamic !== undefined ? { version_info: dynamic.cdsVersion } : {}),
    static_clusters: staticClusters.map((c) => ({ cluster: any(TYPES.cluster, c), last_updated: loaded })),
    dynamic_active_clusters: clusters.flatMap((e) => (e.active !== undefined ? [dynamicResource(TYPES.cluster, 'cluster', e.active, e.failed)] : [])),
    dynamic_warming_clusters: clusters.flatMap((e) => (e.warming !== undefined ? [dynamicResource(TYPES.cluster, 'cluster', e.warming)] : [])),
  });

  if (input.includeEds) {
    const inline = [...staticClusters, ...active(dynamic?.clusters)].filter((c) => c.load_assignment !== undefined);
    sections.push({
      '@type': `${ADMIN}EndpointsConfigDump`,
      static_endpoint_configs: inline.map((c) => ({
        endpoint_config: any(TYPES.endpoints, { cluster_name: c.name, ...(c.load_assignment as JsonObject) }),
        last_updated: loaded,
      })),
      dynamic_endpoint_configs: (dynamic?.endpointConfigs ?? []).flatMap((e) =>
        e.active !== undefined ? [dynamicResource(TYPES.endpoints, 'endpoint_config', e.active, e.failed)] : []),
    });
  }

  sections.push({
    '@type': `${ADMIN}ListenersConfigDump`,
    ...(dynamic !== undefined ? { version_info: dynamic.ldsVersion } : {}),
    static_listeners: staticListeners.map((l) => ({ listener: any(TYPES.listener, l), last_updated: loaded })),
    dynamic_listeners: (dynamic?.listeners ?? []).map((e) => ({
      name: e.name,
      ...(e.active !== undefined ? { active_state: listenerState(e.active) } : {}),
      ...(e.warming !== undefined ? { warming_state: listenerState(e.warming) } : {}),
      ...(e.failed !== undefined ? { error_state: errorState(TYPES.listener, e.failed) } : {}),
      client_status: e.failed !== undefined ? 'NACKED' : 'ACKED',
    })),
  });

  sections.push({
    '@type': `${ADMIN}RoutesConfigDump`,
    static_route_configs: [...staticListeners, ...active(dynamic?.listeners)]
      .flatMap(inlineRouteConfigs)
      .map((rc) => ({ route_config: any(TYPES.routeConfig, rc), last_updated: loaded })),
    dynamic_route_configs: (dynamic?.routeConfigs ?? []).flatMap((e) =>
      e.active !== undefined ? [dynamicResource(TYPES.routeConfig, 'route_config', e.active, e.failed)] : []),
  });

  sections.push({
    '@type': `${ADMIN}SecretsConfigDump`,
    static_secrets: objects(statics.secrets).map((s) => ({ name: s.name, last_updated: loaded, secret: any(TYPES.secret, s) })),
    dynamic_active_secrets: (input.secrets ?? []).flatMap((e) =>
      e.active !== undefined
        ? [{ name: e.name, version_info: e.active.version, last_updated: iso(e.active.lastUpdated), secret: any(TYPES.secret, e.active.raw) }]
        : []),
  });
  if (input.extra !== undefined) sections.push(input.extra);
  return sections;
}
