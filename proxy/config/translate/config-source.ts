// envoy.config.core.v3.ConfigSource -> ConfigSourceRef: Legate takes dynamic resources from the
// ADS stream or from a watched file; secrets (SDS) may also come from a SecretDiscoveryService of
// their own (api_config_source, Istio's sds-grpc).
import { joinPath } from '../errors.ts';
import type { ConfigSourceRef, SdsServer } from '../model.ts';
import { checkApiVersion, grpcService, list, obj, reject, str } from './common.ts';
import type { Raw } from './common.ts';

export function configSource(raw: Raw, path: string): ConfigSourceRef {
  checkApiVersion(raw, 'resource_api_version', path);
  // `self` means "the same source as the resource that names it", which for Legate is ADS.
  if (raw.ads !== undefined || raw.self !== undefined) return { kind: 'ads' };
  if (raw.path !== undefined) return { kind: 'path', path: str(raw, 'path') };
  const pathSource = obj(raw, 'path_config_source');
  if (pathSource !== undefined) {
    const watched = obj(pathSource, 'watched_directory');
    return watched === undefined ? { kind: 'path', path: str(pathSource, 'path') } : { kind: 'path', path: str(pathSource, 'path'), watchedDirectory: str(watched, 'path') };
  }
  if (raw.api_config_source !== undefined) {
    return reject(joinPath(path, 'api_config_source'), 'not supported by Legate: a non-aggregated xDS server for this resource (only secrets take one)', 'use ads: {} with dynamic_resources.ads_config, or path_config_source');
  }
  return reject(path, 'the config source names no source', `set ads: {} (with dynamic_resources.ads_config) or path_config_source.path (${joinPath(path, 'path_config_source')})`);
}

const SDS_API_TYPES: Record<string, SdsServer['apiType'] | undefined> = { GRPC: 'GRPC', DELTA_GRPC: 'DELTA_GRPC' };

/** An SdsSecretConfig's sds_config: ADS or a file as any config source, or an SDS server of its own. */
export function secretConfigSource(raw: Raw, path: string): ConfigSourceRef | SdsServer {
  const api = obj(raw, 'api_config_source');
  if (api === undefined) return configSource(raw, path);
  checkApiVersion(raw, 'resource_api_version', path);
  const apiPath = joinPath(path, 'api_config_source');
  const typeName = str(api, 'api_type', 'UNSUPPORTED_REST_LEGACY');
  const apiType = SDS_API_TYPES[typeName];
  if (apiType === undefined) return reject(joinPath(apiPath, 'api_type'), `not supported by Legate: api_type ${typeName} for SDS`, 'use GRPC or DELTA_GRPC');
  checkApiVersion(api, 'transport_api_version', apiPath);
  const services = list(api, 'grpc_services');
  if (services.length !== 1) reject(joinPath(apiPath, 'grpc_services'), `an SDS server needs exactly one grpc_services entry, got ${services.length}`, 'name it with envoy_grpc.cluster_name (a static cluster) or google_grpc.target_uri');
  return { apiType, grpcService: grpcService(services[0], joinPath(apiPath, 'grpc_services[0]')) };
}
