// The hypothetical request, as the router and the filter chain matcher will see it: the URL's
// authority, path and scheme, the method, the headers, and the connection facts its URL implies.
import { isIP } from 'node:net';
import type { RouteRequest } from '../router/index.ts';
import { ExplainError } from './errors.ts';
import type { ExplainInput } from './types.ts';

export interface HypotheticalRequest {
  route: RouteRequest;
  url: string;
  host: string; // the URL's host, without brackets
  port: number; // the URL's port, or the scheme's
  tls: boolean; // https: the client offers SNI (the host, unless an IP) and ALPN h2, http/1.1
  sourceIp: string;
  sourcePort: number; // 0 when not given: no source_ports criterion can match it
}

const ALPN_OFFERED = ['h2', 'http/1.1']; // what curl and browsers offer

export function hypotheticalRequest(input: ExplainInput): HypotheticalRequest {
  let url: URL;
  try {
    url = new URL(input.url);
  } catch {
    if (input.url.includes('://')) throw new ExplainError(`not a URL: '${input.url}'`);
    throw new ExplainError(input.url.startsWith('/') ? `URL needs a host, e.g. http://example.com${input.url}` : `URL needs a scheme, e.g. http://${input.url}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ExplainError(`URL scheme must be http or https, not '${url.protocol.slice(0, -1)}'`);
  if (url.hostname === '') throw new ExplainError('URL needs a host');
  const tls = url.protocol === 'https:';
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(input.headers ?? {})) headers[name.toLowerCase()] = value;
  // A Host header overrides the URL's authority, as with curl -H 'host: ...'.
  const authority = headers.host ?? url.host;
  delete headers.host;
  const { ip, port } = sourceAddress(input.source ?? '127.0.0.1');
  return {
    route: { authority, path: rawPath(input.url), method: (input.method ?? 'GET').toUpperCase(), scheme: tls ? 'https' : 'http', headers },
    url: input.url,
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port === '' ? (tls ? 443 : 80) : Number(url.port),
    tls,
    sourceIp: ip,
    sourcePort: port,
  };
}

export function offeredAlpn(req: HypotheticalRequest): string[] {
  return req.tls ? ALPN_OFFERED : [];
}

/** The server name a TLS client sends: the host, unless it is an IP literal (RFC 6066). */
export function serverName(req: HypotheticalRequest): string {
  return req.tls && isIP(req.host) === 0 ? req.host.toLowerCase() : '';
}

/**
 * The path and query as written: the WHATWG URL parser would remove '.' and '..' segments, which
 * only the connection manager's normalize_path may do.
 */
function rawPath(url: string): string {
  const afterScheme = url.indexOf('://') + 3;
  const start = url.slice(afterScheme).search(/[/?#]/);
  if (start === -1) return '/';
  let rest = url.slice(afterScheme + start);
  const fragment = rest.indexOf('#');
  if (fragment !== -1) rest = rest.slice(0, fragment);
  return rest.startsWith('/') ? rest : `/${rest}`;
}

/** '10.0.0.1', '10.0.0.1:5000', '[::1]:5000' or '::1'. */
function sourceAddress(source: string): { ip: string; port: number } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(source);
  const [ip, port] = bracketed !== null ? [bracketed[1], bracketed[2]] : isIP(source) !== 0 ? [source, undefined] : source.split(/:(?=\d+$)/);
  if (isIP(ip ?? '') === 0) throw new ExplainError(`--source must be an IP address (optionally with :port), not '${source}'`);
  return { ip, port: port === undefined ? 0 : Number(port) };
}

/** -H 'name: value' (or the admin's header=name:value) into a header map; repeats join with ','. */
export function parseHeaders(list: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const item of list) {
    const colon = item.indexOf(':', 1);
    if (colon === -1) throw new ExplainError(`header '${item}' needs the form 'name: value'`);
    const name = item.slice(0, colon).trim().toLowerCase();
    const value = item.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  return headers;
}
