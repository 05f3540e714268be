// Envoy's clearRouteCache: a filter changed the request's headers or path, so the route is looked
// up again (the virtual host by :authority, then the first route that matches) and its cluster
// picked again; the router then sends the request where its new shape says. No route now is the
// router's 404 NR.
import type { StreamInfo } from '../access-log/index.ts';
import type { RouteRequest, RouteTable } from '../router/index.ts';
import type { HttpStream } from './stream.ts';

/** False when no route matches any more (the stream was answered 404). */
export function refreshRoute(stream: HttpStream, table: RouteTable<StreamInfo> | undefined): boolean {
  const head = stream.head;
  if (head.method === 'CONNECT') return true; // routed by its authority-form target, which filters do not rewrite
  const request: RouteRequest = {
    authority: typeof head.headers.host === 'string' ? head.headers.host : '',
    path: head.path,
    method: head.method,
    scheme: head.scheme,
    headers: head.headers,
  };
  stream.request = request;
  const result = table?.route(request);
  const matched = result == null || result.route === null ? null : result;
  if (matched === null) {
    const stats = stream.connection.hcm.stats;
    stats.rqTotal.inc();
    stats.noRoute.inc();
    stream.route = null;
    stream.cluster = undefined;
    stream.sendLocalReply(404, '', 'NR', 'route_not_found');
    return false;
  }
  stream.route = matched;
  stream.info.routeName = matched.route.name;
  const action = matched.route.model.action;
  stream.cluster = action.kind === 'route' ? matched.route.pickCluster(request) : undefined;
  return true;
}
