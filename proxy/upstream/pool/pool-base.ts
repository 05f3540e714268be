// What Envoy's HTTP/1 and HTTP/2 pools share (source/common/conn_pool/conn_pool_base.cc): the
// FIFO of requests waiting for a stream, connections made for what the connections being made
// will not take, connect failures failing the requests beyond them, cancel with CloseExcess,
// drain, closed(), byte counts at close, and the cluster's circuit breakers (max_pending_requests
// for waiting requests, max_connections per connection). The subclasses decide how a ready
// connection takes streams: one at a time (HTTP/1) or up to its capacity (HTTP/2).
import type { Socket } from 'node:net';
import type { ClientConnection, ResponseDecoder } from '../../codec/index.ts';
import type { Host } from '../host.ts';
import { connect, type ConnectAttempt, type ConnectCallbacks, type ConnectFailureReason, type ConnectOptions, type OpenSocket, type PoolCluster } from './connect.ts';
import type { UpstreamTls, UpstreamTlsOptions } from '../../transport/index.ts';
import type { SharedObject } from '../../filter-state/index.ts';
import type { Cancellable, HttpConnectionPool, HttpPoolCallbacks, NewStreamOptions, PoolFailureReason } from './types.ts';

export interface PoolOptions {
  /** How sockets are opened (tests: a connect that never completes). Default net.connect. */
  openSocket?: OpenSocket;
  /** The SNI and SAN this pool's TLS connections use (auto_sni / auto_san_validation pools). */
  tlsOptions?: UpstreamTlsOptions;
  /** This pool's transport (transport_socket_matches, a protocol's ALPN): overrides the cluster's TLS; null = plain. */
  tls?: UpstreamTls | null;
  /** The filter state objects its connections carry (a pool keyed by what streams share upstream). */
  sharedFilterState?: readonly SharedObject[];
}

// A connection's state (plain numbers: erasable syntax has no enums).
export const CONNECTING = 0;
/** Connected and carrying no stream. */
export const IDLE = 1;
/** Connected and carrying at least one stream. */
export const BUSY = 2;
export const CLOSED = 3;
export type ConnectionState = typeof CONNECTING | typeof IDLE | typeof BUSY | typeof CLOSED;

/** A request waiting for a stream: a node of the pool's queue, and the caller's handle. */
export class PendingStream implements Cancellable {
  readonly pool: PoolBase<PoolConnection>;
  readonly decoder: ResponseDecoder;
  readonly callbacks: HttpPoolCallbacks;
  /** Only a new connection may take it (the resend after a keep-alive race). */
  readonly fresh: boolean;
  prev: PendingStream | null = null;
  next: PendingStream | null = null;
  queued = true;

  constructor(pool: PoolBase<PoolConnection>, decoder: ResponseDecoder, callbacks: HttpPoolCallbacks, fresh: boolean) {
    this.pool = pool;
    this.decoder = decoder;
    this.callbacks = callbacks;
    this.fresh = fresh;
  }

  cancel(): void {
    this.pool.cancelPending(this);
  }
}

/** One upstream connection of a pool: the connect attempt, then the codec on its socket. */
export class PoolConnection implements ConnectCallbacks {
  readonly pool: PoolBase<PoolConnection>;
  state: ConnectionState = CONNECTING;
  attempt: ConnectAttempt | null;
  /** The TCP socket, then the TLSSocket on it once connected to a TLS cluster. */
  socket: Socket;
  codec: ClientConnection | null = null;
  /** Streams started on this connection. */
  streams = 0;
  /** No new streams; close once idle (max_requests_per_connection or max_connection_duration reached, GOAWAY). */
  draining = false;
  /** max_connection_duration, only when configured. */
  durationTimer: NodeJS.Timeout | undefined = undefined;

  constructor(pool: PoolBase<PoolConnection>, options: ConnectOptions) {
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

export abstract class PoolBase<C extends PoolConnection> implements HttpConnectionPool {
  readonly host: Host;
  readonly cluster: PoolCluster;
  protected readonly connectOptions: ConnectOptions;
  /** Every connection whose socket has not closed yet, in any state. */
  protected readonly connections = new Set<C>();
  protected connectingCount = 0;
  /** Connections that are connecting, idle or busy (not closing). */
  protected usableCount = 0;
  protected head: PendingStream | null = null;
  private tail: PendingStream | null = null;
  protected pendingCount = 0;
  protected freshPendingCount = 0;
  protected draining = false;
  private closedPromise: Promise<void> | null = null;
  private resolveClosed: (() => void) | null = null;

  constructor(host: Host, cluster: PoolCluster, options: PoolOptions) {
    this.host = host;
    this.cluster = cluster;
    this.connectOptions = { openSocket: options.openSocket, tlsOptions: options.tlsOptions, tls: options.tls, sharedFilterState: options.sharedFilterState };
  }

  /** Starts the stream at once on a ready connection, if one can take it. */
  protected abstract attachNow(decoder: ResponseDecoder, callbacks: HttpPoolCallbacks, fresh: boolean): boolean;
  /** Streams a connection being made is expected to take (HTTP/1: 1). */
  protected abstract readonly connectingCapacity: number;
  /** Makes the pool's connection object (it connects at once). */
  protected abstract newConnection(): C;
  /** Connected: the subclass makes the codec, and calls connectionReady() once it takes streams. */
  protected abstract onCodec(conn: C): void;
  /** drain(): connections without a stream close now, the others after their streams. */
  protected abstract closeIdleConnections(): void;
  abstract onIdle(conn: C): void;
  abstract hasFreeConnection(): boolean;

  newStream(decoder: ResponseDecoder, callbacks: HttpPoolCallbacks, options?: NewStreamOptions): Cancellable | null {
    if (this.draining) {
      callbacks.onPoolFailure('local-connection-failure', 'pool_draining');
      return null;
    }
    const fresh = options?.freshConnection === true;
    if (this.attachNow(decoder, callbacks, fresh)) return null;
    // It has to wait for a connection: max_pending_requests decides whether it may.
    if (!this.cluster.breaker.admitPending()) {
      callbacks.onPoolFailure('overflow', 'pending_overflow');
      return null;
    }
    const pending = new PendingStream(this as unknown as PoolBase<PoolConnection>, decoder, callbacks, fresh);
    this.enqueue(pending);
    this.tryCreateConnections();
    return pending;
  }

  drain(): void {
    if (this.draining) return;
    this.draining = true;
    // Queued requests fail first, so a caller retrying elsewhere is told before connections go.
    this.failPending(this.pendingCount, 'local-connection-failure', 'pool_draining');
    this.closeIdleConnections();
    for (const conn of this.connections) {
      if (conn.state === CONNECTING) this.cancelConnect(conn);
    }
    this.checkClosed();
  }

  closed(): Promise<void> {
    if (this.connections.size === 0) return Promise.resolve();
    this.closedPromise ??= new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    return this.closedPromise;
  }

  // ---- connection events (from PoolConnection) ----

  onConnected(conn: C): void {
    conn.attempt = null;
    this.onCodec(conn);
  }

  /** The connection can take streams: it no longer counts as being made. */
  protected connectionReady(conn: C): void {
    this.connectingCount--;
    conn.state = IDLE;
    const maxMs = this.cluster.config.maxConnectionDurationMs;
    if (maxMs > 0) {
      conn.durationTimer = setTimeout(expireConnection, maxMs, this, conn);
      conn.durationTimer.unref();
    }
  }

  /** max_connection_duration reached: no new streams; an idle connection closes now, a busy one once idle. */
  expire(conn: C): void {
    if (conn.state === CLOSED || conn.draining) return;
    this.cluster.stats.upstreamCxMaxDurationReached.inc();
    conn.draining = true;
    this.unlist(conn);
    if (conn.state === IDLE) conn.codec!.close();
  }

  onConnectFailed(conn: C, reason: ConnectFailureReason, details: string): void {
    conn.attempt = null;
    this.connectingCount--;
    this.usableCount--;
    conn.state = CLOSED;
    this.failUnserved(reason, details);
  }

  /** The connection was idle for idle_timeout. */
  onInactive(conn: C): void {
    if (conn.state !== IDLE) return;
    this.cluster.stats.upstreamCxIdleTimeout.inc();
    conn.codec!.close();
  }

  /** The connection is closing or closed: it takes no more streams. Its streams are the codec's to reset. */
  retire(conn: C): void {
    if (conn.state === CLOSED) return;
    if (conn.state === CONNECTING) this.connectingCount--;
    this.unlist(conn);
    this.usableCount--;
    conn.state = CLOSED;
  }

  onSocketClose(conn: C): void {
    conn.attempt = null;
    clearTimeout(conn.durationTimer);
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

  /** Takes the connection off the subclass's lists of connections that can take streams. */
  protected abstract unlist(conn: C): void;

  // ---- pending requests ----

  cancelPending(pending: PendingStream): void {
    if (!pending.queued) return;
    this.dequeue(pending);
    this.cluster.breaker.pendingDone();
    this.cluster.stats.upstreamRqCancelled.inc();
    // As Envoy's CloseExcess: a connection being made only for this request is given up.
    if ((this.connectingCount - 1) * this.connectingCapacity >= this.pendingCount) {
      for (const conn of this.connections) {
        if (conn.state === CONNECTING) {
          this.cancelConnect(conn);
          break;
        }
      }
    }
  }

  /** As Envoy: a failed connect fails the waiting requests, except those the other connections
   *  being made will take, so the caller decides (retry on another host) instead of waiting on an
   *  upstream that refuses. */
  protected failUnserved(reason: PoolFailureReason, details: string): void {
    const served = this.connectingCount * this.connectingCapacity;
    if (this.pendingCount > served) this.failPending(this.pendingCount - served, reason, details);
  }

  /** Takes `pending` off the queue and starts its stream on `conn`. */
  protected attachPending(conn: C, pending: PendingStream): void {
    this.dequeue(pending);
    this.cluster.breaker.pendingDone();
    this.attach(conn, pending.decoder, pending.callbacks);
  }

  protected attach(conn: C, decoder: ResponseDecoder, callbacks: HttpPoolCallbacks): void {
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
  protected tryCreateConnections(): void {
    const breaker = this.cluster.breaker;
    while (this.pendingCount > this.connectingCount * this.connectingCapacity) {
      // max_connections is the cluster's. As Envoy, a host with no connection at all still gets
      // one, or its requests would wait on other hosts' connections they can never use.
      if (!breaker.admitConnection() && this.usableCount > 0) return;
      this.connectingCount++;
      this.usableCount++;
      this.connections.add(this.newConnection());
    }
  }

  private cancelConnect(conn: C): void {
    const attempt = conn.attempt;
    this.retire(conn);
    conn.attempt = null;
    // Connected but not ready yet (an HTTP/2 connection before the peer's SETTINGS): close it.
    if (attempt !== null) attempt.cancel();
    else conn.codec?.close();
  }

  /** Fails the `count` most recently queued requests (all of them when count is the queue's length). */
  protected failPending(count: number, reason: PoolFailureReason, details: string): void {
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

  protected firstPending(fresh: boolean): PendingStream | null {
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

  protected checkClosed(): void {
    if (this.connections.size === 0 && this.resolveClosed !== null) {
      const resolve = this.resolveClosed;
      this.resolveClosed = null;
      this.closedPromise = null;
      resolve();
    }
  }
}

function expireConnection(pool: PoolBase<PoolConnection>, conn: PoolConnection): void {
  pool.expire(conn);
}
