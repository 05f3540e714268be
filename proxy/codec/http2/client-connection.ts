// HTTP/2 upstream connections on node:http2's core API (nghttp2 frames, HPACK and flow control):
// many streams on one connection, each a RequestEncoder/ResponseDecoder pair as Envoy's
// ClientConnection gives. The session runs on the socket the pool connected (plain or TLS).
// Capacity is the peer's SETTINGS_MAX_CONCURRENT_STREAMS (capped by the cluster's
// max_concurrent_streams) less the active streams, 0 until the peer's SETTINGS came and after a
// GOAWAY. Streams the peer never processed (above a GOAWAY's last stream id, or refused with
// REFUSED_STREAM) reset with 'refused-stream', so the router may send them again elsewhere.
import { createRequire } from 'node:module';
import { isIPv6, type Socket } from 'node:net';
import type { ClientHttp2Session, ClientHttp2Stream } from 'node:http2';
import type {
  ClientConnection,
  ClientConnectionCallbacks,
  HeaderMap,
  Protocol,
  RequestEncoder,
  RequestHeaders,
  ResponseDecoder,
  Stream,
  StreamCallbacks,
  StreamResetReason,
} from '../types.ts';
import { http2RequestHeaders, http2Trailers, responseFromHttp2, trailersFromHttp2 } from './headers.ts';
import { setWriteBufferLimit } from '../../transport/index.ts';
import { LiveList, type LiveEntry } from '../../collections/live-list.ts';

type NodeHttp2 = typeof import('node:http2');
let loaded: NodeHttp2 | undefined;

// Loaded on first use: a worker with no HTTP/2 cluster never pays for node:http2.
function nodeHttp2(): NodeHttp2 {
  loaded ??= createRequire(import.meta.url)('node:http2') as NodeHttp2;
  return loaded;
}

// RFC 9113 error codes.
const NO_ERROR = 0;
const REFUSED_STREAM = 7;
const CANCEL = 8;
const END_STREAM_FLAG = 0x1;

/** What the pool hears beyond ClientConnectionCallbacks: capacity may have grown, and GOAWAY. */
export interface Http2ClientConnectionCallbacks extends ClientConnectionCallbacks {
  /** The peer's SETTINGS came or a stream ended: `capacity` may be larger now. */
  onCapacity(): void;
  /** The peer sent GOAWAY: no new streams; streams it processed finish. */
  onGoAway(): void;
}

/** The few counters the codec keeps (Envoy's cluster.<name>.http2.*). */
export interface Http2ClientStats {
  rxReset: { inc(): void };
  txReset: { inc(): void };
}

export interface Http2ClientOptions {
  /** http2_protocol_options.max_concurrent_streams: at most this many streams at once (2^31-1). */
  maxConcurrentStreams: number;
  /** initial_stream_window_size (256 MiB, Envoy's default). */
  initialStreamWindowSize: number;
  /** initial_connection_window_size (256 MiB). */
  initialConnectionWindowSize: number;
  /** hpack_table_size (4096). */
  hpackTableSize: number;
  /** allow_connect: SETTINGS_ENABLE_CONNECT_PROTOCOL in our SETTINGS, as Envoy's codec sends it (only a server's means anything). */
  allowConnect?: boolean;
  /** Envoy's max_response_headers_kb (60): the largest header list accepted. */
  maxResponseHeadersKb: number;
  /** Streams this connection may ever start (max_requests_per_connection; 0 = no limit). */
  maxStreams: number;
  /** The cluster's per_connection_buffer_limit_bytes: each stream's write watermark (absent: node's default). */
  streamBufferLimitBytes?: number;
  stats?: Http2ClientStats;
}

const EMPTY = Buffer.alloc(0);

export class Http2ClientConnection implements ClientConnection {
  readonly protocol: Protocol = 'HTTP/2';
  readonly session: ClientHttp2Session;
  readonly socket: Socket;
  readonly callbacks: Http2ClientConnectionCallbacks;
  readonly options: Http2ClientOptions;
  /** Streams started and not yet closed. */
  readonly active = new LiveList<Http2ClientStream>();
  /** Streams ever started. */
  started = 0;
  /** The peer's SETTINGS came: streams may start. */
  ready = false;
  /** GOAWAY received or close() called: no new streams. */
  goingAway = false;
  /** The highest stream id the peer said it processed (GOAWAY); streams above it were refused. */
  lastStreamId = Infinity;
  private peerMaxStreams = 0;
  private closed = false;

  constructor(socket: Socket, callbacks: Http2ClientConnectionCallbacks, options: Http2ClientOptions) {
    this.socket = socket;
    this.callbacks = callbacks;
    this.options = options;
    const tls = (socket as { encrypted?: boolean }).encrypted === true;
    const address = socket.remoteAddress ?? 'localhost';
    // Only the URL's form matters: every request names its own :authority.
    const authority = `${tls ? 'https' : 'http'}://${isIPv6(address) ? `[${address}]` : address}:${socket.remotePort ?? 0}`;
    const session = nodeHttp2().connect(authority, {
      createConnection: () => socket,
      settings: {
        enablePush: false,
        headerTableSize: options.hpackTableSize,
        initialWindowSize: options.initialStreamWindowSize,
        maxHeaderListSize: options.maxResponseHeadersKb * 1024,
        ...(options.allowConnect === true ? { enableConnectProtocol: true } : {}),
      },
      // node:http2 bounds memory per session; flow control is the real bound on our side.
      maxSessionMemory: 64,
    });
    this.session = session;
    session.on('connect', this.onConnect);
    session.on('remoteSettings', this.onRemoteSettings);
    session.on('goaway', this.onGoAway);
    session.on('error', this.onError);
    session.once('close', this.onClose);
    socket.once('close', this.onClose);
  }

  get capacity(): number {
    if (!this.ready || this.goingAway || this.closed) return 0;
    const max = this.options.maxStreams;
    const left = max > 0 ? max - this.started : Infinity;
    return Math.max(0, Math.min(left, Math.min(this.peerMaxStreams, this.options.maxConcurrentStreams) - this.active.size));
  }

  /** Response bytes are per stream here; the keep-alive race of HTTP/1 does not exist. */
  get bytesReceivedOnStream(): number {
    return 0;
  }

  newStream(decoder: ResponseDecoder): RequestEncoder {
    this.started++;
    const stream = new Http2ClientStream(this, decoder);
    stream.entry = this.active.add(stream);
    return stream;
  }

  /** Ends the connection: GOAWAY when streams are active (they finish), else closes now. */
  close(): void {
    if (this.closed) return;
    this.goingAway = true;
    if (this.active.size === 0) this.destroy();
    else this.session.close();
  }

  /** node:http2 waits for the peer to close the socket after a graceful close: we do not. */
  private destroy(): void {
    this.session.destroy();
    this.socket.destroy();
  }

  streamClosed(stream: Http2ClientStream): void {
    if (stream.entry === null || !this.active.delete(stream.entry)) return;
    if (this.closed) return;
    if (this.active.size === 0) {
      this.callbacks.onIdle();
      if (this.goingAway && !this.closed) this.destroy();
    } else {
      this.callbacks.onCapacity();
    }
  }

  private readonly onConnect = (): void => {
    const window = this.options.initialConnectionWindowSize;
    if (window > 65535 && !this.session.destroyed) this.session.setLocalWindowSize(window);
  };

  private readonly onRemoteSettings = (settings: import('node:http2').Settings): void => {
    this.peerMaxStreams = settings.maxConcurrentStreams ?? 4294967295;
    const first = !this.ready;
    this.ready = true;
    if (first || this.capacity > 0) this.callbacks.onCapacity();
  };

  private readonly onGoAway = (_code: number, lastStreamId: number): void => {
    this.lastStreamId = lastStreamId;
    if (this.goingAway) return;
    this.goingAway = true;
    this.callbacks.onGoAway();
  };

  private readonly onError = (): void => {
    // The session is destroyed after an error; 'close' resets what is still active.
  };

  private readonly onClose = (): void => {
    if (this.closed) return;
    this.closed = true;
    this.goingAway = true;
    for (const stream of this.active.values()) stream.connectionClosed();
    this.active.clear();
    this.socket.destroy();
    this.callbacks.onClose();
  };
}

/** One request/response exchange on the session: the RequestEncoder and the Stream in one. */
class Http2ClientStream implements RequestEncoder, Stream {
  readonly conn: Http2ClientConnection;
  readonly decoder: ResponseDecoder;
  /** Its place in the connection's active streams. */
  entry: LiveEntry<Http2ClientStream> | null = null;
  callbacks: StreamCallbacks | null = null;
  private h2: ClientHttp2Stream | null = null;
  private trailers: HeaderMap | null = null;
  private receivedTrailers: HeaderMap | null = null;
  private requestEnded = false;
  private gotHeaders = false;
  /**
   * DATA that node:http2 emitted before 'response'. It emits 'response' on the next tick and
   * 'data' at once: over a TCP handle the tick runs between the two (each native callback ends
   * with one), over a JS stream (an internal listener's socket) it does not.
   */
  private early: Buffer[] | null = null;
  private responseEnded = false;
  private done = false;
  private readDisables = 0;
  private aboveHighWatermark = false;

  constructor(conn: Http2ClientConnection, decoder: ResponseDecoder) {
    this.conn = conn;
    this.decoder = decoder;
  }

  get stream(): Stream {
    return this;
  }

  get localAddress(): string {
    const s = this.conn.socket;
    return `${s.localAddress}:${s.localPort}`;
  }

  get remoteAddress(): string {
    const s = this.conn.socket;
    return `${s.remoteAddress}:${s.remotePort}`;
  }

  setCallbacks(callbacks: StreamCallbacks): void {
    this.callbacks = callbacks;
  }

  encodeHeaders(request: RequestHeaders, endStream: boolean): void {
    if (this.h2 !== null || this.done) return;
    let h2: ClientHttp2Stream;
    try {
      h2 = this.conn.session.request(http2RequestHeaders(request), { endStream, waitForTrailers: !endStream });
    } catch (err) {
      // A header node:http2 refuses (an invalid name or value). A session that is going away
      // does not throw: its stream closes without an id, 'refused-stream' at 'close'.
      this.reset('local-reset', (err as Error).message);
      return;
    }
    this.h2 = h2;
    if (this.conn.options.streamBufferLimitBytes !== undefined) setWriteBufferLimit(h2, this.conn.options.streamBufferLimitBytes);
    this.requestEnded = endStream;
    h2.on('response', this.onResponse);
    h2.on('headers', this.onInformational);
    h2.on('data', this.onData);
    h2.on('trailers', this.onTrailers);
    h2.on('end', this.onEnd);
    h2.on('wantTrailers', this.onWantTrailers);
    h2.on('drain', this.onDrain);
    h2.on('error', this.onStreamError);
    h2.on('close', this.onStreamClose);
    if (this.readDisables > 0) h2.pause();
  }

  encodeData(data: Buffer, endStream: boolean): void {
    const h2 = this.h2;
    if (h2 === null || this.requestEnded || this.done) return;
    if (endStream) {
      this.requestEnded = true;
      if (data.length > 0) h2.end(data);
      else h2.end();
      return;
    }
    if (!h2.write(data) && !this.aboveHighWatermark) {
      this.aboveHighWatermark = true;
      this.callbacks?.onAboveWriteBufferHighWatermark();
    }
  }

  encodeTrailers(trailers: HeaderMap): void {
    const h2 = this.h2;
    if (h2 === null || this.requestEnded || this.done) return;
    this.requestEnded = true;
    this.trailers = trailers;
    h2.end();
  }

  resetStream(_reason: StreamResetReason): void {
    if (this.done) return;
    this.done = true;
    this.conn.options.stats?.txReset.inc();
    const h2 = this.h2;
    if (h2 !== null && !h2.destroyed) h2.close(CANCEL);
    else this.conn.streamClosed(this);
  }

  readDisable(disable: boolean): void {
    if (disable) {
      if (++this.readDisables === 1) this.h2?.pause();
    } else if (this.readDisables > 0 && --this.readDisables === 0) {
      this.h2?.resume();
    }
  }

  /** The session closed under this stream. */
  connectionClosed(): void {
    if (this.done) return;
    this.reset(this.neverProcessed() ? 'refused-stream' : 'connection-termination', 'upstream connection closed');
  }

  /** The peer's GOAWAY says it never looked at this stream (or it never got an id). */
  private neverProcessed(): boolean {
    const id = this.h2?.id;
    return id === undefined || id > this.conn.lastStreamId;
  }

  private reset(reason: StreamResetReason, details: string): void {
    if (this.done) return;
    this.done = true;
    this.conn.streamClosed(this);
    this.callbacks?.onResetStream(reason, details);
  }

  private readonly onInformational = (_headers: unknown, _flags: number, raw: string[]): void => {
    const head = responseFromHttp2(raw);
    if (head.status >= 100 && head.status < 200 && head.status !== 101 && !this.done) this.decoder.decode1xxHeaders(head);
  };

  private readonly onResponse = (_headers: unknown, flags: number, raw: string[]): void => {
    if (this.done) return;
    this.gotHeaders = true;
    const endStream = (flags & END_STREAM_FLAG) !== 0;
    if (endStream) this.responseEnded = true;
    this.decoder.decodeHeaders(responseFromHttp2(raw), endStream);
    const early = this.early;
    this.early = null;
    if (early !== null) for (const chunk of early) this.onData(chunk);
  };

  private readonly onData = (chunk: Buffer): void => {
    if (!this.gotHeaders) (this.early ??= []).push(chunk);
    else if (!this.done && !this.responseEnded) this.decoder.decodeData(chunk, false);
  };

  private readonly onTrailers = (_headers: unknown, _flags: number, raw: string[]): void => {
    // Delivered at 'end': data still buffered behind a readDisable comes first.
    this.receivedTrailers = trailersFromHttp2(raw);
  };

  private readonly onEnd = (): void => {
    // A stream destroyed with the session ends its readable side too: 'close' tells why.
    if (this.done || this.responseEnded || !this.gotHeaders) return;
    this.responseEnded = true;
    const trailers = this.receivedTrailers;
    if (trailers !== null) this.decoder.decodeTrailers(trailers);
    else this.decoder.decodeData(EMPTY, true);
  };

  private readonly onWantTrailers = (): void => {
    // Without trailers an empty DATA frame carries END_STREAM (what node:http2 sends for {}).
    this.h2!.sendTrailers(this.trailers === null ? {} : http2Trailers(this.trailers));
  };

  private readonly onDrain = (): void => {
    if (!this.aboveHighWatermark) return;
    this.aboveHighWatermark = false;
    this.callbacks?.onBelowWriteBufferLowWatermark();
  };

  private readonly onStreamError = (): void => {
    // The reason is in rstCode, read at 'close'.
  };

  private readonly onStreamClose = (): void => {
    if (this.done || this.responseEnded) {
      // Complete, or reset by us; a peer that reset the rest of a request it already answered
      // (RFC 9113 8.1) loses nothing.
      this.done = true;
      this.conn.streamClosed(this);
      return;
    }
    const code = this.h2!.rstCode;
    if (code === REFUSED_STREAM) {
      this.conn.options.stats?.rxReset.inc();
      this.reset('refused-stream', 'http2.remote_refused_stream_reset');
    } else if (this.h2!.id === undefined || (this.conn.goingAway && this.neverProcessed())) {
      // Never sent, or above the last stream id of the peer's GOAWAY.
      this.reset('refused-stream', 'http2.stream_not_processed');
    } else if (this.conn.session.destroyed || code === undefined || code === NO_ERROR) {
      this.reset('connection-termination', 'upstream connection closed');
    } else {
      this.conn.options.stats?.rxReset.inc();
      this.reset('remote-reset', `http2.remote_reset: error code ${code}`);
    }
  };
}
