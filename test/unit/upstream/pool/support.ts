// Test parts for the upstream pools: a line-protocol TCP upstream on loopback, a fake client codec
// that speaks it on the pool's real sockets, a cluster built from Envoy config, and a recorder of
// pool callbacks.
import net, { type Socket } from 'node:net';
import type { Test } from 'tap';
import type {
  ClientConnection,
  ClientConnectionCallbacks,
  HeaderMap,
  RequestEncoder,
  RequestHeaders,
  ResponseDecoder,
  ResponseHeaders,
  Stream,
  StreamCallbacks,
  StreamResetReason,
} from '../../../../proxy/codec/index.ts';
import { translateCluster } from '../../../../proxy/config/index.ts';
import type { Cluster } from '../../../../proxy/config/model.ts';
import { Store } from '../../../../proxy/stats/index.ts';
import { UpstreamCluster } from '../../../../proxy/upstream/index.ts';
import type { ClientCodecFactory, HttpPoolCallbacks, OpenSocket, PoolFailureReason } from '../../../../proxy/upstream/index.ts';
import { staticCluster } from '../../../support/bootstrap.ts';

/**
 * A TCP upstream on 127.0.0.1:0 that answers each "REQ\n" line with "RES\n", at once or, while
 * `hold` is set, when release() is called.
 */
export class LineUpstream {
  readonly server: net.Server;
  readonly sockets = new Set<Socket>();
  accepted = 0;
  hold = false;
  private held: Socket[] = [];

  private constructor() {
    this.server = net.createServer((socket) => {
      this.accepted++;
      this.sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => this.sockets.delete(socket));
      let buffered = '';
      socket.on('data', (chunk) => {
        buffered += chunk.toString('latin1');
        let nl = buffered.indexOf('\n');
        while (nl >= 0) {
          buffered = buffered.slice(nl + 1);
          if (this.hold) this.held.push(socket);
          else socket.write('RES\n');
          nl = buffered.indexOf('\n');
        }
      });
    });
  }

  static async start(t: Test): Promise<LineUpstream> {
    const upstream = new LineUpstream();
    await new Promise<void>((resolve) => upstream.server.listen(0, '127.0.0.1', resolve));
    t.teardown(() => upstream.close());
    return upstream;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** Answers every held request. */
  release(): void {
    const held = this.held;
    this.held = [];
    for (const socket of held) socket.write('RES\n');
  }

  get heldCount(): number {
    return this.held.length;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A port on 127.0.0.1 with nothing listening (bound, read back, closed). */
export async function refusedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** An OpenSocket whose connect never completes and sends nothing: its lookup never answers. */
export const neverConnects: OpenSocket = (options) =>
  net.connect({ ...options, host: 'pool-test.invalid', lookup: () => {} });

class FakeStream implements Stream {
  callbacks: StreamCallbacks | null = null;
  readonly codec: FakeClientConnection;
  constructor(codec: FakeClientConnection) {
    this.codec = codec;
  }
  setCallbacks(callbacks: StreamCallbacks): void {
    this.callbacks = callbacks;
  }
  resetStream(_reason: StreamResetReason): void {
    this.codec.close();
  }
  readDisable(_disable: boolean): void {}
  get localAddress(): string {
    return `${this.codec.socket.localAddress}:${this.codec.socket.localPort}`;
  }
  get remoteAddress(): string {
    return `${this.codec.socket.remoteAddress}:${this.codec.socket.remotePort}`;
  }
}

class FakeEncoder implements RequestEncoder {
  readonly stream: FakeStream;
  constructor(stream: FakeStream) {
    this.stream = stream;
  }
  encodeHeaders(_headers: RequestHeaders, _endStream: boolean): void {
    this.stream.codec.socket.write('REQ\n');
  }
  encodeData(_data: Buffer, _endStream: boolean): void {}
  encodeTrailers(_trailers: HeaderMap): void {}
}

/** The line protocol as a ClientConnection: one stream at a time; "RES\n" completes it. */
export class FakeClientConnection implements ClientConnection {
  readonly protocol = 'HTTP/1.1' as const;
  readonly socket: Socket;
  readonly callbacks: ClientConnectionCallbacks;
  private active: { decoder: ResponseDecoder; stream: FakeStream } | null = null;
  private received = 0;
  streamsStarted = 0;
  closed = false;

  constructor(socket: Socket, callbacks: ClientConnectionCallbacks) {
    this.socket = socket;
    this.callbacks = callbacks;
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('close', () => this.onSocketClose());
  }

  get capacity(): number {
    return this.active === null && !this.closed && !this.socket.destroyed ? 1 : 0;
  }

  get bytesReceivedOnStream(): number {
    return this.received;
  }

  newStream(decoder: ResponseDecoder): RequestEncoder {
    if (this.active !== null) throw new Error('HTTP/1 takes one stream at a time');
    const stream = new FakeStream(this);
    this.active = { decoder, stream };
    this.received = 0;
    this.streamsStarted++;
    return new FakeEncoder(stream);
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.received += chunk.length;
    const active = this.active;
    if (active === null || !chunk.toString('latin1').includes('RES\n')) return;
    this.active = null;
    active.decoder.decodeHeaders({ status: 200, headers: {} }, true);
    this.callbacks.onIdle();
  }

  private onSocketClose(): void {
    this.closed = true;
    const active = this.active;
    this.active = null;
    active?.stream.callbacks?.onResetStream('connection-termination', 'upstream closed');
    this.callbacks.onClose();
  }
}

/** A codec factory that keeps the codecs it made. */
export function fakeCodecs(): { factory: ClientCodecFactory; made: FakeClientConnection[] } {
  const made: FakeClientConnection[] = [];
  return {
    made,
    factory: (socket, callbacks) => {
      const codec = new FakeClientConnection(socket, callbacks);
      made.push(codec);
      return codec;
    },
  };
}

/** One request's view of the pool: what it was told and what its response did. */
export class Request implements HttpPoolCallbacks, ResponseDecoder, StreamCallbacks {
  ready = false;
  reset: StreamResetReason | null = null;
  body = '';
  reused: boolean | undefined;
  encoder: RequestEncoder | null = null;
  failure: { reason: PoolFailureReason; details: string } | null = null;
  status = 0;
  completed = false;
  private waiters: (() => void)[] = [];

  onPoolReady(encoder: RequestEncoder, reused: boolean): void {
    if (this.ready || this.failure !== null) throw new Error('pool called back twice');
    this.ready = true;
    this.reused = reused;
    this.encoder = encoder;
    encoder.stream.setCallbacks(this);
    this.wake();
  }

  // StreamCallbacks
  onResetStream(reason: StreamResetReason, _details: string): void {
    this.reset = reason;
    this.wake();
  }
  onAboveWriteBufferHighWatermark(): void {}
  onBelowWriteBufferLowWatermark(): void {}

  onPoolFailure(reason: PoolFailureReason, details: string): void {
    if (this.ready || this.failure !== null) throw new Error('pool called back twice');
    this.failure = { reason, details };
    this.wake();
  }

  /** Sends a GET without a body (the fake codec writes a line). */
  send(path = '/'): void {
    this.encoder!.encodeHeaders({ method: 'GET', path, scheme: 'http', protocol: 'HTTP/1.1', headers: { host: 'upstream.test' } }, true);
  }

  decode1xxHeaders(_headers: ResponseHeaders): void {}
  decodeHeaders(headers: ResponseHeaders, endStream: boolean): void {
    this.status = headers.status;
    if (endStream) this.complete();
  }
  decodeData(data: Buffer, endStream: boolean): void {
    this.body += data.toString();
    if (endStream) this.complete();
  }
  decodeTrailers(_trailers: HeaderMap): void {
    this.complete();
  }

  private complete(): void {
    this.completed = true;
    this.wake();
  }

  /** Resolves once the pool called back. */
  settled(): Promise<void> {
    return this.until(() => this.ready || this.failure !== null);
  }

  /** Resolves once the response ended. */
  done(): Promise<void> {
    return this.until(() => this.completed);
  }

  /** Resolves once the response ended or the stream was reset. */
  finished(): Promise<void> {
    return this.until(() => this.completed || this.reset !== null);
  }

  private until(check: () => boolean): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve) => {
      const again = (): void => {
        if (check()) resolve();
        else this.waiters.push(again);
      };
      this.waiters.push(again);
    });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

/** Polls `check` every few ms until it holds or `ms` passes (then throws `what`). */
export async function waitFor(what: string, check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export interface ClusterSetup {
  cluster: UpstreamCluster;
  store: Store;
  config: Cluster;
  counter(name: string): number;
  gauge(name: string): number;
}

/**
 * An UpstreamCluster 'c' with the given endpoints (127.0.0.1 ports), Envoy cluster fields in
 * `raw` (circuit_breakers, connect_timeout, ...) and model overrides in `model`; without `codec`,
 * the cluster's own (the real HTTP/1 client codec).
 */
export function clusterSetup(t: Test, ports: number[], options: { raw?: object; model?: Partial<Cluster>; codec?: ClientCodecFactory; openSocket?: OpenSocket }): ClusterSetup {
  const { cluster: translated } = translateCluster(staticCluster('c', ports.map((port) => ({ port })), options.raw ?? {}));
  const config: Cluster = { ...translated, ...options.model };
  const store = new Store();
  const cluster = new UpstreamCluster(config, store, { httpCodec: options.codec, openSocket: options.openSocket });
  // Not awaited: a test may leave a stream busy; the upstream's teardown closes its sockets.
  t.teardown(() => void cluster.close());
  return {
    cluster,
    store,
    config,
    counter: (name) => store.snapshot().counters[`cluster.c.${name}`] ?? 0,
    gauge: (name) => store.snapshot().gauges[`cluster.c.${name}`] ?? 0,
  };
}

/** Envoy's circuit_breakers block with DEFAULT thresholds. */
export function breakers(thresholds: { max_connections?: number; max_pending_requests?: number; max_requests?: number }): object {
  return { circuit_breakers: { thresholds: [{ priority: 'DEFAULT', ...thresholds }] } };
}
