// Envoy's tls_inspector listener filter: reads the first bytes of a connection without terminating
// TLS, and if they are a TLS ClientHello takes its SNI and ALPN for filter chain matching. The
// bytes read are put back (unshift) so the chain's handler sees the connection from its first
// byte. Node cannot MSG_PEEK, so this reads and returns instead.
import type { Socket } from 'node:net';
import type { Counter, Store } from '../stats/index.ts';
import type { ConnectionFacts } from './filter-chain.ts';
import { peekFirstBytes, type InspectOutcome, type PeekVerdict } from './peek.ts';

// Envoy's ceiling for a ClientHello (TLS_MAX_CLIENT_HELLO): a larger one closes the connection.
export const MAX_CLIENT_HELLO_BYTES = 64 * 1024;

export interface ClientHello {
  serverName: string; // '' without SNI
  applicationProtocols: string[]; // ALPN, in the client's order
}

export type ClientHelloParse =
  | { kind: 'need-more' }
  | { kind: 'not-tls' }
  | { kind: 'too-large' }
  | { kind: 'tls'; hello: ClientHello };

const HANDSHAKE = 0x16;
const CLIENT_HELLO = 0x01;
const EXT_SERVER_NAME = 0x0000;
const EXT_ALPN = 0x0010;
const MAX_RECORD = 16384 + 2048; // TLSPlaintext limit plus the slack TLS 1.2 allows for ciphertext

/** Parses what has arrived so far: TLS records of type handshake whose payloads form a ClientHello. */
export function parseClientHello(data: Buffer, maxBytes = MAX_CLIENT_HELLO_BYTES): ClientHelloParse {
  if (data.length >= 1 && data[0] !== HANDSHAKE) return { kind: 'not-tls' };
  if (data.length >= 2 && data[1] !== 0x03) return { kind: 'not-tls' };
  const handshake: Buffer[] = [];
  let handshakeLength = 0;
  let offset = 0;
  while (offset + 5 <= data.length) {
    if (data[offset] !== HANDSHAKE || data[offset + 1] !== 0x03) return { kind: 'not-tls' };
    const recordLength = data.readUInt16BE(offset + 3);
    if (recordLength === 0 || recordLength > MAX_RECORD) return { kind: 'not-tls' };
    if (offset + 5 + recordLength > data.length) break;
    handshake.push(data.subarray(offset + 5, offset + 5 + recordLength));
    handshakeLength += recordLength;
    offset += 5 + recordLength;
    const message = handshake.length === 1 ? handshake[0] : Buffer.concat(handshake);
    if (message.length >= 4) {
      if (message[0] !== CLIENT_HELLO) return { kind: 'not-tls' };
      const bodyLength = message.readUIntBE(1, 3);
      if (bodyLength + 4 > maxBytes) return { kind: 'too-large' };
      if (handshakeLength >= bodyLength + 4) {
        const hello = parseBody(message.subarray(4, 4 + bodyLength));
        return hello === null ? { kind: 'not-tls' } : { kind: 'tls', hello };
      }
    }
  }
  return data.length >= maxBytes ? { kind: 'too-large' } : { kind: 'need-more' };
}

/** The ClientHello body (RFC 8446 4.1.2); null when malformed. */
function parseBody(body: Buffer): ClientHello | null {
  const hello: ClientHello = { serverName: '', applicationProtocols: [] };
  let p = 2 + 32; // legacy_version, random
  if (p + 1 > body.length) return null;
  p += 1 + body[p]; // legacy_session_id
  if (p + 2 > body.length) return null;
  p += 2 + body.readUInt16BE(p); // cipher_suites
  if (p + 1 > body.length) return null;
  p += 1 + body[p]; // legacy_compression_methods
  if (p > body.length) return null;
  if (p === body.length) return hello; // no extensions
  if (p + 2 > body.length) return null;
  const end = p + 2 + body.readUInt16BE(p);
  if (end > body.length) return null;
  p += 2;
  while (p + 4 <= end) {
    const type = body.readUInt16BE(p);
    const length = body.readUInt16BE(p + 2);
    if (p + 4 + length > end) return null;
    const data = body.subarray(p + 4, p + 4 + length);
    if (type === EXT_SERVER_NAME) hello.serverName = serverName(data);
    else if (type === EXT_ALPN) hello.applicationProtocols = protocols(data);
    p += 4 + length;
  }
  return p === end ? hello : null;
}

/** The host_name entry of a server_name extension (RFC 6066 3). */
function serverName(data: Buffer): string {
  let p = 2;
  while (p + 3 <= data.length) {
    const type = data[p];
    const length = data.readUInt16BE(p + 1);
    if (type === 0 && p + 3 + length <= data.length) return data.toString('latin1', p + 3, p + 3 + length);
    p += 3 + length;
  }
  return '';
}

/** The protocol names of an ALPN extension (RFC 7301 3.1). */
function protocols(data: Buffer): string[] {
  const out: string[] = [];
  let p = 2;
  while (p < data.length) {
    const length = data[p];
    if (length === 0 || p + 1 + length > data.length) break;
    out.push(data.toString('latin1', p + 1, p + 1 + length));
    p += 1 + length;
  }
  return out;
}

interface InspectorStats {
  tlsFound: Counter;
  tlsNotFound: Counter;
  sniFound: Counter;
  sniNotFound: Counter;
  alpnFound: Counter;
  alpnNotFound: Counter;
  clientHelloTooLarge: Counter;
  connectionClosed: Counter;
}


export class TlsInspector {
  private readonly stats: InspectorStats;

  constructor(store: Store) {
    const c = (name: string) => store.counter(`tls_inspector.${name}`);
    this.stats = {
      tlsFound: c('tls_found'),
      tlsNotFound: c('tls_not_found'),
      sniFound: c('sni_found'),
      sniNotFound: c('sni_not_found'),
      alpnFound: c('alpn_found'),
      alpnNotFound: c('alpn_not_found'),
      clientHelloTooLarge: c('client_hello_too_large'),
      connectionClosed: c('connection_closed'),
    };
  }

  /**
   * Reads until the ClientHello is complete or the bytes are not TLS, fills in facts, puts the
   * bytes back and calls done. Returns a function that stops early (the listener filter timeout).
   */
  inspect(socket: Socket, facts: ConnectionFacts, done: (outcome: InspectOutcome) => void): () => void {
    const stats = this.stats;
    const judge = (bytes: Buffer): PeekVerdict => {
      const parsed = parseClientHello(bytes);
      switch (parsed.kind) {
        case 'need-more':
          return 'need-more';
        case 'too-large':
          stats.clientHelloTooLarge.inc();
          return 'close';
        case 'not-tls':
          stats.tlsNotFound.inc();
          return 'continue';
        case 'tls': {
          const { serverName, applicationProtocols } = parsed.hello;
          stats.tlsFound.inc();
          facts.transportProtocol = 'tls';
          facts.serverName = serverName;
          facts.applicationProtocols = applicationProtocols;
          (serverName === '' ? stats.sniNotFound : stats.sniFound).inc();
          (applicationProtocols.length === 0 ? stats.alpnNotFound : stats.alpnFound).inc();
          return 'continue';
        }
      }
    };
    return peekFirstBytes(socket, judge, done, () => stats.connectionClosed.inc());
  }
}
