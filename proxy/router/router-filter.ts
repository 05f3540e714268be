// The router filter: the last HTTP filter. It answers direct responses and redirects, applies the
// route's rewrites and header mutations, and for a route action sends the request to the picked
// cluster through an UpstreamRequest (attempts, retries, timeouts) or, for a CONNECT the route
// terminates, through a TCP tunnel.
import type { HeaderMap } from '../codec/index.ts';
import type { FilterStatus, HttpFilter } from '../http-filter/index.ts';
import { ConnectTunnel } from './connect-tunnel.ts';
import type { RouterOptions, RouterState, RouterStream } from './router-stream.ts';
import { UpstreamRequest } from './upstream-request.ts';

export class RouterFilter implements HttpFilter<RouterStream> {
  readonly options: RouterOptions;

  constructor(options: RouterOptions) {
    this.options = options;
  }

  decodeHeaders(stream: RouterStream, endStream: boolean): FilterStatus {
    const stats = this.options.stats;
    stats.rqTotal.inc(); // every request it sees, routed or not (Envoy's rq_total)
    if (stream.route === null) {
      stats.noRoute.inc();
      stream.sendLocalReply(404, '', 'NR', 'route_not_found');
      return 'stop';
    }
    const { virtualHost, route } = stream.route;
    const action = route.model.action;
    if (action.kind === 'direct_response') {
      stats.rqDirectResponse.inc();
      stream.sendLocalReply(action.status, action.body ?? '', '', 'direct_response');
      return 'stop';
    }
    const request = stream.request;
    if (action.kind === 'redirect') {
      stats.rqRedirect.inc();
      stream.sendLocalReply(action.responseCode, '', '', 'direct_response', { location: route.redirectLocation(request) });
      return 'stop';
    }
    const picked = stream.cluster!;
    const cluster = this.options.clusters.get(picked.name);
    if (cluster === undefined) {
      stats.noCluster.inc();
      stream.sendLocalReply(503, '', 'NC', 'cluster_not_found');
      return 'stop';
    }
    const head = stream.head;
    const headers = head.headers;
    if (stream.upgradeType === 'connect') {
      // A CONNECT the route terminates (connect_config): Legate answers 200 and carries raw TCP.
      if (action.upgradeConfigs.some((u) => u.upgradeType === 'connect' && u.connectConfig !== undefined)) {
        const tunnel = new ConnectTunnel(stream, cluster, stats);
        stream.routerState = tunnel;
        tunnel.start();
        return 'continue';
      }
    } else {
      const rewritten = route.rewritePath(head.path);
      if (rewritten !== head.path) {
        headers['x-envoy-original-path'] = head.path;
        head.path = rewritten;
      }
    }
    if (action.hostRewriteLiteral !== undefined) headers.host = action.hostRewriteLiteral;
    else if (action.hostRewriteHeader !== undefined) {
      const v = headers[action.hostRewriteHeader];
      if (typeof v === 'string' && v !== '') headers.host = v;
    }
    route.mutations(picked.weighted).applyRequest(headers, stream.info);
    const upstream = new UpstreamRequest(stream, action, cluster, this.options, {
      includeAttemptCount: virtualHost.model.includeRequestAttemptCount || action.includeAttemptCount,
      includeAttemptCountInResponse: virtualHost.model.includeAttemptCountInResponse,
    });
    stream.routerState = upstream;
    upstream.start(endStream);
    // The router is the chain's end: 'continue' lets the body and trailers reach it.
    return 'continue';
  }

  decodeData(stream: RouterStream, data: Buffer, endStream: boolean): FilterStatus {
    (stream.routerState as RouterState | undefined)?.decodeData(data, endStream);
    return 'continue';
  }

  decodeTrailers(stream: RouterStream, trailers: HeaderMap): FilterStatus {
    (stream.routerState as RouterState | undefined)?.decodeTrailers(trailers);
    return 'continue';
  }
}
