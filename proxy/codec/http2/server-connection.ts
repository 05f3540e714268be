// HTTP/2 downstream connections on node:http2's core API: performServerHandshake puts a server
// session on a socket the listener already accepted (plain or TLS), and each peer stream becomes
// one codec stream. nghttp2 does the framing, HPACK, flow control and its own flood protection;
// this file maps its events onto the codec interfaces and counts what Envoy counts under http2.*.
import type { Socket } from 'node:net';
import { createRequire } from 'node:module';
import type { Http2Session, OutgoingHttpHeaders, ServerHttp2Session, ServerHttp2Stream } from 'node:http2';
import type {
  Protocol,
  RequestDecoder,
  ResponseEncoder,
  ResponseHeaders,
  ServerConnection,
  ServerConnectionCallbacks,
  HeaderMap,
  Stream,
  StreamCallbacks,
  StreamResetReason,
} from '../types.ts';
import { applyUnderscorePolicy, type UnderscorePolicy } from '../header-underscores.ts';
import { setWriteBufferLimit } from '../../transport/index.ts';
import { http2ResponseHeaderList, http2ResponseHeaders, http2Trailers, requestFromHttp2, trailersFromHttp2, withoutHeader } from './headers.ts';
import { LiveList, type LiveEntry } from '../../collections/live-list.ts';

interface Counter {
  inc(): void;
}

/** Envoy's http2.* codec counters the connection can observe. */
export interface Http2CodecStats {
  rxReset: Counter; // RST_STREAM received
  txReset: Counter; // RST_STREAM sent
  goawaySent: Counter;
  keepaliveTimeout: Counter; // no PING ACK within connection_keepalive.timeout
  outboundControlFlood: Counter; // nghttp2 closed a peer whose ACKs (PING, SETTINGS) piled up unread
  protocolError: Counter; // nghttp2 closed the connection for a protocol error (a reset flood among them)
  headerOverflow?: Counter; // a request's header list over max_request_headers_kb: its stream was reset
  txFlushTimeout?: Counter; // an ended response still buffered at the stream idle timeout: reset
}

export interface Http2ServerOptions {
  scheme: 'http' | 'https';
  /** Envoy's max_request_headers_kb (60) and max_headers_count (100). */
  maxRequestHeadersKb: number;
  maxHeadersCount: number;
  hpackTableSize: number;
  maxConcurrentStreams: number;
  initialStreamWindowSize: number;
  initialConnectionWindowSize: number;
  allowConnect: boolean;
  keepalive?: { intervalMs: number; timeoutMs: number };
  stats: Http2CodecStats;
  /** headers_with_underscores_action (absent: ALLOW). */
  underscores?: UnderscorePolicy;
  /** per_connection_buffer_limit_bytes: a stream's write watermark (absent: node's default). */
  streamBufferLimitBytes?: number;
}

const EMPTY = Buffer.alloc(0);
/** nghttp2's NGHTTP2_ERR_FLOODED: its outbound ACK queue hit the limit (PING or SETTINGS flood). */
const NGHTTP2_ERR_FLOODED = -904;
type NodeHttp2 = typeof import('node:http2');
let loaded: NodeHttp2 | undefined;

// node:http2 (and the node:tls it loads) is required by the first HTTP/2 connection: a worker that
// serves none never pays for it (~10 MB of RSS).
function nodeHttp2(): NodeHttp2 {
  loaded ??= createRequire(import.meta.url)('node:http2') as NodeHttp2;
  return loaded;
}

// RFC 9113's codes, as node:http2's constants name them.
const constants = { NGHTTP2_NO_ERROR: 0, NGHTTP2_INTERNAL_ERROR: 2, NGHTTP2_REFUSED_STREAM: 7 } as const;
const END_STREAM = 0x1; // NGHTTP2_FLAG_END_STREAM

function ignoreError(): void {}

// Works around an abort in node (24.21): ~Http2Session's CHECK(current_nghttp2_memory_ == 0).
// A stream node destroys leaves its session's stream map at once but is deleted only by a
// SetImmediate, and until then it keeps any header block it was receiving (trailers still
// waiting for END_HEADERS, a block nghttp2 refused): nghttp2 rcbufs counted against its
// session. Destroying the session drops the only reference node keeps to the native session,
// so a GC in between (any allocation in the check phase before that immediate: a cancelled
// write's callback, another session's stream closing) finalizes the session first and the
// count is not zero. Each native session is held here until a JS immediate queued at its
// 'close', which runs after the native immediates: by the 'close' listener while the session is
// reachable, then as the immediate's argument (no shared collection: a Set's table churns).
/** node's private Symbol('kHandle') under which a session keeps its native object. */
let kHandle: symbol | null | undefined;

function holdNativeSession(session: Http2Session): void {
  kHandle ??= Object.getOwnPropertySymbols(session).find((s) => s.description === 'kHandle') ?? null;
  const native = kHandle === null ? undefined : (session as unknown as Record<symbol, unknown>)[kHandle];
  if (typeof native !== 'object' || native === null) return;
  session.once('close', () => setImmediate(letGo, native));
}

function letGo(_native: object): void {}

const kOwner = Symbol('legate.http2.stream');
type OwnedStream = ServerHttp2Stream & { [kOwner]: Http2ServerStream };

function endWritten(h2: ServerHttp2Stream): void {
  if (!h2.destroyed && !h2.writableEnded) h2.end();
}
function onH2Close(this: OwnedStream): void {
  this[kOwner].onClose();
}
function onH2WantTrailers(this: OwnedStream): void {
  this[kOwner].sendTrailers();
}
function onH2Drain(this: OwnedStream): void {
  this[kOwner].onWritable();
}
function onH2Trailers(this: OwnedStream, _t: unknown, _f: number, raw: string[]): void {
  this[kOwner].onRequestTrailers(raw);
}
function onH2Data(this: OwnedStream, chunk: Buffer): void {
  this[kOwner].onRequestData(chunk);
}
function onH2End(this: OwnedStream): void {
  this[kOwner].onRequestEnd();
}

/** Envoy's HeaderMap byteSize: the names and values, pseudo-headers included. */
function headerListBytes(raw: readonly string[]): number {
  let bytes = 0;
  for (let i = 0; i < raw.length; i++) bytes += raw[i].length;
  return bytes;
}

/** Envoy's reasonToReset: refused streams say so, everything else is NO_ERROR. */
function resetCode(reason: StreamResetReason): number {
  return reason === 'refused-stream' ? constants.NGHTTP2_REFUSED_STREAM : constants.NGHTTP2_NO_ERROR;
}

export class Http2ServerConnection implements ServerConnection {
  readonly protocol: Protocol = 'HTTP/2';
  readonly session: ServerHttp2Session;
  readonly callbacks: ServerConnectionCallbacks;
  readonly options: Http2ServerOptions;
  readonly localAddress: string;
  readonly remoteAddress: string;
  readonly streams = new LiveList<Http2ServerStream>();
  /** A stream was ever started (request_headers_timeout closes a connection that never sent one). */
  private started = false;
  private draining = false;
  private drainTimer: NodeJS.Timeout | undefined = undefined;
  private keepaliveTimer: NodeJS.Timeout | undefined = undefined;
  private idleSweep: NodeJS.Timeout | undefined = undefined;
  private idleSweepMs = 0;

  constructor(socket: Socket, callbacks: ServerConnectionCallbacks, options: Http2ServerOptions) {
    this.callbacks = callbacks;
    this.options = options;
    this.localAddress = `${socket.localAddress}:${socket.localPort}`;
    this.remoteAddress = `${socket.remoteAddress}:${socket.remotePort}`;
    // A server TLSSocket made without a tls.Server (transport/) never clears secureConnecting,
    // and node's session would wait for a 'secureConnect' that never comes: the handshake is done.
    const tlsSocket = socket as Socket & { secureConnecting?: boolean };
    if (tlsSocket.secureConnecting === true) tlsSocket.secureConnecting = false;
    this.session = nodeHttp2().performServerHandshake(socket, {
      settings: {
        headerTableSize: options.hpackTableSize,
        maxConcurrentStreams: options.maxConcurrentStreams,
        initialWindowSize: options.initialStreamWindowSize,
        maxHeaderListSize: options.maxRequestHeadersKb * 1024,
        enableConnectProtocol: options.allowConnect,
        enablePush: false,
      },
      maxHeaderListPairs: options.maxHeadersCount + 4, // node counts the pseudo-headers too
      maxSendHeaderBlockLength: 2 ** 24,
    });
    const session = this.session;
    holdNativeSession(session);
    session.on('stream', (stream: ServerHttp2Stream, _h: unknown, flags: number, raw: string[]) => this.onStream(stream, flags, raw));
    session.on('error', (err: NodeJS.ErrnoException) => this.onSessionError(err)); // 'close' follows
    session.on('close', () => this.onClose());
    session.on('frameError', () => undefined);
    session.once('localSettings', () => {
      // The connection window is not a SETTING: a WINDOW_UPDATE on stream 0 opens it.
      if (options.initialConnectionWindowSize > 65535) session.setLocalWindowSize(options.initialConnectionWindowSize);
    });
    if (options.keepalive !== undefined && options.keepalive.intervalMs > 0) this.startKeepalive(options.keepalive.intervalMs, options.keepalive.timeoutMs);
  }

  private onStream(h2: ServerHttp2Stream, flags: number, raw: string[]): void {
    this.started = true;
    if (this.draining) {
      h2.on('error', ignoreError); // node turns our non-zero RST_STREAM code into a stream error
      h2.close(constants.NGHTTP2_REFUSED_STREAM);
      return;
    }
    // SETTINGS_MAX_HEADER_LIST_SIZE only advises the peer: the limit is checked here, as Envoy's
    // codec does, and a header list past it resets the stream.
    if (headerListBytes(raw) > this.options.maxRequestHeadersKb * 1024) {
      this.options.stats.headerOverflow?.inc();
      this.refuseStream(h2);
      return;
    }
    const allowed = applyUnderscorePolicy(this.options.underscores, raw);
    if (allowed === null) {
      this.refuseStream(h2);
      return;
    }
    if (this.options.streamBufferLimitBytes !== undefined) setWriteBufferLimit(h2, this.options.streamBufferLimitBytes);
    const stream = new Http2ServerStream(this, h2);
    stream.entry = this.streams.add(stream);
    const head = requestFromHttp2(allowed, this.options.scheme);
    stream.extendedConnect = head.headers.upgrade !== undefined && raw.includes(':protocol');
    stream.decoder = this.callbacks.newStream(stream);
    const endStream = (flags & END_STREAM) !== 0;
    stream.remoteComplete = endStream;
    stream.listen();
    stream.decoder.decodeHeaders(head, endStream);
  }

  /** Envoy's codec fails the header callback: nghttp2 resets the stream with INTERNAL_ERROR. */
  private refuseStream(h2: ServerHttp2Stream): void {
    h2.on('error', ignoreError);
    this.options.stats.txReset.inc();
    h2.close(constants.NGHTTP2_INTERNAL_ERROR);
  }

  /**
   * GOAWAY: streams in flight finish, new ones are refused; the session closes when the last ends,
   * or `timeoutMs` later with what is left reset. (Envoy first sends a shutdown notice and the
   * final GOAWAY drain_timeout later; node:http2 cannot send the notice, since a GOAWAY it submits
   * makes nghttp2 ignore every later stream, so the final GOAWAY goes at once.)
   */
  drain(timeoutMs = 0): void {
    if (this.draining || this.session.destroyed) return;
    this.draining = true;
    this.options.stats.goawaySent.inc();
    this.session.close();
    if (timeoutMs > 0 && !this.session.destroyed) {
      this.drainTimer = setTimeout(() => this.session.destroy(), timeoutMs);
      this.drainTimer.unref();
    }
  }

  /** Envoy answers 408 only on HTTP/1: an HTTP/2 connection that never started a stream is closed. */
  expireRequestHeaders(): void {
    if (!this.started) this.close();
  }

  close(): void {
    if (this.session.destroyed) return;
    if (!this.session.closed) this.options.stats.goawaySent.inc();
    this.session.destroy();
  }

  /** nghttp2's own verdicts are counted; socket errors (a reset connection) are not protocol errors. */
  private onSessionError(err: NodeJS.ErrnoException): void {
    if (err.code !== 'ERR_HTTP2_ERROR') return;
    if (err.errno === NGHTTP2_ERR_FLOODED) this.options.stats.outboundControlFlood.inc();
    else this.options.stats.protocolError.inc();
  }

  removeStream(stream: Http2ServerStream): void {
    if (stream.entry !== null) this.streams.delete(stream.entry);
  }

  /**
   * Streams' idle timeouts are checked by one sweep per connection, a quarter of the shortest
   * timeout apart (25 ms to 1 s), instead of a node timer per stream refreshed on every frame:
   * a frame only marks its stream, and the sweep that sees the mark restarts the stream's clock,
   * so a stream times out between its timeout and half of it later.
   */
  watchIdle(timeoutMs: number): void {
    const period = Math.min(1000, Math.max(25, Math.floor(timeoutMs / 4)));
    if (this.idleSweep !== undefined && period >= this.idleSweepMs) return;
    if (this.idleSweep !== undefined) clearInterval(this.idleSweep);
    this.idleSweepMs = period;
    this.idleSweep = setInterval(() => this.sweepIdle(), period);
    this.idleSweep.unref();
  }

  private sweepIdle(): void {
    const now = performance.now();
    for (const stream of this.streams) stream.checkIdle(now);
  }

  private onClose(): void {
    if (this.idleSweep !== undefined) clearInterval(this.idleSweep);
    if (this.keepaliveTimer !== undefined) clearInterval(this.keepaliveTimer);
    if (this.drainTimer !== undefined) clearTimeout(this.drainTimer);
    for (const stream of this.streams) stream.onConnectionClosed();
    this.streams.clear();
  }

  private startKeepalive(intervalMs: number, timeoutMs: number): void {
    const session = this.session as Http2Session;
    let awaiting = false;
    this.keepaliveTimer = setInterval(() => {
      if (awaiting || session.destroyed || session.closed) return;
      awaiting = true;
      const deadline = setTimeout(() => {
        this.options.stats.keepaliveTimeout.inc();
        this.close();
      }, timeoutMs);
      try {
        session.ping((err) => {
          awaiting = false;
          if (err === null) clearTimeout(deadline);
        });
      } catch {
        clearTimeout(deadline); // the session is going away anyway
      }
    }, intervalMs);
    this.keepaliveTimer.unref();
  }
}

/** One request/response exchange: the ResponseEncoder and Stream over a ServerHttp2Stream. */
export class Http2ServerStream implements ResponseEncoder, Stream {
  readonly conn: Http2ServerConnection;
  readonly h2: ServerHttp2Stream;
  /** Its place in the connection's streams. */
  entry: LiveEntry<Http2ServerStream> | null = null;
  decoder: RequestDecoder = null as unknown as RequestDecoder;
  callbacks: StreamCallbacks | null = null;
  headersSent = false;
  /** The request arrived whole (END_STREAM or trailers). */
  remoteComplete = false;
  /** The response was ended by the owner. */
  private localComplete = false;
  /** Reset or closed: nothing more is delivered either way. */
  done = false;
  /** An RFC 8441 CONNECT given to the owner as an HTTP/1 upgrade: its 101 goes out as 200. */
  extendedConnect = false;
  private readDisables = 0;
  private aboveHighWatermark = false;
  private trailers: OutgoingHttpHeaders | null = null;
  /** respond() asked node to wait for trailers: ending the stream then needs sendTrailers. */
  private waitingForTrailers = false;
  private idleMs = 0;
  /** A frame went either way since the last sweep (no clock read per frame). */
  private touched = false;
  /** performance.now() of the sweep that last saw the stream active. */
  private activeAt = 0;
  private idleCallback: (() => void) | null = null;

  constructor(conn: Http2ServerConnection, h2: ServerHttp2Stream) {
    this.conn = conn;
    this.h2 = h2;
  }

  get stream(): Stream {
    return this;
  }

  get localAddress(): string {
    return this.conn.localAddress;
  }

  get remoteAddress(): string {
    return this.conn.remoteAddress;
  }

  /** Hears the request's body and trailers (delivered from the next tick on) and the stream's end. */
  listen(): void {
    const h2 = this.h2 as OwnedStream;
    h2[kOwner] = this;
    // Handlers shared by every stream (node calls them with the stream as `this`): none is
    // allocated per request.
    h2.on('error', ignoreError); // 'close' follows
    h2.on('close', onH2Close);
    h2.on('wantTrailers', onH2WantTrailers);
    h2.on('drain', onH2Drain);
    h2.on('trailers', onH2Trailers);
    h2.on('data', onH2Data);
    h2.on('end', onH2End);
  }

  sendTrailers(): void {
    try {
      this.h2.sendTrailers(this.trailers ?? {});
    } catch {
      // The stream went away meanwhile; 'close' reports it.
    }
  }

  onWritable(): void {
    this.touch();
    if (!this.aboveHighWatermark) return;
    this.aboveHighWatermark = false;
    this.callbacks?.onBelowWriteBufferLowWatermark();
  }

  onRequestTrailers(raw: string[]): void {
    this.touch();
    if (this.done || this.remoteComplete) return;
    this.remoteComplete = true;
    this.decoder.decodeTrailers(trailersFromHttp2(raw));
  }

  onRequestData(chunk: Buffer): void {
    this.touch();
    if (!this.done) this.decoder.decodeData(chunk, false);
  }

  onRequestEnd(): void {
    if (this.done || this.remoteComplete) return;
    this.remoteComplete = true;
    this.decoder.decodeData(EMPTY, true);
  }

  // ---- Stream ----

  setCallbacks(callbacks: StreamCallbacks): void {
    this.callbacks = callbacks;
  }

  resetStream(reason: StreamResetReason): void {
    if (this.done) return;
    this.finish();
    this.conn.options.stats.txReset.inc();
    if (!this.h2.closed) this.h2.close(resetCode(reason));
  }

  readDisable(disable: boolean): void {
    if (this.done) return;
    if (disable) {
      if (this.readDisables++ === 0) this.h2.pause();
    } else if (this.readDisables > 0 && --this.readDisables === 0) {
      this.h2.resume();
    }
  }

  /**
   * Envoy's per-stream stream_idle_timeout, restarted by every frame either way and checked by
   * the connection's sweep. A response already ended by the owner but still buffered (the peer's
   * window is shut) is Envoy's stream_flush_timeout, which defaults to the idle timeout: the
   * stream is reset here.
   */
  setIdleTimeout(ms: number, onTimeout: () => void): void {
    this.idleCallback = onTimeout;
    this.idleMs = ms;
    this.activeAt = performance.now();
    this.conn.watchIdle(ms);
  }

  private touch(): void {
    this.touched = true;
  }

  checkIdle(now: number): void {
    if (this.touched) {
      this.touched = false;
      this.activeAt = now;
      return;
    }
    if (this.idleMs === 0 || this.done || now - this.activeAt < this.idleMs) return;
    this.idleMs = 0; // once, as a timer would
    this.onIdle();
  }

  private onIdle(): void {
    if (!this.localComplete || this.done) {
      this.idleCallback?.();
      return;
    }
    const stats = this.conn.options.stats;
    stats.txFlushTimeout?.inc();
    stats.txReset.inc();
    // RST_STREAM NO_ERROR now: close(NO_ERROR) on an ended stream would wait for a flush that never comes.
    this.h2.destroy();
  }

  // ---- ResponseEncoder ----

  encode1xxHeaders(headers: ResponseHeaders): void {
    if (this.done || this.headersSent) return;
    try {
      this.h2.additionalHeaders(http2ResponseHeaders(headers));
    } catch {
      // A header node refuses: the interim answer is optional.
    }
  }

  encodeHeaders(headers: ResponseHeaders, endStream: boolean): void {
    if (this.done || this.headersSent) return;
    this.headersSent = true;
    this.touch();
    // The upgrade an extended CONNECT stood for was accepted: HTTP/2 says 200 (RFC 8441).
    const head = headers.status === 101 && this.extendedConnect ? { status: 200, headers: headers.headers } : headers;
    let out = http2ResponseHeaderList(head);
    // A 204 has no body and may not say otherwise (the peer's nghttp2 treats it as a protocol error).
    if (head.status === 204) out = withoutHeader(out, 'content-length');
    // Waiting for trailers costs an event and an empty DATA frame per response: only when they can come.
    this.waitingForTrailers = !endStream && headers.noTrailers !== true;
    try {
      this.h2.respond(out, { endStream, waitForTrailers: this.waitingForTrailers });
    } catch {
      // A header node refuses to send (an invalid value from upstream).
      this.resetStream('local-reset');
      return;
    }
    if (endStream) this.onLocalComplete();
  }

  encodeData(data: Buffer, endStream: boolean): void {
    if (this.done) return;
    this.touch();
    const h2 = this.h2;
    // HEAD, 204 and 304 were ended by node with the headers: their body bytes are dropped.
    if (h2.writableEnded) {
      if (endStream) this.onLocalComplete();
      return;
    }
    if (endStream) {
      // END_STREAM goes once the data is written: sent with it, the stream would close before
      // node's write callback, which then builds an ERR_STREAM_DESTROYED for every response.
      if (data.length > 0) h2.write(data, () => endWritten(h2));
      else h2.end();
      this.onLocalComplete();
    } else if (!h2.write(data) && !this.aboveHighWatermark) {
      this.aboveHighWatermark = true;
      this.callbacks?.onAboveWriteBufferHighWatermark();
    }
  }

  encodeTrailers(trailers: HeaderMap): void {
    if (this.done) return;
    this.touch();
    if (!this.h2.writableEnded) {
      // Headers that said no trailers can come (ResponseHeaders.noTrailers) leave none to send.
      if (this.waitingForTrailers) this.trailers = http2Trailers(trailers);
      this.h2.end();
    }
    this.onLocalComplete();
  }

  // ---- the stream's end ----

  /** The response is out. A request still arriving is cut short, as Envoy resets it on HTTP/2. */
  private onLocalComplete(): void {
    this.localComplete = true;
    if (this.remoteComplete) return;
    this.finish();
    this.h2.once('finish', () => {
      if (!this.h2.closed) this.h2.close(constants.NGHTTP2_NO_ERROR);
    });
  }

  onClose(): void {
    if (this.done) return;
    const complete = this.localComplete && this.remoteComplete;
    this.finish();
    if (complete) return;
    const code = this.h2.rstCode;
    if (this.conn.session.destroyed || code === undefined) {
      this.callbacks?.onResetStream('connection-termination', 'codec_error');
      return;
    }
    this.conn.options.stats.rxReset.inc();
    this.callbacks?.onResetStream(code === constants.NGHTTP2_REFUSED_STREAM ? 'refused-stream' : 'remote-reset', `http2.remote_reset: ${code}`);
  }

  onConnectionClosed(): void {
    if (this.done) return;
    this.finish();
    this.callbacks?.onResetStream('connection-termination', 'http2.connection_termination');
  }

  private finish(): void {
    this.done = true;
    this.conn.removeStream(this);
  }
}
