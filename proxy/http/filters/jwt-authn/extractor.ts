// Where tokens are found (Envoy's JwtLocation): headers with an optional value prefix, query
// parameters, cookies. Providers sharing a location share it once, with the issuers they accept
// there; a token whose iss none of them has is refused as an unknown issuer. The headers the
// providers fill (forward_payload_header, claim_to_headers) are removed from the client's request
// before anything is verified, so only Legate's values reach the upstream.
import type { HeaderMap, RequestHeaders } from '../../../codec/index.ts';
import type { JwtProviderConfig } from '../../../config/model.ts';
import { queryParameterValue } from '../../../router/index.ts';

export interface ExtractedToken {
  token: string;
  /** Where it came from: the header name, the query parameter or the cookie. */
  location: Location;
  issuerAllowed(iss: string): boolean;
}

export interface Location {
  kind: 'header' | 'param' | 'cookie';
  name: string;
  prefix: string;
  issuers: Set<string>; // '' = a provider that accepts any issuer
}

// The characters of a token: base64url and the dots between its three parts.
const TOKEN_CHAR = /[A-Za-z0-9_\-.]/;

export class Extractor {
  private readonly locations: Location[] = [];
  private readonly filled: string[] = [];

  constructor(providers: readonly JwtProviderConfig[]) {
    for (const p of providers) {
      if (p.forwardPayloadHeader !== '') this.filled.push(p.forwardPayloadHeader);
      for (const { headerName } of p.claimToHeaders) this.filled.push(headerName);
      for (const h of p.fromHeaders) this.add('header', h.name, h.valuePrefix, p.issuer);
      for (const name of p.fromParams) this.add('param', name, '', p.issuer);
      for (const name of p.fromCookies) this.add('cookie', name, '', p.issuer);
    }
  }

  private add(kind: Location['kind'], name: string, prefix: string, issuer: string): void {
    let location = this.locations.find((l) => l.kind === kind && l.name === name && l.prefix === prefix);
    if (location === undefined) this.locations.push((location = { kind, name, prefix, issuers: new Set() }));
    location.issuers.add(issuer);
  }

  /** Removes the headers only a verified token may set. */
  sanitize(headers: HeaderMap): void {
    for (const name of this.filled) delete headers[name];
  }

  extract(head: RequestHeaders): ExtractedToken[] {
    const out: ExtractedToken[] = [];
    for (const location of this.locations) {
      const issuerAllowed = (iss: string) => location.issuers.has('') || location.issuers.has(iss);
      if (location.kind === 'header') {
        for (const value of values(head.headers, location.name)) {
          const token = tokenInHeader(value, location.prefix);
          if (token !== undefined) out.push({ token, location, issuerAllowed });
        }
      } else {
        const token = location.kind === 'param' ? paramValue(head.path, location.name) : cookieValue(head.headers, location.name);
        if (token !== undefined) out.push({ token, location, issuerAllowed });
      }
    }
    return out;
  }
}

function values(headers: HeaderMap, name: string): string[] {
  const value = headers[name];
  if (value === undefined) return [];
  return typeof value === 'string' ? [value] : value;
}

// Envoy's extraction: no token without the prefix; after it, from the first token character on
// (so "Bearer  x.y.z" gives x.y.z); with none, the whole value (which then fails to parse).
function tokenInHeader(value: string, prefix: string): string | undefined {
  if (prefix === '') return value;
  const at = value.indexOf(prefix);
  if (at === -1) return undefined;
  let start = at + prefix.length;
  while (start < value.length && !TOKEN_CHAR.test(value[start])) start++;
  return start === value.length ? value : value.slice(start);
}

// The first value of the parameter, percent-decoded as Envoy's parseAndDecodeQueryString.
function paramValue(path: string, name: string): string | undefined {
  const raw = queryParameterValue(path, name);
  if (raw === undefined) return undefined;
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return raw;
  }
}

/** The request without the token: its header gone, or its query parameter (Envoy keeps cookies). */
export function removeToken(head: RequestHeaders, location: Location): void {
  if (location.kind === 'header') {
    delete head.headers[location.name];
    return;
  }
  if (location.kind !== 'param') return;
  const query = head.path.indexOf('?');
  if (query === -1) return;
  const hash = head.path.indexOf('#', query);
  const end = hash === -1 ? head.path.length : hash;
  const kept = head.path
    .slice(query + 1, end)
    .split('&')
    .filter((pair) => pair !== '' && pair.split('=', 1)[0] !== location.name);
  head.path = `${head.path.slice(0, query)}${kept.length === 0 ? '' : `?${kept.join('&')}`}${head.path.slice(end)}`;
}

function cookieValue(headers: HeaderMap, name: string): string | undefined {
  for (const header of values(headers, 'cookie')) {
    for (const pair of header.split(';')) {
      const eq = pair.indexOf('=');
      if (eq !== -1 && pair.slice(0, eq).trim() === name) {
        const value = pair.slice(eq + 1).trim();
        return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
      }
    }
  }
  return undefined;
}
