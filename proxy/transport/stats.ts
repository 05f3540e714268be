// Envoy's TLS stats, under `listener.<address>.ssl.` downstream and `cluster.<name>.ssl.` upstream.
import type { TLSSocket } from 'node:tls';
import type { Counter, Store } from '../stats/index.ts';
import type { VerifyFailure } from './verify.ts';

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
  }

  /** A completed, verified handshake: handshake, versions.<v>, ciphers.<c>, and no_certificate
   *  when the peer sent none (Envoy: successful connections without a peer certificate). */
  onHandshake(socket: TLSSocket): void {
    this.handshake.inc();
    const peer = socket.getPeerCertificate(false);
    if (peer === null || peer === undefined || peer.raw === undefined) this.noCertificate.inc();
    const version = socket.getProtocol();
    if (version) this.store.counter(`${this.prefix}versions.${version}`).inc();
    const cipher = socket.getCipher()?.name; // OpenSSL's name, as Envoy's stat
    if (cipher) this.store.counter(`${this.prefix}ciphers.${cipher}`).inc();
  }

  onVerifyFailure(failure: VerifyFailure): void {
    if (failure === 'fail_verify_no_cert') this.failVerifyNoCert.inc();
    else if (failure === 'fail_verify_error') this.failVerifyError.inc();
    else if (failure === 'fail_verify_san') this.failVerifySan.inc();
    else this.failVerifyCertHash.inc();
  }
}
