// Legate's own requests to a cluster (Envoy's Http::AsyncClient): one buffered request, its whole
// answer buffered, through the same load balancer, circuit breaker and host pools as routed
// traffic, counted in the cluster's stats. Filters that call out (ext_authz's HTTP and gRPC
// services) use it. No retries, no redirects: the caller decides what a failure means.
import type { HeaderMap, Protocol, RequestEncoder, ResponseDecoder, ResponseHeaders, StreamCallbacks, StreamResetReason } from '../codec/index.ts';
import type { ClusterManager } from './cluster-manager.ts';
import type { UpstreamCluster } from './cluster.ts';
import type { Host } from './host.ts';
import type { Cancellable, HttpPoolCallbacks, PoolFailureReason } from './pool/index.ts';

export interface AsyncRequest {
  method: string;
  path: string;
  /** The request's :authority (Host). */
  authority: string;
  headers: HeaderMap;
  body: Buffer | null;
  /** Picks the HTTP/2 pool of a use_downstream_protocol_config cluster (gRPC); HTTP/1.1 otherwise. */
  protocol?: Protocol;
  /** The whole exchange, from asking for a host to the end of the answer; 0 = none. */
  timeoutMs: number;
}

export interface AsyncResponse {
  status: number;
  headers: HeaderMap;
  body: Buffer;
  trailers: HeaderMap | null;
}

/** Why no answer came: Envoy's AsyncClient reports all of them as a reset. */
export type AsyncFailure = 'no-cluster' | 'no-healthy-upstream' | 'overflow' | 'connection-failure' | 'reset' | 'timeout' | 'response-too-large';

export interface AsyncCallbacks {
  onSuccess(response: AsyncResponse): void;
  onFailure(reason: AsyncFailure): void;
}

/** The largest answer buffered (gRPC's default max_receive_message_length). */
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

/** Sends `request` to a host of `clusterName`; exactly one callback follows unless cancelled first. */
export function sendAsyncRequest(clusters: ClusterManager, clusterName: string, request: AsyncRequest, callbacks: AsyncCallbacks): Cancellable {
  const exchange = new AsyncExchange(request, callbacks);
  const cluster = clusters.get(clusterName);
  if (cluster === undefined) exchange.fail('no-cluster');
  else exchange.start(cluster);
  return exchange;
}

class AsyncExchange implements ResponseDecoder, HttpPoolCallbacks, StreamCallbacks, Cancellable {
  private readonly request: AsyncRequest;
  private callbacks: AsyncCallbacks | null;
  private cluster: UpstreamCluster | null = null;
  private host: Host | null = null;
  private pending: Cancellable | null = null;
  private encoder: RequestEncoder | null = null;
  private timer: NodeJS.Timeout | undefined;
  private startMs = 0;
  private status = 0;
  private headers: HeaderMap = {};
  private chunks: Buffer[] = [];
  private bytes = 0;

  constructor(request: AsyncRequest, callbacks: AsyncCallbacks) {
    this.request = request;
    this.callbacks = callbacks;
  }

  start(cluster: UpstreamCluster): void {
    const host = cluster.chooseHost();
    if (host === null) {
      cluster.stats.upstreamCxNone.inc();
      this.fail('no-healthy-upstream');
      return;
    }
    if (!cluster.breaker.admitRequest()) {
      this.fail('overflow');
      return;
    }
    this.cluster = cluster;
    this.host = host;
    this.startMs = performance.now();
    cluster.stats.upstreamRqTotal.inc();
    cluster.stats.upstreamRqActive.add(1);
    host.activeRequests++;
    host.stats.rqTotal++;
    host.stats.rqActive++;
    if (this.request.timeoutMs > 0) this.timer = setTimeout(() => this.onTimeout(), this.request.timeoutMs);
    this.pending = cluster.httpPool(host, undefined, this.request.protocol ?? 'HTTP/1.1').newStream(this, this);
  }

  cancel(): void {
    if (this.callbacks === null) return;
    this.callbacks = null;
    this.abort();
    this.finish(false);
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
    const { method, path, authority, headers, body } = this.request;
    const out: HeaderMap = { ...headers, host: authority };
    encoder.encodeHeaders({ method, path, scheme: this.cluster?.tls === null ? 'http' : 'https', protocol: this.request.protocol ?? 'HTTP/1.1', headers: out }, body === null);
    if (body !== null) encoder.encodeData(body, true);
  }

  onPoolFailure(reason: PoolFailureReason): void {
    this.pending = null;
    if (reason !== 'overflow') this.outlierLocal('connect-failed');
    this.finish(false);
    this.fail(reason === 'overflow' ? 'overflow' : 'connection-failure');
  }

  // ---- ResponseDecoder ----

  decode1xxHeaders(): void {}

  decodeHeaders(response: ResponseHeaders, endStream: boolean): void {
    if (this.callbacks === null) return;
    this.status = response.status;
    this.headers = response.headers;
    this.cluster?.outlier?.putHttpStatus(this.host!.address, response.status);
    if (endStream) this.complete(null);
  }

  decodeData(data: Buffer, endStream: boolean): void {
    if (this.callbacks === null) return;
    this.bytes += data.length;
    if (this.bytes > MAX_RESPONSE_BYTES) {
      this.abort();
      this.finish(false);
      this.fail('response-too-large');
      return;
    }
    if (data.length > 0) this.chunks.push(data);
    if (endStream) this.complete(null);
  }

  decodeTrailers(trailers: HeaderMap): void {
    if (this.callbacks !== null) this.complete(trailers);
  }

  // ---- StreamCallbacks ----

  onResetStream(_reason: StreamResetReason): void {
    this.encoder = null;
    if (this.callbacks === null) return;
    this.outlierLocal('connect-failed');
    this.finish(false);
    this.fail('reset');
  }

  onAboveWriteBufferHighWatermark(): void {}
  onBelowWriteBufferLowWatermark(): void {}

  // ---- endings ----

  private onTimeout(): void {
    this.timer = undefined;
    if (this.callbacks === null) return;
    this.cluster!.stats.upstreamRqTimeout.inc();
    this.host!.stats.rqTimeout++;
    this.outlierLocal('timeout');
    this.abort();
    this.finish(false);
    this.fail('timeout');
  }

  private complete(trailers: HeaderMap | null): void {
    this.encoder = null;
    this.finish(true);
    const callbacks = this.callbacks!;
    this.callbacks = null;
    const body = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    callbacks.onSuccess({ status: this.status, headers: this.headers, body, trailers });
  }

  fail(reason: AsyncFailure): void {
    const callbacks = this.callbacks;
    this.callbacks = null;
    callbacks?.onFailure(reason);
  }

  private abort(): void {
    this.pending?.cancel();
    this.pending = null;
    this.encoder?.stream.resetStream('local-reset');
    this.encoder = null;
  }

  private outlierLocal(kind: 'connect-failed' | 'timeout'): void {
    if (this.host !== null) this.cluster?.outlier?.putLocalOrigin(this.host.address, kind);
  }

  /** The request's accounting, once: breaker, gauges, the host's and cluster's results. */
  private finish(completed: boolean): void {
    const cluster = this.cluster;
    const host = this.host;
    if (cluster === null || host === null) return;
    this.cluster = null;
    clearTimeout(this.timer);
    cluster.breaker.requestDone();
    cluster.stats.upstreamRqActive.sub(1);
    host.activeRequests--;
    host.stats.rqActive--;
    if (completed) {
      cluster.stats.recordResponse(this.status);
      cluster.stats.upstreamRqTime.record(performance.now() - this.startMs);
      if (this.status >= 500) host.stats.rqError++;
      else host.stats.rqSuccess++;
    } else {
      host.stats.rqError++;
    }
  }
}
