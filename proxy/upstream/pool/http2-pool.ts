// Envoy's HTTP/2 connection pool for one upstream host (source/common/http/http2/conn_pool.cc):
// streams multiplexed on a connection up to its capacity (the peer's
// SETTINGS_MAX_CONCURRENT_STREAMS, the cluster's max_concurrent_streams, what is left of
// max_requests_per_connection), a new connection only when every connection is full, and a
// connection that got GOAWAY or reached max_requests_per_connection takes nothing new and closes
// once its streams ended. Streams the peer refused or never processed reset 'refused-stream' in the
// codec; the router sends them again. Circuit breakers as Envoy counts them for HTTP/2: the
// router's max_requests per request, max_connections per connection, max_pending_requests for a
// request no connection has room for. The same pool runs auto_config's connections, whose codec
// ALPN picked (an HTTP/1 codec has capacity 1 while idle).
import type { Socket } from 'node:net';
import type { ClientConnection, Http2ClientConnectionCallbacks, ResponseDecoder } from '../../codec/index.ts';
import type { Host } from '../host.ts';
import type { PoolCluster } from './connect.ts';
import { BUSY, CLOSED, CONNECTING, IDLE, PoolBase, PoolConnection, type PoolOptions } from './pool-base.ts';
import type { HttpPoolCallbacks } from './types.ts';

/** Makes the client codec on a connected socket: HTTP/2, or what ALPN chose (auto_config). */
export type Http2CodecFactory = (socket: Socket, callbacks: Http2ClientConnectionCallbacks) => ClientConnection;

export interface Http2PoolOptions extends PoolOptions {
  /** Streams a connection is expected to take before the peer's SETTINGS say (max_concurrent_streams). */
  expectedStreams: number;
}

class Http2PoolConnection extends PoolConnection implements Http2ClientConnectionCallbacks {
  /** idle_timeout: a timer while the connection carries no stream. */
  idleTimer: NodeJS.Timeout | undefined;
  /** A hand-over to waiting requests is scheduled. */
  serving = false;

  onCapacity(): void {
    (this.pool as unknown as Http2Pool).onCapacity(this);
  }

  onGoAway(): void {
    (this.pool as unknown as Http2Pool).onGoAway(this);
  }
}

export class Http2Pool extends PoolBase<Http2PoolConnection> {
  private readonly codecFactory: Http2CodecFactory;
  protected readonly connectingCapacity: number;
  /** Connections that take new streams (ready, not draining), oldest first: streams fill the first ones. */
  private open: Http2PoolConnection[] = [];

  constructor(host: Host, cluster: PoolCluster, codecFactory: Http2CodecFactory, options: Http2PoolOptions) {
    super(host, cluster, options);
    this.codecFactory = codecFactory;
    const max = cluster.config.maxRequestsPerConnection;
    this.connectingCapacity = max > 0 ? Math.min(max, options.expectedStreams) : options.expectedStreams;
  }

  /** A ready connection with room takes it. `fresh` needs no new connection here: a connection
   *  that refused or lost streams takes no new ones (GOAWAY, closed), so any open one is fresh. */
  protected attachNow(decoder: ResponseDecoder, callbacks: HttpPoolCallbacks): boolean {
    const conn = this.withRoom();
    if (conn === null) return false;
    this.attach(conn, decoder, callbacks);
    return true;
  }

  hasFreeConnection(): boolean {
    return this.withRoom() !== null;
  }

  /** Counts for tests and /clusters. */
  get counts(): { connecting: number; open: number; busy: number; pending: number; total: number } {
    let busy = 0;
    for (const conn of this.connections) if (conn.state === BUSY) busy++;
    return { connecting: this.connectingCount, open: this.open.length, busy, pending: this.pendingCount, total: this.connections.size };
  }

  protected newConnection(): Http2PoolConnection {
    return new Http2PoolConnection(this, this.connectOptions);
  }

  protected onCodec(conn: Http2PoolConnection): void {
    const codec = this.codecFactory(conn.socket, conn);
    conn.codec = codec;
    const stats = this.cluster.stats;
    if (codec.protocol === 'HTTP/2') stats.upstreamCxHttp2Total.inc();
    else stats.upstreamCxHttp1Total.inc();
    if (this.draining) {
      codec.close();
      return;
    }
    // HTTP/2 is ready once the peer's SETTINGS came (onCapacity); HTTP/1 at once.
    if (codec.capacity > 0) this.onCapacity(conn);
  }

  onCapacity(conn: Http2PoolConnection): void {
    if (conn.state === CONNECTING) {
      this.connectionReady(conn);
      this.open.push(conn);
      this.startIdleTimer(conn);
    }
    if (this.pendingCount > 0 && !conn.serving) {
      // Handed over on the next tick, outside the codec's callback.
      conn.serving = true;
      process.nextTick(serve, this, conn);
    }
  }

  /** The connection takes the waiting requests it has room for; more connections for the rest. */
  serve(conn: Http2PoolConnection): void {
    conn.serving = false;
    if (this.draining) return;
    const codec = conn.codec!;
    while (this.head !== null && !conn.draining && conn.state !== CLOSED && codec.capacity > 0) this.attachPending(conn, this.head);
    // More connections only when this one is full or going away: a peer that allows no streams
    // at all (SETTINGS_MAX_CONCURRENT_STREAMS 0) must not make us open one connection after another.
    if (this.pendingCount > 0 && (conn.state === BUSY || conn.draining)) this.tryCreateConnections();
  }

  onGoAway(conn: Http2PoolConnection): void {
    this.cluster.stats.upstreamCxCloseNotify.inc();
    this.stopTaking(conn);
    if (conn.state === IDLE) conn.codec!.close();
    if (this.pendingCount > 0 && !this.draining) this.tryCreateConnections();
  }

  onIdle(conn: Http2PoolConnection): void {
    if (conn.state !== BUSY) return;
    conn.state = IDLE;
    if (conn.draining || this.draining) {
      conn.codec!.close();
      return;
    }
    this.startIdleTimer(conn);
    // An HTTP/1 codec (auto_config) has room again now; HTTP/2 said so through onCapacity too.
    this.onCapacity(conn);
  }

  protected closeIdleConnections(): void {
    const open = this.open;
    this.open = [];
    // HTTP/2 closes gracefully: streams in flight finish, then the connection closes.
    for (const conn of open) {
      conn.draining = true;
      conn.codec!.close();
    }
  }

  protected unlist(conn: Http2PoolConnection): void {
    clearTimeout(conn.idleTimer);
    const at = this.open.indexOf(conn);
    if (at >= 0) this.open.splice(at, 1);
  }

  protected attach(conn: Http2PoolConnection, decoder: ResponseDecoder, callbacks: HttpPoolCallbacks): void {
    clearTimeout(conn.idleTimer);
    conn.idleTimer = undefined;
    super.attach(conn, decoder, callbacks);
    // max_requests_per_connection reached: no more streams here.
    if (conn.draining) this.stopTaking(conn);
  }

  /** A connection that closed before the peer's SETTINGS (not an HTTP/2 server?) fails what it was
   *  meant to take, as a failed connect does. */
  retire(conn: Http2PoolConnection): void {
    const early = conn.state === CONNECTING && conn.codec !== null;
    super.retire(conn);
    if (early && !this.draining) this.failUnserved('connection-failure', 'upstream connection closed before its HTTP/2 SETTINGS');
  }

  private withRoom(): Http2PoolConnection | null {
    for (const conn of this.open) if (conn.codec!.capacity > 0) return conn;
    return null;
  }

  private stopTaking(conn: Http2PoolConnection): void {
    conn.draining = true;
    const at = this.open.indexOf(conn);
    if (at >= 0) this.open.splice(at, 1);
  }

  private startIdleTimer(conn: Http2PoolConnection): void {
    const ms = this.cluster.config.upstreamIdleTimeoutMs;
    if (ms <= 0 || conn.state !== IDLE) return;
    clearTimeout(conn.idleTimer);
    conn.idleTimer = setTimeout(conn.onSocketTimeout, ms);
    conn.idleTimer.unref();
  }
}

function serve(pool: Http2Pool, conn: Http2PoolConnection): void {
  pool.serve(conn);
}
