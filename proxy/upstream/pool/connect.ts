// The one place that opens a connection to an upstream host (TCP, a Unix socket, or an internal
// listener of this worker for an envoy_internal_address endpoint), for the HTTP pools, the TCP
// proxy and HTTP upgrades. It applies the cluster's connect_timeout (an exact timer: a sidecar
// retrying on another instance waits no longer than configured), upstream_bind_config and
// TCP_NODELAY, and keeps the connection counts Envoy keeps for every upstream connection: the
// cluster's upstream_cx_total/active/destroy/connect_fail/connect_timeout, the host's
// cx_total/cx_active/cx_connect_fail, the circuit breaker's open connections, and the outlier
// detector's local-origin results. Bytes are the caller's to count (a relay counts as it goes, a
// pool at close). A cluster with TLS gets its handshake here too: onConnect hears of the TLSSocket
// once the server is verified, and a failed handshake is a connect failure whose details are the
// TLS error ("TLS_error:|CERTIFICATE_VERIFY_FAILED: ...").
import net, { type Socket } from 'node:net';
import type { Cluster } from '../../config/model.ts';
import type { SharedObject } from '../../filter-state/index.ts';
import { internalListeners, setWriteBufferLimit, type UpstreamTls, type UpstreamTlsOptions } from '../../transport/index.ts';
import type { CircuitBreaker } from '../circuit-breaker.ts';
import type { ClusterStats } from '../cluster-stats.ts';
import type { Host } from '../host.ts';
import type { OutlierDetector } from '../outlier.ts';
import { passthroughMetadata } from '../internal-passthrough.ts';

/** What connecting and pooling need of a cluster (an UpstreamCluster has all of it). */
export interface PoolCluster {
  readonly config: Cluster;
  readonly stats: ClusterStats;
  readonly breaker: CircuitBreaker;
  readonly outlier: OutlierDetector | null;
  /** The cluster's TLS origination (transport_socket envoy.transport_sockets.tls), if any. */
  readonly tls?: UpstreamTls | null;
  /** The host's transport when the cluster has transport_socket_matches (else `tls`). */
  tlsFor?(host: Host): UpstreamTls | null;
}

export type ConnectFailureReason = 'connection-failure' | 'timeout';

/** Told exactly once, unless the attempt is cancelled first (then never). */
export interface ConnectCallbacks {
  onConnect(socket: Socket): void;
  /** The socket is already destroyed. `details` is the transport failure reason for the access log. */
  onConnectFailure(reason: ConnectFailureReason, details: string): void;
}

/** How a socket is opened: net.connect, or a test's stand-in. */
export type OpenSocket = (options: net.TcpNetConnectOpts) => Socket;

export interface ConnectOptions {
  /** Keep our write side open when the upstream sends FIN (the TCP proxy relays half-closes). */
  allowHalfOpen?: boolean;
  openSocket?: OpenSocket;
  /** SNI and SAN from the request (auto_sni, auto_san_validation) for a TLS cluster. */
  tlsOptions?: UpstreamTlsOptions;
  /** The transport to use instead of the cluster's (a pool of a transport_socket_matches entry); null = plain. */
  tls?: UpstreamTls | null;
  /** Filter state objects the downstream shares: an internal listener's connection starts with them. */
  sharedFilterState?: readonly SharedObject[];
}

/** A connection being made; cancel() gives it up without a callback and without a failure count. */
export class ConnectAttempt {
  readonly socket: Socket;
  private readonly cluster: PoolCluster;
  private readonly host: Host;
  private readonly tlsOptions: UpstreamTlsOptions | undefined;
  private readonly tls: UpstreamTls | null | undefined;
  private callbacks: ConnectCallbacks | null;
  private timer: NodeJS.Timeout | undefined;

  constructor(cluster: PoolCluster, host: Host, callbacks: ConnectCallbacks, options: ConnectOptions | undefined) {
    this.cluster = cluster;
    this.host = host;
    this.tlsOptions = options?.tlsOptions;
    this.tls = options?.tls;
    this.callbacks = callbacks;
    const open = options?.openSocket ?? net.connect;
    const allowHalfOpen = options?.allowHalfOpen ?? false;
    const socket = host.internal !== undefined
      ? internalListeners.connect(host.internal, allowHalfOpen, passthroughMetadata(cluster.config, host), options?.sharedFilterState)
      : host.pipe
        ? net.connect({ path: unixSocketPath(host.ip), allowHalfOpen })
        : open({ host: host.ip, port: host.port, localAddress: cluster.config.upstreamBindAddress, noDelay: true, allowHalfOpen });
    this.socket = socket;
    const stats = cluster.stats;
    stats.upstreamCxTotal.inc();
    stats.upstreamCxActive.add(1);
    host.stats.cxTotal++;
    host.stats.cxActive++;
    cluster.breaker.connectionOpened();
    // Registered first, so the counts are released before any later 'close' listener runs (a
    // pool making a replacement connection sees the breaker's slot free).
    socket.once('close', () => {
      stats.upstreamCxActive.sub(1);
      stats.upstreamCxDestroy.inc();
      host.stats.cxActive--;
      cluster.breaker.connectionClosed();
    });
    socket.on('error', this.onError);
    socket.once('connect', this.onConnected);
    this.timer = setTimeout(this.onTimeout, cluster.config.connectTimeoutMs);
  }

  /** Gives the attempt up (the pool drained, the downstream left): destroys the socket, tells no one. */
  cancel(): void {
    if (this.callbacks === null) return;
    this.callbacks = null;
    this.settle();
    this.socket.destroy();
  }

  private settle(): void {
    clearTimeout(this.timer);
    this.socket.off('connect', this.onConnected);
  }

  private readonly onConnected = (): void => {
    if (this.callbacks === null) return;
    const cluster = this.cluster;
    const tls = this.tls !== undefined ? this.tls : cluster.tlsFor !== undefined ? cluster.tlsFor(this.host) : cluster.tls;
    if (tls !== undefined && tls !== null) {
      // The connect timeout keeps running: it covers the handshake, as Envoy's does.
      this.socket.off('connect', this.onConnected);
      tls.connect(this.socket, {
        onSecure: (secure) => this.connected(secure),
        onFailure: (reason) => {
          if (this.callbacks !== null) this.fail('connection-failure', reason);
        },
      }, this.tlsOptions);
      return;
    }
    this.connected(this.socket);
  };

  private connected(socket: Socket): void {
    const callbacks = this.callbacks;
    if (callbacks === null) return;
    this.callbacks = null;
    this.settle();
    // The owner of the connected socket handles its errors from here on.
    this.socket.off('error', this.onError);
    this.cluster.outlier?.putLocalOrigin(this.host.address, 'connect-success');
    setWriteBufferLimit(socket, this.cluster.config.perConnectionBufferLimitBytes);
    callbacks.onConnect(socket);
  }

  private readonly onError = (err: NodeJS.ErrnoException): void => {
    // After a cancel or a timeout the destroyed socket may still report the aborted connect.
    if (this.callbacks === null) return;
    this.fail('connection-failure', err.message);
  };

  private readonly onTimeout = (): void => {
    this.cluster.stats.upstreamCxConnectTimeout.inc();
    this.fail('timeout', 'connect timeout');
  };

  private fail(reason: ConnectFailureReason, details: string): void {
    const callbacks = this.callbacks!;
    this.callbacks = null;
    this.settle();
    const { cluster, host } = this;
    cluster.stats.upstreamCxConnectFail.inc();
    host.stats.cxConnectFail++;
    cluster.outlier?.putLocalOrigin(host.address, reason === 'timeout' ? 'timeout' : 'connect-failed');
    this.socket.destroy();
    callbacks.onConnectFailure(reason, details);
  }
}

/** Opens a connection to `host`; `callbacks` hears once whether it connected. */
export function connect(cluster: PoolCluster, host: Host, callbacks: ConnectCallbacks, options?: ConnectOptions): ConnectAttempt {
  return new ConnectAttempt(cluster, host, callbacks, options);
}

/** Envoy writes an abstract Unix socket as '@name'; node as a leading NUL byte. */
export function unixSocketPath(path: string): string {
  return path.startsWith('@') ? `\0${path.slice(1)}` : path;
}
