// A route's hash_policy: the request hash that ring hash and maglev balancers place on their ring.
// Policies run in order; each that yields a value is folded into the hash with Envoy's
// rotate-left-by-one then xor (so two equal policies do not cancel out); a terminal policy that
// produced a hash ends the walk.
import type { HashPolicy } from '../config/model.ts';
import { hash32 } from './hash.ts';
import { queryParameterValue, requestHeaderGetter } from './request.ts';
import type { RouteRequest } from './request.ts';

// The downstream connection; a node net.Socket fits.
export interface DownstreamConnection {
  readonly remoteAddress?: string;
  readonly remotePort?: number;
  readonly localAddress?: string;
  readonly localPort?: number;
}

export interface HashResult {
  hash: number; // unsigned 32-bit
  setCookies?: string[]; // generated cookies: the router adds these Set-Cookie values to the response
}

// Returns the hash contribution, or undefined when the policy does not apply to this request.
type HashMethod = (req: RouteRequest, connection: DownstreamConnection, out: { setCookies?: string[] }) => number | undefined;

// The value of a cookie in a Cookie header, surrounding quotes removed (Envoy's parseCookieValue).
export function cookieValue(header: string, name: string): string | undefined {
  for (let start = 0; start < header.length; ) {
    let end = header.indexOf(';', start);
    if (end === -1) end = header.length;
    while (header.charCodeAt(start) === 32 /* space */) start++;
    const keyEnd = start + name.length;
    if (keyEnd < end && header.charCodeAt(keyEnd) === 61 /* = */ && header.startsWith(name, start)) {
      const value = header.slice(keyEnd + 1, end);
      return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
    }
    start = end + 1;
  }
  return undefined;
}

function headerMethod(name: string): HashMethod {
  const get = requestHeaderGetter(name);
  return (req) => {
    const raw = req.headers[name];
    // several values hash the same in any order, as Envoy sorts them
    if (Array.isArray(raw) && raw.length > 1) return hash32([...raw].sort().join('\0'));
    const value = get(req);
    return value === undefined ? undefined : hash32(value);
  };
}

function cookieMethod(policy: Extract<HashPolicy, { kind: 'cookie' }>): HashMethod {
  const { name, ttlMs, path } = policy;
  return (req, connection, out) => {
    const header = req.headers.cookie;
    const existing = header === undefined ? undefined : cookieValue(Array.isArray(header) ? header.join('; ') : header, name);
    if (existing !== undefined && existing !== '') return hash32(existing);
    if (ttlMs === undefined) return undefined;
    // Generated from both ends of the connection so that every stream on it gets the same cookie.
    const { remoteAddress, remotePort, localAddress, localPort } = connection;
    const generated = hash32(`${remoteAddress}:${remotePort}${localAddress}:${localPort}`).toString(16).padStart(8, '0');
    let setCookie = `${name}="${generated}"`;
    const maxAge = Math.floor(ttlMs / 1000);
    if (maxAge > 0) setCookie += `; Max-Age=${maxAge}`;
    if (path) setCookie += `; Path=${path}`;
    setCookie += '; HttpOnly';
    (out.setCookies ??= []).push(setCookie);
    return hash32(generated);
  };
}

function compileMethod(policy: HashPolicy): HashMethod {
  switch (policy.kind) {
    case 'header':
      return headerMethod(policy.headerName);
    case 'cookie':
      return cookieMethod(policy);
    case 'source_ip':
      return (_req, connection) =>
        connection.remoteAddress === undefined ? undefined : hash32(connection.remoteAddress);
    case 'query_parameter': {
      const { name } = policy;
      return (req) => {
        const value = queryParameterValue(req.path, name);
        return value === undefined ? undefined : hash32(value);
      };
    }
  }
}

export class HashPolicyEvaluator {
  private readonly methods: readonly HashMethod[];
  private readonly terminal: readonly boolean[];

  constructor(policies: readonly HashPolicy[]) {
    this.methods = policies.map(compileMethod);
    this.terminal = policies.map((policy) => policy.terminal);
  }

  // undefined when no policy applies: the balancer then picks as if there were no hash policy.
  generateHash(req: RouteRequest, connection: DownstreamConnection): HashResult | undefined {
    const out: HashResult = { hash: 0 };
    let hashed = false;
    for (let i = 0; i < this.methods.length; i++) {
      const next = this.methods[i](req, connection, out);
      if (next !== undefined) {
        const previous = hashed ? ((out.hash << 1) | (out.hash >>> 31)) >>> 0 : 0;
        out.hash = (previous ^ next) >>> 0;
        hashed = true;
      }
      if (hashed && this.terminal[i]) break;
    }
    return hashed ? out : undefined;
  }
}
