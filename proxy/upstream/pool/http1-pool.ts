// Envoy's HTTP/1 connection pool for one upstream host: one stream per connection at a time,
// keep-alive reuse (the most recently idle connection first), a FIFO of requests waiting for a
// connection, and the cluster's circuit breakers: max_connections counts every connection of the
// cluster, max_pending_requests bounds the waiting requests. See README.md beside this file.
//
// Hot path: a request that finds an idle connection allocates nothing here and starts no timer;
// the per-connection object is the codec's callbacks and the socket's listeners, and idle_timeout
// is the socket's own inactivity timeout.
import type { Socket } from 'node:net';
import type { ClientConnection, ClientConnectionCallbacks, ResponseDecoder } from '../../codec/index.ts';
import type { Host } from '../host.ts';
import { connect, type ConnectAttempt, type ConnectCallbacks, type ConnectFailureReason, type ConnectOptions, type OpenSocket, type PoolCluster } from './connect.ts';
import type { UpstreamTls, UpstreamTlsOptions } from '../../transport/index.ts';
import type { Cancellable, ClientCodecFactory, HttpConnectionPool, HttpPoolCallbacks, NewStreamOptions, PoolFailureReason } from './types.ts';

export interface Http1PoolOptions {
  /** How sockets are opened (tests: a connect that never completes). Default net.connect. */
  openSocket?: OpenSocket;
  /** The SNI and SAN this pool's TLS connections use (auto_sni / auto_san_validation pools). */
  tlsOptions?: UpstreamTlsOptions;
  /** This pool's transport (transport_socket_matches): overrides the cluster's TLS; null = plain. */
  tls?: UpstreamTls | null;
}

// A connection's state (plain numbers: erasable syntax has no enums).
const CONNECTING = 0;
const IDLE = 1;
const BUSY = 2;
const CLOSED = 3;
type ConnectionState = typeof CONNECTING | typeof IDLE | typeof BUSY | typeof CLOSED;

/** A request waiting for a connection: a node of the pool's queue, and the caller's handle. */
class PendingStream implements Cancellable {
  readonly pool: Http1Pool;
  readonly decoder: ResponseDecoder;
  readonly callbacks: HttpPoolCallbacks;
  /** Only a new connection may take it (the resend after a keep-alive race). */
  readonly fresh: boolean;
  prev: PendingStream | null = null;
  next: PendingStream | null = null;
  queued = true;

  constructor(pool: Http1Pool, decoder: ResponseDecoder, callbacks: HttpPoolCallbacks, fresh: boolean) {
    this.pool = pool;
    this.decoder = decoder;
    this.callbacks = callbacks;
    this.fresh = fresh;
  }

  cancel(): void {
    this.pool.cancelPending(this);
  }
}

/** One upstream connection of the pool: the connect attempt, then the codec on its socket. */
class PoolConnection implements ConnectCallbacks, ClientConnectionCallbacks {
  readonly pool: Http1Pool;
  state: ConnectionState = CONNECTING;
  attempt: ConnectAttempt | null;
  /** The TCP socket, then the TLSSocket on it once connected to a TLS cluster. */
  socket: Socket;
  codec: ClientConnection | null = null;
  /** Streams started on this connection. */
  streams = 0;
  /** Close once idle: max_requests_per_connection reached. */
  draining = false;

  constructor(pool: Http1Pool, options: ConnectOptions) {
    this.pool = pool;
    this.attempt = connect(pool.cluster, pool.host, this, options);
    this.socket = this.attempt.socket;
    // After connect()'s own 'close' listener: the breaker has released this connection when the
    // pool looks for a replacement.
    this.socket.once('close', this.onSocketClose);
  }

  onConnect(socket: Socket): void {
    this.socket = socket;
    this.pool.onConnected(this);
  }

  onConnectFailure(reason: ConnectFailureReason, details: string): void {
    this.pool.onConnectFailed(this, reason, details);
  }

  onIdle(): void {
    this.pool.onIdle(this);
  }

  onClose(): void {
    this.pool.retire(this);
  }

  readonly onSocketClose = (): void => {
    this.pool.onSocketClose(this);
  };

  readonly onSocketTimeout = (): void => {
    this.pool.onInactive(this);
  };
}

export class Http1Pool implements HttpConnectionPool {
  readonly host: Host;
  readonly cluster: PoolCluster;
  private readonly codecFactory: ClientCodecFactory;
  private readonly connectOptions: ConnectOptions;
  /** Idle connections, the most recently idle last (LIFO keeps the warmest ones busy). */
  private idle: PoolConnection[] = [];
  /** Every connection whose socket has not closed yet, in any state. */
  private readonly connections = new Set<PoolConnection>();
  private connectingCount = 0;
  /** Connections that are connecting, idle or busy (not closing). */
  private usableCount = 0;
  private head: PendingStream | null = null;
  private tail: PendingStream | null = null;
  private pendingCount = 0;
  private freshPendingCount = 0;
  private draining = false;
  private closedPromise: Promise<void> | null = null;
  private resolveClosed: (() => void) | null = null;

  constructor(host: Host, cluster: PoolCluster, codecFactory: ClientCodecFactory, options: Http1PoolOptions = {}) {
    this.host = host;
    this.cluster = cluster;
    this.codecFactory = codecFactory;
    this.connectOptions = { openSocket: options.openSocket, tlsOptions: options.tlsOptions, tls: options.tls };
  }

  newStream(decoder: ResponseDecoder, callbacks: HttpPoolCallbacks, options?: NewStreamOptions): Cancellable | null {
    if (this.draining) {
      callbacks.onPoolFailure('local-connection-failure', 'pool_draining');
      return null;
    }
    const fresh = options?.freshConnection === true;
    if (!fresh) {
      let conn = this.idle.pop();
      while (conn !== undefined) {
        // A connection the upstream is closing may still be listed until its close arrives.
        if (conn.codec!.capacity > 0) {
          this.attach(conn, decoder, callbacks);
          return null;
        }
        conn = this.idle.pop();
      }
    }
    // It has to wait for a connection: max_pending_requests decides whether it may.
    if (!this.cluster.breaker.admitPending()) {
      callbacks.onPoolFailure('overflow', 'pending_overflow');
      return null;
    }
    const pending = new PendingStream(this, decoder, callbacks, fresh);
    this.enqueue(pending);
    this.tryCreateConnections();
    return pending;
  }

  hasFreeConnection(): boolean {
    return this.idle.length > 0;
  }

  drain(): void {
    if (this.draining) return;
    this.draining = true;
    // Queued requests fail first, so a caller retrying elsewhere is told before connections go.
    this.failPending(this.pendingCount, 'local-connection-failure', 'pool_draining');
    const idle = this.idle;
    this.idle = [];
    for (const conn of idle) conn.codec!.close();
    for (const conn of this.connections) {
      if (conn.state === CONNECTING) this.cancelConnect(conn);
    }
    // Busy connections close when their stream ends (onIdle).
    this.checkClosed();
  }

  closed(): Promise<void> {
    if (this.connections.size === 0) return Promise.resolve();
    this.closedPromise ??= new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    return this.closedPromise;
  }

  /** Counts for tests and /clusters: connections by state and waiting requests. */
  get counts(): { connecting: number; idle: number; busy: number; pending: number; total: number } {
    let busy = 0;
    for (const conn of this.connections) if (conn.state === BUSY) busy++;
    return { connecting: this.connectingCount, idle: this.idle.length, busy, pending: this.pendingCount, total: this.connections.size };
  }

  // ---- connection events (from PoolConnection) ----

  onConnected(conn: PoolConnection): void {
    conn.attempt = null;
    this.connectingCount--;
    const socket = conn.socket;
    const idleTimeoutMs = this.cluster.config.upstreamIdleTimeoutMs;
    if (idleTimeoutMs > 0) {
      // Inactivity, refreshed by every read and write: it can only expire on an idle connection
      // (or a stalled busy one, which onInactive leaves to the router's timeouts).
      socket.setTimeout(idleTimeoutMs);
      socket.on('timeout', conn.onSocketTimeout);
    }
    conn.state = IDLE;
    conn.codec = this.codecFactory(socket, conn);
    if (this.draining) {
      conn.codec.close();
      return;
    }
    const pending = this.freshPendingCount > 0 ? this.firstPending(true) : this.head;
    if (pending !== null) this.attachPending(conn, pending);
    else this.idle.push(conn);
  }

  onConnectFailed(conn: PoolConnection, reason: ConnectFailureReason, details: string): void {
    conn.attempt = null;
    this.connectingCount--;
    this.usableCount--;
    conn.state = CLOSED;
    // As Envoy: a failed connect fails the waiting requests, except those the other connections
    // being made will take, so the caller decides (retry on another host) instead of waiting on
    // an upstream that refuses.
    if (this.pendingCount > this.connectingCount) this.failPending(this.pendingCount - this.connectingCount, reason, details);
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

  /** The socket was quiet for idle_timeout. */
  onInactive(conn: PoolConnection): void {
    if (conn.state !== IDLE) return;
    this.cluster.stats.upstreamCxIdleTimeout.inc();
    conn.codec!.close();
  }

  /** The connection is closing or closed: it takes no more streams. Its stream, if any, is the codec's to reset. */
  retire(conn: PoolConnection): void {
    if (conn.state === CLOSED) return;
    if (conn.state === IDLE) {
      const at = this.idle.lastIndexOf(conn);
      if (at >= 0) this.idle.splice(at, 1);
    } else if (conn.state === CONNECTING) {
      this.connectingCount--;
    }
    this.usableCount--;
    conn.state = CLOSED;
  }

  onSocketClose(conn: PoolConnection): void {
    conn.attempt = null;
    this.retire(conn);
    this.connections.delete(conn);
    const socket = conn.socket;
    const stats = this.cluster.stats;
    if (socket.bytesRead > 0) stats.upstreamCxRxBytesTotal.inc(socket.bytesRead);
    if (socket.bytesWritten > 0) stats.upstreamCxTxBytesTotal.inc(socket.bytesWritten);
    // A connection slot is free (here or, for the breaker, anywhere in the cluster).
    if (this.pendingCount > 0 && !this.draining) this.tryCreateConnections();
    this.checkClosed();
  }

  // ---- pending requests ----

  cancelPending(pending: PendingStream): void {
    if (!pending.queued) return;
    this.dequeue(pending);
    this.cluster.breaker.pendingDone();
    this.cluster.stats.upstreamRqCancelled.inc();
    // As Envoy's CloseExcess: a connection being made only for this request is given up.
    if (this.connectingCount > this.pendingCount) {
      for (const conn of this.connections) {
        if (conn.state === CONNECTING) {
          this.cancelConnect(conn);
          break;
        }
      }
    }
  }

  private attachPending(conn: PoolConnection, pending: PendingStream): void {
    this.dequeue(pending);
    this.cluster.breaker.pendingDone();
    this.attach(conn, pending.decoder, pending.callbacks);
  }

  private attach(conn: PoolConnection, decoder: ResponseDecoder, callbacks: HttpPoolCallbacks): void {
    conn.state = BUSY;
    const reused = conn.streams > 0;
    const max = this.cluster.config.maxRequestsPerConnection;
    if (++conn.streams === max) {
      this.cluster.stats.upstreamCxMaxRequests.inc();
      conn.draining = true;
    }
    const encoder = conn.codec!.newStream(decoder);
    // Last: the caller may reset the stream (closing the connection) or ask again from here.
    callbacks.onPoolReady(encoder, reused);
  }

  /** Makes connections for the waiting requests that the connections being made will not take. */
  private tryCreateConnections(): void {
    const breaker = this.cluster.breaker;
    while (this.pendingCount > this.connectingCount) {
      // max_connections is the cluster's. As Envoy, a host with no connection at all still gets
      // one, or its requests would wait on other hosts' connections they can never use.
      if (!breaker.admitConnection() && this.usableCount > 0) return;
      this.openConnection();
    }
  }

  private openConnection(): void {
    this.connectingCount++;
    this.usableCount++;
    this.connections.add(new PoolConnection(this, this.connectOptions));
  }

  private cancelConnect(conn: PoolConnection): void {
    const attempt = conn.attempt;
    this.retire(conn);
    conn.attempt = null;
    attempt?.cancel();
  }

  /** Fails the `count` most recently queued requests (all of them when count is the queue's length). */
  private failPending(count: number, reason: PoolFailureReason, details: string): void {
    if (count <= 0) return;
    // Taken off the queue first: a caller that asks again from its failure callback queues anew.
    const failed: PendingStream[] = [];
    while (failed.length < count && this.tail !== null) {
      const pending = this.tail;
      this.dequeue(pending);
      failed.push(pending);
    }
    const { breaker, stats } = this.cluster;
    for (let i = failed.length - 1; i >= 0; i--) {
      breaker.pendingDone();
      stats.upstreamRqPendingFailureEject.inc();
    }
    // Oldest first, as they queued.
    for (let i = failed.length - 1; i >= 0; i--) failed[i].callbacks.onPoolFailure(reason, details);
  }

  private firstPending(fresh: boolean): PendingStream | null {
    let p = this.head;
    while (p !== null && p.fresh !== fresh) p = p.next;
    return p;
  }

  private enqueue(pending: PendingStream): void {
    pending.prev = this.tail;
    if (this.tail !== null) this.tail.next = pending;
    else this.head = pending;
    this.tail = pending;
    this.pendingCount++;
    if (pending.fresh) this.freshPendingCount++;
  }

  private dequeue(pending: PendingStream): void {
    pending.queued = false;
    if (pending.prev !== null) pending.prev.next = pending.next;
    else this.head = pending.next;
    if (pending.next !== null) pending.next.prev = pending.prev;
    else this.tail = pending.prev;
    pending.prev = pending.next = null;
    this.pendingCount--;
    if (pending.fresh) this.freshPendingCount--;
  }

  private checkClosed(): void {
    if (this.connections.size === 0 && this.resolveClosed !== null) {
      const resolve = this.resolveClosed;
      this.resolveClosed = null;
      this.closedPromise = null;
      resolve();
    }
  }
}

function handOff(pool: Http1Pool, conn: PoolConnection): void {
  pool.handOff(conn);
}
