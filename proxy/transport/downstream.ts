// Terminates TLS on an accepted connection for a filter chain with a DownstreamTlsContext: makes a
// server TLSSocket on it (the chain's SecureContext, built once), checks the client certificate
// by the validation context once the handshake is done, and hands the secure socket on. A failed
// handshake or verification closes the connection and counts Envoy's ssl.* stat; nothing else
// sees that connection.
import type { Socket } from 'node:net';
import type tls from 'node:tls';
import { nodeTls } from './node-tls.ts';
import type { DownstreamTlsContext } from '../config/model.ts';
import { buildSecureContext } from './context.ts';
import type { SslStats } from './stats.ts';
import { verifyPeer } from './verify.ts';

/** Legate's handshake deadline when transport_socket_connect_timeout is not set (Envoy has none). */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 15_000;

export class DownstreamTls {
  private readonly config: DownstreamTlsContext;
  private readonly secureContext: tls.SecureContext;
  private readonly stats: SslStats;
  private readonly timeoutMs: number;

  constructor(config: DownstreamTlsContext, stats: SslStats, timeoutMs = DEFAULT_HANDSHAKE_TIMEOUT_MS) {
    this.config = config;
    this.secureContext = buildSecureContext(config);
    this.stats = stats;
    this.timeoutMs = timeoutMs;
  }

  /**
   * Runs the server handshake on `socket`; `onSecure` gets the TLSSocket once the peer is verified.
   * On failure the connection is destroyed and `onSecure` is never called.
   */
  accept(socket: Socket, onSecure: (secure: tls.TLSSocket) => void): void {
    const { config } = this;
    // Bytes the TLS inspector read and put back must reach the TLS layer, not a 'data' event:
    // paused, they stay buffered until the TLSSocket takes them (node feeds a wrapped socket's
    // buffered bytes to OpenSSL when it starts reading).
    socket.pause();
    const secure = new (nodeTls().TLSSocket)(socket, {
      isServer: true,
      secureContext: this.secureContext,
      // The certificate is checked here after the handshake, so every failure has its stat.
      requestCert: config.requireClientCertificate || config.validation !== undefined,
      rejectUnauthorized: false,
      ALPNProtocols: config.alpnProtocols.length > 0 ? config.alpnProtocols : undefined,
    });
    let done = false;
    const fail = (count: () => void): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      count();
      secure.destroy();
      socket.destroy();
    };
    const timer = this.timeoutMs > 0 ? setTimeout(() => fail(() => this.stats.connectionError.inc()), this.timeoutMs) : undefined;
    const onError = (): void => fail(() => this.stats.connectionError.inc());
    secure.on('error', onError);
    secure.once('close', onError);
    secure.once('secure', () => {
      if (done) return;
      const verdict = verifyPeer(secure, config.validation, config.requireClientCertificate);
      if (!verdict.ok) {
        fail(() => this.stats.onVerifyFailure(verdict.failure));
        return;
      }
      done = true;
      clearTimeout(timer);
      this.stats.onHandshake(secure);
      // From here the chain's handler owns the socket and its errors.
      secure.off('error', onError);
      secure.off('close', onError);
      secure.on('error', () => undefined);
      onSecure(secure);
    });
  }
}
