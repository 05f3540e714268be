// envoy.filters.http.health_check (envoy.extensions.filters.http.health_check.v3.HealthCheck) ->
// HealthCheckFilterConfig. Envoy's own rules: cache_time only in pass-through mode (an error
// otherwise), cluster_min_healthy_percentages only outside it (ignored there: warned here).
import { joinPath } from '../errors.ts';
import type { HealthCheckFilterConfig } from '../model.ts';
import { bool, headerMatchers, ms, num, obj, reject } from './common.ts';
import type { Raw, TranslateContext } from './common.ts';

export function healthCheckFilterConfig(raw: Raw, path: string, ctx: TranslateContext): HealthCheckFilterConfig {
  const passThroughMode = bool(raw, 'pass_through_mode', false);
  const cacheTimeMs = ms(raw, 'cache_time', 0);
  if (!passThroughMode && cacheTimeMs > 0) {
    reject(joinPath(path, 'cache_time'), 'cache_time must not be set when pass_through_mode is false', 'set pass_through_mode: true, or remove cache_time');
  }
  const percentages = Object.entries(obj(raw, 'cluster_min_healthy_percentages') ?? {});
  if (passThroughMode && percentages.length > 0) {
    ctx.warnings.push(`${joinPath(path, 'cluster_min_healthy_percentages')}: has no effect in pass_through_mode (as in Envoy); ignored`);
  }
  return {
    passThroughMode,
    cacheTimeMs,
    headers: headerMatchers(raw, 'headers', path),
    // Envoy walks them in name order and truncates each percentage to a whole number.
    clusterMinHealthyPercentages: passThroughMode
      ? []
      : percentages.map(([cluster, percent]): [string, number] => [cluster, Math.trunc(num(percent as Raw, 'value', 0))]).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  };
}
