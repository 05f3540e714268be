// Originates TLS on a connected TCP socket to an upstream host, for a cluster with an
// UpstreamTlsContext: servername = sni, the client certificate and trusted_ca from the cluster's
// SecureContext (built once per cluster config), then the server certificate checked by the
// validation context. The caller's connect timeout covers the handshake.
import type { Socket } from 'node:net';
import type tls from 'node:tls';
import { nodeTls } from './node-tls.ts';
import type { CertificateValidation, SanMatcher, UpstreamTlsContext } from '../config/model.ts';
import { buildSecureContext } from './context.ts';
import type { SslStats } from './stats.ts';
import { verifyPeer } from './verify.ts';
import { startTlsOn } from './internal/internal-socket.ts';
import { releaseOnClose } from './release.ts';

export interface UpstreamTlsCallbacks {
  onSecure(secure: tls.TLSSocket): void;
  /** `reason` reads like Envoy's upstream transport failure reason: "TLS_error:|...". */
  onFailure(reason: string): void;
}

/**
 * Per-connection choices from the request (the cluster's auto_sni / auto_san_validation): the SNI
 * to send instead of the configured `sni`, and the name the server's certificate must carry instead
 * of the configured SAN matchers.
 */
export interface UpstreamTlsOptions {
  serverName?: string;
  verifySan?: string;
  alpn?: readonly string[]; // replaces the context's alpn_protocols (Istio's istio.alpn filter)
}

export class UpstreamTls {
  readonly config: UpstreamTlsContext;
  private readonly secureContext: tls.SecureContext;
  private readonly stats: SslStats | undefined;

  constructor(config: UpstreamTlsContext, stats?: SslStats) {
    this.config = config;
    this.secureContext = buildSecureContext(config);
    this.stats = stats;
  }

  /** Starts the client handshake on `socket`; returns the TLSSocket (destroy it to give up). */
  connect(socket: Socket, callbacks: UpstreamTlsCallbacks, options?: UpstreamTlsOptions): tls.TLSSocket {
    const { config } = this;
    const sni = options?.serverName ?? config.sni;
    const validation = options?.verifySan === undefined ? config.validation : sanOverride(config.validation, options.verifySan);
    const secure = nodeTls().connect({
      socket,
      secureContext: this.secureContext,
      servername: sni === '' ? undefined : sni,
      ALPNProtocols: options?.alpn !== undefined ? [...options.alpn] : config.alpnProtocols.length > 0 ? config.alpnProtocols : undefined,
      // Envoy does not check the host name against the certificate: the validation context says
      // what to check (SANs), and without trusted_ca nothing is verified.
      rejectUnauthorized: false,
      checkServerIdentity: () => undefined,
    });
    startTlsOn(socket);
    releaseOnClose(secure, socket);
    let done = false;
    const fail = (reason: string): void => {
      if (done) return;
      done = true;
      secure.destroy();
      callbacks.onFailure(`TLS_error:|${reason}`);
    };
    const onError = (err: NodeJS.ErrnoException): void => {
      this.stats?.connectionError.inc();
      fail(`${err.code ?? 'error'}: ${err.message}`);
    };
    const onClose = (): void => fail('connection closed during the TLS handshake');
    secure.on('error', onError);
    secure.once('close', onClose);
    secure.once('secureConnect', () => {
      if (done) return;
      const verdict = verifyPeer(secure, validation, true);
      if (!verdict.ok) {
        this.stats?.onVerifyFailure(verdict.failure);
        fail(verdict.reason);
        return;
      }
      done = true;
      this.stats?.onHandshake(secure);
      secure.off('error', onError);
      secure.off('close', onClose);
      // The owner handles errors from here; until it listens, one must not throw.
      secure.on('error', () => undefined);
      callbacks.onSecure(secure);
    });
    return secure;
  }
}

// Envoy's SAN override list replaces the configured matchers: the name must be a DNS SAN (a
// `*.` wildcard SAN one label deep matches), or equal a URI or IP SAN.
function sanOverride(validation: CertificateValidation | undefined, name: string): CertificateValidation {
  const matcher: SanMatcher = { sanTypes: ['DNS', 'URI', 'IP_ADDRESS'], matcher: { kind: 'exact', value: name, ignoreCase: false } };
  return { ...(validation ?? { spkiPins: [], certHashes: [] }), sanMatchers: [matcher] };
}
