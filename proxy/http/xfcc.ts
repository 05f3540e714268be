// x-forwarded-client-cert, as Envoy's ConnectionManagerUtility::mutateXfccRequestHeader:
// ALWAYS_FORWARD_ONLY leaves the header alone; SANITIZE, or any mode on a connection that is not
// mutual TLS (no peer certificate), removes it; FORWARD_ONLY passes it on; APPEND_FORWARD appends
// this connection's element after a comma, SANITIZE_SET replaces the header with it. The element
// (By=, Hash=, then the set_current_client_cert_details in Envoy's order) depends only on the
// connection and the connection manager's config, so it is built once per connection.
import type { Socket } from 'node:net';
import type { HttpConnectionManager } from '../config/model.ts';
import { isTls, peerCertificateDetails } from '../transport/index.ts';
import type { HeaderMap } from '../codec/index.ts';

const XFCC = 'x-forwarded-client-cert';

// Per connection: the element, or null when the peer presented no certificate.
const elements = new WeakMap<Socket, string | null>();

export function mutateXfcc(config: HttpConnectionManager, headers: HeaderMap, socket: Socket): void {
  const mode = config.forwardClientCertDetails;
  if (mode === 'ALWAYS_FORWARD_ONLY') return;
  const element = mode === 'SANITIZE' ? null : connectionElement(config, socket);
  if (element === null) {
    delete headers[XFCC];
    return;
  }
  if (mode === 'FORWARD_ONLY') return;
  if (mode === 'SANITIZE_SET') {
    headers[XFCC] = element;
    return;
  }
  // APPEND_FORWARD: appended to the value (several header lines are one comma-joined list).
  const prior = headers[XFCC];
  const joined = prior === undefined ? '' : Array.isArray(prior) ? prior.join(',') : String(prior);
  headers[XFCC] = joined === '' ? element : `${joined},${element}`;
}

function connectionElement(config: HttpConnectionManager, socket: Socket): string | null {
  let element = elements.get(socket);
  if (element === undefined) {
    element = buildElement(config, socket);
    elements.set(socket, element);
  }
  return element;
}

function buildElement(config: HttpConnectionManager, socket: Socket): string | null {
  if (!isTls(socket)) return null;
  const cert = peerCertificateDetails(socket);
  if (cert === undefined) return null;
  const parts: string[] = [];
  for (const uri of cert.localUriSans) parts.push(`By=${uri}`);
  parts.push(`Hash=${cert.sha256}`);
  for (const detail of config.setCurrentClientCertDetails) {
    switch (detail) {
      case 'Cert':
        parts.push(`Cert="${cert.urlEncodedPem}"`);
        break;
      case 'Chain':
        parts.push(`Chain="${cert.urlEncodedChainPem}"`);
        break;
      case 'Subject':
        // Envoy writes the key even when the subject is empty.
        parts.push(`Subject="${cert.subject}"`);
        break;
      case 'URI':
        // Envoy writes an empty URI= when the certificate has no URI SAN.
        if (cert.uriSans.length === 0) parts.push('URI=');
        for (const uri of cert.uriSans) parts.push(`URI=${uri}`);
        break;
      case 'DNS':
        for (const dns of cert.dnsSans) parts.push(`DNS=${dns}`);
        break;
    }
  }
  return parts.join(';');
}
