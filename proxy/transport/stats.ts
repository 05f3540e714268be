// Envoy's TLS stats, under `listener.<address>.ssl.` downstream and `cluster.<name>.ssl.` upstream.
import type { TLSSocket } from 'node:tls';
import type { Counter, Store } from '../stats/index.ts';
import { hasCertificate, type VerifyFailure } from './verify.ts';

export class SslStats {
  private readonly store: Store;
  private readonly prefix: string;
  readonly handshake: Counter;
  readonly connectionError: Counter;
  readonly noCertificate: Counter;
  readonly failVerifyNoCert: Counter;
  readonly failVerifyError: Counter;
  readonly failVerifySan: Counter;
  readonly failVerifyCertHash: Counter;
  readonly sessionReused: Counter;
  // versions.<v> and ciphers.<c>, resolved once per name rather than per handshake.
  private readonly byName = new Map<string, Counter>();

  /** `scope` is e.g. 'listener.127.0.0.1_8443.' or 'cluster.backend.'. */
  constructor(store: Store, scope: string) {
    this.store = store;
    this.prefix = `${scope}ssl.`;
    this.handshake = store.counter(`${this.prefix}handshake`);
    this.connectionError = store.counter(`${this.prefix}connection_error`);
    this.noCertificate = store.counter(`${this.prefix}no_certificate`);
    this.failVerifyNoCert = store.counter(`${this.prefix}fail_verify_no_cert`);
    this.failVerifyError = store.counter(`${this.prefix}fail_verify_error`);
    this.failVerifySan = store.counter(`${this.prefix}fail_verify_san`);
    this.failVerifyCertHash = store.counter(`${this.prefix}fail_verify_cert_hash`);
    this.sessionReused = store.counter(`${this.prefix}session_reused`);
  }

  /** A completed, verified handshake: handshake, session_reused, versions.<v>, ciphers.<c>, and
   *  no_certificate when the peer sent none (Envoy: successful connections without a peer
   *  certificate). `hasPeerCertificate` when the caller has read the peer certificate already. */
  onHandshake(socket: TLSSocket, hasPeerCertificate = hasCertificate(socket.getPeerCertificate(false))): void {
    this.handshake.inc();
    if (!hasPeerCertificate) this.noCertificate.inc();
    if (socket.isSessionReused()) this.sessionReused.inc();
    const version = socket.getProtocol();
    if (version) this.named('versions.', version).inc();
    const cipher = socket.getCipher()?.name; // OpenSSL's name, as Envoy's stat
    if (cipher) this.named('ciphers.', cipher).inc();
  }

  private named(kind: string, name: string): Counter {
    const key = kind + name;
    let counter = this.byName.get(key);
    if (counter === undefined) {
      counter = this.store.counter(this.prefix + key);
      this.byName.set(key, counter);
    }
    return counter;
  }

  onVerifyFailure(failure: VerifyFailure): void {
    if (failure === 'fail_verify_no_cert') this.failVerifyNoCert.inc();
    else if (failure === 'fail_verify_error') this.failVerifyError.inc();
    else if (failure === 'fail_verify_san') this.failVerifySan.inc();
    else this.failVerifyCertHash.inc();
  }
}
