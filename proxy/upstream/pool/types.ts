// Connection pools, in the shape of Envoy's envoy/http/conn_pool.h and tcp/conn_pool.h: a caller
// asks for a stream (HTTP) or a connection (TCP) and is called back once with it or with why not.
// One pool per upstream host and protocol; circuit breakers (per cluster) are checked here.
import type { Socket } from 'node:net';
import type { RequestEncoder, ResponseDecoder } from '../../codec/index.ts';

/** Why the pool could not give a stream or connection (Envoy's ConnectionPool::PoolFailureReason). */
export type PoolFailureReason =
  | 'overflow' // max_pending_requests or max_requests: 503 UO, upstream_rq_pending_overflow
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
  /** Whether a connection is free now (the breaker's pending check asks). */
  hasFreeConnection(): boolean;
  /** No new streams; idle connections close now, busy ones after their stream; queued requests fail. */
  drain(): void;
  /** Resolves once every connection of the pool closed. */
  closed(): Promise<void>;
}

export interface TcpPoolCallbacks {
  onPoolReady(socket: Socket): void;
  onPoolFailure(reason: PoolFailureReason, details: string): void;
}
