// Envoy's TLS stats, under `listener.<address>.ssl.` downstream and `cluster.<name>.ssl.` upstream.
import type { TLSSocket } from 'node:tls';
import type { Counter, Store } from '../stats/index.ts';
import { hasCertificate, type VerifyFailure } from './verify.ts';

// Every cluster has them (a stats group, see stats/store.ts), in the order of the fields below.
const COUNTERS: readonly string[] = ['handshake', 'connection_error', 'no_certificate', 'fail_verify_no_cert', 'fail_verify_error', 'fail_verify_san', 'fail_verify_cert_hash', 'session_reused'];

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
  // versions.<v> and ciphers.<c>, resolved once per name rather than per handshake (keyed by the
  // bare name: no string built per handshake).
  private readonly versions = new Map<string, Counter>();
  private readonly ciphers = new Map<string, Counter>();

  /** `scope` is e.g. 'listener.127.0.0.1_8443.' or 'cluster.backend.'. */
  constructor(store: Store, scope: string) {
    this.store = store;
    this.prefix = `${scope}ssl.`;
    [this.handshake, this.connectionError, this.noCertificate, this.failVerifyNoCert, this.failVerifyError, this.failVerifySan, this.failVerifyCertHash, this.sessionReused] = store.counters(this.prefix, COUNTERS);
  }

  /** A completed, verified handshake: handshake, session_reused, versions.<v>, ciphers.<c>, and
   *  no_certificate when the peer sent none (Envoy: successful connections without a peer
   *  certificate). `hasPeerCertificate` and `version` when the caller has read them already. */
  onHandshake(socket: TLSSocket, hasPeerCertificate = hasCertificate(socket.getPeerCertificate(false)), version = socket.getProtocol()): void {
    this.handshake.inc();
    if (!hasPeerCertificate) this.noCertificate.inc();
    if (socket.isSessionReused()) this.sessionReused.inc();
    if (version) this.named(this.versions, 'versions.', version).inc();
    const cipher = socket.getCipher()?.name; // OpenSSL's name, as Envoy's stat
    if (cipher) this.named(this.ciphers, 'ciphers.', cipher).inc();
  }

  private named(known: Map<string, Counter>, kind: string, name: string): Counter {
    let counter = known.get(name);
    if (counter === undefined) {
      counter = this.store.counter(this.prefix + kind + name);
      known.set(name, counter);
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
