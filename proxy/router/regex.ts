// Envoy's regexes are RE2; config/regex.ts translates them to JavaScript once, for validation
// and for the router alike.
import { compileRe2, re2ToJs } from '../config/regex.ts';

// A regex that must match the whole input, like RE2::FullMatch.
export function fullMatchRegExp(source: string): RegExp {
  return compileRe2(source, { fullMatch: true });
}

// Envoy's RegexMatchAndSubstitute: every non-overlapping match is replaced (RE2::GlobalReplace);
// in the substitution \0-\9 are capture groups and \\ is a backslash.
export function compileRegexSubstitution(pattern: string, substitution: string): (input: string) => string {
  const { source: body, flags } = re2ToJs(pattern);
  const regex = new RegExp(body, flags + 'g');
  // an empty alternative always matches, so exec('') reports how many groups the pattern has
  const groups = new RegExp(`${body}|`, flags).exec('')!.length - 1;
  let replacement = '';
  for (let i = 0; i < substitution.length; i++) {
    const c = substitution[i];
    if (c === '$') {
      replacement += '$$';
    } else if (c === '\\') {
      const next = substitution[++i];
      if (next === '\\') replacement += '\\';
      // two digits so that a literal digit after the group is not read as part of its number
      else if (next !== undefined && next >= '0' && next <= '9' && Number(next) <= groups)
        replacement += next === '0' ? '$&' : `$0${next}`;
      else throw new Error(`regex substitution ${JSON.stringify(substitution)}: invalid escape or group at ${i - 1}`);
    } else {
      replacement += c;
    }
  }
  return (input) => input.replace(regex, replacement);
}
