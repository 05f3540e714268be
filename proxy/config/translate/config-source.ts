// envoy.config.core.v3.ConfigSource -> ConfigSourceRef: Legate takes dynamic resources from the
// ADS stream or from a watched file.
import { joinPath } from '../errors.ts';
import type { ConfigSourceRef } from '../model.ts';
import { checkApiVersion, obj, reject, str } from './common.ts';
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
  return reject(path, 'the config source names no source', `set ads: {} (with dynamic_resources.ads_config) or path_config_source.path (${joinPath(path, 'path_config_source')})`);
}
