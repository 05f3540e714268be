// One POST of a span batch to a host of the collector cluster through Legate's own pools (the
// cluster's load balancer and stats), as Envoy's tracers use the cluster's async client: Zipkin
// JSON, OTLP over HTTP, or a unary gRPC call (OTLP over gRPC) on an HTTP/2 cluster. The answer's
// status (and grpc-status) is all that matters; its body is dropped.
import type { HeaderMap, Protocol, RequestEncoder, ResponseDecoder, ResponseHeaders, StreamCallbacks } from '../codec/index.ts';
import type { Cancellable, ClusterManager, HttpPoolCallbacks, UpstreamCluster } from '../upstream/index.ts';

export interface CollectorPost {
  path: string;
  authority: string;
  /** content-type and whatever else the request carries. */
  headers: HeaderMap;
  body: Buffer;
  timeoutMs: number;
  /** HTTP/2 for gRPC (the pool of a use_downstream_protocol_config cluster); HTTP/1.1 otherwise. */
  protocol?: Protocol;
}

/** The answer: its status (0 when none came) and, for gRPC, grpc-status from the trailers or a trailers-only answer. */
export interface CollectorAnswer {
  status: number;
  grpcStatus?: string;
}

/** 'no-cluster' when the cluster does not exist (Envoy's reports_skipped_no_cluster). */
export function postToCollector(clusters: ClusterManager, clusterName: string, post: CollectorPost, done: (answer: CollectorAnswer | 'no-cluster') => void): void {
  const cluster = clusters.get(clusterName);
  if (cluster === undefined) {
    done('no-cluster');
    return;
  }
  const host = cluster.chooseHost();
  if (host === null) {
    cluster.stats.upstreamCxNone.inc();
    done({ status: 0 });
    return;
  }
  cluster.stats.upstreamRqTotal.inc();
  const exchange = new Exchange(cluster, post, done);
  exchange.pending = cluster.httpPool(host, undefined, post.protocol).newStream(exchange, exchange);
}

class Exchange implements ResponseDecoder, HttpPoolCallbacks, StreamCallbacks {
  pending: Cancellable | null = null;
  private readonly cluster: UpstreamCluster;
  private readonly post: CollectorPost;
  private done: ((answer: CollectorAnswer) => void) | null;
  private encoder: RequestEncoder | null = null;
  private readonly timer: NodeJS.Timeout;
  private status = 0;
  private grpcStatus: string | undefined;

  constructor(cluster: UpstreamCluster, post: CollectorPost, done: (answer: CollectorAnswer) => void) {
    this.cluster = cluster;
    this.post = post;
    this.done = done;
    this.timer = setTimeout(() => this.onTimeout(), post.timeoutMs);
    this.timer.unref();
  }

  onPoolReady(encoder: RequestEncoder): void {
    this.pending = null;
    if (this.done === null) {
      encoder.stream.resetStream('local-reset');
      return;
    }
    this.encoder = encoder;
    encoder.stream.setCallbacks(this);
    const { path, authority, body, protocol } = this.post;
    const headers: HeaderMap = { ...this.post.headers, host: authority, 'content-length': String(body.length) };
    encoder.encodeHeaders({ method: 'POST', path, scheme: 'http', protocol: protocol ?? 'HTTP/1.1', headers }, false);
    encoder.encodeData(body, true);
  }

  onPoolFailure(): void {
    this.pending = null;
    this.finish(0);
  }

  decode1xxHeaders(): void {}

  decodeHeaders(response: ResponseHeaders, endStream: boolean): void {
    this.status = response.status;
    this.grpcStatus = first(response.headers['grpc-status']);
    if (endStream) this.finish(this.status);
  }

  decodeData(_data: Buffer, endStream: boolean): void {
    if (endStream) this.finish(this.status);
  }

  decodeTrailers(trailers: HeaderMap): void {
    this.grpcStatus = first(trailers['grpc-status']) ?? this.grpcStatus;
    this.finish(this.status);
  }

  onResetStream(): void {
    this.finish(0);
  }

  onAboveWriteBufferHighWatermark(): void {}
  onBelowWriteBufferLowWatermark(): void {}

  private onTimeout(): void {
    this.pending?.cancel();
    this.encoder?.stream.resetStream('local-reset');
    this.finish(0);
  }

  private finish(status: number): void {
    const done = this.done;
    if (done === null) return;
    this.done = null;
    clearTimeout(this.timer);
    if (status === 0) this.cluster.stats.upstreamRqRxReset.inc();
    else this.cluster.stats.recordResponse(status);
    done(status === 0 || this.grpcStatus === undefined ? { status } : { status, grpcStatus: this.grpcStatus });
  }
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
