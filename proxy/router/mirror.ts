// request_mirror_policies: a copy of the request goes to each shadow cluster, fire and forget.
// Its :authority gets Envoy's "-shadow" suffix (before any port), its answer is read and dropped,
// and nothing about it reaches the client; it counts in the shadow cluster's stats.
import { autoSniOptions } from './auto-sni.ts';
import type { HeaderMap, RequestEncoder, ResponseDecoder, ResponseHeaders, StreamCallbacks } from '../codec/index.ts';
import type { RequestMirrorPolicy } from '../config/model.ts';
import { runtime } from '../runtime/index.ts';
import type { ClusterManager, HttpPoolCallbacks, UpstreamCluster } from '../upstream/index.ts';

export interface ShadowRequest {
  method: string;
  path: string;
  headers: HeaderMap;
  body: Buffer | null;
  timeoutMs: number;
}

export function sendShadows(policies: readonly RequestMirrorPolicy[], request: ShadowRequest, clusters: ClusterManager): void {
  for (const policy of policies) {
    const key = policy.runtimeFractionKey;
    const percent = key === undefined ? policy.runtimeFractionPercent : runtime.snapshot.percent(key.key, policy.runtimeFractionPercent, key.denominator);
    if (percent < 100 && Math.random() * 100 >= percent) continue;
    const cluster = clusters.get(policy.cluster);
    const host = cluster?.chooseHost();
    if (cluster === undefined || host == null) continue;
    const headers = { ...request.headers, host: shadowAuthority(String(request.headers.host ?? '')) };
    cluster.stats.upstreamRqTotal.inc();
    const shadow = new Shadow(cluster, { ...request, headers });
    const auto = cluster.config.autoSni;
    shadow.pending = (auto === undefined ? cluster.httpPool(host) : cluster.httpPool(host, autoSniOptions(auto, headers))).newStream(shadow, shadow);
  }
}

/** One shadow request: sent whole, its response dropped, bounded by the route timeout. */
class Shadow implements ResponseDecoder, HttpPoolCallbacks, StreamCallbacks {
  pending: { cancel(): void } | null = null;
  private readonly cluster: UpstreamCluster;
  private readonly request: ShadowRequest;
  private encoder: RequestEncoder | null = null;
  private timer: NodeJS.Timeout | undefined;
  private status = 0;

  constructor(cluster: UpstreamCluster, request: ShadowRequest) {
    this.cluster = cluster;
    this.request = request;
    if (request.timeoutMs > 0) this.timer = setTimeout(() => this.onTimeout(), request.timeoutMs);
  }

  onPoolReady(encoder: RequestEncoder): void {
    this.pending = null;
    this.encoder = encoder;
    encoder.stream.setCallbacks(this);
    const { method, path, headers, body } = this.request;
    encoder.encodeHeaders({ method, path, scheme: 'http', protocol: 'HTTP/1.1', headers }, body === null);
    if (body !== null) encoder.encodeData(body, true);
  }

  onPoolFailure(): void {
    this.pending = null;
    this.fail();
  }

  decode1xxHeaders(): void {}

  decodeHeaders(response: ResponseHeaders, endStream: boolean): void {
    this.status = response.status;
    if (endStream) this.done();
  }

  decodeData(_data: Buffer, endStream: boolean): void {
    if (endStream) this.done();
  }

  decodeTrailers(): void {
    this.done();
  }

  onResetStream(): void {
    this.fail();
  }

  onAboveWriteBufferHighWatermark(): void {}
  onBelowWriteBufferLowWatermark(): void {}

  private onTimeout(): void {
    this.timer = undefined;
    this.pending?.cancel();
    this.encoder?.stream.resetStream('local-reset');
    this.fail();
  }

  private done(): void {
    clearTimeout(this.timer);
    this.cluster.stats.recordResponse(this.status);
  }

  private fail(): void {
    clearTimeout(this.timer);
    this.cluster.stats.upstreamRqRxReset.inc();
  }
}

/** 'foo.com' -> 'foo.com-shadow', 'foo.com:8080' -> 'foo.com-shadow:8080'. */
export function shadowAuthority(authority: string): string {
  const port = /:\d+$/.exec(authority);
  return port === null ? `${authority}-shadow` : `${authority.slice(0, port.index)}-shadow${port[0]}`;
}
