// A filter's most specific typed_per_filter_config for a request: the route's, else its virtual
// host's (Envoy's resolveMostSpecificPerFilterConfig). A FilterConfig with disabled: true turns
// the filter off for that scope.
import type { FilterDisabled } from '../../config/model.ts';
import type { HttpStream } from '../stream.ts';

export function perRouteConfig<T>(stream: HttpStream, filterName: string): T | FilterDisabled | undefined {
  const matched = stream.route;
  if (matched === null) return undefined;
  return (matched.route.model.typedPerFilterConfig[filterName] ?? matched.virtualHost.model.typedPerFilterConfig[filterName]) as
    | T
    | FilterDisabled
    | undefined;
}

export function isDisabled(config: unknown): config is FilterDisabled {
  return (config as FilterDisabled | undefined)?.disabled === true;
}
