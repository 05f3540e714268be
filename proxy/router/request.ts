// The request as the router sees it, and the few ways it is read while matching. Envoy's
// pseudo-headers (:authority, :path, :method, :scheme) come from the request fields; everything
// else from node's lower-cased header object.

export type HeaderMap = Record<string, string | string[] | undefined>;

export interface RouteRequest {
  authority: string;
  path: string; // with the query string
  method: string;
  scheme: string;
  headers: HeaderMap;
}

// All values of a header as one string, joined with ',' as Envoy's getAllOfHeaderAsString does.
export function headerValue(headers: HeaderMap, name: string): string | undefined {
  const value = headers[name];
  if (value === undefined || typeof value === 'string') return value;
  return value.length === 0 ? undefined : value.join(',');
}

export type HeaderGetter = (req: RouteRequest) => string | undefined;

// Resolved once per matcher so the hot path never compares header names.
export function requestHeaderGetter(name: string): HeaderGetter {
  switch (name) {
    case ':authority':
      return (req) => req.authority;
    case ':path':
      return (req) => req.path;
    case ':method':
      return (req) => req.method;
    case ':scheme':
      return (req) => req.scheme;
    default:
      return (req) => headerValue(req.headers, name);
  }
}

// Where the path ends and the query (or fragment) begins, as Envoy's removeQueryAndFragment.
export function pathEnd(path: string): number {
  const query = path.indexOf('?');
  const end = query === -1 ? path.length : query;
  const fragment = path.indexOf('#');
  return fragment !== -1 && fragment < end ? fragment : end;
}

// The first value of a query parameter, undecoded (Envoy's parseQueryString): 'a' in '?a' is '',
// in '?a=b=c' it is 'b=c'. Names are case-sensitive.
export function queryParameterValue(path: string, name: string): string | undefined {
  const query = path.indexOf('?');
  if (query === -1) return undefined;
  let end = path.indexOf('#', query);
  if (end === -1) end = path.length;
  for (let start = query + 1; start <= end; ) {
    let next = path.indexOf('&', start);
    if (next === -1 || next > end) next = end;
    const keyEnd = start + name.length;
    if (keyEnd <= next && path.startsWith(name, start)) {
      if (keyEnd === next) return '';
      if (path.charCodeAt(keyEnd) === 61 /* = */) return path.slice(keyEnd + 1, next);
    }
    start = next + 1;
  }
  return undefined;
}

// The index of the ':' before a port ("host:8080", "[::1]:8080"), or -1. The port must be digits,
// so an IPv6 literal without brackets or a wildcard like "foo:*" is not mistaken for one.
export function portStart(host: string): number {
  const colon = host.lastIndexOf(':');
  if (colon === -1 || host.indexOf(']', colon) !== -1) return -1;
  if (host.charCodeAt(0) !== 91 /* [ */ && host.indexOf(':') !== colon) return -1;
  for (let i = colon + 1; i < host.length; i++) {
    const c = host.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
  }
  return colon;
}
