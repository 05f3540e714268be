// The connection manager's HTTP filters a request on this route passes through, in order, with
// those its route or virtual host turns off (typed_per_filter_config disabled).
import type { FaultConfig, HttpFilter, LocalRateLimitConfig, Route, VirtualHost } from '../config/model.ts';
import type { HttpFilterExplanation } from './types.ts';

export function explainHttpFilters(filters: readonly HttpFilter[], route: Route | null, virtualHost: VirtualHost | null): HttpFilterExplanation[] {
  return filters.map((filter) => {
    // The most specific scope's config wins, as perRouteConfig in http/filters.
    const perRoute = route?.typedPerFilterConfig[filter.name] ?? virtualHost?.typedPerFilterConfig[filter.name];
    const disabled = (perRoute as { disabled?: boolean } | undefined)?.disabled === true;
    const type = shortType(filter.type);
    const detail = disabled ? undefined : describe(type, (perRoute ?? filter.config) as unknown);
    return { name: filter.name, type, disabled, ...(detail === undefined ? {} : { detail }) };
  });
}

// 'envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit' -> 'local_ratelimit'
function shortType(type: string): string {
  const match = /filters\.http\.([a-z0-9_]+)\./.exec(type);
  return match?.[1] ?? type;
}

function describe(type: string, config: unknown): string | undefined {
  if (type === 'fault') {
    const fault = config as FaultConfig;
    const parts: string[] = [];
    if (fault.abort !== undefined) parts.push(`abort ${fault.abort.headerAbort ? 'as x-envoy-fault-abort-request says' : (fault.abort.httpStatus ?? `grpc ${fault.abort.grpcStatus}`)} on ${fault.abort.percent} %`);
    if (fault.delay !== undefined) parts.push(`delay ${fault.delay.headerDelay ? 'as x-envoy-fault-delay-request says' : `${fault.delay.fixedDelayMs} ms`} on ${fault.delay.percent} %`);
    if (fault.headers?.length > 0) parts.push(`when ${fault.headers.map((h) => h.name).join(', ')} match`);
    return parts.length > 0 ? parts.join(', ') : undefined;
  }
  if (type === 'local_ratelimit') {
    const limit = config as LocalRateLimitConfig;
    if (limit.tokenBucket === undefined) return undefined;
    const { maxTokens, tokensPerFill, fillIntervalMs } = limit.tokenBucket;
    return `${maxTokens} tokens, ${tokensPerFill} per ${fillIntervalMs} ms; enabled ${limit.filterEnabledPercent} %, enforced ${limit.filterEnforcedPercent} %`;
  }
  return undefined;
}
