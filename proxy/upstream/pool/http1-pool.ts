// Envoy's HTTP/1 connection pool for one upstream host: one stream per connection at a time,
// keep-alive reuse (the most recently idle connection first), a FIFO of requests waiting for a
// connection, and the cluster's circuit breakers: max_connections counts every connection of the
// cluster, max_pending_requests bounds the waiting requests. See README.md beside this file; the
// queue, connects and drain are pool-base.ts's.
//
// Hot path: a request that finds an idle connection allocates nothing here and starts no timer;
// the per-connection object is the codec's callbacks and the socket's listeners, and idle_timeout
// is the socket's own inactivity timeout.
import type { ResponseDecoder } from '../../codec/index.ts';
import type { Host } from '../host.ts';
import type { PoolCluster } from './connect.ts';
import { BUSY, IDLE, PoolBase, PoolConnection, type PoolOptions } from './pool-base.ts';
import type { ClientCodecFactory, HttpPoolCallbacks } from './types.ts';

export type Http1PoolOptions = PoolOptions;

export class Http1Pool extends PoolBase<PoolConnection> {
  private readonly codecFactory: ClientCodecFactory;
  /** Idle connections, the most recently idle last (LIFO keeps the warmest ones busy). */
  private idle: PoolConnection[] = [];
  protected readonly connectingCapacity = 1;

  constructor(host: Host, cluster: PoolCluster, codecFactory: ClientCodecFactory, options: Http1PoolOptions = {}) {
    super(host, cluster, options);
    this.codecFactory = codecFactory;
  }

  protected attachNow(decoder: ResponseDecoder, callbacks: HttpPoolCallbacks, fresh: boolean): boolean {
    if (fresh) return false;
    let conn = this.idle.pop();
    while (conn !== undefined) {
      // A connection the upstream is closing may still be listed until its close arrives.
      if (conn.codec!.capacity > 0) {
        this.attach(conn, decoder, callbacks);
        return true;
      }
      conn = this.idle.pop();
    }
    return false;
  }

  hasFreeConnection(): boolean {
    return this.idle.length > 0;
  }

  protected closeIdleConnections(): void {
    const idle = this.idle;
    this.idle = [];
    for (const conn of idle) conn.codec!.close();
    // Busy connections close when their stream ends (onIdle).
  }

  /** Counts for tests and /clusters: connections by state and waiting requests. */
  get counts(): { connecting: number; idle: number; busy: number; pending: number; total: number } {
    let busy = 0;
    for (const conn of this.connections) if (conn.state === BUSY) busy++;
    return { connecting: this.connectingCount, idle: this.idle.length, busy, pending: this.pendingCount, total: this.connections.size };
  }

  protected newConnection(): PoolConnection {
    return new PoolConnection(this, this.connectOptions);
  }

  protected onCodec(conn: PoolConnection): void {
    this.connectionReady(conn);
    const socket = conn.socket;
    const idleTimeoutMs = this.cluster.config.upstreamIdleTimeoutMs;
    if (idleTimeoutMs > 0) {
      // Inactivity, refreshed by every read and write: it can only expire on an idle connection
      // (or a stalled busy one, which onInactive leaves to the router's timeouts).
      socket.setTimeout(idleTimeoutMs);
      socket.on('timeout', conn.onSocketTimeout);
    }
    this.cluster.stats.upstreamCxHttp1Total.inc();
    conn.codec = this.codecFactory(socket, conn);
    if (this.draining) {
      conn.codec.close();
      return;
    }
    const pending = this.freshPendingCount > 0 ? this.firstPending(true) : this.head;
    if (pending !== null) this.attachPending(conn, pending);
    else this.idle.push(conn);
  }

  onIdle(conn: PoolConnection): void {
    if (conn.state !== BUSY) return;
    conn.state = IDLE;
    if (conn.draining || this.draining) {
      conn.codec!.close();
      return;
    }
    if (this.pendingCount > this.freshPendingCount) {
      // Handed over on the next tick, outside the codec's callback.
      process.nextTick(handOff, this, conn);
      return;
    }
    this.idle.push(conn);
  }

  /** The idle connection (not yet listed) takes the first waiting request that accepts a reused connection. */
  handOff(conn: PoolConnection): void {
    if (conn.state !== IDLE) return;
    if (this.draining) {
      conn.codec!.close();
      return;
    }
    const pending = this.firstPending(false);
    if (pending !== null) this.attachPending(conn, pending);
    else this.idle.push(conn);
  }

  protected unlist(conn: PoolConnection): void {
    if (conn.state !== IDLE) return;
    const at = this.idle.lastIndexOf(conn);
    if (at >= 0) this.idle.splice(at, 1);
  }
}

function handOff(pool: Http1Pool, conn: PoolConnection): void {
  pool.handOff(conn);
}
