// envoy.config.route.v3.RouteMatch -> the model: a route's match, and anything else Envoy matches
// the way routes are (jwt_authn's RequirementRule). Compiled by router/route-match.ts.
import { indexPath, joinPath } from '../errors.ts';
import type { QueryParameterMatcher, RouteMatch } from '../model.ts';
import { bool, headerMatchers, list, obj, regexSource, runtimeFractionalPercent, runtimeKeyOf, str, stringMatcher } from './common.ts';
import type { Raw } from './common.ts';

export function translateMatch(raw: Raw, path: string): RouteMatch {
  let pathSpec: RouteMatch['path'];
  if (raw.prefix !== undefined) pathSpec = { kind: 'prefix', value: str(raw, 'prefix') };
  else if (raw.path !== undefined) pathSpec = { kind: 'path', value: str(raw, 'path') };
  else if (raw.safe_regex !== undefined) pathSpec = { kind: 'safe_regex', value: regexSource(obj(raw, 'safe_regex'), joinPath(path, 'safe_regex')) };
  else if (raw.connect_matcher !== undefined) pathSpec = { kind: 'connect_matcher', value: '' };
  else pathSpec = { kind: 'path_separated_prefix', value: str(raw, 'path_separated_prefix') };
  const match: RouteMatch = {
    path: pathSpec,
    caseSensitive: bool(raw, 'case_sensitive', true),
    headers: headerMatchers(raw, 'headers', path),
    queryParameters: list(raw, 'query_parameters').map((q, i) => queryParameterMatcher(q, indexPath(joinPath(path, 'query_parameters'), i))),
    grpc: raw.grpc !== undefined,
  };
  if (raw.runtime_fraction !== undefined) {
    match.runtimeFractionPercent = runtimeFractionalPercent(obj(raw, 'runtime_fraction'), 100);
    const key = runtimeKeyOf(obj(raw, 'runtime_fraction'));
    if (key !== undefined) match.runtimeFractionKey = key;
  }
  return match;
}

function queryParameterMatcher(raw: Raw, path: string): QueryParameterMatcher {
  const stringMatch = obj(raw, 'string_match');
  if (stringMatch !== undefined) {
    return { name: str(raw, 'name'), stringMatch: stringMatcher(stringMatch, joinPath(path, 'string_match')), presentMatch: false };
  }
  // present_match, or no matcher at all: the parameter must be present.
  return { name: str(raw, 'name'), presentMatch: bool(raw, 'present_match', true) };
}

