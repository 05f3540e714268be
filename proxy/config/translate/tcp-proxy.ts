// envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy -> TcpProxy.
import { indexPath, joinPath } from '../errors.ts';
import type { ClusterSpecifier, TcpProxy, TunnelingConfig } from '../model.ts';
import { checkFormat, translateAccessLogs } from './access-log.ts';
import { bool, headerValueOptions, list, ms, num, obj, recordPath, reject, str } from './common.ts';
import type { Raw } from './common.ts';

const DEFAULT_IDLE_TIMEOUT_MS = 3_600_000;
// Envoy's per_connection_buffer_limit_bytes default.
const DEFAULT_BUFFER_LIMIT_BYTES = 1024 * 1024;

export function translateTcpProxy(raw: Raw, path: string): TcpProxy {
  const proxy: TcpProxy = {
    kind: 'tcp_proxy',
    statPrefix: str(raw, 'stat_prefix'),
    cluster: tcpCluster(raw, path),
    idleTimeoutMs: ms(raw, 'idle_timeout', DEFAULT_IDLE_TIMEOUT_MS),
    bufferLimitBytes: DEFAULT_BUFFER_LIMIT_BYTES, // the listener's, set by its translator
    maxConnectAttempts: num(raw, 'max_connect_attempts', 1),
    accessLog: translateAccessLogs(raw, 'access_log', path),
  };
  const maxDuration = ms(raw, 'max_downstream_connection_duration', 0);
  if (maxDuration > 0) proxy.maxDownstreamConnectionDurationMs = maxDuration;
  const tunneling = obj(raw, 'tunneling_config');
  if (tunneling !== undefined) proxy.tunneling = tunnelingConfig(tunneling, joinPath(path, 'tunneling_config'));
  return proxy;
}

// Envoy's TunnelingConfigHelperImpl: post_path only with use_post ('/' by default); headers_to_add
// may not touch pseudo-headers or host (headerValueOption refuses them, as Envoy does).
function tunnelingConfig(raw: Raw, path: string): TunnelingConfig {
  const usePost = bool(raw, 'use_post', false);
  const postPath = str(raw, 'post_path');
  if (postPath !== '' && !usePost) reject(joinPath(path, 'post_path'), "can't set a post path when POST method isn't used", 'set use_post: true, or remove post_path');
  const hostname = str(raw, 'hostname');
  checkFormat(hostname, joinPath(path, 'hostname'));
  const headersToAdd = headerValueOptions(raw, 'headers_to_add', path);
  headersToAdd.forEach((h, i) => checkFormat(h.value, joinPath(indexPath(joinPath(path, 'headers_to_add'), i), 'header.value')));
  return { hostname, usePost, postPath: postPath === '' ? '/' : postPath, headersToAdd };
}

function tcpCluster(raw: Raw, path: string): ClusterSpecifier {
  if (raw.cluster !== undefined) {
    if (str(raw, 'cluster') === '') reject(joinPath(path, 'cluster'), 'required field is missing', 'name the upstream cluster');
    return recordPath({ kind: 'cluster', name: str(raw, 'cluster') }, joinPath(path, 'cluster'));
  }
  const weighted = obj(raw, 'weighted_clusters');
  if (weighted === undefined) return reject(path, 'tcp_proxy names no cluster', 'set cluster or weighted_clusters');
  const clustersPath = joinPath(path, 'weighted_clusters.clusters');
  const clusters = list(weighted, 'clusters').map((c, i) =>
    recordPath(
      {
        name: str(c, 'name'),
        weight: num(c, 'weight', 1),
        mutations: { requestHeadersToAdd: [], requestHeadersToRemove: [], responseHeadersToAdd: [], responseHeadersToRemove: [] },
        typedPerFilterConfig: {},
      },
      joinPath(indexPath(clustersPath, i), 'name'),
    ),
  );
  return { kind: 'weighted_clusters', clusters, totalWeight: clusters.reduce((sum, c) => sum + c.weight, 0) };
}
