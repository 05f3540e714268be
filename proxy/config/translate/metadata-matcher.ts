// envoy.type.matcher.v3.MetadataMatcher and its ValueMatcher -> the model, for every field that
// takes one (RBAC's metadata principals and permissions, ext_authz's filter_enabled_metadata).
import { indexPath, joinPath } from '../errors.ts';
import type { MetadataMatch, ValueMatch } from '../model.ts';
import { bool, list, num, obj, reject, str, stringMatcher } from './common.ts';
import type { Raw } from './common.ts';

export function metadataMatcher(raw: Raw, path: string): MetadataMatch {
  const filter = str(raw, 'filter');
  if (filter === '') reject(joinPath(path, 'filter'), 'required field is missing', 'name the filter whose dynamic metadata is matched, e.g. envoy.filters.http.jwt_authn');
  const segments = list(raw, 'path');
  if (segments.length === 0) reject(joinPath(path, 'path'), 'required field is missing', 'give at least one key, e.g. path: [{ key: payload }, { key: sub }]');
  const keys = segments.map((segment, i) => {
    const key = str(segment, 'key');
    if (key === '') reject(joinPath(indexPath(joinPath(path, 'path'), i), 'key'), 'required field is missing', 'give the key of this path segment');
    return key;
  });
  const value = obj(raw, 'value');
  if (value === undefined) reject(joinPath(path, 'value'), 'required field is missing', 'give a value matcher, e.g. value: { string_match: { exact: x } }');
  return { filter, path: keys, value: valueMatcher(value, joinPath(path, 'value')), invert: bool(raw, 'invert', false) };
}

export function valueMatcher(raw: Raw, path: string): ValueMatch {
  if (raw.null_match !== undefined) return { kind: 'null' };
  const double = obj(raw, 'double_match');
  if (double !== undefined) {
    const range = obj(double, 'range');
    if (range !== undefined) return { kind: 'double_range', start: num(range, 'start', 0), end: num(range, 'end', 0) };
    if (double.exact !== undefined) return { kind: 'double_exact', value: num(double, 'exact', 0) };
    return reject(joinPath(path, 'double_match'), 'required field is missing', 'set range or exact');
  }
  const string = obj(raw, 'string_match');
  if (string !== undefined) return { kind: 'string', matcher: stringMatcher(string, joinPath(path, 'string_match')) };
  if (raw.bool_match !== undefined) return { kind: 'bool', value: bool(raw, 'bool_match', false) };
  if (raw.present_match !== undefined) return { kind: 'present', present: bool(raw, 'present_match', false) };
  const listMatch = obj(raw, 'list_match');
  if (listMatch !== undefined) {
    const oneOf = obj(listMatch, 'one_of');
    if (oneOf === undefined) return reject(joinPath(path, 'list_match.one_of'), 'required field is missing', 'give the value matcher one item of the list must match');
    return { kind: 'list_one_of', item: valueMatcher(oneOf, joinPath(path, 'list_match.one_of')) };
  }
  const or = obj(raw, 'or_match');
  if (or !== undefined) {
    const at = joinPath(path, 'or_match.value_matchers');
    const matchers = list(or, 'value_matchers').map((m, i) => valueMatcher(m, indexPath(at, i)));
    if (matchers.length < 2) reject(at, 'needs at least 2 value matchers (Envoy\'s min_items)', 'give two or more, or use the one matcher directly');
    return { kind: 'or', matchers };
  }
  return reject(path, 'the value matcher sets no match pattern', 'set one of null_match, double_match, string_match, bool_match, present_match, list_match, or_match');
}
