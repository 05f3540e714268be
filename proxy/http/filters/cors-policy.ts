// The CORS policy in force for one request, as Envoy's cors filter resolves it: the scopes in
// order of specificity (route, then virtual host), each field from the first scope that sets it,
// enabled and shadow from the most specific scope alone. Also the headers the policy answers with.
import type { HeaderMap } from '../../codec/index.ts';
import type { CorsPolicy, RuntimeKey } from '../../config/model.ts';
import { compileStringMatcher } from '../../router/index.ts';

type OriginPredicate = (origin: string) => boolean;

export interface ResolvedCorsPolicy {
  readonly originAllowed: OriginPredicate;
  readonly allowMethods: string;
  readonly allowHeaders: string;
  readonly exposeHeaders: string;
  readonly maxAge: string;
  readonly allowCredentials: boolean;
  readonly allowPrivateNetworkAccess: boolean;
  readonly forwardNotMatchingPreflights: boolean;
  readonly filterEnabledPercent: number;
  readonly shadowEnabledPercent: number;
  readonly filterEnabledKey?: RuntimeKey;
  readonly shadowEnabledKey?: RuntimeKey;
}

/** What a preflight asks for: its origin and access-control-request-* headers. */
export interface PreflightRequest {
  origin: string;
  requestMethod: string;
  requestHeaders: string;
  requestPrivateNetwork: string;
}

// Resolved policies are built once per pair of scopes and live as long as their route config.
const NO_SCOPE = {} as CorsPolicy;
const resolved = new WeakMap<CorsPolicy, WeakMap<CorsPolicy, ResolvedCorsPolicy>>();

/** The policy of a route's scope and its virtual host's (either may be absent); undefined when both are. */
export function resolveCorsPolicy(route: CorsPolicy | undefined, vhost: CorsPolicy | undefined): ResolvedCorsPolicy | undefined {
  const first = route ?? vhost;
  if (first === undefined) return undefined;
  const second = route === undefined ? NO_SCOPE : (vhost ?? NO_SCOPE);
  let bySecond = resolved.get(first);
  if (bySecond === undefined) {
    bySecond = new WeakMap();
    resolved.set(first, bySecond);
  }
  let policy = bySecond.get(second);
  if (policy === undefined) {
    policy = buildPolicy(second === NO_SCOPE ? [first] : [first, second]);
    bySecond.set(second, policy);
  }
  return policy;
}

function buildPolicy(scopes: readonly CorsPolicy[]): ResolvedCorsPolicy {
  const firstString = (field: 'allowMethods' | 'allowHeaders' | 'exposeHeaders' | 'maxAge'): string =>
    scopes.find((s) => s[field] !== '')?.[field] ?? '';
  const firstBool = (field: 'allowCredentials' | 'allowPrivateNetworkAccess' | 'forwardNotMatchingPreflights'): boolean | undefined =>
    scopes.find((s) => s[field] !== undefined)?.[field];
  return {
    originAllowed: originPredicate(scopes.find((s) => s.allowOrigins.length > 0)?.allowOrigins.map(compileStringMatcher) ?? []),
    allowMethods: firstString('allowMethods'),
    allowHeaders: firstString('allowHeaders'),
    exposeHeaders: firstString('exposeHeaders'),
    maxAge: firstString('maxAge'),
    allowCredentials: firstBool('allowCredentials') ?? false,
    allowPrivateNetworkAccess: firstBool('allowPrivateNetworkAccess') ?? false,
    forwardNotMatchingPreflights: firstBool('forwardNotMatchingPreflights') ?? true,
    filterEnabledPercent: scopes[0].filterEnabledPercent,
    shadowEnabledPercent: scopes[0].shadowEnabledPercent,
    filterEnabledKey: scopes[0].filterEnabledKey,
    shadowEnabledKey: scopes[0].shadowEnabledKey,
  };
}

// A matcher that accepts the literal "*" (exact "*", safe_regex ".*", ...) allows every origin.
function originPredicate(matchers: ((value: string) => boolean)[]): OriginPredicate {
  if (matchers.some((m) => m('*'))) return () => true;
  return (origin) => matchers.some((m) => m(origin));
}

/**
 * The local answer to a preflight (Envoy answers 200 with these): the origin only when allowed, a
 * '*' in allow_methods or allow_headers echoes what the preflight asked for.
 */
export function preflightResponseHeaders(policy: ResolvedCorsPolicy, request: PreflightRequest, originAllowed: boolean): HeaderMap {
  const headers: HeaderMap = {};
  if (originAllowed) headers['access-control-allow-origin'] = request.origin;
  if (policy.allowCredentials) headers['access-control-allow-credentials'] = 'true';
  if (policy.allowMethods !== '') headers['access-control-allow-methods'] = policy.allowMethods === '*' ? request.requestMethod : policy.allowMethods;
  if (policy.allowHeaders !== '') headers['access-control-allow-headers'] = policy.allowHeaders === '*' ? request.requestHeaders : policy.allowHeaders;
  if (policy.maxAge !== '') headers['access-control-max-age'] = policy.maxAge;
  // Chrome's private network access preflight: https://developer.chrome.com/blog/private-network-access-preflight
  if (policy.allowPrivateNetworkAccess && request.requestPrivateNetwork === 'true') headers['access-control-allow-private-network'] = 'true';
  return headers;
}

/** Sets the headers a response to an allowed cross-origin request carries (replacing the upstream's). */
export function setAllowedOriginHeaders(headers: HeaderMap, policy: ResolvedCorsPolicy, origin: string): void {
  headers['access-control-allow-origin'] = origin;
  if (policy.allowCredentials) headers['access-control-allow-credentials'] = 'true';
  if (policy.exposeHeaders !== '') headers['access-control-expose-headers'] = policy.exposeHeaders;
}
