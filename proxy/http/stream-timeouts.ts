// The per-stream timeouts of Envoy's connection manager, armed once the route is known:
// stream_idle_timeout (or the route's idle_timeout): no bytes either way for that long -> 408
// "stream timeout" (SI), or a reset once the response started; max_stream_duration (the HCM's, or
// the route's) -> 408 (DT, UMSDR) or a reset. Idle uses the socket's own inactivity timer, which
// node refreshes on every read and write, so an active stream costs nothing.
import type { HttpConnectionManager, RouteAction } from '../config/model.ts';
import type { HcmStats } from './hcm-stats.ts';
import type { HttpStream } from './stream.ts';

export function armStreamTimeouts(stream: HttpStream, hcm: HttpConnectionManager, action: RouteAction | undefined, stats: HcmStats): void {
  const idleMs = action !== undefined && action.idleTimeoutMs > 0 ? action.idleTimeoutMs : hcm.streamIdleTimeoutMs;
  if (idleMs > 0) {
    stream.res.setTimeout(idleMs, () => {
      stats.downstreamRqIdleTimeout.inc();
      expire(stream, 'SI', 'stream timeout', 'stream_idle_timeout');
    });
  }
  const routeMax = action?.maxStreamDurationMs ?? 0;
  const maxMs = routeMax > 0 ? routeMax : hcm.maxStreamDurationMs;
  if (maxMs > 0) {
    const timer = setTimeout(() => {
      stats.downstreamRqMaxDurationReached.inc();
      if (routeMax > 0) expire(stream, 'UMSDR', 'upstream max stream duration reached', 'upstream_max_stream_duration_reached');
      else expire(stream, 'DT', 'downstream duration timeout', 'max_duration_timeout');
    }, maxMs);
    stream.res.once('close', () => clearTimeout(timer));
  }
}

function expire(stream: HttpStream, flag: string, body: string, details: string): void {
  if (stream.res.writableFinished) return;
  if (stream.res.headersSent) {
    stream.info.setResponseFlag(flag);
    stream.resetDownstream();
    return;
  }
  stream.reset(); // cancels the upstream request
  stream.localReply(408, body, flag, details);
}
