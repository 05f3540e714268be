// One downstream request as the connection manager runs it (Envoy's ActiveStream and its filter
// manager): it decodes the request from the codec, runs the decode hooks of the HTTP filters in
// order (the router last), runs the response back through the encode hooks to the codec, and
// ends the stream's stats and access log exactly once.
import type { CodecError, HeaderMap, RequestDecoder, RequestHeaders, ResponseEncoder, ResponseHeaders, StreamCallbacks, StreamResetReason } from '../codec/index.ts';
import type { HttpFilter, StreamWatcher, WatermarkCallbacks } from '../http-filter/index.ts';
import { StreamInfo } from '../access-log/index.ts';
import type { ClusterChoice, RouteMatchResult, RouteRequest, RouterStream } from '../router/index.ts';
import type { Socket } from 'node:net';
import type { HcmStats } from './hcm-stats.ts';
import { isGrpcRequest } from '../grpc/index.ts';
import { grpcLocalReplyHeaders } from './grpc-local-reply.ts';
import type { Span } from '../tracing/index.ts';
import { FilterState } from '../filter-state/index.ts';
import type { ConnectionFacts } from '../listener/index.ts';
import type { LiveEntry } from '../collections/live-list.ts';

/** What a stream needs of its connection manager (the HCM implements it). */
export interface StreamManager {
  readonly filters: readonly HttpFilter<HttpStream>[];
  readonly stats: HcmStats;
  readonly bufferLimitBytes: number;
  onRequestHeaders(stream: HttpStream): void;
  finishResponseHeaders(stream: HttpStream, response: ResponseHeaders): void;
  endStream(stream: HttpStream): void;
}

/** What a stream needs of its downstream connection. */
export interface StreamConnection {
  readonly hcm: StreamManager;
  readonly socket: Socket;
  /** 'ip:port' of the client, and where it was going (the original destination, if restored). */
  readonly remoteAddress: string;
  readonly localAddress: string;
  /** The connection's dynamic metadata (an internal connection's passthrough metadata). */
  readonly dynamicMetadata?: Readonly<Record<string, unknown>>;
  /** What the listener knew of the connection; its filterState is the connection's filter state. */
  readonly facts?: ConnectionFacts;
  onRequestComplete(stream: HttpStream): void;
  onStreamEnd(stream: HttpStream): void;
  /** A route's idle_timeout replaces the connection manager's stream_idle_timeout for this stream. */
  setStreamIdleTimeout(ms: number): void;
  /** Requests begun on the connection (max_requests_per_connection). */
  requestCount: number;
  /** No new requests: HTTP/1 closes after the current response, HTTP/2 says GOAWAY (its streams reset `timeoutMs` later, if given). */
  drain(timeoutMs?: number): void;
}

const EMPTY = Buffer.alloc(0);

export class HttpStream implements RequestDecoder, StreamCallbacks, RouterStream {
  readonly connection: StreamConnection;
  /** Its place in its HTTP/2 connection's streams (an HTTP/1 connection has one at a time). */
  connectionEntry: LiveEntry<HttpStream> | null = null;
  readonly encoder: ResponseEncoder;
  readonly info: StreamInfo;
  readonly startMs: number;
  head: RequestHeaders = EMPTY_HEAD;
  /** The request as route matching saw it (original path and authority). */
  request: RouteRequest = EMPTY_HEAD as unknown as RouteRequest;
  route: RouteMatchResult<StreamInfo> | null = null;
  /** The route's cluster for this request, picked once (weighted, or from a header) when the route matched. */
  cluster: ClusterChoice | undefined = undefined;
  trustedDownstream = false;
  /** Internal as Envoy judges it (XFF rule and internal_address_config): the rate limit filter's request_type. */
  internalRequest = false;
  /** 'websocket', 'connect', …: the request asks for an upgrade (or is a CONNECT). */
  upgradeType: string | undefined = undefined;
  /** The router's per-request state. */
  routerState: unknown = undefined;
  /** The request's span when its connection manager traces (tracing/). */
  activeSpan: Span | null = null;
  /** Set by Istio's istio.alpn filter: the upstream TLS connection's ALPN protocols. */
  upstreamAlpn: readonly string[] | undefined = undefined;

  /** The request was fully received (or the stream ended). */
  requestComplete = false;
  /** The response was fully encoded (or the stream ended). */
  responseComplete = false;
  /** The stream ended, completed or reset: nothing more happens on it. */
  ended = false;
  /** Legate, not the client, ended the stream early: counted as downstream_rq_tx_reset. */
  localReset = false;
  responseStarted = false;

  // The decode chain: the filter whose decodeHeaders stopped it, and what arrived meanwhile.
  private decodeIndex = 0;
  private decodeHeadersDone = false;
  private buffered: Buffer[] | null = null;
  private bufferedBytes = 0;
  private bufferedEnd = false;
  private bufferedTrailers: HeaderMap | null = null;
  private readDisabledForBuffer = false;
  private bufferLimitBytes: number | undefined = undefined;

  private watchers: StreamWatcher[] | null = null;
  private watermarkCallbacks: WatermarkCallbacks[] | null = null;
  private codecBackedUp = false;
  private filtersBackedUp = 0;
  private extraResponseHeaders: HeaderMap | null = null;
  private durationTimer: NodeJS.Timeout | undefined = undefined;

  constructor(connection: StreamConnection, encoder: ResponseEncoder) {
    this.connection = connection;
    this.encoder = encoder;
    this.startMs = performance.now();
    this.info = new StreamInfo(Date.now(), this.startMs);
    encoder.stream.setCallbacks(this);
  }

  get headers(): HeaderMap {
    return this.head.headers;
  }

  get filters(): readonly HttpFilter<HttpStream>[] {
    return this.connection.hcm.filters;
  }

  // ---- RequestDecoder: the codec delivers the request ----

  decodeHeaders(head: RequestHeaders, endStream: boolean): void {
    this.head = head;
    if (endStream) this.requestComplete = true;
    this.connection.hcm.onRequestHeaders(this);
    if (this.ended) return;
    this.runDecodeHeaders(0);
  }

  decodeData(data: Buffer, endStream: boolean): void {
    if (this.ended) return;
    this.info.bytesReceived += data.length;
    if (endStream) this.onRequestComplete();
    if (!this.decodeHeadersDone) {
      this.bufferData(data, endStream);
      return;
    }
    this.passData(data, endStream);
  }

  decodeTrailers(trailers: HeaderMap): void {
    if (this.ended) return;
    this.onRequestComplete();
    if (!this.decodeHeadersDone) {
      this.bufferedTrailers = trailers;
      this.notifyHoldingFilter();
      return;
    }
    this.passTrailers(trailers);
  }

  private onRequestComplete(): void {
    this.requestComplete = true;
    this.info.requestDurationMs = this.info.elapsedMs();
    this.connection.onRequestComplete(this);
    if (this.responseComplete) this.connection.hcm.endStream(this);
  }

  /** The codec could not parse the rest of the request: 400 (or 413/431) with DPE, then the connection closes. */
  onCodecError(error: CodecError): void {
    const stats = this.connection.hcm.stats;
    const timeout = error.status === 408;
    // A request head that never completed (request_headers_timeout) is a timeout, not a protocol error.
    if (timeout) stats.downstreamRqHeaderTimeout.inc();
    else stats.downstreamCxProtocolError.inc();
    if (this.ended) return;
    this.requestComplete = true;
    const body = timeout ? 'request header timeout' : error.status === 431 ? 'Request Header Fields Too Large' : 'Bad Request';
    this.sendLocalReply(error.status, body, timeout ? '' : 'DPE', error.details);
  }

  // ---- the decode chain ----

  private runDecodeHeaders(from: number): void {
    const filters = this.filters;
    for (let i = from; i < filters.length; i++) {
      const hook = filters[i].decodeHeaders;
      if (hook === undefined) continue;
      this.decodeIndex = i;
      if (hook.call(filters[i], this, this.requestComplete && this.buffered === null && this.bufferedTrailers === null) === 'stop' || this.ended) return;
    }
    this.decodeHeadersDone = true;
    this.flushBuffered();
  }

  continueDecoding(): void {
    if (this.ended || this.decodeHeadersDone) return;
    this.runDecodeHeaders(this.decodeIndex + 1);
  }

  private bufferData(data: Buffer, endStream: boolean): void {
    if (data.length > 0) {
      (this.buffered ??= []).push(data);
      this.bufferedBytes += data.length;
    }
    if (endStream) this.bufferedEnd = true;
    // Envoy's buffer limit: past it, stop reading the client until the filters go on.
    if (!this.readDisabledForBuffer && this.bufferedBytes > (this.bufferLimitBytes ?? this.connection.hcm.bufferLimitBytes)) {
      this.readDisabledForBuffer = true;
      this.encoder.stream.readDisable(true);
    }
    this.notifyHoldingFilter();
  }

  /** The filter holding the headers hears what is buffered (see HttpFilter.decodeBuffered). */
  private notifyHoldingFilter(): void {
    const filter = this.filters[this.decodeIndex];
    filter.decodeBuffered?.(this, this.buffered ?? [], this.bufferedBytes, this.bufferedEnd || this.bufferedTrailers !== null);
  }

  /** How much request data this stream buffers while a filter holds it (Envoy's setDecoderBufferLimit). */
  setDecoderBufferLimit(bytes: number): void {
    this.bufferLimitBytes = bytes;
  }

  private flushBuffered(): void {
    const chunks = this.buffered;
    if (chunks !== null) {
      this.buffered = null;
      for (let i = 0; i < chunks.length && !this.ended; i++) this.passData(chunks[i], this.bufferedEnd && i === chunks.length - 1 && this.bufferedTrailers === null);
    } else if (this.bufferedEnd && this.bufferedTrailers === null) {
      this.passData(EMPTY, true);
    }
    if (this.bufferedTrailers !== null && !this.ended) this.passTrailers(this.bufferedTrailers);
    this.bufferedTrailers = null;
    if (this.readDisabledForBuffer) {
      this.readDisabledForBuffer = false;
      this.encoder.stream.readDisable(false);
    }
  }

  /** Request data from `filter` on to the filters after it: what a decodeData hook that answered 'stop' sends instead. */
  injectDecodedData(filter: HttpFilter<HttpStream>, data: Buffer, endStream: boolean): void {
    if (!this.ended) this.passData(data, endStream, this.filters.indexOf(filter) + 1);
  }

  /** Request trailers a decodeTrailers hook held ('stop'), passed on from `filter`. */
  injectDecodedTrailers(filter: HttpFilter<HttpStream>, trailers: HeaderMap): void {
    if (!this.ended) this.passTrailers(trailers, this.filters.indexOf(filter) + 1);
  }

  private passData(data: Buffer, endStream: boolean, from = 0): void {
    const filters = this.filters;
    for (let i = from; i < filters.length; i++) {
      const hook = filters[i].decodeData;
      if (hook !== undefined && (hook.call(filters[i], this, data, endStream) === 'stop' || this.ended)) return;
    }
  }

  private passTrailers(trailers: HeaderMap, from = 0): void {
    const filters = this.filters;
    for (let i = from; i < filters.length; i++) {
      const hook = filters[i].decodeTrailers;
      if (hook !== undefined && (hook.call(filters[i], this, trailers) === 'stop' || this.ended)) return;
    }
  }

  // ---- the encode chain (the router, or a filter answering locally) ----

  encode1xxHeaders(headers: ResponseHeaders): void {
    if (!this.ended && !this.responseStarted) this.encoder.encode1xxHeaders(headers);
  }

  encodeHeaders(response: ResponseHeaders, endStream: boolean): void {
    if (this.ended || this.responseStarted) return;
    const filters = this.filters;
    for (let i = filters.length - 1; i >= 0; i--) filters[i].encodeHeaders?.(this, response, endStream);
    const extra = this.extraResponseHeaders;
    if (extra !== null) for (const name in extra) appendHeader(response.headers, name, extra[name]!);
    this.connection.hcm.finishResponseHeaders(this, response);
    this.responseStarted = true;
    this.info.responseCode = response.status;
    this.info.responseHeaders = response.headers;
    this.encoder.encodeHeaders(response, endStream);
    if (endStream) this.onResponseComplete();
  }

  encodeData(data: Buffer, endStream: boolean): void {
    if (!this.ended) this.runEncodeData(this.filters.length - 1, data, endStream);
  }

  encodeTrailers(trailers: HeaderMap): void {
    if (!this.ended) this.runEncodeTrailers(this.filters.length - 1, trailers);
  }

  /**
   * Response data from `filter` on towards the codec, past the filters before it (Envoy's
   * injectEncodedDataToFilterChain): what a filter whose encodeData answered 'stop' sends instead.
   */
  injectEncodedData(filter: HttpFilter<HttpStream>, data: Buffer, endStream: boolean): void {
    if (!this.ended) this.runEncodeData(this.filters.indexOf(filter) - 1, data, endStream);
  }

  /** Trailers an encodeTrailers hook held ('stop'), passed on from `filter`. */
  injectEncodedTrailers(filter: HttpFilter<HttpStream>, trailers: HeaderMap): void {
    if (!this.ended) this.runEncodeTrailers(this.filters.indexOf(filter) - 1, trailers);
  }

  // A hook that answers 'stop' took the data (or trailers): it injects what replaces them later.
  private runEncodeData(from: number, data: Buffer, endStream: boolean): void {
    const filters = this.filters;
    for (let i = from; i >= 0; i--) {
      const hook = filters[i].encodeData;
      if (hook !== undefined && (hook.call(filters[i], this, data, endStream) === 'stop' || this.ended)) return;
    }
    this.info.bytesSent += data.length;
    this.encoder.encodeData(data, endStream);
    if (endStream) this.onResponseComplete();
  }

  private runEncodeTrailers(from: number, trailers: HeaderMap): void {
    const filters = this.filters;
    for (let i = from; i >= 0; i--) {
      const hook = filters[i].encodeTrailers;
      if (hook !== undefined && (hook.call(filters[i], this, trailers) === 'stop' || this.ended)) return;
    }
    this.info.responseTrailers = trailers;
    this.encoder.encodeTrailers(trailers);
    this.onResponseComplete();
  }

  appendResponseHeader(name: string, value: string | string[]): void {
    appendHeader((this.extraResponseHeaders ??= {}), name, value);
  }

  /**
   * A local answer (Envoy's sendLocalReply): a plain-text body, a trailers-only answer to a gRPC
   * request (grpcStatus, else the status mapped), or a reset once the response started.
   */
  sendLocalReply(status: number, body: string, flag: string, details: string, headers?: HeaderMap, grpcStatus?: number): void {
    if (this.ended) return;
    if (flag !== '') this.info.setResponseFlag(flag);
    this.info.responseCodeDetails = details;
    if (this.responseStarted) {
      this.resetStream();
      return;
    }
    const head = this.head;
    const grpc = isGrpcRequest(head);
    const out: HeaderMap = grpc ? grpcLocalReplyHeaders(status, body, grpcStatus, headers, head.method === 'HEAD') : headers === undefined ? {} : { ...headers };
    // An answer before the whole request: the codec closes the connection after it, so say so.
    if (!this.requestComplete && this.tunnelEstablished() === false) out.connection = 'close';
    if (grpc) {
      this.encodeHeaders({ status: 200, headers: out }, true);
      return;
    }
    const bytes = body === '' ? EMPTY : Buffer.from(body);
    if (bytes.length > 0) out['content-type'] ??= 'text/plain';
    out['content-length'] = String(bytes.length);
    if (head.method === 'HEAD' || bytes.length === 0) this.encodeHeaders({ status, headers: out }, true);
    else {
      this.encodeHeaders({ status, headers: out, noTrailers: true }, false);
      this.encodeData(bytes, true);
    }
  }

  private onResponseComplete(): void {
    this.responseComplete = true;
    // A tunnel whose upstream half-closed still carries the client's bytes until it ends too.
    if (!this.requestComplete && this.tunnelEstablished()) return;
    this.connection.hcm.endStream(this);
  }

  // ---- the stream's lifetime ----

  /** The upgrade was accepted (101, or a 2xx to a CONNECT): bytes flow both ways until both sides end. */
  private tunnelEstablished(): boolean {
    const status = this.info.responseCode;
    return status === 101 ? this.upgradeType !== undefined : this.upgradeType === 'connect' && status >= 200 && status < 300;
  }

  readDisable(disable: boolean): void {
    if (!this.ended) this.encoder.stream.readDisable(disable);
  }

  /** Legate resets the stream (counted as downstream_rq_tx_reset); HTTP/1 closes the connection. */
  resetStream(): void {
    if (this.ended) return;
    this.localReset = true;
    this.encoder.stream.resetStream('local-reset');
    this.connection.hcm.endStream(this);
  }

  onDestroy(watcher: StreamWatcher): void {
    (this.watchers ??= []).push(watcher);
  }

  addWatermarkCallbacks(callbacks: WatermarkCallbacks): void {
    (this.watermarkCallbacks ??= []).push(callbacks);
  }

  /** Runs the stream's watchers once, when it ends for any reason. */
  destroy(): void {
    if (this.durationTimer !== undefined) clearTimeout(this.durationTimer);
    const watchers = this.watchers;
    this.watchers = null;
    if (watchers !== null) for (const w of watchers) w.onStreamDestroy();
  }

  /** max_stream_duration: one timer, only when configured. */
  armDurationTimer(ms: number, onExpire: () => void): void {
    this.durationTimer = setTimeout(onExpire, ms);
  }

  /**
   * The stream's own filter state, made on first use with the connection's (made then too, if
   * need be) as its parent; until then info.filterState is the connection's, if it has one.
   */
  ownFilterState(): FilterState {
    const current = this.info.filterState;
    if (current !== undefined && current.parent !== undefined) return current;
    const facts = this.connection.facts;
    const parent = facts === undefined ? new FilterState() : (facts.filterState ??= new FilterState());
    return (this.info.filterState = new FilterState(parent));
  }

  dynamicMetadata(): ReadonlyArray<Readonly<Record<string, unknown>> | undefined> {
    return [this.info.dynamicMetadata, this.connection.dynamicMetadata];
  }

  hashKey(): number | undefined {
    const route = this.route?.route;
    if (route == null || route.model.action.kind !== 'route' || route.model.action.hashPolicy.length === 0) return undefined;
    const computed = route.hash(this.request, this.connection.socket);
    if (computed?.setCookies !== undefined) this.appendResponseHeader('set-cookie', computed.setCookies);
    return computed?.hash;
  }

  // ---- StreamCallbacks: the codec's news about the downstream stream ----

  onResetStream(_reason: StreamResetReason, _details: string): void {
    if (this.ended) return;
    this.connection.hcm.endStream(this);
  }

  onAboveWriteBufferHighWatermark(): void {
    if (this.codecBackedUp) return;
    this.codecBackedUp = true;
    if (this.filtersBackedUp === 0) this.notifyWatermark(true);
  }

  onBelowWriteBufferLowWatermark(): void {
    if (!this.codecBackedUp) return;
    this.codecBackedUp = false;
    if (this.filtersBackedUp === 0) this.notifyWatermark(false);
  }

  // An encode filter holding more response than it should (e.g. a compressor behind): the
  // watermark callbacks see one backed-up downstream, whoever of the codec and filters holds it.
  onEncoderFilterAboveWriteBufferHighWatermark(): void {
    this.filtersBackedUp++;
    if (this.filtersBackedUp === 1 && !this.codecBackedUp) this.notifyWatermark(true);
  }

  onEncoderFilterBelowWriteBufferLowWatermark(): void {
    if (this.filtersBackedUp === 0) return;
    this.filtersBackedUp--;
    if (this.filtersBackedUp === 0 && !this.codecBackedUp) this.notifyWatermark(false);
  }

  private notifyWatermark(above: boolean): void {
    const list = this.watermarkCallbacks;
    if (list === null) return;
    for (const cb of list) {
      if (above) cb.onAboveWriteBufferHighWatermark();
      else cb.onBelowWriteBufferLowWatermark();
    }
  }
}

const EMPTY_HEAD: RequestHeaders = { method: 'GET', path: '/', scheme: 'http', protocol: 'HTTP/1.1', headers: {} };

function appendHeader(headers: HeaderMap, name: string, value: string | string[]): void {
  const current = headers[name];
  if (current === undefined) headers[name] = value;
  else headers[name] = ([] as string[]).concat(current, value);
}
