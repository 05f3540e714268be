// tcp_proxy's tunneling_config (Envoy's HttpConnPool + HttpUpstream): the downstream's bytes go
// inside one HTTP stream on the cluster's connection pool — HTTP/1.1 or HTTP/2 as the cluster's
// protocol options say, over the cluster's transport socket (TLS, mTLS) like any request. The
// stream opens with CONNECT (HTTP/2: :method and :authority only) or POST post_path, host from
// `hostname` and headers_to_add, both formatted against the connection's stream info. Only a
// 2xx (HTTP/1.1) or a 200 (HTTP/2) starts the byte stream; anything else, a response that ends
// at its headers, or a reset before that is a failed connect attempt. Once up, the tunnel is a
// Duplex so the TCP relay (relay.ts) moves its bytes exactly as a socket's: the codec's write
// watermarks hold the relay's writes, a full read buffer disables the stream's reads, END_STREAM
// (HTTP/1.1: the socket's FIN) is the half-close both ways, and a close that is not a finished
// exchange resets the stream.
import { Duplex } from 'node:stream';
import type { HeaderMap, RequestEncoder, RequestHeaders, ResponseDecoder, ResponseHeaders, StreamCallbacks, StreamResetReason } from '../codec/index.ts';
import type { TunnelingConfig } from '../config/model.ts';
import { compileTemplate, type StreamInfo } from '../access-log/index.ts';
import { HeaderOperations } from '../router/index.ts';
import { tlsOptionsWithFilterState, type Cancellable, type Host, type HttpPoolCallbacks, type PoolFailureReason, type UpstreamCluster } from '../upstream/index.ts';

const EMPTY = Buffer.alloc(0);

/** tunneling_config, compiled once per tcp_proxy config. */
export class Tunneling {
  readonly method: 'CONNECT' | 'POST';
  readonly postPath: string;
  readonly hostname: (info: StreamInfo) => string;
  readonly headersToAdd: HeaderOperations<StreamInfo>;

  constructor(config: TunnelingConfig) {
    this.method = config.usePost ? 'POST' : 'CONNECT';
    this.postPath = config.postPath;
    this.hostname = compileTemplate(config.hostname);
    this.headersToAdd = new HeaderOperations<StreamInfo>([], config.headersToAdd, compileTemplate);
  }

  /** The request that opens a tunnel to `host` (scheme from the host's transport, for POST over HTTP/2). */
  request(cluster: UpstreamCluster, host: Host, info: StreamInfo): RequestHeaders {
    const authority = this.hostname(info);
    const headers: HeaderMap = { host: authority };
    this.headersToAdd.apply(headers, info);
    const tls = cluster.tlsFor === undefined ? cluster.tls : cluster.tlsFor(host);
    const connect = this.method === 'CONNECT';
    return {
      method: this.method,
      path: connect ? authority : this.postPath,
      scheme: tls === null ? 'http' : 'https',
      protocol: h2(cluster) ? 'HTTP/2' : 'HTTP/1.1',
      headers,
    };
  }
}

/** The pools the cluster's protocol options give a request with no downstream protocol (UpstreamCluster.httpPool). */
function h2(cluster: UpstreamCluster): boolean {
  const protocol = cluster.config.upstreamProtocol;
  return protocol === 'HTTP2' || protocol === 'AUTO';
}

export interface TunnelCallbacks {
  /** The upstream accepted: relay through `tunnel`. */
  onTunnel(tunnel: HttpTunnel): void;
  /** No tunnel. `connectFailure`: the connection failed, timed out or the upstream refused (Envoy's UF). */
  onTunnelFailure(connectFailure: boolean, details: string): void;
}

export class HttpTunnel extends Duplex implements ResponseDecoder, HttpPoolCallbacks, StreamCallbacks, Cancellable {
  private readonly tunneling: Tunneling;
  private readonly cluster: UpstreamCluster;
  private readonly host: Host;
  private readonly info: StreamInfo;
  private callbacks: TunnelCallbacks | null;
  private pending: Cancellable | null = null;
  private encoder: RequestEncoder | null = null;
  private established = false;
  private counted = false;
  private requestEnded = false;
  private responseEnded = false;
  private readDisabled = false;
  /** The codec is above its write watermark: the relay's last write waits for it to drain. */
  private backedUp = false;
  private heldWrite: ((error?: Error | null) => void) | null = null;

  constructor(tunneling: Tunneling, cluster: UpstreamCluster, host: Host, info: StreamInfo, callbacks: TunnelCallbacks) {
    super({ allowHalfOpen: true });
    this.tunneling = tunneling;
    this.cluster = cluster;
    this.host = host;
    this.info = info;
    this.callbacks = callbacks;
  }

  /** Asks the host's pool for a stream; the answer comes through the callbacks (maybe at once). */
  start(): void {
    const cluster = this.cluster;
    // The pool's stream counts as a request, as Envoy's HTTP pool counts it (max_requests included).
    if (!cluster.breaker.admitRequest()) {
      this.fail(false, 'overflow');
      return;
    }
    this.counted = true;
    cluster.stats.upstreamRqTotal.inc();
    cluster.stats.upstreamRqActive.add(1);
    this.host.activeRequests++;
    this.host.stats.rqTotal++;
    this.host.stats.rqActive++;
    const state = this.info.filterState;
    this.pending = cluster.httpPool(this.host, tlsOptionsWithFilterState(undefined, state), undefined, state?.sharedWithUpstream()).newStream(this, this);
  }

  /** The downstream left before the tunnel was up: give the stream up without a callback. */
  cancel(): void {
    this.callbacks = null;
    this.pending?.cancel();
    this.pending = null;
    this.destroy();
  }

  // ---- HttpPoolCallbacks ----

  onPoolReady(encoder: RequestEncoder): void {
    this.pending = null;
    if (this.callbacks === null) {
      encoder.stream.resetStream('local-reset');
      return;
    }
    this.encoder = encoder;
    encoder.stream.setCallbacks(this);
    this.info.upstreamLocalAddress = encoder.stream.localAddress;
    encoder.encodeHeaders(this.tunneling.request(this.cluster, this.host, this.info), false);
  }

  onPoolFailure(reason: PoolFailureReason, details: string): void {
    this.pending = null;
    // Envoy: a connect failure or timeout is UF; an overflow or a draining pool is only a failed attempt.
    this.fail(reason === 'connection-failure' || reason === 'timeout', details);
  }

  // ---- ResponseDecoder ----

  decode1xxHeaders(_headers: ResponseHeaders): void {}

  decodeHeaders(response: ResponseHeaders, endStream: boolean): void {
    if (this.established) return;
    const status = response.status;
    // RFC 7231: any 2xx establishes an HTTP/1.1 CONNECT; Envoy wants exactly 200 on HTTP/2.
    const valid = h2(this.cluster) ? status === 200 : status >= 200 && status < 300;
    if (!valid || endStream) {
      this.cluster.outlier?.putLocalOrigin(this.host.address, 'connect-failed');
      this.encoder?.stream.resetStream('local-reset');
      this.encoder = null;
      this.fail(true, '');
      return;
    }
    this.established = true;
    const callbacks = this.callbacks;
    this.callbacks = null;
    callbacks?.onTunnel(this);
  }

  decodeData(data: Buffer, endStream: boolean): void {
    if (!this.established) return; // the body of a refusal
    if (data.length > 0 && !this.push(data) && !this.readDisabled) {
      this.readDisabled = true;
      this.encoder?.stream.readDisable(true);
    }
    if (endStream) this.endOfResponse();
  }

  decodeTrailers(_trailers: HeaderMap): void {
    if (this.established) this.endOfResponse();
  }

  private endOfResponse(): void {
    this.responseEnded = true;
    this.push(null);
  }

  // ---- StreamCallbacks ----

  onResetStream(_reason: StreamResetReason, details: string): void {
    this.encoder = null;
    if (!this.established) {
      this.cluster.outlier?.putLocalOrigin(this.host.address, 'connect-failed');
      this.fail(true, details);
      return;
    }
    this.destroy(); // 'close' follows: the relay closes the downstream
  }

  onAboveWriteBufferHighWatermark(): void {
    this.backedUp = true;
  }

  onBelowWriteBufferLowWatermark(): void {
    this.backedUp = false;
    const held = this.heldWrite;
    this.heldWrite = null;
    held?.();
  }

  // ---- Duplex, as the relay uses a socket ----

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.encoder?.encodeData(chunk, false);
    if (this.backedUp && this.encoder !== null) this.heldWrite = callback;
    else callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.requestEnded = true;
    this.encoder?.encodeData(EMPTY, true);
    callback();
  }

  override _read(): void {
    if (!this.readDisabled) return;
    this.readDisabled = false;
    this.encoder?.stream.readDisable(false);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const encoder = this.encoder;
    this.encoder = null;
    // A close before both directions ended is a reset (Envoy's resetEncoder).
    if (encoder !== null && !(this.requestEnded && this.responseEnded)) encoder.stream.resetStream('local-reset');
    this.finish();
    const held = this.heldWrite;
    this.heldWrite = null;
    held?.();
    callback(error);
  }

  private fail(connectFailure: boolean, details: string): void {
    const callbacks = this.callbacks;
    this.callbacks = null;
    this.destroy();
    callbacks?.onTunnelFailure(connectFailure, details);
  }

  /** The request's accounting, once (as the router's Attempt keeps it). */
  private finish(): void {
    if (!this.counted) return;
    this.counted = false;
    const cluster = this.cluster;
    cluster.breaker.requestDone();
    cluster.stats.upstreamRqActive.sub(1);
    this.host.activeRequests--;
    this.host.stats.rqActive--;
    if (this.established) this.host.stats.rqSuccess++;
    else this.host.stats.rqError++;
  }
}
