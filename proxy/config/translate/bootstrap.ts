// The process-level parts of envoy.config.bootstrap.v3.Bootstrap: node, admin, dynamic_resources,
// and Legate's embedded rate limit service (read from node.metadata, which Envoy ignores).
import { joinPath, keyPath } from '../errors.ts';
import type { Admin, AdsConfig, DynamicResources, EmbeddedRateLimitService, InternalListenerSettings, Node } from '../model.ts';
import { checkApiVersion, grpcService, list, ms, num, obj, reject, socketAddress, str } from './common.ts';
import type { Raw } from './common.ts';
import { configSource } from './config-source.ts';

const RATELIMIT_METADATA_KEY = 'legate.ratelimit';
const INTERNAL_LISTENER_TYPE = 'envoy.extensions.bootstrap.internal_listener.v3.InternalListener';
const WORKLOAD_DISCOVERY_TYPE = 'istio.workload.BootstrapExtension';
const DEFAULT_INTERNAL_BUFFER_KB = 1024;

/** What bootstrap_extensions turn on. */
export interface BootstrapExtensions {
  internalListener?: InternalListenerSettings;
  workloadDiscovery?: boolean;
}

/**
 * bootstrap_extensions, the two pilot-agent writes (any other is refused by name):
 * envoy.bootstrap.internal_listener (every Istio bootstrap) lets listeners be internal_listener and
 * endpoints envoy_internal_address, and sets the buffer of each internal connection
 * (buffer_size_kb, 1 MiB unless given, as Envoy); Istio's istio.workload.BootstrapExtension
 * (metadata_discovery: waypoints, and sidecars with peer metadata discovery) subscribes to
 * istiod's workloads over the ADS stream, for the peer metadata readers' workload discovery.
 */
export function checkBootstrapExtensions(raws: Raw[], path: string): BootstrapExtensions {
  const found: BootstrapExtensions = {};
  raws.forEach((raw, i) => {
    const at = `${path}[${i}]`;
    const config = obj(raw, 'typed_config') ?? {};
    const type = str(config, '@type');
    if (type === WORKLOAD_DISCOVERY_TYPE) {
      if (found.workloadDiscovery === true) reject(at, 'istio.workload.BootstrapExtension is given twice', 'keep one');
      workloadDiscoverySource(obj(config, 'config_source'), joinPath(joinPath(at, 'typed_config'), 'config_source'));
      found.workloadDiscovery = true;
      return;
    }
    if (type !== INTERNAL_LISTENER_TYPE) {
      reject(joinPath(at, 'typed_config'), `not supported by Legate: bootstrap extension '${str(raw, 'name') || type}'`, 'remove it (Legate accepts envoy.bootstrap.internal_listener and istio.workload.BootstrapExtension only)');
    }
    if (found.internalListener !== undefined) reject(at, 'envoy.bootstrap.internal_listener is given twice', 'keep one');
    // The schema holds it to 1-8192 (the proto's rule).
    found.internalListener = { bufferSizeBytes: num(config, 'buffer_size_kb', DEFAULT_INTERNAL_BUFFER_KB) * 1024 };
  });
  return found;
}

// Workloads come over the bootstrap's ADS stream (istiod serves them there): ads {} as
// pilot-agent writes it. Another source, or a timeout of their own, is not built.
function workloadDiscoverySource(raw: Raw | undefined, path: string): void {
  if (raw === undefined) reject(path, 'required field is missing', 'set config_source: { ads: {} }');
  if (raw.initial_fetch_timeout !== undefined) reject(joinPath(path, 'initial_fetch_timeout'), 'not supported by Legate: an initial_fetch_timeout of the workload subscription (it takes the ADS stream\'s)', 'remove it');
  if (configSource(raw, path).kind !== 'ads') reject(path, 'not supported by Legate: workloads from a config source other than ADS', 'set config_source: { ads: {} }');
}

export function translateNode(raw: Raw | undefined): Node {
  const node: Node = { id: str(raw ?? {}, 'id'), cluster: str(raw ?? {}, 'cluster'), metadata: obj(raw ?? {}, 'metadata') ?? {} };
  const locality = obj(raw ?? {}, 'locality');
  if (locality !== undefined) node.locality = { region: str(locality, 'region'), zone: str(locality, 'zone'), subZone: str(locality, 'sub_zone') };
  return node;
}

export function translateAdmin(raw: Raw | undefined, path: string): Admin {
  if (raw === undefined) return {};
  const admin: Admin = {};
  if (raw.address !== undefined) admin.address = socketAddress(obj(raw, 'address'), joinPath(path, 'address'));
  if (raw.access_log_path !== undefined) admin.accessLogPath = str(raw, 'access_log_path');
  if (raw.ignore_global_conn_limit === true) admin.ignoreGlobalConnLimit = true;
  return admin;
}

const ADS_API_TYPES: Record<string, AdsConfig['apiType']> = {
  GRPC: 'GRPC',
  DELTA_GRPC: 'DELTA_GRPC',
  AGGREGATED_GRPC: 'GRPC',
  AGGREGATED_DELTA_GRPC: 'DELTA_GRPC',
};

export function translateDynamicResources(raw: Raw | undefined, path: string): DynamicResources {
  const dynamic: DynamicResources = { initialFetchTimeoutMs: 15_000 };
  if (raw === undefined) return dynamic;
  const adsRaw = obj(raw, 'ads_config');
  if (adsRaw !== undefined) dynamic.ads = adsConfig(adsRaw, joinPath(path, 'ads_config'));
  for (const key of ['lds', 'cds'] as const) {
    const sourceRaw = obj(raw, `${key}_config`);
    if (sourceRaw === undefined) continue;
    const sourcePath = joinPath(path, `${key}_config`);
    const source = configSource(sourceRaw, sourcePath);
    if (source.kind === 'ads' && dynamic.ads === undefined) {
      reject(sourcePath, `${key}_config uses ADS but there is no ads_config`, 'add dynamic_resources.ads_config with api_type GRPC and a grpc_services entry');
    }
    dynamic[key] = source;
    if (sourceRaw.initial_fetch_timeout !== undefined) dynamic.initialFetchTimeoutMs = ms(sourceRaw, 'initial_fetch_timeout', 15_000);
  }
  return dynamic;
}

function adsConfig(raw: Raw, path: string): AdsConfig {
  const apiType = ADS_API_TYPES[str(raw, 'api_type', 'UNSUPPORTED_REST_LEGACY')];
  if (apiType === undefined) reject(joinPath(path, 'api_type'), `api_type ${str(raw, 'api_type', '(unset)')} is not supported for ADS`, 'use GRPC or DELTA_GRPC');
  checkApiVersion(raw, 'transport_api_version', path);
  const services = list(raw, 'grpc_services');
  if (services.length !== 1) reject(joinPath(path, 'grpc_services'), `ADS needs exactly one grpc_services entry, got ${services.length}`, 'name the management server with envoy_grpc.cluster_name or google_grpc.target_uri');
  return {
    apiType,
    grpcService: grpcService(services[0], joinPath(path, 'grpc_services[0]')),
    setNodeOnFirstMessageOnly: raw.set_node_on_first_message_only === true,
    requestTimeoutMs: ms(raw, 'request_timeout', 0),
  };
}

// node.metadata["legate.ratelimit"] = { limits_path: "...", redis_url: "redis://..." }
export function embeddedRateLimitService(node: Node, nodePath: string): EmbeddedRateLimitService | undefined {
  const settings = node.metadata[RATELIMIT_METADATA_KEY];
  if (settings === undefined) return undefined;
  const path = keyPath(joinPath(nodePath, 'metadata'), RATELIMIT_METADATA_KEY);
  if (typeof settings !== 'object' || settings === null || Array.isArray(settings)) {
    return reject(path, 'expected an object { limits_path, redis_url }', 'see proxy/config/README.md');
  }
  const s = settings as Raw;
  const unknown = Object.keys(s).filter((k) => k !== 'limits_path' && k !== 'redis_url');
  if (unknown.length > 0) reject(joinPath(path, unknown[0]), `unknown field '${unknown[0]}'`, 'use limits_path and redis_url');
  if (typeof s.limits_path !== 'string' || s.limits_path === '') reject(joinPath(path, 'limits_path'), 'required field is missing', 'give the rate limit descriptors file (envoyproxy/ratelimit format)');
  const service: EmbeddedRateLimitService = { limitsPath: s.limits_path };
  if (s.redis_url !== undefined) {
    if (typeof s.redis_url !== 'string' || !/^(rediss?|redis-sentinel|redis-cluster):\/\//.test(s.redis_url)) reject(joinPath(path, 'redis_url'), 'expected a redis://, rediss://, redis-sentinel:// or redis-cluster:// URL', 'e.g. redis://127.0.0.1:6379');
    service.redisUrl = s.redis_url;
  }
  return service;
}
