// Connection pools, in the shape of Envoy's envoy/http/conn_pool.h and tcp/conn_pool.h: a caller
// asks for a stream (HTTP) or a connection (TCP) and is called back once with it or with why not.
// One pool per upstream host and protocol. The pool checks max_pending_requests and max_connections
// (per cluster); the router checks max_requests before it asks. See README.md.
import type { Socket } from 'node:net';
import type { ClientConnection, ClientConnectionCallbacks, RequestEncoder, ResponseDecoder } from '../../codec/index.ts';

/**
 * Makes the client codec on a connected socket (production: Http1ClientConnection; tests: a
 * fake). The codec owns the socket from then on (the pool only reads its byte counts and uses its
 * inactivity timeout for idle_timeout). The pool never starts a stream from inside a codec callback.
 */
export type ClientCodecFactory = (socket: Socket, callbacks: ClientConnectionCallbacks) => ClientConnection;

/** Why the pool could not give a stream or connection (Envoy's ConnectionPool::PoolFailureReason). */
export type PoolFailureReason =
  | 'overflow' // max_pending_requests: 503 UO, upstream_rq_pending_overflow
  | 'connection-failure' // the connection was refused or reset while connecting: UF
  | 'timeout' // connect_timeout: UF with upstream_cx_connect_timeout
  | 'local-connection-failure'; // the pool was drained or closed while the request waited

/** A request waiting in the pool; cancel() takes it out (the callbacks are never called after). */
export interface Cancellable {
  cancel(): void;
}

export interface HttpPoolCallbacks {
  /**
   * A connection took the stream: encode the request on `encoder`. `reused` is true when the
   * connection served an earlier request (the caller may resend once on a fresh connection if it
   * closes before any response byte, as Envoy does).
   */
  onPoolReady(encoder: RequestEncoder, reused: boolean): void;
  onPoolFailure(reason: PoolFailureReason, details: string): void;
}

export interface NewStreamOptions {
  /** Never a reused connection (the resend after a keep-alive race). */
  freshConnection?: boolean;
}

export interface HttpConnectionPool {
  /**
   * Asks for a stream whose response goes to `decoder`. Calls back at once when a connection is
   * free or a limit says no (then returns null), else queues and returns the handle to cancel.
   */
  newStream(decoder: ResponseDecoder, callbacks: HttpPoolCallbacks, options?: NewStreamOptions): Cancellable | null;
  /** Whether an idle connection would take a stream now. */
  hasFreeConnection(): boolean;
  /** No new streams; idle connections close now, busy ones after their stream; queued requests fail. */
  drain(): void;
  /** Resolves once every connection of the pool closed. */
  closed(): Promise<void>;
}
