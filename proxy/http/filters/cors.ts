// envoy.filters.http.cors: Cross-Origin Resource Sharing from the route's and virtual host's
// policies (cors-policy.ts). Only a request with an origin header is a CORS request. A preflight
// (OPTIONS with access-control-request-method) is answered here with 200 unless its origin is not
// allowed and forward_not_matching_preflights lets it go upstream; the response to any other CORS
// request from an allowed origin gets access-control-allow-origin and friends. Shadow mode checks
// and counts origins without answering or adding headers.
// Stats: http.<stat_prefix>.cors.{origin_valid,origin_invalid}.
import type { FilterStatus } from '../../http-filter/index.ts';
import type { ResponseHeaders } from '../../codec/index.ts';
import type { CorsPolicy } from '../../config/model.ts';
import { headerValue } from '../../router/index.ts';
import type { Counter } from '../../stats/index.ts';
import type { HttpStream } from '../stream.ts';
import type { FilterContext, HttpFilterInstance } from './filter-context.ts';
import { chance } from './chance.ts';
import { preflightResponseHeaders, resolveCorsPolicy, setAllowedOriginHeaders, type ResolvedCorsPolicy } from './cors-policy.ts';
import { isDisabled, perRouteConfig } from './per-route-config.ts';

export class CorsFilter implements HttpFilterInstance {
  private readonly name: string;
  private readonly originValid: Counter;
  private readonly originInvalid: Counter;
  // Enforced CORS requests from an allowed origin: the response gets the allow headers.
  private readonly allowed = new WeakMap<HttpStream, { policy: ResolvedCorsPolicy; origin: string }>();

  constructor(ctx: FilterContext, name: string) {
    this.name = name;
    this.originValid = ctx.store.counter(`http.${ctx.statPrefix}.cors.origin_valid`);
    this.originInvalid = ctx.store.counter(`http.${ctx.statPrefix}.cors.origin_invalid`);
  }

  decodeHeaders(stream: HttpStream): FilterStatus {
    const policy = this.policyFor(stream);
    if (policy === undefined) return 'continue';
    const enforced = chance(policy.filterEnabledPercent, policy.filterEnabledKey);
    if (!enforced && !chance(policy.shadowEnabledPercent, policy.shadowEnabledKey)) return 'continue';
    const origin = headerValue(stream.headers, 'origin') ?? '';
    if (origin === '') return 'continue';
    const originAllowed = policy.originAllowed(origin);
    (originAllowed ? this.originValid : this.originInvalid).inc();
    if (!enforced) return 'continue';
    if (originAllowed) this.allowed.set(stream, { policy, origin });
    const requestMethod = headerValue(stream.headers, 'access-control-request-method') ?? '';
    if (stream.head.method !== 'OPTIONS' || requestMethod === '') return 'continue';
    if (!originAllowed && policy.forwardNotMatchingPreflights) return 'continue';
    const request = {
      origin,
      requestMethod,
      requestHeaders: headerValue(stream.headers, 'access-control-request-headers') ?? '',
      requestPrivateNetwork: headerValue(stream.headers, 'access-control-request-private-network') ?? '',
    };
    stream.sendLocalReply(200, '', '', 'cors_response', preflightResponseHeaders(policy, request, originAllowed));
    return 'stop';
  }

  // Runs on the upstream's response and on local answers, the preflight's included (as in Envoy).
  encodeHeaders(stream: HttpStream, response: ResponseHeaders): FilterStatus {
    const allowed = this.allowed.get(stream);
    if (allowed !== undefined) setAllowedOriginHeaders(response.headers, allowed.policy, allowed.origin);
    return 'continue';
  }

  /**
   * The typed_per_filter_config policies of the route and its virtual host, else their older cors
   * fields; undefined when there is none, the filter is disabled here, or the route answers itself
   * (a redirect or direct response is no route entry to Envoy).
   */
  private policyFor(stream: HttpStream): ResolvedCorsPolicy | undefined {
    const matched = stream.route;
    if (matched === null || matched.route.model.action.kind !== 'route') return undefined;
    if (isDisabled(perRouteConfig(stream, this.name))) return undefined;
    const route = scope(matched.route.model.typedPerFilterConfig[this.name]);
    const vhost = scope(matched.virtualHost.model.typedPerFilterConfig[this.name]);
    if (route !== undefined || vhost !== undefined) return resolveCorsPolicy(route, vhost);
    return resolveCorsPolicy(matched.route.model.action.cors, matched.virtualHost.model.cors);
  }
}

function scope(config: unknown): CorsPolicy | undefined {
  return config === undefined || isDisabled(config) ? undefined : (config as CorsPolicy);
}

export function createCorsFilter(_config: unknown, ctx: FilterContext, name: string): HttpFilterInstance {
  return new CorsFilter(ctx, name);
}
