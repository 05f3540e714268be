// envoy.config.rbac.v3.RBAC and the filters that carry it: envoy.filters.http.rbac (RBAC and
// RBACPerRoute) and envoy.filters.network.rbac. Fields the support table does not list (CEL
// conditions, matcher trees, ...) never reach here: the schema rejects them.
import { indexPath, joinPath } from '../errors.ts';
import type { NetworkRbacConfig, RbacConfig, RbacPermission, RbacPolicy, RbacPrincipal, RbacRules } from '../model.ts';
import { bool, cidrRange, headerMatcher, list, num, obj, reject, str, stringMatcher } from './common.ts';
import type { Raw } from './common.ts';
import { metadataMatcher } from './metadata-matcher.ts';

/** envoy.extensions.filters.http.rbac.v3.RBAC */
export function rbacConfig(raw: Raw, path: string): RbacConfig {
  if (bool(raw, 'track_per_rule_stats', false)) {
    reject(joinPath(path, 'track_per_rule_stats'), 'per-policy RBAC stats are not supported by Legate', 'remove track_per_rule_stats');
  }
  return withRules({ rulesStatPrefix: str(raw, 'rules_stat_prefix'), shadowRulesStatPrefix: str(raw, 'shadow_rules_stat_prefix') }, raw, path);
}

/** envoy.extensions.filters.http.rbac.v3.RBACPerRoute: without rbac, the filter allows everything on that route. */
export function rbacPerRouteConfig(raw: Raw, path: string): RbacConfig {
  const rbac = obj(raw, 'rbac');
  return rbac === undefined ? { rulesStatPrefix: '', shadowRulesStatPrefix: '' } : rbacConfig(rbac, joinPath(path, 'rbac'));
}

/** envoy.extensions.filters.network.rbac.v3.RBAC */
export function networkRbacConfig(raw: Raw, path: string): NetworkRbacConfig {
  // Legate checks a connection once, before its first byte is proxied; re-checking it (for
  // policies on dynamic metadata that changes) has nothing to re-check here.
  if (str(raw, 'enforcement_type', 'ONE_TIME_ON_FIRST_BYTE') === 'CONTINUOUS') {
    reject(joinPath(path, 'enforcement_type'), 'CONTINUOUS enforcement is not supported by Legate', 'use ONE_TIME_ON_FIRST_BYTE (the default)');
  }
  return withRules({ statPrefix: str(raw, 'stat_prefix'), rulesStatPrefix: '', shadowRulesStatPrefix: str(raw, 'shadow_rules_stat_prefix') }, raw, path);
}

// The enforced rules and the shadow rules, each when given.
function withRules<T extends RbacConfig>(config: T, raw: Raw, path: string): T {
  const rules = obj(raw, 'rules');
  if (rules !== undefined) config.rules = rbacRules(rules, joinPath(path, 'rules'));
  const shadow = obj(raw, 'shadow_rules');
  if (shadow !== undefined) config.shadowRules = rbacRules(shadow, joinPath(path, 'shadow_rules'));
  return config;
}

function rbacRules(raw: Raw, path: string): RbacRules {
  const action = str(raw, 'action', 'ALLOW') || 'ALLOW';
  if (action !== 'ALLOW' && action !== 'DENY') {
    reject(joinPath(path, 'action'), `RBAC action ${action} is not supported by Legate`, 'use ALLOW or DENY');
  }
  const policiesPath = joinPath(path, 'policies');
  const policies = Object.entries(obj(raw, 'policies') ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, policy]) => rbacPolicy(name, policy as Raw, joinPath(policiesPath, name)));
  return { action, policies };
}

function rbacPolicy(name: string, raw: Raw, path: string): RbacPolicy {
  const permissions = list(raw, 'permissions').map((p, i) => permission(p, indexPath(joinPath(path, 'permissions'), i)));
  const principals = list(raw, 'principals').map((p, i) => principal(p, indexPath(joinPath(path, 'principals'), i)));
  return { name, permissions, principals };
}

function permission(raw: Raw, path: string): RbacPermission {
  // The schema holds sets and policies to at least one entry (Envoy's min_items).
  const set = (key: string) => list(obj(raw, key) as Raw, 'rules').map((r, i) => permission(r, indexPath(joinPath(path, `${key}.rules`), i)));
  if (raw.any !== undefined) return { kind: 'any' };
  if (raw.and_rules !== undefined) return { kind: 'and', rules: set('and_rules') };
  if (raw.or_rules !== undefined) return { kind: 'or', rules: set('or_rules') };
  if (raw.not_rule !== undefined) return { kind: 'not', rule: permission(obj(raw, 'not_rule') as Raw, joinPath(path, 'not_rule')) };
  if (raw.header !== undefined) return { kind: 'header', matcher: headerMatcher(obj(raw, 'header') as Raw, joinPath(path, 'header')) };
  if (raw.url_path !== undefined) return { kind: 'url_path', matcher: pathMatcher(obj(raw, 'url_path') as Raw, joinPath(path, 'url_path')) };
  if (raw.destination_ip !== undefined) return { kind: 'destination_ip', range: cidrRange(obj(raw, 'destination_ip') as Raw, joinPath(path, 'destination_ip')) };
  if (raw.destination_port !== undefined) return { kind: 'destination_port', port: num(raw, 'destination_port', 0) };
  if (raw.destination_port_range !== undefined) {
    const range = obj(raw, 'destination_port_range') as Raw;
    return { kind: 'destination_port_range', start: num(range, 'start', 0), end: num(range, 'end', 0) };
  }
  if (raw.requested_server_name !== undefined) {
    return { kind: 'requested_server_name', matcher: stringMatcher(obj(raw, 'requested_server_name') as Raw, joinPath(path, 'requested_server_name')) };
  }
  if (raw.metadata !== undefined) return { kind: 'metadata', match: metadataMatcher(obj(raw, 'metadata') as Raw, joinPath(path, 'metadata')) };
  return reject(path, 'the permission sets no rule', 'set one of any, header, url_path, destination_ip, destination_port, requested_server_name, metadata, and_rules, or_rules, not_rule');
}

function principal(raw: Raw, path: string): RbacPrincipal {
  const set = (key: string) => list(obj(raw, key) as Raw, 'ids').map((p, i) => principal(p, indexPath(joinPath(path, `${key}.ids`), i)));
  if (raw.any !== undefined) return { kind: 'any' };
  if (raw.and_ids !== undefined) return { kind: 'and', ids: set('and_ids') };
  if (raw.or_ids !== undefined) return { kind: 'or', ids: set('or_ids') };
  if (raw.not_id !== undefined) return { kind: 'not', id: principal(obj(raw, 'not_id') as Raw, joinPath(path, 'not_id')) };
  if (raw.authenticated !== undefined) {
    const name = obj(obj(raw, 'authenticated') as Raw, 'principal_name');
    if (name === undefined) return { kind: 'authenticated' };
    return { kind: 'authenticated', principalName: stringMatcher(name, joinPath(path, 'authenticated.principal_name')) };
  }
  // source_ip is deprecated in Envoy; without proxy protocol it is the socket's peer, as direct_remote_ip.
  for (const [key, kind] of [['direct_remote_ip', 'direct_remote_ip'], ['source_ip', 'direct_remote_ip'], ['remote_ip', 'remote_ip']] as const) {
    if (raw[key] !== undefined) return { kind, range: cidrRange(obj(raw, key) as Raw, joinPath(path, key)) };
  }
  if (raw.header !== undefined) return { kind: 'header', matcher: headerMatcher(obj(raw, 'header') as Raw, joinPath(path, 'header')) };
  if (raw.url_path !== undefined) return { kind: 'url_path', matcher: pathMatcher(obj(raw, 'url_path') as Raw, joinPath(path, 'url_path')) };
  if (raw.filter_state !== undefined) return filterStatePrincipal(obj(raw, 'filter_state') as Raw, joinPath(path, 'filter_state'));
  if (raw.metadata !== undefined) return { kind: 'metadata', match: metadataMatcher(obj(raw, 'metadata') as Raw, joinPath(path, 'metadata')) };
  return reject(path, 'the principal sets no identifier', 'set one of any, authenticated, direct_remote_ip, remote_ip, header, url_path, filter_state, metadata, and_ids, or_ids, not_id');
}

// envoy.type.matcher.v3.FilterStateMatcher: the object's text against a string matcher (Istio's
// waypoints match the source principal that connect_terminate put in io.istio.peer_principal).
function filterStatePrincipal(raw: Raw, path: string): RbacPrincipal {
  const key = str(raw, 'key');
  if (key === '') reject(joinPath(path, 'key'), 'required field is missing', 'name the filter state object, e.g. io.istio.peer_principal');
  // The schema requires the oneof (string_match is the only matcher the shipped protos have).
  return { kind: 'filter_state', key, matcher: stringMatcher(obj(raw, 'string_match') as Raw, joinPath(path, 'string_match')) };
}

// envoy.type.matcher.v3.PathMatcher: its only rule is a string matcher on the path.
function pathMatcher(raw: Raw, path: string) {
  const matcher = obj(raw, 'path');
  if (matcher === undefined) reject(joinPath(path, 'path'), 'required field is missing', 'set path, e.g. { prefix: /admin }');
  return stringMatcher(matcher, joinPath(path, 'path'));
}
