// The TLS peer as RBAC's authenticated principal sees it (Envoy's Ssl::ConnectionInfo: URI SANs,
// DNS SANs, subject), read once per connection: every request on it shares the answer.
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { isTls, parseSubjectAltName, tlsInfo } from '../transport/index.ts';
import type { RbacPeer } from './engine.ts';

const peers = new WeakMap<Socket, RbacPeer>();

/** The socket's TLS peer, or undefined for a plain connection. */
export function peerOf(socket: Socket): RbacPeer | undefined {
  if (!isTls(socket)) return undefined;
  let peer = peers.get(socket);
  if (peer === undefined) {
    const info = tlsInfo(socket);
    const cert = (socket as TLSSocket).getPeerCertificate(false) as { subjectaltname?: string } | null;
    peer = {
      uriSans: info?.peerUriSans ?? [],
      dnsSans: cert === null ? [] : parseSubjectAltName(cert.subjectaltname).DNS,
      subject: info?.peerSubject ?? '',
    };
    peers.set(socket, peer);
  }
  return peer;
}
