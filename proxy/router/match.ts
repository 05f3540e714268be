// Envoy's string, header and query parameter matchers, compiled once into predicates. ignore_case
// folds ASCII only, as Envoy's absl::EqualsIgnoreCase does; it has no effect on safe_regex.
import type { HeaderMatcher, QueryParameterMatcher, StringMatcher } from '../config/model.ts';
import { fullMatchRegExp } from './regex.ts';
import { queryParameterValue } from './request.ts';

export type StringPredicate = (value: string) => boolean;

export function asciiLowerCase(value: string): string {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 65 && c <= 90) return value.replace(/[A-Z]+/g, (upper) => upper.toLowerCase());
  }
  return value;
}

// Whether value[offset, offset + lower.length) equals lower (already ASCII lower case), folding
// ASCII case in value. The caller checks that value is long enough.
export function equalsIgnoreCaseAt(value: string, offset: number, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) {
    let c = value.charCodeAt(offset + i);
    if (c >= 65 && c <= 90) c |= 32;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}

export function compileStringMatcher(matcher: StringMatcher): StringPredicate {
  const expected = matcher.value;
  if (matcher.kind === 'safe_regex') {
    const regex = fullMatchRegExp(expected);
    return (value) => regex.test(value);
  }
  if (!matcher.ignoreCase) {
    switch (matcher.kind) {
      case 'exact':
        return (value) => value === expected;
      case 'prefix':
        return (value) => value.startsWith(expected);
      case 'suffix':
        return (value) => value.endsWith(expected);
      case 'contains':
        return (value) => value.includes(expected);
    }
  }
  const lower = asciiLowerCase(expected);
  const length = lower.length;
  switch (matcher.kind) {
    case 'exact':
      return (value) => value.length === length && equalsIgnoreCaseAt(value, 0, lower);
    case 'prefix':
      return (value) => value.length >= length && equalsIgnoreCaseAt(value, 0, lower);
    case 'suffix':
      return (value) => value.length >= length && equalsIgnoreCaseAt(value, value.length - length, lower);
    case 'contains':
      return (value) => asciiLowerCase(value).includes(lower);
  }
}

// Envoy's range_match: the whole value is a base-10 integer with an optional sign, in [start, end).
function compileRange(range: { start: number; end: number }): StringPredicate {
  const integer = /^[+-]?[0-9]+$/;
  const { start, end } = range;
  return (value) => {
    if (!integer.test(value)) return false;
    const n = Number(value);
    return n >= start && n < end;
  };
}

// A header matcher takes the header's value (all values joined with ','), undefined when absent,
// so the same compiled matcher serves request headers (routes) and response headers (retries).
export interface CompiledHeaderMatcher {
  readonly name: string;
  readonly matches: (value: string | undefined) => boolean;
}

export function compileHeaderMatcher(matcher: HeaderMatcher): CompiledHeaderMatcher {
  const { name, invertMatch } = matcher;
  if (matcher.kind === 'present') {
    const wanted = matcher.presentMatch;
    return { name, matches: (value) => ((value !== undefined) === wanted) !== invertMatch };
  }
  let test: StringPredicate;
  if (matcher.kind === 'range') {
    if (matcher.range === undefined) throw new Error(`header matcher ${name}: range_match without a range`);
    test = compileRange(matcher.range);
  } else {
    test = compileStringMatcher({ kind: matcher.kind, value: matcher.value, ignoreCase: matcher.ignoreCase });
  }
  // An absent header fails the match, inverted or not, unless it is to be treated as empty.
  const missing = matcher.treatMissingHeaderAsEmpty ? test('') !== invertMatch : false;
  return { name, matches: (value) => (value === undefined ? missing : test(value) !== invertMatch) };
}

// Takes the request path with its query string. Only a parameter's first value counts. Without a
// string matcher the parameter only has to be present.
export type QueryParameterPredicate = (path: string) => boolean;

export function compileQueryParameterMatcher(matcher: QueryParameterMatcher): QueryParameterPredicate {
  const { name } = matcher;
  if (matcher.stringMatch === undefined) return (path) => queryParameterValue(path, name) !== undefined;
  const test = compileStringMatcher(matcher.stringMatch);
  return (path) => {
    const value = queryParameterValue(path, name);
    return value !== undefined && test(value);
  };
}
