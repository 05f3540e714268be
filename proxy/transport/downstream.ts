// Terminates TLS on an accepted connection for a filter chain with a DownstreamTlsContext: makes a
// server TLSSocket on it (the chain's SecureContext, built once), checks the client certificate
// by the validation context once the handshake is done, and hands the secure socket on. A failed
// handshake or verification closes the connection and counts Envoy's ssl.* stat; nothing else
// sees that connection.
import { randomBytes, randomFillSync } from 'node:crypto';
import type { Socket } from 'node:net';
import type tls from 'node:tls';
import { nodeTls } from './node-tls.ts';
import type { DownstreamTlsContext } from '../config/model.ts';
import { buildSecureContext } from './context.ts';
import type { SslStats } from './stats.ts';
import { hasCertificate, verifyPeer } from './verify.ts';
import { startTlsOn } from './internal/internal-socket.ts';
import { rememberTlsInfo } from './info.ts';
import { releaseOnClose } from './release.ts';

/** Legate's handshake deadline when transport_socket_connect_timeout is not set (Envoy has none). */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 15_000;

export class DownstreamTls {
  private readonly config: DownstreamTlsContext;
  private readonly secureContext: tls.SecureContext;
  private readonly stats: SslStats;
  private readonly timeoutMs: number;

  constructor(config: DownstreamTlsContext, stats: SslStats, timeoutMs = DEFAULT_HANDSHAKE_TIMEOUT_MS) {
    this.config = config;
    this.secureContext = buildSecureContext(config, true);
    renewTicketsOnResumption(this.secureContext);
    this.stats = stats;
    this.timeoutMs = timeoutMs;
  }

  /**
   * Runs the server handshake on `socket`; `onSecure` gets the TLSSocket once the peer is verified.
   * On failure the connection is destroyed and `onSecure` is never called.
   */
  accept(socket: Socket, onSecure: (secure: tls.TLSSocket) => void, clientAlpn?: readonly string[]): void {
    const { config } = this;
    // Envoy (BoringSSL) goes on without ALPN when the client offers none of the chain's protocols
    // (Istio's clients offer istio-peer-exchange, which no server lists); node's server would end
    // the handshake with a fatal alert instead. With the ClientHello's offer known (tls_inspector),
    // such a connection is not offered ALPN at all, which is the same outcome.
    const offerAlpn = config.alpnProtocols.length > 0 && (clientAlpn === undefined || clientAlpn.some((p) => config.alpnProtocols.includes(p)));
    // Bytes the TLS inspector read and put back must reach the TLS layer, not a 'data' event:
    // paused, they stay buffered until the TLSSocket takes them (node feeds a wrapped socket's
    // buffered bytes to OpenSSL when it starts reading).
    socket.pause();
    const requestCert = config.requireClientCertificate || config.validation !== undefined;
    const secure = new (nodeTls().TLSSocket)(socket, {
      isServer: true,
      secureContext: this.secureContext,
      // The certificate is checked here after the handshake, so every failure has its stat.
      requestCert,
      rejectUnauthorized: false,
      ALPNProtocols: offerAlpn ? config.alpnProtocols : undefined,
    });
    startTlsOn(socket);
    releaseOnClose(secure, socket);
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
    // `on`, not `once`: each fires at most once per connection, and `once` costs two objects per listener.
    secure.on('error', onError);
    secure.on('close', onError);
    secure.on('secure', () => {
      if (done) return;
      // One conversion of the peer certificate serves the checks, the stats and tlsInfo(); a
      // client that was not asked for one sends none.
      const peer = requestCert ? secure.getPeerCertificate(false) : null;
      const verdict = verifyPeer(secure, config.validation, config.requireClientCertificate, peer);
      if (!verdict.ok) {
        fail(() => this.stats.onVerifyFailure(verdict.failure));
        return;
      }
      done = true;
      clearTimeout(timer);
      const info = rememberTlsInfo(secure, peer);
      this.stats.onHandshake(secure, hasCertificate(peer), info.version);
      // From here the chain's handler owns the socket and its errors.
      secure.off('error', onError);
      secure.off('close', onError);
      secure.on('error', () => undefined);
      onSecure(secure);
    });
  }
}

/**
 * Stateless session tickets as Envoy (BoringSSL) issues them: every resumed handshake also gets a
 * fresh ticket. node's built-in ticket callback never renews, so a client that resumes with the
 * ticket it last got (OpenSSL's, wrk's) makes every other connection a full handshake, with its
 * certificate signature. The keys are random per SecureContext, as node's own are (one context per
 * chain and version: a rotated certificate starts new tickets), and the ticket format is node's:
 * AES-128-CBC with HMAC-SHA256.
 */
function renewTicketsOnResumption(secureContext: tls.SecureContext): void {
  const native = secureContext.context as TicketKeyContext;
  // node's hook for a JS ticket key callback; without it, node's default tickets stay.
  if (typeof native.enableTicketKeyCallback !== 'function') return;
  const name = randomBytes(16);
  const hmacKey = randomBytes(16);
  const aesKey = randomBytes(16);
  // IVs come from a pool filled 256 at a time: one randomFillSync per ticket was ~1.6% of a
  // worker's CPU per resumed connection. node copies the IV out before the callback returns.
  const ivs = Buffer.alloc(16 * 256);
  let next = ivs.length;
  // node reads the answer before the callback returns, so the same arrays serve every ticket.
  const issue: unknown[] = [1, hmacKey, aesKey, name, undefined];
  const renew = [2, hmacKey, aesKey]; // decrypted, and a new ticket goes out with this handshake
  const notOurs = [0]; // a full handshake
  native.onticketkeycallback = (ticketName, _iv, encrypt) => {
    if (encrypt) {
      if (next === ivs.length) {
        randomFillSync(ivs);
        next = 0;
      }
      next += 16;
      issue[4] = ivs.subarray(next - 16, next);
      return issue;
    }
    return ticketName.equals(name) ? renew : notOurs;
  };
  native.enableTicketKeyCallback();
}

interface TicketKeyContext {
  enableTicketKeyCallback?: () => void;
  onticketkeycallback?: (name: Buffer, iv: Buffer, encrypt: boolean) => unknown[];
}
