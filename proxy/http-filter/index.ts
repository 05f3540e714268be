// The HTTP filter contract, as Envoy's envoy/http/filter.h: what a filter implements (decode hooks
// for the request, encode hooks for the response) and what it may do with the stream it runs on.
// The connection manager (http/) runs the chain; the router (router/) is its last filter. This
// folder holds types only, so both can import it without importing each other.
import type { HeaderMap, RequestHeaders, ResponseHeaders } from '../codec/index.ts';
import type { StreamInfo } from '../access-log/index.ts';

/**
 * A hook's answer: 'continue' passes the call to the next filter; 'stop' holds it (the filter
 * calls continueDecoding/continueEncoding later, or answers locally). Data arriving while the
 * headers are held is buffered by the connection manager, up to the buffer limit.
 */
export type FilterStatus = 'continue' | 'stop';

/** What a filter may do with its stream (Envoy's StreamDecoderFilterCallbacks and StreamEncoderFilterCallbacks). */
export interface FilterStream {
  /** The request head as it will go upstream; filters mutate its headers and path in place. */
  readonly head: RequestHeaders;
  readonly info: StreamInfo;
  /** Requests from an internal peer (Envoy's XFF rule) may use x-envoy-* control headers. */
  readonly trustedDownstream: boolean;
  /** performance.now() when the stream began. */
  readonly startMs: number;
  /** Resumes the decode chain after a hook returned 'stop'. */
  continueDecoding(): void;
  /**
   * Answers locally (status, a plain-text body), or resets when the response already started. A
   * gRPC request gets a trailers-only answer whose grpc-status is grpcStatus, else the status mapped.
   */
  sendLocalReply(status: number, body: string, flag: string, details: string, headers?: HeaderMap, grpcStatus?: number): void;
  /** The response from the router (or a filter): runs the encode chain, then the codec. */
  encodeHeaders(headers: ResponseHeaders, endStream: boolean): void;
  encodeData(data: Buffer, endStream: boolean): void;
  encodeTrailers(trailers: HeaderMap): void;
  encode1xxHeaders(headers: ResponseHeaders): void;
  /** Whether response headers went out. */
  readonly responseStarted: boolean;
  /** Headers added to the response when it is encoded (e.g. x-ratelimit-*, a hash policy's set-cookie). */
  appendResponseHeader(name: string, value: string | string[]): void;
  /** Stops or resumes reading the downstream request body (nests). */
  readDisable(disable: boolean): void;
  /** Legate ends the stream: a reset towards the client (downstream_rq_tx_reset). */
  resetStream(): void;
  /**
   * Called once when the stream ends before completing (client gone, timeout, local reset);
   * the watcher releases what it holds. Several watchers may register.
   */
  onDestroy(watcher: StreamWatcher): void;
  /** The downstream's write queue: the router pauses its upstream when it is full. */
  addWatermarkCallbacks(callbacks: WatermarkCallbacks): void;
}

export interface StreamWatcher {
  onStreamDestroy(): void;
}

export interface WatermarkCallbacks {
  onAboveWriteBufferHighWatermark(): void;
  onBelowWriteBufferLowWatermark(): void;
}

/** A filter instance is shared by every stream of its connection manager; per-stream state lives with the stream. */
export interface HttpFilter<S extends FilterStream = FilterStream> {
  decodeHeaders?(stream: S, endStream: boolean): FilterStatus;
  decodeData?(stream: S, data: Buffer, endStream: boolean): FilterStatus;
  decodeTrailers?(stream: S, trailers: HeaderMap): FilterStatus;
  /**
   * Request data arriving while this filter's decodeHeaders holds the stream ('stop'): the
   * connection manager buffers it and tells the holding filter what it holds so far, and when the
   * request ended (endStream; trailers end it too). Envoy's decodeData answering
   * StopIterationAndBuffer, for a filter that must see the body before it lets the headers on.
   */
  decodeBuffered?(stream: S, buffered: readonly Buffer[], bytes: number, endStream: boolean): void;
  encodeHeaders?(stream: S, headers: ResponseHeaders, endStream: boolean): FilterStatus;
  /** 'stop' takes the data: the filter passes on what replaces it (the connection manager's injectEncodedData). */
  encodeData?(stream: S, data: Buffer, endStream: boolean): FilterStatus;
  encodeTrailers?(stream: S, trailers: HeaderMap): FilterStatus;
  /**
   * The stream is over, completed or reset (Envoy's access log hook on a filter): its StreamInfo is
   * final. Called once, before the access logs are written.
   */
  onStreamComplete?(stream: S): void;
}
