// A CONNECT the route terminates (upgrade_configs with connect_config): Legate opens a TCP
// connection to a host of the route's cluster, answers 200, and carries the stream's bytes both
// ways with flow control, half-closes included, as Envoy's TCP upstream for CONNECT.
import type { Socket } from 'node:net';
import type { HeaderMap } from '../codec/index.ts';
import type { StreamWatcher, WatermarkCallbacks } from '../http-filter/index.ts';
import { ConnectAttempt, tlsOptionsWithFilterState, type ConnectCallbacks, type ConnectFailureReason, type UpstreamCluster } from '../upstream/index.ts';
import type { RouterState, RouterStats, RouterStream } from './router-stream.ts';
import { failureReply } from './upstream-errors.ts';

const EMPTY = Buffer.alloc(0);

export class ConnectTunnel implements RouterState, ConnectCallbacks, StreamWatcher, WatermarkCallbacks {
  private readonly stream: RouterStream;
  private readonly cluster: UpstreamCluster;
  private readonly stats: RouterStats;
  private connecting: ConnectAttempt | null = null;
  private socket: Socket | null = null;
  private early: Buffer[] = []; // client bytes before the upstream connected
  private earlyEnd = false;
  private established = false;
  private ended = false;

  constructor(stream: RouterStream, cluster: UpstreamCluster, stats: RouterStats) {
    this.stream = stream;
    this.cluster = cluster;
    this.stats = stats;
  }

  start(): void {
    const stream = this.stream;
    stream.onDestroy(this);
    stream.addWatermarkCallbacks(this);
    const host = this.cluster.chooseHost({ hash: stream.hashKey(), downstreamLocalAddress: stream.info.downstreamLocalAddress, metadata: stream, filterState: stream.info.filterState });
    if (host === null) {
      this.cluster.stats.upstreamCxNone.inc();
      this.ended = true;
      stream.sendLocalReply(503, 'no healthy upstream', 'UH', 'no_healthy_upstream');
      return;
    }
    stream.info.upstreamCluster = this.cluster.config.name;
    stream.info.upstreamHost = host.address;
    stream.info.upstreamHostMetadata = host.metadata;
    stream.info.attemptCount = 1;
    const state = stream.info.filterState;
    this.connecting = new ConnectAttempt(this.cluster, host, this, { allowHalfOpen: true, tlsOptions: tlsOptionsWithFilterState(undefined, state), sharedFilterState: state?.sharedWithUpstream() });
  }

  onConnect(socket: Socket): void {
    this.connecting = null;
    const stream = this.stream;
    if (this.ended) {
      socket.destroy();
      return;
    }
    this.socket = socket;
    stream.info.upstreamLocalAddress = `${socket.localAddress}:${socket.localPort}`;
    const cxStats = this.cluster.stats;
    socket.on('error', () => {}); // the 'close' that follows ends the tunnel
    socket.on('data', (data: Buffer) => {
      cxStats.upstreamCxRxBytesTotal.inc(data.length);
      stream.encodeData(data, false);
    });
    socket.once('end', () => stream.encodeData(EMPTY, true));
    socket.on('drain', () => stream.readDisable(false));
    socket.once('close', () => {
      // The upstream went away while the client still talked: the tunnel ends.
      if (!this.ended) stream.resetStream();
    });
    this.established = true;
    this.stats.downstreamCxUpgradesTotal.inc();
    this.stats.downstreamCxUpgradesActive.add(1);
    stream.info.responseCodeDetails = 'via_upstream';
    stream.encodeHeaders({ status: 200, headers: {} }, false);
    const early = this.early;
    this.early = [];
    for (const chunk of early) this.write(chunk);
    if (this.earlyEnd) socket.end();
  }

  onConnectFailure(_reason: ConnectFailureReason, details: string): void {
    this.connecting = null;
    if (this.ended) return;
    this.ended = true;
    this.stream.info.upstreamTransportFailureReason = details;
    const reply = failureReply('connect-failure');
    this.cluster.stats.recordResponse(reply.status);
    this.stream.sendLocalReply(reply.status, reply.body, reply.flag, reply.details);
  }

  decodeData(data: Buffer, endStream: boolean): void {
    const socket = this.socket;
    if (socket === null) {
      if (data.length > 0) this.early.push(data);
      if (endStream) this.earlyEnd = true;
      return;
    }
    if (data.length > 0) this.write(data);
    if (endStream) socket.end();
  }

  decodeTrailers(_trailers: HeaderMap): void {
    this.socket?.end();
  }

  private write(data: Buffer): void {
    this.cluster.stats.upstreamCxTxBytesTotal.inc(data.length);
    // The upstream cannot take more: stop reading the client until it drains.
    if (!this.socket!.write(data)) this.stream.readDisable(true);
  }

  onStreamDestroy(): void {
    this.ended = true;
    if (this.established) this.stats.downstreamCxUpgradesActive.sub(1);
    this.connecting?.cancel();
    this.socket?.destroy();
  }

  onAboveWriteBufferHighWatermark(): void {
    this.socket?.pause();
  }

  onBelowWriteBufferLowWatermark(): void {
    this.socket?.resume();
  }
}
