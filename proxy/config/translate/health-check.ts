// envoy.config.core.v3.HealthCheck -> HealthCheck: HTTP, TCP and gRPC active health checks.
import { indexPath, joinPath } from '../errors.ts';
import type { Cluster, HealthCheck } from '../model.ts';
import { headerValueOptions, list, ms, num, obj, reject, str } from './common.ts';
import type { Raw } from './common.ts';

/** `protocol`: the cluster's upstream protocol; gRPC checks need HTTP/2, as in Envoy. */
export function translateHealthCheck(raw: Raw, path: string, protocol: Cluster['upstreamProtocol']): HealthCheck {
  const intervalMs = ms(raw, 'interval', 0);
  return {
    timeoutMs: ms(raw, 'timeout', 0),
    intervalMs,
    intervalJitterMs: ms(raw, 'interval_jitter', 0),
    unhealthyThreshold: num(raw, 'unhealthy_threshold', 1),
    healthyThreshold: num(raw, 'healthy_threshold', 1),
    noTrafficIntervalMs: ms(raw, 'no_traffic_interval', 60_000),
    unhealthyIntervalMs: ms(raw, 'unhealthy_interval', intervalMs),
    healthyEdgeIntervalMs: ms(raw, 'healthy_edge_interval', intervalMs),
    unhealthyEdgeIntervalMs: ms(raw, 'unhealthy_edge_interval', ms(raw, 'unhealthy_interval', intervalMs)),
    check: checker(raw, path, protocol),
  };
}

function checker(raw: Raw, path: string, protocol: Cluster['upstreamProtocol']): HealthCheck['check'] {
  const http = obj(raw, 'http_health_check');
  if (http !== undefined) {
    const httpPath = joinPath(path, 'http_health_check');
    if (str(http, 'codec_client_type', 'HTTP1') !== 'HTTP1') {
      reject(joinPath(httpPath, 'codec_client_type'), 'only HTTP1 health checks are supported by Legate', 'use HTTP1 (the default)');
    }
    const ranges = list(http, 'expected_statuses').map((r, i) => {
      const start = num(r, 'start', 0);
      const end = num(r, 'end', 0);
      if (start < 100 || end > 600 || end <= start) {
        reject(indexPath(joinPath(httpPath, 'expected_statuses'), i), `bad status range [${start}, ${end})`, 'use a range within [100, 600) with end > start');
      }
      return { start, end };
    });
    return {
      kind: 'http',
      path: str(http, 'path'),
      host: str(http, 'host'),
      // Envoy expects 200 unless told otherwise.
      expectedStatuses: ranges.length > 0 ? ranges : [{ start: 200, end: 201 }],
      method: str(http, 'method', 'GET') === 'METHOD_UNSPECIFIED' ? 'GET' : str(http, 'method', 'GET'),
    };
  }
  const tcp = obj(raw, 'tcp_health_check');
  if (tcp !== undefined) {
    const tcpPath = joinPath(path, 'tcp_health_check');
    const send = obj(tcp, 'send');
    const check: HealthCheck['check'] = {
      kind: 'tcp',
      receive: list(tcp, 'receive').map((p, i) => payloadHex(p, indexPath(joinPath(tcpPath, 'receive'), i))),
    };
    if (send !== undefined) check.send = payloadHex(send, joinPath(tcpPath, 'send'));
    return check;
  }
  const grpc = obj(raw, 'grpc_health_check');
  if (grpc !== undefined) return grpcChecker(grpc, joinPath(path, 'grpc_health_check'), protocol);
  return reject(path, 'no health checker is set', 'set http_health_check, tcp_health_check or grpc_health_check');
}

function grpcChecker(grpc: Raw, path: string, protocol: Cluster['upstreamProtocol']): HealthCheck['check'] {
  if (protocol === 'HTTP1') {
    reject(path, 'the cluster must support HTTP/2 for gRPC health checking', 'give the cluster http2_protocol_options (typed_extension_protocol_options HttpProtocolOptions)');
  }
  const initialMetadata = headerValueOptions(grpc, 'initial_metadata', path);
  initialMetadata.forEach((h, i) => {
    // Envoy formats these against the upstream host only; Legate sends them as written.
    if (h.value.includes('%')) {
      reject(joinPath(indexPath(joinPath(path, 'initial_metadata'), i), 'header.value'), 'format operators (%...%) in initial_metadata are not supported by Legate', 'use a literal value');
    }
  });
  return { kind: 'grpc', serviceName: str(grpc, 'service_name'), authority: str(grpc, 'authority'), initialMetadata };
}

// Payload.text is hex already; Payload.binary is bytes (base64 in JSON).
function payloadHex(raw: Raw, path: string): string {
  if (raw.binary !== undefined) return Buffer.from(str(raw, 'binary'), 'base64').toString('hex');
  const text = str(raw, 'text');
  if (!/^([0-9a-fA-F]{2})+$/.test(text)) reject(joinPath(path, 'text'), `'${text}' is not hex`, 'write the payload as hex digits, e.g. 50494E47 for PING');
  return text.toLowerCase();
}
