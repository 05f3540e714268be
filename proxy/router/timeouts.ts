// A request's timeouts as Envoy derives them from its route and headers. The route timeout
// (router.cc finalTimeout): the route's `timeout`, or for a gRPC request on a route with the older
// max_grpc_timeout, its grpc-timeout header less grpc_timeout_offset and capped; none at all when
// the route sets max_stream_duration (Envoy's "new timeouts"), whose stream duration timer
// (connection_manager_impl.cc refreshDurationTimeout) takes the grpc-timeout header instead when
// grpc_timeout_header_max is set. Both rewrite the grpc-timeout sent upstream, as Envoy does.
import type { HeaderMap } from '../codec/index.ts';
import type { RouteAction } from '../config/model.ts';
import { formatGrpcTimeout, parseGrpcTimeout } from '../grpc/index.ts';

/** The route timeout in ms (0: none) before x-envoy-upstream-rq-timeout-ms. */
export function routeTimeoutMs(action: RouteAction, headers: HeaderMap, grpc: boolean): number {
  if (action.usingNewTimeouts) return 0;
  const max = action.maxGrpcTimeoutMs;
  if (!grpc || max === undefined) return action.timeoutMs;
  let timeout = parseGrpcTimeout(headers['grpc-timeout']) ?? 0; // no header: infinite
  const offset = action.grpcTimeoutOffsetMs;
  // The offset never takes the timeout to 0 or below (0 would mean infinite).
  if (offset !== undefined && offset < timeout) timeout -= offset;
  if (max !== 0 && (timeout === 0 || timeout > max)) timeout = max;
  return timeout;
}

/**
 * With max_grpc_timeout, the upstream hears the timeout Legate enforces: grpc-timeout is set to
 * it (Envoy's setTimeoutHeaders). An infinite timeout leaves the header as it came.
 */
export function setGrpcTimeoutHeader(action: RouteAction, headers: HeaderMap, grpc: boolean, timeoutMs: number): void {
  if (grpc && timeoutMs > 0 && !action.usingNewTimeouts && action.maxGrpcTimeoutMs !== undefined) headers['grpc-timeout'] = formatGrpcTimeout(timeoutMs);
}

/** Where a stream's duration limit comes from: the route or the HCM's max_stream_duration, or a grpc-timeout header. */
export type StreamDurationSource = 'route' | 'connection-manager' | 'grpc-timeout';

export interface StreamDuration {
  ms: number;
  source: StreamDurationSource;
}

/**
 * The stream's duration limit (undefined: none). On a route with max_stream_duration, a gRPC
 * request's grpc-timeout is set to it (before the time already spent is taken off, as Envoy).
 */
export function streamDuration(action: RouteAction | undefined, connectionManagerMaxMs: number, headers: HeaderMap, grpc: boolean): StreamDuration | undefined {
  const header = parseGrpcTimeout(headers['grpc-timeout']);
  const headerMax = action?.grpcTimeoutHeaderMaxMs;
  let limit: StreamDuration | undefined;
  if (header === undefined || headerMax === undefined) {
    const routeMax = action?.maxStreamDurationMs;
    // A route's explicit 0 turns the connection manager's limit off.
    if (routeMax !== undefined) limit = routeMax > 0 ? { ms: routeMax, source: 'route' } : undefined;
    else if (connectionManagerMaxMs > 0) limit = { ms: connectionManagerMaxMs, source: 'connection-manager' };
  } else {
    let ms = headerMax !== 0 && header > headerMax ? headerMax : header;
    const offset = action!.grpcTimeoutHeaderOffsetMs;
    if (ms !== 0 && offset !== undefined) ms = offset < ms ? ms - offset : 0;
    limit = { ms, source: 'grpc-timeout' };
  }
  if (limit !== undefined && grpc && action?.usingNewTimeouts === true) headers['grpc-timeout'] = formatGrpcTimeout(limit.ms);
  return limit;
}
