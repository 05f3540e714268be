// The node SecureContext of a TLS context from the model, built once per config (a chain's or a
// cluster's), never per connection: createSecureContext parses PEM and keys, which is the costly
// part of setting up TLS.
import { constants } from 'node:crypto';
import type tls from 'node:tls';
import { nodeTls } from './node-tls.ts';
import type { TlsContext } from '../config/model.ts';

/** `serverCipherOrder`: a server context picks ciphers by its own order, as Envoy's listeners do (SSL_OP_CIPHER_SERVER_PREFERENCE). */
export function buildSecureContext(context: TlsContext, serverCipherOrder = false): tls.SecureContext {
  const certificate = context.certificates[0];
  const options: tls.SecureContextOptions = { minVersion: context.minVersion, maxVersion: context.maxVersion };
  if (serverCipherOrder) {
    options.honorCipherOrder = true;
    // BoringSSL (Envoy) serves ChaCha20 to a client that lists it first (one without AES hardware);
    // OpenSSL does so under server preference only with this option.
    options.secureOptions = constants.SSL_OP_PRIORITIZE_CHACHA;
  }
  if (certificate !== undefined) {
    options.cert = certificate.certificateChain;
    options.key = certificate.privateKey;
  }
  if (context.cipherSuites.length > 0) options.ciphers = context.cipherSuites.join(':');
  if (context.ecdhCurves.length > 0) options.ecdhCurve = context.ecdhCurves.join(':');
  if (context.validation?.trustedCa !== undefined) options.ca = context.validation.trustedCa;
  const secureContext = nodeTls().createSecureContext(options);
  // Further certificates (e.g. an RSA and an ECDSA one): OpenSSL picks by the client's algorithms.
  for (const extra of context.certificates.slice(1)) {
    secureContext.context.setCert(extra.certificateChain);
    secureContext.context.setKey(extra.privateKey, undefined);
  }
  return secureContext;
}
