// Hop-by-hop headers (RFC 9110 section 7.6.1): they describe one connection, so a proxy removes
// them in both directions, with the headers the Connection header names.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

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
export function stripHopByHop(headers: IncomingHttpHeaders | OutgoingHttpHeaders, keepTe = false): void {
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

