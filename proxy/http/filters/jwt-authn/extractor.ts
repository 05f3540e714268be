// Where tokens are found (Envoy's JwtLocation): headers with an optional value prefix, query
// parameters, cookies. Providers sharing a location share it once, with the issuers they accept
// there; a token whose iss none of them has is refused as an unknown issuer.
import type { HeaderMap, RequestHeaders } from '../../../codec/index.ts';
import type { JwtProviderConfig } from '../../../config/model.ts';
import { queryParameterValue } from '../../../router/index.ts';

export interface ExtractedToken {
  token: string;
  /** The header it came in, removed when its provider does not forward the token. */
  header: string | undefined;
  issuerAllowed(iss: string): boolean;
}

interface Location {
  kind: 'header' | 'param' | 'cookie';
  name: string;
  prefix: string;
  issuers: Set<string>; // '' = a provider that accepts any issuer
}

// The characters of a token: base64url and the dots between its three parts.
const TOKEN_CHAR = /[A-Za-z0-9_\-.]/;

export class Extractor {
  private readonly locations: Location[] = [];

  constructor(providers: readonly JwtProviderConfig[]) {
    for (const p of providers) {
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

  extract(head: RequestHeaders): ExtractedToken[] {
    const out: ExtractedToken[] = [];
    for (const location of this.locations) {
      const issuerAllowed = (iss: string) => location.issuers.has('') || location.issuers.has(iss);
      if (location.kind === 'header') {
        for (const value of values(head.headers, location.name)) {
          const token = tokenInHeader(value, location.prefix);
          if (token !== '') out.push({ token, header: location.name, issuerAllowed });
        }
      } else {
        const token = location.kind === 'param' ? queryParameterValue(head.path, location.name) : cookieValue(head.headers, location.name);
        if (token !== undefined && token !== '') out.push({ token, header: undefined, issuerAllowed });
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

// Envoy's extraction: after the prefix, the first run of token characters (so "Bearer  x.y.z," gives x.y.z).
function tokenInHeader(value: string, prefix: string): string {
  if (prefix === '') return value;
  const at = value.indexOf(prefix);
  if (at === -1) return '';
  let start = at + prefix.length;
  while (start < value.length && !TOKEN_CHAR.test(value[start])) start++;
  let end = start;
  while (end < value.length && TOKEN_CHAR.test(value[end])) end++;
  return value.slice(start, end);
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
