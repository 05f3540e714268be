// Small builders for router model objects with Envoy's defaults, so tests state only what matters.
import type {
  DirectResponseAction,
  HeaderMatcher,
  HeaderMutations,
  PathSpecifier,
  RedirectAction,
  Route,
  RouteAction,
  RouteConfig,
  RouteMatch,
  VirtualHost,
} from '../../../proxy/config/model.ts';
import type { RouteRequest } from '../../../proxy/router/request.ts';

export function mutations(partial: Partial<HeaderMutations> = {}): HeaderMutations {
  return { requestHeadersToAdd: [], requestHeadersToRemove: [], responseHeadersToAdd: [], responseHeadersToRemove: [], ...partial };
}

export function routeAction(partial: Partial<RouteAction> = {}): RouteAction {
  return {
    kind: 'route',
    cluster: { kind: 'cluster', name: 'backend' },
    autoHostRewrite: false,
    timeoutMs: 15000,
    idleTimeoutMs: 0,
    usingNewTimeouts: false,
    hashPolicy: [],
    requestMirrorPolicies: [],
    upgradeConfigs: [],
    includeAttemptCount: false,
    ...partial,
  };
}

export function directResponse(status: number, body?: string): DirectResponseAction {
  return { kind: 'direct_response', status, body };
}

export function redirectAction(partial: Partial<RedirectAction> = {}): RedirectAction {
  return { kind: 'redirect', responseCode: 301, stripQuery: false, ...partial };
}

export function route(
  name: string,
  path: PathSpecifier,
  options: { match?: Partial<RouteMatch>; action?: Route['action']; mutations?: HeaderMutations } = {},
): Route {
  return {
    name,
    match: { path, caseSensitive: true, headers: [], queryParameters: [], grpc: false, ...options.match },
    action: options.action ?? routeAction({ cluster: { kind: 'cluster', name } }),
    mutations: options.mutations ?? mutations(),
    typedPerFilterConfig: {},
  };
}

export function virtualHost(name: string, domains: string[], routes: Route[], hostMutations = mutations()): VirtualHost {
  return {
    name,
    domains,
    routes,
    mutations: hostMutations,
    typedPerFilterConfig: {},
    includeRequestAttemptCount: false,
    includeAttemptCountInResponse: false,
  };
}

export function routeConfig(virtualHosts: VirtualHost[], configMutations = mutations()): RouteConfig {
  return { name: 'test', virtualHosts, mutations: configMutations };
}

export function headerMatcher(partial: Partial<HeaderMatcher> & Pick<HeaderMatcher, 'name' | 'kind'>): HeaderMatcher {
  return { value: '', ignoreCase: false, presentMatch: true, invertMatch: false, treatMissingHeaderAsEmpty: false, ...partial };
}

export function request(partial: Partial<RouteRequest> = {}): RouteRequest {
  return { authority: 'example.com', path: '/', method: 'GET', scheme: 'http', headers: {}, ...partial };
}
