// prefix_rewrite and regex_rewrite, shared by route actions and redirects. prefix_rewrite replaces
// what the route matched: the prefix for prefix routes, the whole path (query kept) for path and
// regex routes. regex_rewrite substitutes in the path without its query and keeps the query.
import type { PathSpecifier } from '../config/model.ts';
import { compileRegexSubstitution } from './regex.ts';
import { pathEnd } from './request.ts';

export type PathRewriter = (path: string) => string;

// undefined when the route rewrites nothing. An empty prefix_rewrite is unset (proto3 string).
export function compilePathRewrite(
  spec: PathSpecifier,
  prefixRewrite: string | undefined,
  regexRewrite: { pattern: string; substitution: string } | undefined,
): PathRewriter | undefined {
  if (prefixRewrite !== undefined && prefixRewrite !== '') {
    if (spec.kind === 'safe_regex') return (path) => prefixRewrite + path.slice(pathEnd(path));
    const matched = spec.value.length;
    return (path) => prefixRewrite + path.slice(matched);
  }
  if (regexRewrite !== undefined) {
    const substitute = compileRegexSubstitution(regexRewrite.pattern, regexRewrite.substitution);
    return (path) => {
      const end = pathEnd(path);
      return end === path.length ? substitute(path) : substitute(path.slice(0, end)) + path.slice(end);
    };
  }
  return undefined;
}
