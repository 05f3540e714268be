// Envoy's safe_regex is RE2. Legate runs JavaScript regexes, so config is checked here: RE2
// patterns are rewritten to the JS equivalent where the syntax differs, and constructs that JS
// has but RE2 refuses (lookaround, backreferences) are rejected, so a config that works on Legate
// also works on Envoy. The runtime compiles with compileRe2() to get the same translation.
import { ConfigError } from './errors.ts';

export interface JsRegex {
  source: string;
  flags: string;
}

// RE2-only syntax -> JS. Throws a plain Error with the reason when the pattern is not RE2.
export function re2ToJs(pattern: string): JsRegex {
  let flags = '';
  let source = pattern;
  // A leading (?flags) applies to the whole pattern; JS takes it as a flag.
  const leading = /^\(\?([imsU]+)\)/.exec(source);
  if (leading !== null) {
    if (leading[1].includes('U')) throw new Error('the ungreedy flag (?U) has no JavaScript equivalent');
    flags = [...new Set(leading[1])].join('');
    source = source.slice(leading[0].length);
  }
  let out = '';
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') {
      const next = source[i + 1] ?? '';
      if (next === 'Q') {
        // \Q...\E quotes literally.
        const end = source.indexOf('\\E', i + 2);
        const literal = source.slice(i + 2, end < 0 ? source.length : end);
        out += literal.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
        i = end < 0 ? source.length : end + 1;
        continue;
      }
      if (/[1-9]/.test(next) || next === 'k') throw new Error('backreferences are not RE2 syntax');
      if (next === 'C') throw new Error('\\C is not supported');
      if (!inClass && next === 'A') {
        out += '^';
        i++;
        continue;
      }
      if (!inClass && next === 'z') {
        out += '$';
        i++;
        continue;
      }
      out += c + next;
      i++;
      continue;
    }
    if (inClass) {
      const posix = /^\[:(\^?)([a-z]+):\]/.exec(source.slice(i));
      if (posix !== null) {
        const cls = POSIX_CLASSES[posix[2]];
        if (cls === undefined || posix[1] === '^') throw new Error(`unsupported character class [:${posix[1]}${posix[2]}:]`);
        out += cls;
        i += posix[0].length - 1;
        continue;
      }
      if (c === ']') inClass = false;
      out += c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      // A ']' right after '[' or '[^' is a literal in RE2.
      if (source[i + 1] === '^') {
        out += '^';
        i++;
      }
      if (source[i + 1] === ']') {
        out += '\\]';
        i++;
      }
      continue;
    }
    if (c === '(' && source[i + 1] === '?') {
      const rest = source.slice(i + 2);
      if (/^(=|!|<=|<!)/.test(rest)) throw new Error('lookahead and lookbehind are not RE2 syntax');
      if (rest.startsWith('>')) throw new Error('atomic groups are not RE2 syntax');
      if (rest.startsWith('P<')) {
        out += '(?<';
        i += 3;
        continue;
      }
      if (/^[imsU-]+\)/.test(rest)) throw new Error('inline flags are only supported at the start of the pattern or as (?flags:...)');
    }
    out += c;
  }
  return { source: out, flags };
}

const POSIX_CLASSES: Record<string, string> = {
  alpha: 'a-zA-Z',
  digit: '0-9',
  alnum: '0-9a-zA-Z',
  upper: 'A-Z',
  lower: 'a-z',
  space: '\\t\\n\\v\\f\\r ',
  xdigit: '0-9A-Fa-f',
  word: '\\w',
  punct: '!-\\/:-@\\[-`{-~',
};

// fullMatch: the whole input must match (Envoy's route, header and string matchers);
// global: for regex_rewrite substitutions, which replace every match.
export function compileRe2(pattern: string, options: { fullMatch?: boolean; global?: boolean } = {}): RegExp {
  const { source, flags } = re2ToJs(pattern);
  const anchored = options.fullMatch === true ? `^(?:${source})$` : source;
  return new RegExp(anchored, flags + (options.global === true ? 'g' : ''));
}

// Config-time check: throws a ConfigError naming the field.
export function checkRe2(pattern: string, path: string): void {
  try {
    compileRe2(pattern);
  } catch (err) {
    const reason = (err as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /, '');
    throw new ConfigError(path, `invalid regex ${JSON.stringify(pattern)}: ${reason}`, 'write an RE2 regular expression (no lookaround or backreferences)');
  }
}
