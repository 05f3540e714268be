// CORS policies: envoy.extensions.filters.http.cors.v3.CorsPolicy (typed_per_filter_config) and the
// older envoy.config.route.v3.CorsPolicy (a virtual host's or route action's cors field). Both
// messages have the same fields; unset ones stay unset so the filter can fall back to a less
// specific scope, as Envoy does field by field.
import { indexPath, joinPath } from '../errors.ts';
import type { CorsPolicy } from '../model.ts';
import { list, obj, runtimeFractionalPercent, runtimeKeyOf, str, stringMatcher } from './common.ts';
import type { Raw } from './common.ts';

export function corsPolicy(raw: Raw, path: string): CorsPolicy {
  const originsPath = joinPath(path, 'allow_origin_string_match');
  const policy: CorsPolicy = {
    allowOrigins: list(raw, 'allow_origin_string_match').map((m, i) => stringMatcher(m, indexPath(originsPath, i))),
    allowMethods: str(raw, 'allow_methods'),
    allowHeaders: str(raw, 'allow_headers'),
    exposeHeaders: str(raw, 'expose_headers'),
    maxAge: str(raw, 'max_age'),
    filterEnabledPercent: runtimeFractionalPercent(obj(raw, 'filter_enabled'), 100),
    shadowEnabledPercent: runtimeFractionalPercent(obj(raw, 'shadow_enabled'), 0),
  };
  const filterEnabledKey = runtimeKeyOf(obj(raw, 'filter_enabled'));
  if (filterEnabledKey !== undefined) policy.filterEnabledKey = filterEnabledKey;
  const shadowEnabledKey = runtimeKeyOf(obj(raw, 'shadow_enabled'));
  if (shadowEnabledKey !== undefined) policy.shadowEnabledKey = shadowEnabledKey;
  // BoolValue wrappers: absent means "ask the next scope", so only a set value is kept.
  if (typeof raw.allow_credentials === 'boolean') policy.allowCredentials = raw.allow_credentials;
  if (typeof raw.allow_private_network_access === 'boolean') policy.allowPrivateNetworkAccess = raw.allow_private_network_access;
  if (typeof raw.forward_not_matching_preflights === 'boolean') policy.forwardNotMatchingPreflights = raw.forward_not_matching_preflights;
  return policy;
}
