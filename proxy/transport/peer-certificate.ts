// The facts of a downstream mTLS connection that x-forwarded-client-cert carries (Envoy's
// Ssl::ConnectionInfo: sha256PeerCertificateDigest, urlEncodedPemEncodedPeerCertificate[Chain],
// subjectPeerCertificate, uri/dnsSansPeerCertificate, uriSanLocalCertificate). Read once per
// connection by the caller; never on a plain socket.
import { createHash, X509Certificate } from 'node:crypto';
import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';
import { parseSubjectAltName } from './verify.ts';
import { tlsInfo } from './info.ts';

export interface PeerCertificateDetails {
  /** Lowercase hex SHA-256 of the peer certificate's DER. */
  sha256: string;
  /** The peer certificate as PEM, URL-encoded (as Envoy's Cert= value). */
  urlEncodedPem: string;
  /** The peer's chain (leaf first) as concatenated PEM, URL-encoded (Envoy's Chain= value). */
  urlEncodedChainPem: string;
  subject: string;
  uriSans: string[];
  dnsSans: string[];
  /** URI SANs of the certificate this side presented (Envoy's By=). */
  localUriSans: string[];
}

/** The peer certificate's details, or undefined when the peer presented none (not mutual TLS). */
export function peerCertificateDetails(socket: TLSSocket): PeerCertificateDetails | undefined {
  const leaf = socket.getPeerCertificate(true) as DetailedPeerCertificate | null;
  if (leaf === null || leaf === undefined || leaf.raw === undefined) return undefined;
  const chain: Buffer[] = [];
  const seen = new Set<string>();
  for (let c: DetailedPeerCertificate | undefined = leaf; c !== undefined && c.raw !== undefined; c = c.issuerCertificate) {
    if (seen.has(c.fingerprint256)) break; // a self-signed root points at itself
    seen.add(c.fingerprint256);
    chain.push(c.raw);
  }
  const sans = parseSubjectAltName(leaf.subjectaltname);
  const facts = tlsInfo(socket);
  return {
    sha256: createHash('sha256').update(leaf.raw).digest('hex'),
    urlEncodedPem: encodeURIComponent(pemOf(leaf.raw)),
    urlEncodedChainPem: encodeURIComponent(chain.map(pemOf).join('')),
    subject: facts?.peerSubject ?? '',
    uriSans: sans.URI,
    dnsSans: sans.DNS,
    localUriSans: facts?.localUriSans ?? [],
  };
}

function pemOf(der: Buffer): string {
  return new X509Certificate(der).toString();
}
