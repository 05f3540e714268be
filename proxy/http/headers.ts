// Header handling shared by the connection manager and the router: hop-by-hop removal
// (RFC 9110 section 7.6.1) and the x-forwarded-* / x-request-id headers Envoy adds.
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

export type HeaderMap = IncomingHttpHeaders | OutgoingHttpHeaders;

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);

/** Removes hop-by-hop headers in place, including those the Connection header names. */
export function stripHopByHop(headers: HeaderMap, keepTe = false): void {
  const connection = headers.connection;
  if (connection !== undefined) {
    for (const token of String(connection).split(',')) {
      const name = token.trim().toLowerCase();
      if (name !== '' && !(keepTe && name === 'te')) delete headers[name];
    }
  }
  for (const name in headers) {
    if (HOP_BY_HOP.has(name) && !(keepTe && name === 'te' && headers[name] === 'trailers')) delete headers[name];
  }
}

/** A request id as Envoy generates one: a random UUID v4. */
export function newRequestId(): string {
  return randomUUID();
}

/** The first value of a header that may repeat. */
export function headerValue(headers: HeaderMap, name: string): string | undefined {
  const v = headers[name];
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v[0] : String(v);
}

/** Joins repeated values with ',' as an HTTP list. */
export function joinedHeaderValue(headers: HeaderMap, name: string): string | undefined {
  const v = headers[name];
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v.join(',') : String(v);
}
