// The cluster's auto_sni / auto_san_validation, as Envoy's router sets the upstream server name
// and SAN list: the value of override_auto_sni_header (when set and present) else the request's
// host, after the route's host rewrites; its host part (no port) is the SNI unless it is an IP
// address, and the SAN the server's certificate must carry.
import { isIP } from 'node:net';
import type { HeaderMap } from '../codec/index.ts';
import type { AutoSni } from '../config/model.ts';
import type { UpstreamTlsOptions } from '../upstream/index.ts';

export function autoSniOptions(auto: AutoSni, headers: HeaderMap): UpstreamTlsOptions | undefined {
  let value = auto.header === '' ? undefined : first(headers[auto.header]);
  if (value === undefined || value === '') value = first(headers.host) ?? '';
  const host = hostOf(value);
  if (host === '') return undefined;
  const options: UpstreamTlsOptions = {};
  if (auto.sni && isIP(host) === 0) options.serverName = host;
  if (auto.sanValidation) options.verifySan = host;
  return options.serverName === undefined && options.verifySan === undefined ? undefined : options;
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

// 'example.com:8443' -> 'example.com'; '[::1]:80' -> '::1'.
function hostOf(authority: string): string {
  if (authority.startsWith('[')) {
    const end = authority.indexOf(']');
    return end < 0 ? authority : authority.slice(1, end);
  }
  const colon = authority.lastIndexOf(':');
  // A bare IPv6 address has several colons and no port.
  return colon >= 0 && authority.indexOf(':') === colon ? authority.slice(0, colon) : authority;
}
