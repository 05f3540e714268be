// In-memory parts for driving the router filter as Envoy's router_test does: a downstream stream
// that records what the router encodes, and a pool per host whose streams the test answers by
// hand. The cluster, its breaker, stats and load balancer are the real ones.
import { StreamInfo } from '../../../proxy/access-log/index.ts';
import type { HeaderMap, RequestEncoder, RequestHeaders, ResponseDecoder, ResponseHeaders, Stream, StreamCallbacks, StreamResetReason } from '../../../proxy/codec/index.ts';
import { translateCluster } from '../../../proxy/config/index.ts';
import type { Cluster, RouteAction } from '../../../proxy/config/model.ts';
import type { StreamWatcher, WatermarkCallbacks } from '../../../proxy/http-filter/index.ts';
import { RouteTable, RouterFilter, type RouteMatchResult, type RouterStream } from '../../../proxy/router/index.ts';
import type { ClusterChoice } from '../../../proxy/router/index.ts';
import type { RouteRequest } from '../../../proxy/router/request.ts';
import { Store } from '../../../proxy/stats/index.ts';
import { ClusterManager, UpstreamCluster, type Cancellable, type Host, type HttpConnectionPool, type HttpPoolCallbacks, type NewStreamOptions } from '../../../proxy/upstream/index.ts';
import { staticCluster } from '../../support/bootstrap.ts';
import { route, routeAction, routeConfig, virtualHost } from './builders.ts';

export interface Reply {
  status: number;
  body: string;
  flag: string;
  details: string;
  headers?: HeaderMap;
}

/** The downstream side: records the router's answer. */
export class FakeDownstream implements RouterStream {
  readonly info = new StreamInfo();
  readonly startMs = performance.now();
  head: RequestHeaders;
  request: RouteRequest;
  route: RouteMatchResult<StreamInfo> | null;
  cluster: ClusterChoice | undefined;
  upgradeType: string | undefined = undefined;
  routerState: unknown = undefined;
  trustedDownstream = true;
  responseStarted = false;
  response: ResponseHeaders | null = null;
  body: Buffer[] = [];
  ended = false;
  reset = false;
  localReply: Reply | null = null;
  readDisabled = 0;
  readonly watchers: StreamWatcher[] = [];
  readonly watermarks: WatermarkCallbacks[] = [];
  private onEnd: (() => void) | null = null;

  constructor(head: RequestHeaders, matched: RouteMatchResult<StreamInfo>) {
    this.head = head;
    this.request = { authority: String(head.headers.host ?? ''), path: head.path, method: head.method, scheme: 'http', headers: head.headers };
    this.route = matched;
    this.cluster = matched.route.pickCluster(this.request);
  }

  /** Resolves when the stream ended: answered, completed or reset. */
  done(): Promise<void> {
    if (this.ended) return Promise.resolve();
    return new Promise((resolve) => (this.onEnd = resolve));
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    for (const w of this.watchers) w.onStreamDestroy();
    this.onEnd?.();
  }

  continueDecoding(): void {}
  sendLocalReply(status: number, body: string, flag: string, details: string, headers?: HeaderMap): void {
    if (flag !== '') this.info.setResponseFlag(flag);
    this.localReply = { status, body, flag, details, headers };
    this.response = { status, headers: headers ?? {} };
    this.end();
  }
  encodeHeaders(headers: ResponseHeaders, endStream: boolean): void {
    this.responseStarted = true;
    this.response = headers;
    if (endStream) this.end();
  }
  encodeData(data: Buffer, endStream: boolean): void {
    this.body.push(data);
    if (endStream) this.end();
  }
  encodeTrailers(): void {
    this.end();
  }
  encode1xxHeaders(): void {}
  appendResponseHeader(): void {}
  readDisable(disable: boolean): void {
    this.readDisabled += disable ? 1 : -1;
  }
  resetStream(): void {
    this.reset = true;
    this.end();
  }
  /** The client goes away. */
  clientReset(): void {
    this.end();
  }
  onDestroy(watcher: StreamWatcher): void {
    this.watchers.push(watcher);
  }
  addWatermarkCallbacks(callbacks: WatermarkCallbacks): void {
    this.watermarks.push(callbacks);
  }
  hashKey(): number | undefined {
    return undefined;
  }
  bodyText(): string {
    return Buffer.concat(this.body).toString();
  }
}

/** One upstream stream the router got from a FakePool: it records the request and lets the test answer. */
export class FakeUpstreamStream implements RequestEncoder, Stream {
  readonly stream = this;
  readonly localAddress = '127.0.0.1:40000';
  readonly remoteAddress = '127.0.0.1:1';
  head: RequestHeaders | null = null;
  readonly data: Buffer[] = [];
  ended = false;
  resetBy: StreamResetReason | null = null;
  callbacks: StreamCallbacks | null = null;
  readDisabled = 0;
  readonly decoder: ResponseDecoder;

  constructor(decoder: ResponseDecoder) {
    this.decoder = decoder;
  }
  setCallbacks(callbacks: StreamCallbacks): void {
    this.callbacks = callbacks;
  }
  resetStream(reason: StreamResetReason): void {
    this.resetBy = reason;
  }
  readDisable(disable: boolean): void {
    this.readDisabled += disable ? 1 : -1;
  }
  encodeHeaders(head: RequestHeaders, endStream: boolean): void {
    this.head = { ...head, headers: { ...head.headers } };
    if (endStream) this.ended = true;
  }
  encodeData(data: Buffer, endStream: boolean): void {
    if (data.length > 0) this.data.push(data);
    if (endStream) this.ended = true;
  }
  encodeTrailers(_trailers: HeaderMap): void {
    this.ended = true;
  }
  /** The upstream answers with a whole response. */
  respond(status: number, body = '', headers: HeaderMap = {}): void {
    const h = { ...headers, 'content-length': String(Buffer.byteLength(body)) };
    this.decoder.decodeHeaders({ status, headers: h }, body === '');
    if (body !== '') this.decoder.decodeData(Buffer.from(body), true);
  }
  /** The connection under the stream closes. */
  die(reason: StreamResetReason = 'connection-termination'): void {
    this.callbacks?.onResetStream(reason, '');
  }
  bodyText(): string {
    return Buffer.concat(this.data).toString();
  }
}

interface PendingStream {
  decoder: ResponseDecoder;
  callbacks: HttpPoolCallbacks;
  options: NewStreamOptions | undefined;
  cancelled: boolean;
}

/** A pool whose requests wait until the test makes them ready or fail them. */
export class FakePool implements HttpConnectionPool {
  readonly host: Host;
  readonly requests: PendingStream[] = [];
  /** Set: a free keep-alive connection takes each stream at once, inside newStream (as a real pool does). */
  readyAtOnce: ((pending: PendingStream) => void) | null = null;
  constructor(host: Host) {
    this.host = host;
  }
  newStream(decoder: ResponseDecoder, callbacks: HttpPoolCallbacks, options?: NewStreamOptions): Cancellable | null {
    const pending: PendingStream = { decoder, callbacks, options, cancelled: false };
    this.requests.push(pending);
    if (this.readyAtOnce !== null) {
      this.readyAtOnce(pending);
      return null;
    }
    return { cancel: () => (pending.cancelled = true) };
  }
  hasFreeConnection(): boolean {
    return true;
  }
  drain(): void {}
  closed(): Promise<void> {
    return Promise.resolve();
  }
}

/** A router with a real cluster of `ports.length` hosts whose pools are FakePools. */
export class RouterHarness {
  readonly store = new Store();
  readonly clusters: ClusterManager;
  readonly cluster: UpstreamCluster;
  readonly pools = new Map<string, FakePool>();
  router: RouterFilter; // a test may swap in one with its own config
  readonly table: RouteTable<StreamInfo>;
  /** Every upstream stream made ready, in order. */
  readonly upstreams: FakeUpstreamStream[] = [];
  /** Pools hand out streams inside newStream, on reused connections. */
  readyAtOnce = false;

  constructor(action: Partial<RouteAction> = {}, ports = [1001], clusterExtra: object = {}) {
    const config: Cluster = translateCluster(staticCluster('backend', ports.map((port) => ({ port })), clusterExtra)).cluster;
    this.clusters = new ClusterManager(this.store, () => {});
    this.cluster = new UpstreamCluster(config, this.store);
    this.clusters.get = (name: string) => (name === 'backend' ? this.cluster : undefined);
    this.cluster.httpPool = (host: Host) => {
      let pool = this.pools.get(host.address);
      if (pool === undefined) {
        pool = new FakePool(host);
        if (this.readyAtOnce) {
          pool.readyAtOnce = (pending) => {
            const upstream = new FakeUpstreamStream(pending.decoder);
            this.upstreams.push(upstream);
            pending.callbacks.onPoolReady(upstream, true);
          };
        }
        this.pools.set(host.address, pool);
      }
      return pool;
    };
    const stats = {
      rqTotal: this.store.counter('http.t.rq_total'),
      noRoute: this.store.counter('http.t.no_route'),
      rqDirectResponse: this.store.counter('http.t.rq_direct_response'),
      rqRedirect: this.store.counter('http.t.rq_redirect'),
      noCluster: this.store.counter('http.t.no_cluster'),
      downstreamCxUpgradesTotal: this.store.counter('http.t.downstream_cx_upgrades_total'),
      downstreamCxUpgradesActive: this.store.gauge('http.t.downstream_cx_upgrades_active'),
      downstreamFlowControlPausedReading: this.store.counter('http.t.downstream_flow_control_paused_reading_total'),
      downstreamFlowControlResumedReading: this.store.counter('http.t.downstream_flow_control_resumed_reading_total'),
    };
    this.router = new RouterFilter({ clusters: this.clusters, meshRetries: false, bufferLimitBytes: 64 * 1024, stats });
    this.table = new RouteTable(routeConfig([virtualHost('vh', ['*'], [route('r', { kind: 'prefix', value: '/' }, { action: routeAction({ cluster: { kind: 'cluster', name: 'backend' }, ...action }) })])]));
  }

  /** Starts a request through the router; endStream when it has no body. */
  request(method = 'GET', path = '/', headers: HeaderMap = {}, endStream = true): FakeDownstream {
    const head: RequestHeaders = { method, path, scheme: 'http', protocol: 'HTTP/1.1', headers: { host: 'example.com', ...headers } };
    const matched = this.table.route({ authority: 'example.com', path, method, scheme: 'http', headers: head.headers }) as RouteMatchResult<StreamInfo>;
    const stream = new FakeDownstream(head, matched);
    this.router.decodeHeaders(stream, endStream);
    return stream;
  }

  /** All pool requests of every host, in order. */
  pending(): PendingStream[] {
    return [...this.pools.values()].flatMap((p) => p.requests);
  }

  /** Makes the nth pool request ready on a fresh FakeUpstreamStream. */
  ready(n: number, reused = false): FakeUpstreamStream {
    const pending = this.pending()[n];
    const upstream = new FakeUpstreamStream(pending.decoder);
    this.upstreams.push(upstream);
    pending.callbacks.onPoolReady(upstream, reused);
    return upstream;
  }

  counter(name: string): number {
    return this.store.snapshot().counters[`cluster.backend.${name}`] ?? 0;
  }
}
