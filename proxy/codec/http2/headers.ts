// HTTP/2 header blocks <-> the codec's header maps, for both sides. Incoming blocks are read from
// node:http2's flat raw list ([name, value, ...], names already lower-case): pseudo-headers go to
// their fields, :authority becomes `host`, repeated headers become arrays, and split cookies are
// joined with '; ' (RFC 9113 8.2.3; what Envoy does so an HTTP/1 upstream gets one Cookie).
// Outgoing blocks drop the connection-specific headers HTTP/2 forbids (node:http2 throws on them).
import type { OutgoingHttpHeaders } from 'node:http2';
import type { HeaderMap, RequestHeaders, ResponseHeaders } from '../types.ts';

/** A header map without a prototype: a header named __proto__ is just a header. */
function newHeaderMap(): HeaderMap {
  return Object.create(null) as HeaderMap;
}

function add(map: HeaderMap, name: string, value: string): void {
  const prev = map[name];
  if (prev === undefined) map[name] = value;
  else if (name === 'cookie') map[name] = `${prev as string}; ${value}`;
  else if (typeof prev === 'string') map[name] = [prev, value];
  else prev.push(value);
}

/**
 * A request header block. The scheme is the transport's, not the peer's :scheme (a plain-text
 * client saying https must not become x-forwarded-proto: https). :authority wins over a Host
 * header (Envoy discards Host when :authority is present); CONNECT without :path takes the authority as its path, as HTTP/1's
 * authority-form. Extended CONNECT (:protocol, RFC 8441) is given as the HTTP/1 upgrade it stands
 * for: GET with `upgrade: <protocol>` and `connection: upgrade`, as Envoy's H2 codec does.
 */
export function requestFromHttp2(raw: readonly string[], scheme: string): RequestHeaders {
  const headers = newHeaderMap();
  let method = '';
  let path = '';
  let authority: string | undefined;
  let protocol: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    const value = raw[i + 1];
    if (name.charCodeAt(0) !== 58 /* ':' */) add(headers, name, value);
    else if (name === ':method') method = value;
    else if (name === ':path') path = value;
    else if (name === ':authority') authority = value;
    else if (name === ':protocol') protocol = value;
  }
  if (authority !== undefined) headers.host = authority;
  if (protocol !== undefined && method === 'CONNECT') {
    method = 'GET';
    headers.upgrade = protocol;
    headers.connection = 'upgrade';
  } else if (method === 'CONNECT' && path === '') {
    path = authority ?? '';
  }
  return { method, path, scheme, protocol: 'HTTP/2', headers };
}

/** A response header block (final or 1xx). */
export function responseFromHttp2(raw: readonly string[]): ResponseHeaders {
  const headers = newHeaderMap();
  let status = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    if (name === ':status') status = Number(raw[i + 1]);
    else if (name.charCodeAt(0) !== 58) add(headers, name, raw[i + 1]);
  }
  return { status, headers };
}

/** A trailer block (pseudo-headers are not allowed in trailers; any are dropped). */
export function trailersFromHttp2(raw: readonly string[]): HeaderMap {
  const headers = newHeaderMap();
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].charCodeAt(0) !== 58) add(headers, raw[i], raw[i + 1]);
  }
  return headers;
}

/** Connection-specific headers (RFC 9113 8.2.2): never sent on HTTP/2. */
const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'http2-settings']);

/** Headers node:http2 refuses to send more than once (its kSingleValueHeaders): repeats are joined. */
const SINGLE_VALUE = new Set([
  'access-control-allow-credentials', 'access-control-max-age', 'access-control-request-method', 'age',
  'authorization', 'content-encoding', 'content-language', 'content-length', 'content-location',
  'content-md5', 'content-range', 'content-type', 'date', 'dnt', 'etag', 'expires', 'from', 'host',
  'if-match', 'if-modified-since', 'if-none-match', 'if-range', 'if-unmodified-since', 'last-modified',
  'location', 'max-forwards', 'proxy-authorization', 'range', 'referer', 'retry-after', 'tk',
  'upgrade-insecure-requests', 'user-agent', 'x-content-type-options',
]);

/** Node's raw header list: name, value, name, value... */
export type Http2HeaderList = string[];

/** Appends `map` to `out` without what HTTP/2 forbids; `skipHost` for requests (host is :authority). */
function copyHeaders(map: HeaderMap, out: Http2HeaderList, skipHost: boolean): Http2HeaderList {
  for (const name in map) {
    const value = map[name];
    if (value === undefined || CONNECTION_SPECIFIC.has(name) || name.charCodeAt(0) === 58) continue;
    if (name === 'te') {
      // Only `te: trailers` may cross (gRPC sends it).
      if ((Array.isArray(value) ? value.join(',') : value).toLowerCase().includes('trailers')) out.push('te', 'trailers');
      continue;
    }
    if (skipHost && name === 'host') continue;
    if (!Array.isArray(value)) out.push(name, value);
    else if (SINGLE_VALUE.has(name)) out.push(name, value.join(', '));
    else for (const v of value) out.push(name, v);
  }
  return out;
}

/** The list as the header object node's 1xx and trailer calls take (repeated names become arrays). */
function headerObject(list: Http2HeaderList): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = Object.create(null);
  for (let i = 0; i < list.length; i += 2) {
    const name = list[i];
    const seen = out[name];
    out[name] = seen === undefined ? list[i + 1] : ([] as string[]).concat(seen as string | string[], list[i + 1]);
  }
  return out;
}

/** An outgoing request block, as the raw list request() takes: :authority from host. */
export function http2RequestHeaders(head: RequestHeaders): Http2HeaderList {
  const out: Http2HeaderList = [':method', head.method];
  const host = head.headers.host;
  const authority = Array.isArray(host) ? host[0] : host;
  if (head.method === 'CONNECT') {
    out.push(':authority', authority ?? head.path);
  } else {
    out.push(':scheme', head.scheme, ':path', head.path);
    if (authority !== undefined) out.push(':authority', authority);
  }
  return copyHeaders(head.headers, out, true);
}

/** An outgoing final response block, as the raw list respond() takes (no object copied per response). */
export function http2ResponseHeaderList(head: ResponseHeaders): Http2HeaderList {
  return copyHeaders(head.headers, [':status', String(head.status)], false);
}

/** The list without `name`'s fields. */
export function withoutHeader(list: Http2HeaderList, name: string): Http2HeaderList {
  const out: Http2HeaderList = [];
  for (let i = 0; i < list.length; i += 2) if (list[i] !== name) out.push(list[i], list[i + 1]);
  return out;
}

/** An outgoing response block (final or 1xx) as an object. */
export function http2ResponseHeaders(head: ResponseHeaders): OutgoingHttpHeaders {
  return headerObject(http2ResponseHeaderList(head));
}

/** An outgoing trailer block. */
export function http2Trailers(map: HeaderMap): OutgoingHttpHeaders {
  return headerObject(copyHeaders(map, [], false));
}
