// The virtual host for the authority and the first route that matches, with the router's own
// route table; every route above the match gets the first condition it failed.
import type { RouteConfig } from '../config/model.ts';
import { pathEnd, RouteTable, type CompiledRoute, type CompiledVirtualHost, type RouteRequest } from '../router/index.ts';
import { checkRouteMatch } from './conditions.ts';
import type { RouteCheck, VirtualHostExplanation } from './types.ts';

export interface RouteFound {
  virtualHost: CompiledVirtualHost | null;
  route: CompiledRoute | null;
  explanation: VirtualHostExplanation | null;
}

export function findRoute(config: RouteConfig, req: RouteRequest): RouteFound {
  // The table's virtual host does not depend on the runtime fraction draw its route lookup makes.
  const virtualHost = new RouteTable(config).route(req)?.virtualHost ?? null;
  if (virtualHost === null) return { virtualHost: null, route: null, explanation: null };
  const end = pathEnd(req.path);
  const routes: RouteCheck[] = [];
  let route: CompiledRoute | null = null;
  for (const candidate of virtualHost.routes) {
    const outcome = checkRouteMatch(candidate.model.match, req, end);
    const matched = outcome.failed === undefined;
    routes.push({ name: candidate.name, matched, ...outcome });
    if (!matched) continue;
    route ??= candidate;
    // A runtime fraction lets the rest fall through: the walk goes on to where they land.
    if (outcome.note === undefined) break;
  }
  const model = virtualHost.model;
  return { virtualHost, route, explanation: { routeConfig: config.name, name: model.name, domains: model.domains, routes } };
}
