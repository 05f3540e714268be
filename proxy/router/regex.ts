// Envoy's regexes are RE2. JavaScript's engine reads nearly the same syntax; translate the RE2
// spellings it would read differently or reject: leading inline flags (?i) (?s) (?m), named
// groups (?P<name>...), the text anchors \A and \z, and \1-style rewrite substitutions.

const LEADING_FLAGS = /^\(\?([imsU]+)\)/;

function translate(source: string): { body: string; flags: string } {
  let body = source;
  let flags = '';
  const leading = LEADING_FLAGS.exec(source);
  if (leading !== null) {
    if (leading[1].includes('U')) throw new Error(`regex ${JSON.stringify(source)}: the (?U) flag is not supported`);
    flags = [...new Set(leading[1])].join('');
    body = source.slice(leading[0].length);
  }
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === '\\' && i + 1 < body.length) {
      const next = body[++i];
      out += next === 'z' ? '(?![\\s\\S])' : next === 'A' ? '(?<![\\s\\S])' : c + next;
    } else if (c === '(' && body.startsWith('(?P<', i)) {
      out += '(?<';
      i += 3;
    } else {
      out += c;
    }
  }
  return { body: out, flags };
}

// A regex that must match the whole input, like RE2::FullMatch.
export function fullMatchRegExp(source: string): RegExp {
  const { body, flags } = translate(source);
  return new RegExp(`^(?:${body})$`, flags);
}

// Envoy's RegexMatchAndSubstitute: every non-overlapping match is replaced (RE2::GlobalReplace);
// in the substitution \0-\9 are capture groups and \\ is a backslash.
export function compileRegexSubstitution(pattern: string, substitution: string): (input: string) => string {
  const { body, flags } = translate(pattern);
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
