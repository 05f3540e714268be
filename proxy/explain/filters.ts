// The connection manager's HTTP filters a request on this route passes through, in order, with
// those its route or virtual host turns off (typed_per_filter_config disabled).
import type { CompressorConfig, DecompressorConfig, ExtAuthzConfig, ExtAuthzPerRouteConfig, FaultConfig, HttpFilter, JwtAuthnConfig, JwtAuthnPerRouteConfig, LocalRateLimitConfig, RateLimitConfig, RbacConfig, Route, VirtualHost } from '../config/model.ts';
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
  if (type === 'ratelimit' && (config as RateLimitConfig).domain !== undefined) {
    const limit = config as RateLimitConfig;
    return `domain ${limit.domain}, stage ${limit.stage}${limit.failureModeDeny ? ', failure_mode_deny' : ''}`;
  }
  if (type === 'rbac') {
    const { rules, shadowRules } = config as RbacConfig;
    const describeRules = (r: RbacConfig['rules']) => (r === undefined ? undefined : `${r.action} by ${r.policies.length === 0 ? 'no policy' : r.policies.map((p) => p.name).join(', ')}`);
    const parts = [describeRules(rules) ?? 'no rules: every request is allowed'];
    if (shadowRules !== undefined) parts.push(`shadow ${describeRules(shadowRules)}`);
    return parts.join('; ');
  }
  if (type === 'ext_authz') {
    if ((config as ExtAuthzConfig).service === undefined) {
      const extensions = Object.entries((config as ExtAuthzPerRouteConfig).contextExtensions ?? {}).map(([k, v]) => `${k}=${v}`);
      return extensions.length === 0 ? 'checked with the route\'s settings' : `checked with context extensions ${extensions.join(', ')}`;
    }
    const authz = config as ExtAuthzConfig;
    const service = authz.service;
    const parts = [`asks ${service.kind === 'grpc' ? 'the gRPC' : 'the HTTP'} authorization service on cluster ${service.cluster} (timeout ${service.timeoutMs} ms)`];
    if (authz.withRequestBody !== undefined) parts.push(`with up to ${authz.withRequestBody.maxRequestBytes} bytes of body`);
    parts.push(authz.failureModeAllow ? 'failure_mode_allow' : `${authz.statusOnError} on error`);
    return parts.join(', ');
  }
  if (type === 'jwt_authn') {
    const perRoute = config as JwtAuthnPerRouteConfig;
    if (perRoute.requirementName !== undefined) return `verifies the JWTs of requirement ${perRoute.requirementName}`;
    const { providers, rules } = config as JwtAuthnConfig;
    return `verifies JWTs of ${providers.map((p) => p.name).join(', ') || 'no provider'} by ${rules.length} rule${rules.length === 1 ? '' : 's'}`;
  }
  if (type === 'compressor' && (config as CompressorConfig).library !== undefined) {
    const compressor = config as CompressorConfig;
    return `${compressor.library.kind} responses${compressor.response.enabled ? '' : ' (off)'}${compressor.request === undefined ? '' : ' and requests'}`;
  }
  if (type === 'decompressor' && (config as DecompressorConfig).library !== undefined) {
    const { library, request, response } = config as DecompressorConfig;
    const on = [request.enabled || request.enabledKey !== undefined ? 'requests' : '', response.enabled || response.enabledKey !== undefined ? 'responses' : ''].filter((d) => d !== '');
    return `${library.kind} ${on.length === 0 ? 'off' : on.join(' and ')} (max ratio ${library.maxInflateRatio})`;
  }
  return undefined;
}
