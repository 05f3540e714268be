// envoy.filters.http.rbac: allows or refuses each request by the RBAC policies of the filter, or of
// the route's RBACPerRoute (the most specific one; an empty one allows everything). A refusal is
// Envoy's 403 "RBAC: access denied" with details rbac_access_denied_matched_policy[<policy>|none]
// (Envoy sets no response flag for it). Shadow rules are counted, never enforced; their verdict is
// dynamic metadata: <shadow prefix>shadow_engine_result and shadow_effective_policy_id. Stats:
// http.<stat_prefix>.rbac.{allowed,denied,shadow_allowed,shadow_denied} (see rbac/check.ts).
import type { FilterStatus } from '../../http-filter/index.ts';
import type { RbacConfig } from '../../config/model.ts';
import { deniedDetails, peerOf, policySetOf, RbacCheck, type RbacInput, type RbacPolicySet } from '../../rbac/index.ts';
import type { HttpStream } from '../stream.ts';
import { peerIp } from '../downstream-address.ts';
import type { FilterContext, HttpFilterInstance } from './filter-context.ts';
import { setDynamicMetadata } from './dynamic-metadata.ts';
import { isDisabled, perRouteConfig } from './per-route-config.ts';

/** The namespace of the rbac filter's dynamic metadata (Envoy's well-known filter name). */
const RBAC_METADATA = 'envoy.filters.http.rbac';

export class RbacFilter implements HttpFilterInstance {
  private readonly name: string;
  private readonly policies: RbacPolicySet;
  private readonly check: RbacCheck;
  private readonly shadowPrefix: string;

  constructor(config: RbacConfig, ctx: FilterContext, name: string) {
    this.name = name;
    this.shadowPrefix = config.shadowRulesStatPrefix;
    this.policies = policySetOf(config);
    this.check = new RbacCheck(ctx.store, `http.${ctx.statPrefix}.`, config);
  }

  decodeHeaders(stream: HttpStream): FilterStatus {
    const override = perRouteConfig<RbacConfig>(stream, this.name);
    if (isDisabled(override)) return 'continue';
    const policies = override === undefined ? this.policies : policySetOf(override);
    if (policies.enforced === undefined && policies.shadow === undefined) return 'continue';
    const decision = this.check.decide(policies, requestInput(stream), (shadow) => {
      // Envoy's shadow verdict as dynamic metadata (Istio's CUSTOM action enables ext_authz by it).
      const fields: Record<string, string> = { [`${this.shadowPrefix}shadow_engine_result`]: shadow.allowed ? 'allowed' : 'denied' };
      if (shadow.policy !== undefined) fields[`${this.shadowPrefix}shadow_effective_policy_id`] = shadow.policy;
      setDynamicMetadata(stream, RBAC_METADATA, fields);
    });
    if (decision === undefined || decision.allowed) return 'continue';
    stream.sendLocalReply(403, 'RBAC: access denied', '', deniedDetails(decision));
    return 'stop';
  }
}

function requestInput(stream: HttpStream): RbacInput {
  const connection = stream.connection;
  const local = splitAddress(connection.localAddress);
  return {
    request: stream.request,
    directRemoteIp: peerIp(connection.socket, connection.facts) ?? '',
    // The connection manager's downstream address: from XFF when it trusts XFF, else the peer.
    remoteIp: splitAddress(stream.info.downstreamRemoteAddress ?? '').ip,
    localIp: local.ip,
    localPort: local.port,
    serverName: stream.info.requestedServerName ?? '',
    peer: peerOf(connection.socket),
    filterState: stream.info.filterState,
    dynamicMetadata: stream.info.dynamicMetadata,
  };
}

// The connection manager's 'ip:port' addresses (IPv6 unbracketed or bracketed).
function splitAddress(address: string): { ip: string; port: number } {
  const colon = address.lastIndexOf(':');
  if (colon === -1) return { ip: address, port: 0 };
  const ip = address.slice(0, colon);
  return { ip: ip.startsWith('[') ? ip.slice(1, -1) : ip, port: Number(address.slice(colon + 1)) || 0 };
}

export function createRbacFilter(config: unknown, ctx: FilterContext, name: string): HttpFilterInstance {
  return new RbacFilter(config as RbacConfig, ctx, name);
}
