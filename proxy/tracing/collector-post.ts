// One POST of a span batch to a host of the collector cluster through Legate's own pools (the
// cluster's load balancer, circuit breaker and stats), as Envoy's Zipkin reporter uses the
// cluster's async client. The answer's status is all that matters; its body is dropped.
import type { HeaderMap, RequestEncoder, ResponseDecoder, ResponseHeaders, StreamCallbacks } from '../codec/index.ts';
import type { Cancellable, ClusterManager, HttpPoolCallbacks, UpstreamCluster } from '../upstream/index.ts';

export interface CollectorPost {
  path: string;
  authority: string;
  contentType: string;
  body: Buffer;
  timeoutMs: number;
}

/** 'no-cluster' when the cluster does not exist (Envoy's reports_skipped_no_cluster); otherwise the status, or 0 on failure. */
export function postToCollector(clusters: ClusterManager, clusterName: string, post: CollectorPost, done: (status: number | 'no-cluster') => void): void {
  const cluster = clusters.get(clusterName);
  if (cluster === undefined) {
    done('no-cluster');
    return;
  }
  const host = cluster.chooseHost();
  if (host === null) {
    cluster.stats.upstreamCxNone.inc();
    done(0);
    return;
  }
  cluster.stats.upstreamRqTotal.inc();
  const exchange = new Exchange(cluster, post, done);
  exchange.pending = cluster.httpPool(host).newStream(exchange, exchange);
}

class Exchange implements ResponseDecoder, HttpPoolCallbacks, StreamCallbacks {
  pending: Cancellable | null = null;
  private readonly cluster: UpstreamCluster;
  private readonly post: CollectorPost;
  private done: ((status: number) => void) | null;
  private encoder: RequestEncoder | null = null;
  private readonly timer: NodeJS.Timeout;
  private status = 0;

  constructor(cluster: UpstreamCluster, post: CollectorPost, done: (status: number) => void) {
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
    const { path, authority, contentType, body } = this.post;
    const headers: HeaderMap = { host: authority, 'content-type': contentType, 'content-length': String(body.length) };
    encoder.encodeHeaders({ method: 'POST', path, scheme: 'http', protocol: 'HTTP/1.1', headers }, false);
    encoder.encodeData(body, true);
  }

  onPoolFailure(): void {
    this.pending = null;
    this.finish(0);
  }

  decode1xxHeaders(): void {}

  decodeHeaders(response: ResponseHeaders, endStream: boolean): void {
    this.status = response.status;
    if (endStream) this.finish(this.status);
  }

  decodeData(_data: Buffer, endStream: boolean): void {
    if (endStream) this.finish(this.status);
  }

  decodeTrailers(): void {
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
    done(status);
  }
}
