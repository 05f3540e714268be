// A route configuration compiled once per snapshot. route() is pure and allocation-free: it picks
// the virtual host by :authority, then the first route whose match passes, and returns a result
// object built at compile time.
import type { RouteConfig, VirtualHost } from '../config/model.ts';
import { CompiledRoute } from './compiled-route.ts';
import { compileHeaderMutationLevel, literalValue } from './header-mutation.ts';
import type { HeaderMutationLevel, ValueCompiler } from './header-mutation.ts';
import { pathEnd } from './request.ts';
import type { RouteRequest } from './request.ts';
import { VirtualHostSelector } from './virtual-host-selector.ts';

export interface CompiledVirtualHost<C = unknown> {
  readonly model: VirtualHost;
  readonly routes: readonly CompiledRoute<C>[];
}

export interface RouteMatchResult<C = unknown> {
  readonly virtualHost: CompiledVirtualHost<C>;
  readonly route: CompiledRoute<C>;
}

// The virtual host has no route for the request: Envoy answers 404, response flag NR.
export interface NoRouteResult<C = unknown> {
  readonly virtualHost: CompiledVirtualHost<C>;
  readonly route: null;
}

// null: no virtual host for the authority (also 404 NR).
export type RouteResult<C = unknown> = RouteMatchResult<C> | NoRouteResult<C> | null;

class CompiledVirtualHostEntry<C> implements CompiledVirtualHost<C> {
  readonly model: VirtualHost;
  readonly routes: readonly CompiledRoute<C>[];
  readonly results: readonly RouteMatchResult<C>[]; // results[i] is routes[i]'s
  readonly noRoute: NoRouteResult<C>;

  constructor(virtualHost: VirtualHost, configLevel: HeaderMutationLevel<C>, compileValue: ValueCompiler<C>) {
    this.model = virtualHost;
    const levels = [compileHeaderMutationLevel(virtualHost.mutations, compileValue), configLevel];
    this.routes = virtualHost.routes.map((route) => new CompiledRoute(route, levels, compileValue));
    this.results = this.routes.map((route) => ({ virtualHost: this, route }));
    this.noRoute = { virtualHost: this, route: null };
  }
}

export class RouteTable<C = unknown> {
  readonly config: RouteConfig;
  private readonly selector = new VirtualHostSelector<CompiledVirtualHostEntry<C>>();
  private readonly ignorePort: boolean;

  // compileValue: the header value formatter for %OPERATOR% values; without one they are literal.
  constructor(config: RouteConfig, compileValue: ValueCompiler<C> = literalValue) {
    this.config = config;
    this.ignorePort = config.ignorePortInHostMatching === true;
    const configLevel = compileHeaderMutationLevel(config.mutations, compileValue);
    for (const virtualHost of config.virtualHosts) {
      const compiled = new CompiledVirtualHostEntry(virtualHost, configLevel, compileValue);
      for (const domain of virtualHost.domains) this.selector.add(domain, compiled);
    }
  }

  route(req: RouteRequest): RouteResult<C> {
    const virtualHost = this.selector.find(req.authority, this.ignorePort);
    if (virtualHost === undefined) return null;
    const end = pathEnd(req.path);
    const { routes } = virtualHost;
    for (let i = 0; i < routes.length; i++) {
      if (routes[i].matches(req, end)) return virtualHost.results[i];
    }
    return virtualHost.noRoute;
  }
}
