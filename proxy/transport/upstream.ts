// Originates TLS on a connected TCP socket to an upstream host, for a cluster with an
// UpstreamTlsContext: servername = sni, the client certificate and trusted_ca from the cluster's
// SecureContext (built once per cluster config), then the server certificate checked by the
// validation context. The caller's connect timeout covers the handshake.
import type { Socket } from 'node:net';
import type tls from 'node:tls';
import { nodeTls } from './node-tls.ts';
import type { UpstreamTlsContext } from '../config/model.ts';
import { buildSecureContext } from './context.ts';
import type { SslStats } from './stats.ts';
import { verifyPeer } from './verify.ts';

export interface UpstreamTlsCallbacks {
  onSecure(secure: tls.TLSSocket): void;
  /** `reason` reads like Envoy's upstream transport failure reason: "TLS_error:|...". */
  onFailure(reason: string): void;
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
  connect(socket: Socket, callbacks: UpstreamTlsCallbacks): tls.TLSSocket {
    const { config } = this;
    const secure = nodeTls().connect({
      socket,
      secureContext: this.secureContext,
      servername: config.sni === '' ? undefined : config.sni,
      ALPNProtocols: config.alpnProtocols.length > 0 ? config.alpnProtocols : undefined,
      // Envoy does not check the host name against the certificate: the validation context says
      // what to check (SANs), and without trusted_ca nothing is verified.
      rejectUnauthorized: false,
      checkServerIdentity: () => undefined,
    });
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
      const verdict = verifyPeer(secure, config.validation, true);
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
