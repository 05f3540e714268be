// One attempt of a routed request on one host (Envoy's UpstreamRequest): it asks the host's pool
// for a stream, encodes the request head and body on it, decodes the response for its owner,
// and keeps the host's and cluster's request stats, the circuit breaker's request count and the
// outlier detector's results.
import type { HeaderMap, RequestEncoder, RequestHeaders, ResponseDecoder, ResponseHeaders, StreamCallbacks, StreamResetReason } from '../codec/index.ts';
import { tlsOptionsWithFilterState, type Cancellable, type Host, type HttpPoolCallbacks, type PoolFailureReason, type UpstreamCluster } from '../upstream/index.ts';
import { autoSniOptions } from './auto-sni.ts';
import type { ResetReason } from './retry-state.ts';
import type { RouterStream } from './router-stream.ts';
import { poolFailureReason, streamResetReason } from './upstream-errors.ts';
import type { UpstreamSpan } from '../tracing/index.ts';

/** What an attempt needs of the request it tries (the UpstreamRequest implements it). */
export interface AttemptOwner {
  readonly stream: RouterStream;
  readonly cluster: UpstreamCluster;
  /** The request body so far (or what was not sent yet), the end of the request and its trailers. */
  readonly chunks: readonly Buffer[];
  readonly requestEnded: boolean;
  readonly trailers: HeaderMap | null;
  sendHead(attempt: Attempt): void;
  bodySent(): void;
  onResponseHeaders(attempt: Attempt, response: ResponseHeaders, endStream: boolean): boolean;
  onResponseData(attempt: Attempt, data: Buffer, endStream: boolean): void;
  onResponseTrailers(attempt: Attempt, trailers: HeaderMap): void;
  onAttemptError(attempt: Attempt, reason: ResetReason, resendable: boolean): void;
  onUpstreamBackedUp(backedUp: boolean): void;
}

const EMPTY = Buffer.alloc(0);

export class Attempt implements ResponseDecoder, HttpPoolCallbacks, StreamCallbacks {
  readonly startMs = performance.now();
  readonly host: Host;
  private readonly owner: AttemptOwner;
  private readonly perTryTimeoutMs: number;
  private perTryTimer: NodeJS.Timeout | undefined;
  private pending: Cancellable | null = null;
  private encoder: RequestEncoder | null = null;
  private reused = false;
  private fresh = false;
  /** Body chunks of the owner's list already written. */
  private sent = 0;
  private endSent = false;
  private aborted = false;
  private ended = false;
  private discarding = false; // answered, but a retry replaced it: its body is read and dropped
  private gotResponse = false;
  private upstreamBackedUp = false;
  private status = 0;
  /** This attempt's own span (spawn_upstream_span), finished with the attempt. */
  span: UpstreamSpan | null = null;
  private perTryTimedOut = false;

  constructor(owner: AttemptOwner, host: Host, perTryTimeoutMs: number) {
    this.owner = owner;
    this.host = host;
    this.perTryTimeoutMs = perTryTimeoutMs;
  }

  start(fresh: boolean): void {
    this.fresh = fresh;
    const cluster = this.owner.cluster;
    cluster.stats.upstreamRqTotal.inc();
    cluster.stats.upstreamRqActive.add(1);
    this.host.activeRequests++;
    this.host.stats.rqTotal++;
    this.host.stats.rqActive++;
    if (this.perTryTimeoutMs > 0) this.perTryTimer = setTimeout(() => this.onPerTryTimeout(), this.perTryTimeoutMs);
    // auto_sni / auto_san_validation and istio.alpn: a pool per server name or ALPN list; otherwise the host's one pool.
    const auto = cluster.config.autoSni;
    const stream = this.owner.stream;
    const head = stream.head;
    let tls = auto === undefined ? undefined : autoSniOptions(auto, head.headers);
    if (stream.upstreamAlpn !== undefined) tls = { ...tls, alpn: stream.upstreamAlpn };
    const state = stream.info.filterState;
    if (state !== undefined) tls = tlsOptionsWithFilterState(tls, state);
    const pool = cluster.httpPool(this.host, tls, head.protocol, state?.sharedWithUpstream());
    this.pending = pool.newStream(this, this, fresh ? FRESH : undefined);
  }

  // ---- HttpPoolCallbacks ----

  onPoolReady(encoder: RequestEncoder, reused: boolean): void {
    this.pending = null;
    if (this.aborted) {
      encoder.stream.resetStream('local-reset');
      return;
    }
    this.encoder = encoder;
    this.reused = reused;
    encoder.stream.setCallbacks(this);
    this.owner.stream.info.upstreamLocalAddress = encoder.stream.localAddress;
    this.owner.sendHead(this);
    this.sendBody();
  }

  onPoolFailure(reason: PoolFailureReason, details: string): void {
    this.pending = null;
    if (this.aborted) return;
    this.aborted = true;
    this.owner.stream.info.upstreamTransportFailureReason = details;
    this.finish(false);
    this.owner.onAttemptError(this, poolFailureReason(reason), false);
  }

  /** The request's headers went to the upstream (a pool stream was ready). */
  get requestStarted(): boolean {
    return this.encoder !== null;
  }

  // ---- the request, towards the upstream ----

  encodeHead(head: RequestHeaders, endStream: boolean): void {
    this.encoder!.encodeHeaders(head, endStream);
    if (endStream) this.endSent = true;
  }

  /** Writes the owner's body chunks not yet written, and the end of the request once it came. */
  sendBody(): void {
    const encoder = this.encoder;
    if (encoder === null || this.aborted || this.endSent) return;
    const owner = this.owner;
    const chunks = owner.chunks;
    const last = chunks.length - 1;
    while (this.sent <= last) {
      const end = this.sent === last && owner.requestEnded && owner.trailers === null;
      encoder.encodeData(chunks[this.sent++], end);
      if (end) this.endSent = true;
    }
    if (owner.requestEnded && !this.endSent) {
      this.endSent = true;
      if (owner.trailers !== null) encoder.encodeTrailers(owner.trailers);
      else encoder.encodeData(EMPTY, true);
    }
    owner.bodySent();
  }

  /** The owner dropped the chunks it will never replay. */
  bodyReleased(): void {
    this.sent = 0;
  }

  readDisable(disable: boolean): void {
    this.encoder?.stream.readDisable(disable);
  }

  /** Cancels the attempt; a route timeout counts as the host's timeout for outlier detection. */
  abort(timedOut = false): void {
    if (this.aborted) return;
    this.aborted = true;
    if (timedOut && this.status === 0) this.owner.cluster.outlier?.putLocalOrigin(this.host.address, 'timeout');
    this.pending?.cancel();
    this.pending = null;
    this.encoder?.stream.resetStream('local-reset');
    this.finish(false);
  }

  /** A retry replaced this attempt's answer: its small body is read and dropped, keeping the connection. */
  discard(): void {
    this.discarding = true;
  }

  // ---- ResponseDecoder ----

  decode1xxHeaders(_headers: ResponseHeaders): void {
    // Envoy answered the client's 100-continue itself; the upstream's is not passed on.
    this.gotResponse = true;
  }

  decodeHeaders(response: ResponseHeaders, endStream: boolean): void {
    if (this.aborted) return;
    this.gotResponse = true;
    this.status = response.status;
    // Before the owner decides on a retry, so an ejection already steers the retry elsewhere.
    this.owner.cluster.outlier?.putHttpStatus(this.host.address, response.status);
    this.clearPerTryTimer();
    if (!this.owner.onResponseHeaders(this, response, endStream) && endStream) this.finish(true);
  }

  decodeData(data: Buffer, endStream: boolean): void {
    if (this.aborted) return;
    if (this.discarding) {
      if (endStream) this.finish(true);
      return;
    }
    this.owner.onResponseData(this, data, endStream);
  }

  decodeTrailers(trailers: HeaderMap): void {
    if (this.aborted) return;
    if (this.discarding) {
      this.finish(true);
      return;
    }
    this.owner.onResponseTrailers(this, trailers);
  }

  // ---- StreamCallbacks of the upstream stream ----

  onResetStream(reason: StreamResetReason, _details: string): void {
    if (this.aborted) return;
    this.aborted = true;
    this.finish(false);
    if (this.discarding) return;
    this.owner.cluster.outlier?.putLocalOrigin(this.host.address, 'connect-failed'); // Envoy counts resets alike
    // Before any byte of an answer, once: a reused connection that died (the keep-alive race), or
    // a stream the upstream refused unprocessed (HTTP/2 REFUSED_STREAM, above a GOAWAY's last id).
    const resendable = !this.fresh && !this.gotResponse && (reason === 'refused-stream' || (this.reused && reason === 'connection-termination'));
    this.owner.onAttemptError(this, streamResetReason(reason), resendable);
  }

  onAboveWriteBufferHighWatermark(): void {
    this.upstreamBackedUp = true;
    this.owner.onUpstreamBackedUp(true);
  }

  onBelowWriteBufferLowWatermark(): void {
    if (!this.upstreamBackedUp) return;
    this.upstreamBackedUp = false;
    this.owner.onUpstreamBackedUp(false);
  }

  private onPerTryTimeout(): void {
    this.perTryTimer = undefined;
    if (this.aborted || this.ended) return;
    const cluster = this.owner.cluster;
    cluster.stats.upstreamRqPerTryTimeout.inc();
    this.host.stats.rqTimeout++;
    this.perTryTimedOut = true;
    this.abort();
    cluster.outlier?.putLocalOrigin(this.host.address, 'timeout');
    this.owner.onAttemptError(this, 'per-try-timeout', false);
  }

  private clearPerTryTimer(): void {
    if (this.perTryTimer === undefined) return;
    clearTimeout(this.perTryTimer);
    this.perTryTimer = undefined;
  }

  /** The attempt's accounting, once: breaker, active gauges, the host's and cluster's results. */
  finish(completed: boolean): void {
    if (this.ended) return;
    this.ended = true;
    this.clearPerTryTimer();
    if (this.upstreamBackedUp) {
      this.upstreamBackedUp = false;
      this.owner.onUpstreamBackedUp(false);
    }
    const cluster = this.owner.cluster;
    cluster.breaker.requestDone();
    cluster.stats.upstreamRqActive.sub(1);
    this.host.activeRequests--;
    // No answer: the per-try timeout (UT), the connection failed (UF), or the stream was reset or cut short (UC).
    this.span?.finish(this.host.address, completed ? this.status : 0, completed ? '-' : this.perTryTimedOut ? 'UT' : this.encoder === null ? 'UF' : 'UC', this.owner.stream.head.headers);
    this.host.stats.rqActive--;
    if (completed) {
      cluster.stats.recordResponse(this.status);
      cluster.stats.upstreamRqTime.record(performance.now() - this.startMs);
      if (this.status >= 500) this.host.stats.rqError++;
      else this.host.stats.rqSuccess++;
    } else {
      this.host.stats.rqError++;
    }
  }
}

const FRESH = { freshConnection: true };
