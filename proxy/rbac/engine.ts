// Envoy's RBAC engine (source/extensions/filters/common/rbac/engine_impl.cc, matchers.cc): the
// policies of one envoy.config.rbac.v3.RBAC compiled once into predicates over what a request or
// a connection shows. ALLOW lets through only what some policy matches, DENY refuses what one
// does; policies are tried in name order and the first match names the decision.
import { BlockList, isIPv4 } from 'node:net';
import type { CidrRange, RbacPermission, RbacPrincipal, RbacRules } from '../config/model.ts';
import type { FilterState } from '../filter-state/index.ts';
import {
  compileHeaderMatcher,
  compileMetadataMatcher,
  compileStringMatcher,
  requestHeaderGetter,
  type DynamicMetadata,
  type RouteRequest,
  type StringPredicate,
} from '../router/index.ts';

/** The downstream's TLS peer, when the connection is TLS (the lists are empty without a client certificate). */
export interface RbacPeer {
  uriSans: readonly string[];
  dnsSans: readonly string[];
  subject: string;
}

/** What the policies look at. Addresses are IPs without port ('' when there is none: a unix socket). */
export interface RbacInput {
  /** The HTTP request; absent for the network filter, where header and url_path rules never match. */
  request?: RouteRequest;
  directRemoteIp: string; // the socket's peer
  remoteIp: string; // the downstream address (from XFF when the connection manager trusts it)
  localIp: string; // the destination, the original one when restored
  localPort: number;
  serverName: string; // SNI, '' without
  peer?: RbacPeer; // absent on a plain connection
  filterState?: FilterState; // the stream's (or the connection's, for the network filter)
  dynamicMetadata?: DynamicMetadata; // likewise: what jwt_authn and other filters left, by namespace
}

export interface RbacDecision {
  allowed: boolean;
  /** The first policy that matched, if any: Envoy's effective policy id. */
  policy: string | undefined;
}

type Predicate = (input: RbacInput) => boolean;

export class RbacEngine {
  private readonly deny: boolean;
  private readonly policies: { name: string; matches: Predicate }[];

  constructor(rules: RbacRules) {
    this.deny = rules.action === 'DENY';
    this.policies = rules.policies.map((p) => {
      const permissions = anyOf(p.permissions.map(permission));
      const principals = anyOf(p.principals.map(principal));
      return { name: p.name, matches: (input: RbacInput) => permissions(input) && principals(input) };
    });
  }

  evaluate(input: RbacInput): RbacDecision {
    for (const policy of this.policies) {
      if (policy.matches(input)) return { allowed: !this.deny, policy: policy.name };
    }
    return { allowed: this.deny, policy: undefined };
  }
}

/** Envoy's response code details of a denial: the matched policy (whitespace made '_'), or none. */
export function deniedDetails(decision: RbacDecision): string {
  return `rbac_access_denied_matched_policy[${decision.policy === undefined ? 'none' : decision.policy.replace(/\s/g, '_')}]`;
}

function permission(rule: RbacPermission): Predicate {
  switch (rule.kind) {
    case 'any':
      return () => true;
    case 'and':
      return allOf(rule.rules.map(permission));
    case 'or':
      return anyOf(rule.rules.map(permission));
    case 'not':
      return negate(permission(rule.rule));
    case 'header':
      return headerRule(rule.matcher);
    case 'url_path':
      return urlPathRule(compileStringMatcher(rule.matcher));
    case 'destination_ip': {
      const contains = cidr(rule.range);
      return (input) => contains(input.localIp);
    }
    case 'destination_port':
      return (input) => input.localPort === rule.port;
    case 'destination_port_range':
      return (input) => input.localPort >= rule.start && input.localPort < rule.end;
    case 'requested_server_name': {
      const test = compileStringMatcher(rule.matcher);
      return (input) => test(input.serverName);
    }
    case 'metadata':
      return metadataRule(rule.match);
  }
}

function principal(id: RbacPrincipal): Predicate {
  switch (id.kind) {
    case 'any':
      return () => true;
    case 'and':
      return allOf(id.ids.map(principal));
    case 'or':
      return anyOf(id.ids.map(principal));
    case 'not':
      return negate(principal(id.id));
    case 'authenticated':
      return authenticatedRule(id.principalName === undefined ? undefined : compileStringMatcher(id.principalName));
    case 'direct_remote_ip': {
      const contains = cidr(id.range);
      return (input) => contains(input.directRemoteIp);
    }
    case 'remote_ip': {
      const contains = cidr(id.range);
      return (input) => contains(input.remoteIp);
    }
    case 'header':
      return headerRule(id.matcher);
    case 'url_path':
      return urlPathRule(compileStringMatcher(id.matcher));
    case 'filter_state': {
      // Envoy's FilterStateMatcher: no object, or one without a string form, does not match.
      const test = compileStringMatcher(id.matcher);
      const key = id.key;
      return (input) => {
        const text = input.filterState?.get(key)?.asString();
        return text !== undefined && test(text);
      };
    }
    case 'metadata':
      return metadataRule(id.match);
  }
}

function metadataRule(match: Parameters<typeof compileMetadataMatcher>[0]): Predicate {
  const matches = compileMetadataMatcher(match);
  return (input) => matches(input.dynamicMetadata);
}

function allOf(predicates: Predicate[]): Predicate {
  return (input) => predicates.every((m) => m(input));
}

function anyOf(predicates: Predicate[]): Predicate {
  return (input) => predicates.some((m) => m(input));
}

function negate(predicate: Predicate): Predicate {
  return (input) => !predicate(input);
}

// Only an HTTP request has headers; the network filter never matches them.
function headerRule(matcher: Parameters<typeof compileHeaderMatcher>[0]): Predicate {
  const compiled = compileHeaderMatcher(matcher);
  const get = requestHeaderGetter(matcher.name);
  return (input) => input.request !== undefined && compiled.matches(get(input.request));
}

// The path without its query and fragment, as Envoy's PathMatcher.
function urlPathRule(test: StringPredicate): Predicate {
  return (input) => {
    if (input.request === undefined) return false;
    const path = input.request.path;
    const end = path.search(/[?#]/);
    return test(end === -1 ? path : path.slice(0, end));
  };
}

// Envoy: a TLS connection, then the URI SANs, the DNS SANs and last the subject tried in turn.
function authenticatedRule(test: StringPredicate | undefined): Predicate {
  return (input) => {
    const peer = input.peer;
    if (peer === undefined) return false;
    if (test === undefined) return true;
    return peer.uriSans.some(test) || peer.dnsSans.some(test) || test(peer.subject);
  };
}

function cidr(range: CidrRange): (ip: string) => boolean {
  const list = new BlockList();
  const family = isIPv4(range.addressPrefix) ? 'ipv4' : 'ipv6';
  list.addSubnet(range.addressPrefix, range.prefixLen, family);
  return (ip) => {
    if (ip === '') return false;
    // Node reports IPv4 peers of a dual-stack socket as IPv4-mapped IPv6.
    const address = ip.startsWith('::ffff:') && isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
    const v4 = isIPv4(address);
    if (v4 !== (family === 'ipv4')) return false;
    return list.check(address, family);
  };
}
