// Transport sockets under every codec: plain TCP needs nothing; TLS (node:tls) downstream and
// upstream, with certificate validation by Envoy's rules.
export { buildSecureContext } from './context.ts';
export { DownstreamTls, DEFAULT_HANDSHAKE_TIMEOUT_MS } from './downstream.ts';
export { UpstreamTls, type UpstreamTlsCallbacks, type UpstreamTlsOptions } from './upstream.ts';
export { SslStats } from './stats.ts';
export { verifyPeer, parseSubjectAltName, sanMatches, matchString, type VerifyResult, type VerifyFailure } from './verify.ts';
export { tlsInfo, isTls, type TlsInfo } from './info.ts';
export { peerCertificateDetails, type PeerCertificateDetails } from './peer-certificate.ts';
export { setWriteBufferLimit } from './buffer-limit.ts';
export { InternalSocket, INTERNAL_CLIENT_ADDRESS } from './internal/internal-socket.ts';
export { internalListeners, InternalListenerRegistry, DEFAULT_INTERNAL_BUFFER_BYTES, type InternalAddress, type InternalAcceptor } from './internal/registry.ts';
