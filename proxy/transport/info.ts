// What the access log and the connection manager read from a connection's TLS: version, peer
// certificate facts, SNI. Empty for a plain connection.
import type { Socket } from 'node:net';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { hasCertificate, parseSubjectAltName } from './verify.ts';

export interface TlsInfo {
  version: string; // 'TLSv1.3'
  peerUriSans: string[];
  localUriSans: string[]; // this side's certificate (Istio's stats: the local principal)
  peerSubject: string; // RFC 2253-ish, as Envoy prints it: CN=x,O=y
  serverName: string; // the SNI the client sent
}

export function isTls(socket: Socket): socket is TLSSocket {
  return (socket as { encrypted?: boolean }).encrypted === true;
}

// Read once per connection: every request on it reads the same facts.
const cache = new WeakMap<Socket, TlsInfo>();

/** The TLS facts of a downstream or upstream socket (once its handshake is done), or undefined for a plain one. */
export function tlsInfo(socket: Socket): TlsInfo | undefined {
  if (!isTls(socket)) return undefined;
  let info = cache.get(socket);
  if (info === undefined) {
    info = readTlsInfo(socket, socket.getPeerCertificate(false));
    cache.set(socket, info);
  }
  return info;
}

/** Keeps (and returns) the facts of a handshake whose peer certificate the caller has just read. */
export function rememberTlsInfo(socket: TLSSocket, cert: PeerCertificate | null | undefined): TlsInfo {
  const info = readTlsInfo(socket, cert);
  cache.set(socket, info);
  return info;
}

function readTlsInfo(socket: TLSSocket, cert: PeerCertificate | null | undefined): TlsInfo {
  const hasCert = hasCertificate(cert);
  const servername = (socket as TLSSocket & { servername?: string | false }).servername;
  return new HandshakeFacts(
    socket,
    socket.getProtocol() ?? '',
    hasCert ? parseSubjectAltName(cert.subjectaltname).URI : [],
    hasCert ? subjectText(cert.subject as unknown as Record<string, string | string[]>) : '',
    typeof servername === 'string' ? servername : '',
  );
}

class HandshakeFacts implements TlsInfo {
  readonly version: string;
  readonly peerUriSans: string[];
  readonly peerSubject: string;
  readonly serverName: string;
  private readonly socket: TLSSocket;
  private local: string[] | undefined = undefined;

  constructor(socket: TLSSocket, version: string, peerUriSans: string[], peerSubject: string, serverName: string) {
    this.socket = socket;
    this.version = version;
    this.peerUriSans = peerUriSans;
    this.peerSubject = peerSubject;
    this.serverName = serverName;
  }

  // Read when first asked (Istio's filters, XFCC): node parses the whole local certificate for
  // it, which was ~14% of a worker's CPU per resumed TLS connection when read at every handshake.
  get localUriSans(): string[] {
    if (this.local === undefined) {
      const own = this.socket.getCertificate();
      this.local = own !== null && hasCertificate(own as PeerCertificate) ? parseSubjectAltName((own as PeerCertificate).subjectaltname).URI : [];
    }
    return this.local;
  }
}

function subjectText(subject: Record<string, string | string[]> | undefined): string {
  if (subject === undefined) return '';
  // Envoy prints the most specific part first (CN=leaf,OU=...,O=...,C=...).
  return Object.entries(subject).reverse().flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => `${k}=${x}`)).join(',');
}
