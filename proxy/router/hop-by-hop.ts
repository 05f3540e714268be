// Hop-by-hop headers (RFC 9110 section 7.6.1): they describe one connection, so a proxy removes
// them in both directions, with the headers the Connection header names.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

const HOP_BY_HOP = [
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
];

/** Removes hop-by-hop headers in place, including those the Connection header names. */
export function stripHopByHop(headers: IncomingHttpHeaders | OutgoingHttpHeaders, keepTe = false): void {
  const connection = headers.connection;
  if (connection !== undefined) {
    for (const token of String(connection).split(',')) {
      const name = token.trim().toLowerCase();
      if (name !== '' && !(keepTe && name === 'te')) delete headers[name];
    }
  }
  // Ten lookups, not a walk over every request header: this runs twice per request.
  for (const name of HOP_BY_HOP) {
    if (headers[name] !== undefined && !(keepTe && name === 'te' && headers[name] === 'trailers')) delete headers[name];
  }
}

