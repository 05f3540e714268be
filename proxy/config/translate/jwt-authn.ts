// envoy.filters.http.jwt_authn: JwtAuthentication and its PerRouteConfig -> the model. Envoy's
// defaults: tokens in "Authorization: Bearer <jwt>" and the access_token query parameter when a
// provider names no location, clock_skew_seconds 60, a remote JWKS cached 10 minutes, verified
// tokens cached (jwt_cache_size 100) only when jwt_cache_config is set.
import { indexPath, joinPath, keyPath } from '../errors.ts';
import type { FilterDisabled, JwksSource, JwtAuthnConfig, JwtAuthnPerRouteConfig, JwtProviderConfig, JwtRequirement, JwtRequirementRule } from '../model.ts';
import { bool, dataSourceText, list, ms, num, obj, reject, str, strings } from './common.ts';
import type { Raw, TranslateContext } from './common.ts';
import { translateMatch } from './route-match.ts';

const DEFAULT_CACHE_DURATION_MS = 10 * 60 * 1000;
const DEFAULT_CLOCK_SKEW_SECONDS = 60;
const DEFAULT_JWT_CACHE_SIZE = 100;

export function jwtAuthnConfig(raw: Raw, path: string, ctx: TranslateContext): JwtAuthnConfig {
  if (raw.filter_state_rules !== undefined) {
    reject(joinPath(path, 'filter_state_rules'), 'not supported by Legate: requirements chosen by filter state (filter_state_rules)', 'select requirements with rules');
  }
  const providersRaw = obj(raw, 'providers') ?? {};
  const providers = Object.entries(providersRaw).map(([name, p]) => provider(name, p as Raw, keyPath(joinPath(path, 'providers'), name), ctx));
  const names = new Set(providers.map((p) => p.name));
  const requirementMap: Record<string, JwtRequirement> = {};
  for (const [name, r] of Object.entries(obj(raw, 'requirement_map') ?? {})) {
    requirementMap[name] = requirement(r as Raw, keyPath(joinPath(path, 'requirement_map'), name), names);
  }
  const rules = list(raw, 'rules').map((r, i): JwtRequirementRule => {
    const rulePath = indexPath(joinPath(path, 'rules'), i);
    const rule: JwtRequirementRule = { match: translateMatch(obj(r, 'match') ?? {}, joinPath(rulePath, 'match')) };
    if (r.requirement_name !== undefined) {
      const name = str(r, 'requirement_name');
      if (requirementMap[name] === undefined) reject(joinPath(rulePath, 'requirement_name'), `no requirement '${name}' in requirement_map`, 'add it to requirement_map or fix the name');
      rule.requirementName = name;
    } else if (r.requires !== undefined) {
      rule.requires = requirement(obj(r, 'requires') as Raw, joinPath(rulePath, 'requires'), names);
    }
    return rule;
  });
  return {
    providers,
    rules,
    requirementMap,
    bypassCorsPreflight: bool(raw, 'bypass_cors_preflight', false),
    stripFailureResponse: bool(raw, 'strip_failure_response', false),
  };
}

export function jwtAuthnPerRouteConfig(raw: Raw): JwtAuthnPerRouteConfig | FilterDisabled {
  if (raw.disabled === true) return { disabled: true };
  return { requirementName: str(raw, 'requirement_name') };
}

function provider(name: string, raw: Raw, path: string, ctx: TranslateContext): JwtProviderConfig {
  const cacheConfig = obj(raw, 'jwt_cache_config');
  const out: JwtProviderConfig = {
    name,
    issuer: str(raw, 'issuer'),
    audiences: strings(raw, 'audiences'),
    jwks: jwksSource(raw, path),
    forward: bool(raw, 'forward', false),
    fromHeaders: list(raw, 'from_headers').map((h) => ({ name: str(h, 'name').toLowerCase(), valuePrefix: str(h, 'value_prefix') })),
    fromParams: strings(raw, 'from_params'),
    fromCookies: strings(raw, 'from_cookies'),
    forwardPayloadHeader: str(raw, 'forward_payload_header').toLowerCase(),
    padForwardPayloadHeader: bool(raw, 'pad_forward_payload_header', false),
    clockSkewSeconds: num(raw, 'clock_skew_seconds', 0) || DEFAULT_CLOCK_SKEW_SECONDS,
    jwtCacheSize: cacheConfig === undefined ? 0 : num(cacheConfig, 'jwt_cache_size', 0) || DEFAULT_JWT_CACHE_SIZE,
    claimToHeaders: list(raw, 'claim_to_headers').map((c) => ({ headerName: str(c, 'header_name').toLowerCase(), claimName: str(c, 'claim_name') })),
    clearRouteCache: bool(raw, 'clear_route_cache', false),
    payloadInMetadata: str(raw, 'payload_in_metadata'),
    spaceDelimitedClaims: strings(obj(raw, 'normalize_payload_in_metadata') ?? {}, 'space_delimited_claims'),
    headerInMetadata: str(raw, 'header_in_metadata'),
    failedStatusInMetadata: str(raw, 'failed_status_in_metadata'),
  };
  // Envoy's default locations when none is named.
  if (out.fromHeaders.length === 0 && out.fromParams.length === 0 && out.fromCookies.length === 0) {
    out.fromHeaders = [{ name: 'authorization', valuePrefix: 'Bearer ' }];
    out.fromParams = ['access_token'];
  }
  if (out.jwks.kind === 'local' && out.jwks.text.trim() === '') ctx.warnings.push(`${joinPath(path, 'local_jwks')}: the JWKS is empty; every token of this provider fails`);
  return out;
}

function jwksSource(raw: Raw, path: string): JwksSource {
  const local = obj(raw, 'local_jwks');
  if (local !== undefined) return { kind: 'local', text: dataSourceText(local, joinPath(path, 'local_jwks')) };
  const remote = obj(raw, 'remote_jwks');
  if (remote === undefined) return reject(path, 'one of remote_jwks or local_jwks is required', 'give the issuer\'s keys inline in local_jwks or their URL in remote_jwks');
  const remotePath = joinPath(path, 'remote_jwks');
  const uri = obj(remote, 'http_uri') ?? {};
  const url = str(uri, 'uri');
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http');
  } catch {
    reject(joinPath(remotePath, 'http_uri.uri'), `'${url}' is not an http(s) URL`, 'give the JWKS URL, e.g. https://issuer.example.com/.well-known/jwks.json');
  }
  return {
    kind: 'remote',
    uri: url,
    cluster: str(uri, 'cluster'),
    timeoutMs: ms(uri, 'timeout', 0),
    cacheDurationMs: remote.cache_duration === undefined ? DEFAULT_CACHE_DURATION_MS : ms(remote, 'cache_duration', DEFAULT_CACHE_DURATION_MS),
  };
}

function requirement(raw: Raw, path: string, providers: ReadonlySet<string>): JwtRequirement {
  const known = (name: string, at: string): string => {
    if (!providers.has(name)) reject(at, `no provider '${name}'`, `name one of the providers: ${[...providers].join(', ') || '(none)'}`);
    return name;
  };
  if (raw.provider_name !== undefined) return { kind: 'provider', provider: known(str(raw, 'provider_name'), joinPath(path, 'provider_name')) };
  const withAudiences = obj(raw, 'provider_and_audiences');
  if (withAudiences !== undefined) {
    const at = joinPath(path, 'provider_and_audiences');
    return { kind: 'provider', provider: known(str(withAudiences, 'provider_name'), joinPath(at, 'provider_name')), audiences: strings(withAudiences, 'audiences') };
  }
  for (const kind of ['any', 'all'] as const) {
    const lists = obj(raw, kind === 'any' ? 'requires_any' : 'requires_all');
    if (lists === undefined) continue;
    const at = joinPath(joinPath(path, kind === 'any' ? 'requires_any' : 'requires_all'), 'requirements');
    return { kind, requirements: list(lists, 'requirements').map((r, i) => requirement(r, indexPath(at, i), providers)) };
  }
  if (raw.allow_missing !== undefined) return { kind: 'allow_missing' };
  if (raw.allow_missing_or_failed !== undefined) return { kind: 'allow_missing_or_failed' };
  return { kind: 'none' };
}
