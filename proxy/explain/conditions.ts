// A route's match, condition by condition in the order the compiled matcher tests them (path,
// headers, query parameters, gRPC, runtime fraction), so explain can name the first that failed.
// Each condition is tested with the router's own compiled matchers.
import type { HeaderMatcher, QueryParameterMatcher, RouteMatch, StringMatcher } from '../config/model.ts';
import { compileHeaderMatcher, compileQueryParameterMatcher, compileRouteMatch, queryParameterValue, requestHeaderGetter, type RouteRequest } from '../router/index.ts';

export interface MatchOutcome {
  failed?: string; // the first failed condition, worded for an operator
  note?: string;
}

const ANY_PATH = { kind: 'prefix', value: '' } as const;

export function checkRouteMatch(match: RouteMatch, req: RouteRequest, pathEnd: number): MatchOutcome {
  const pathOnly = compileRouteMatch({ path: match.path, caseSensitive: match.caseSensitive, headers: [], queryParameters: [], grpc: false });
  if (!pathOnly(req, pathEnd)) return { failed: pathFailure(match, req.path, pathEnd) };
  for (const header of match.headers) {
    const value = requestHeaderGetter(header.name)(req);
    if (!compileHeaderMatcher(header).matches(value)) return { failed: headerFailure(header, value) };
  }
  for (const query of match.queryParameters) {
    if (!compileQueryParameterMatcher(query)(req.path)) return { failed: queryFailure(query, queryParameterValue(req.path, query.name)) };
  }
  if (match.grpc && !compileRouteMatch({ path: ANY_PATH, caseSensitive: true, headers: [], queryParameters: [], grpc: true })(req, pathEnd)) {
    return { failed: 'grpc: the request is not gRPC (content-type application/grpc)' };
  }
  const fraction = match.runtimeFractionPercent;
  if (fraction === undefined || fraction >= 100) return {};
  if (fraction <= 0) return { failed: 'runtime_fraction 0 %: the route never matches' };
  return { note: `runtime_fraction ${fraction} %: the other ${100 - fraction} % of such requests go on to the next route` };
}

// A prefix is matched against the whole :path, query included; the others against the path alone.
function pathFailure(match: RouteMatch, fullPath: string, end: number): string {
  const spec = match.path;
  const path = fullPath.slice(0, end);
  const cs = match.caseSensitive ? '' : ' (case-insensitive)';
  switch (spec.kind) {
    case 'prefix':
      return `prefix '${spec.value}'${cs} does not start '${fullPath}'`;
    case 'path':
      return `path '${spec.value}'${cs} is not '${path}'`;
    case 'path_separated_prefix':
      return `path_separated_prefix '${spec.value}'${cs} does not match '${path}'`;
    case 'safe_regex':
      return `safe_regex '${spec.value}' does not match '${path}'`;
    case 'connect_matcher':
      return 'connect_matcher: the method is not CONNECT';
  }
}

function stringMatch(m: { kind: string; value: string; ignoreCase: boolean }): string {
  return `${m.kind} '${m.value}'${m.ignoreCase ? ' (ignore_case)' : ''}`;
}

function headerFailure(header: HeaderMatcher, value: string | undefined): string {
  const got = value === undefined ? 'absent' : `'${value}'`;
  const not = header.invertMatch ? 'not ' : '';
  if (header.kind === 'present') return `header '${header.name}' must ${header.presentMatch !== header.invertMatch ? 'be present' : 'be absent'}: ${got}`;
  const wanted = header.kind === 'range' ? `range [${header.range?.start}, ${header.range?.end})` : stringMatch(header);
  return `header '${header.name}' ${not}${wanted}: ${got}`;
}

function queryFailure(query: QueryParameterMatcher, value: string | undefined): string {
  const got = value === undefined ? 'absent' : `'${value}'`;
  const wanted: StringMatcher | undefined = query.stringMatch;
  return wanted === undefined ? `query parameter '${query.name}' must be present: absent` : `query parameter '${query.name}' ${stringMatch(wanted)}: ${got}`;
}
