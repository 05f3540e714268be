// normalize_path (RFC 3986 section 5.2.4: remove "." and ".." segments) and merge_slashes
// ("//" -> "/") on the path before routing, so "/a/../admin" or "//admin" cannot slip past a
// prefix route; and path_with_escaped_slashes_action's %2F / %5C. Only the path is touched; the
// query stays as sent.

const ESCAPED_SLASH = /%2f|%5c/i;

/** Whether the path (not the query) holds an escaped slash or backslash. */
export function hasEscapedSlashes(url: string): boolean {
  const q = url.indexOf('?');
  return ESCAPED_SLASH.test(q === -1 ? url : url.slice(0, q));
}

/** %2F -> '/' and %5C -> '\\' in the path (either case), as UNESCAPE_AND_FORWARD/REDIRECT do. */
export function unescapeSlashes(url: string): string {
  const q = url.indexOf('?');
  const path = (q === -1 ? url : url.slice(0, q)).replace(/%2f/gi, '/').replace(/%5c/gi, '\\');
  return q === -1 ? path : path + url.slice(q);
}
export function normalizeRequestPath(url: string, normalize: boolean, mergeSlashes: boolean): string {
  const q = url.indexOf('?');
  let path = q === -1 ? url : url.slice(0, q);
  if (mergeSlashes && path.includes('//')) path = path.replace(/\/{2,}/g, '/');
  if (normalize && path.includes('.')) path = removeDotSegments(path);
  return q === -1 ? path : path + url.slice(q);
}

function removeDotSegments(path: string): string {
  const out: string[] = [];
  const segments = path.split('/');
  for (let i = 1; i < segments.length; i++) {
    const s = segments[i];
    const last = i === segments.length - 1;
    if (s === '.') {
      if (last) out.push('');
    } else if (s === '..') {
      out.pop();
      if (last) out.push('');
    } else out.push(s);
  }
  return '/' + out.join('/');
}
