// A route's match, compiled into one predicate. The path is checked first because it rejects most
// routes; the runtime fraction last so the random draw only happens for otherwise matching routes.
import type { PathSpecifier, RouteMatch } from '../config/model.ts';
import { asciiLowerCase, compileHeaderMatcher, compileQueryParameterMatcher, equalsIgnoreCaseAt } from './match.ts';
import { fullMatchRegExp } from './regex.ts';
import { isGrpcRequest } from '../grpc/index.ts';
import { requestHeaderGetter } from './request.ts';
import type { RouteRequest } from './request.ts';
import { runtime } from '../runtime/index.ts';

// end: where the path stops and the query begins (request.ts pathEnd), computed once per request.
export type RouteMatcher = (req: RouteRequest, end: number) => boolean;

function compilePath(spec: PathSpecifier, caseSensitive: boolean): RouteMatcher {
  const expected = caseSensitive ? spec.value : asciiLowerCase(spec.value);
  const length = expected.length;
  const startsWith = caseSensitive
    ? (path: string) => path.startsWith(expected)
    : (path: string) => path.length >= length && equalsIgnoreCaseAt(path, 0, expected);
  switch (spec.kind) {
    // Envoy matches a prefix against the whole :path, query included.
    case 'prefix':
      return caseSensitive ? (req) => req.path.startsWith(expected) : (req) => startsWith(req.path);
    case 'path':
      return (req, end) => end === length && startsWith(req.path);
    case 'path_separated_prefix':
      return (req, end) =>
        end >= length && startsWith(req.path) && (end === length || req.path.charCodeAt(length) === 47 /* / */);
    case 'safe_regex': {
      // case_sensitive does not apply to regexes
      const regex = fullMatchRegExp(spec.value);
      return ({ path }, end) => regex.test(end === path.length ? path : path.slice(0, end));
    }
    case 'connect_matcher':
      return (req) => req.method === 'CONNECT';
  }
}

export function compileRouteMatch(match: RouteMatch): RouteMatcher {
  const path = compilePath(match.path, match.caseSensitive);
  const headers = match.headers.map((config) => {
    const get = requestHeaderGetter(config.name);
    const { matches } = compileHeaderMatcher(config);
    return (req: RouteRequest) => matches(get(req));
  });
  const query = match.queryParameters.map(compileQueryParameterMatcher);
  const { grpc, runtimeFractionPercent, runtimeFractionKey } = match;
  if (headers.length === 0 && query.length === 0 && !grpc && runtimeFractionPercent === undefined) {
    return path;
  }
  return (req, end) => {
    if (!path(req, end)) return false;
    for (let i = 0; i < headers.length; i++) if (!headers[i](req)) return false;
    for (let i = 0; i < query.length; i++) if (!query[i](req.path)) return false;
    if (grpc && !isGrpcRequest(req)) return false;
    if (runtimeFractionPercent === undefined) return true;
    // runtime_fraction.runtime_key: the runtime's value, when set, replaces the default share.
    const percent = runtimeFractionKey === undefined ? runtimeFractionPercent : runtime.snapshot.percent(runtimeFractionKey.key, runtimeFractionPercent, runtimeFractionKey.denominator);
    return Math.random() * 100 < percent;
  };
}
