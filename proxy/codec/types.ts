// The codec boundary, in the shape of Envoy's envoy/http/codec.h. A server connection decodes
// requests into per-stream RequestDecoder callbacks and takes responses through a ResponseEncoder;
// a client connection takes requests through a RequestEncoder and decodes responses into a
// ResponseDecoder. HTTP/1 and HTTP/2 implement the same interfaces, one stream per request either
// way. Nothing above this folder sees a node:http, node:http2 or undici object.

/**
 * Header names are lower-case; a header received more than once is an array, in order. The
 * request's authority is the `host` entry (HTTP/1's Host; HTTP/2 codecs map :authority to it).
 * The same object travels from the codec through the filters to the other codec: layers mutate
 * it, never rebuild it.
 */
export type HeaderMap = Record<string, string | string[] | undefined>;

export type Protocol = 'HTTP/1.0' | 'HTTP/1.1' | 'HTTP/2';

/** A request head: the pseudo-headers Envoy keeps apart (:method, :path, :scheme) and the rest. */
export interface RequestHeaders {
  method: string;
  /** :path, query included (HTTP/1's request target as sent: origin-form, absolute-form or, for CONNECT, authority-form). */
  path: string;
  /** 'http' or 'https', from the transport (or an absolute-form target). */
  scheme: string;
  protocol: Protocol;
  headers: HeaderMap;
}

export interface ResponseHeaders {
  status: number;
  headers: HeaderMap;
  /**
   * True when no trailers can follow: the body's framing has none (an HTTP/1 response without
   * chunked encoding, a local reply). An HTTP/2 encoder then ends the stream with the last DATA
   * frame instead of waiting for trailers. Absent: trailers may follow.
   */
  noTrailers?: boolean;
}

/** Envoy's StreamResetReason. */
export type StreamResetReason =
  | 'local-reset' // this side reset the stream
  | 'remote-reset' // the peer reset the stream (HTTP/2 RST_STREAM)
  | 'connection-failure' // the connection could not be made
  | 'connection-termination' // the connection closed with the stream unfinished
  | 'overflow' // a limit was hit
  | 'protocol-error' // the peer broke the protocol
  | 'refused-stream'; // the peer refused the stream before processing it

/** What a stream tells the layer that owns it; one object per stream, set once. */
export interface StreamCallbacks {
  /** The stream ended before it completed in both directions; nothing more is delivered. */
  onResetStream(reason: StreamResetReason, details: string): void;
  /** Bytes written to this stream pile up beyond the high watermark: stop producing. */
  onAboveWriteBufferHighWatermark(): void;
  /** The queue drained below the low watermark: produce again. */
  onBelowWriteBufferLowWatermark(): void;
}

export interface Stream {
  setCallbacks(callbacks: StreamCallbacks): void;
  /** Resets from this side. HTTP/1 has no stream reset: it closes the connection. No callback follows. */
  resetStream(reason: StreamResetReason): void;
  /**
   * Stops (true) or resumes (false) delivering this stream's data from the peer. Calls nest:
   * reading resumes when every disable has been matched by an enable, as Envoy's readDisable.
   */
  readDisable(disable: boolean): void;
  /** The connection's local and peer addresses, 'ip:port'. */
  readonly localAddress: string;
  readonly remoteAddress: string;
}

/** Encodes one direction of a stream. endStream on the last call; data after it is an error. */
export interface StreamEncoder {
  readonly stream: Stream;
  encodeData(data: Buffer, endStream: boolean): void;
  /** Ends the stream with trailers (HTTP/1: a chunked body's trailer section; dropped when the body is not chunked). */
  encodeTrailers(trailers: HeaderMap): void;
}

export interface ResponseEncoder extends StreamEncoder {
  /** A 1xx other than 101 (100-continue, 103). */
  encode1xxHeaders(headers: ResponseHeaders): void;
  encodeHeaders(headers: ResponseHeaders, endStream: boolean): void;
  /** Whether the response headers went out (a local reply is still possible while false). */
  readonly headersSent: boolean;
}

export interface RequestEncoder extends StreamEncoder {
  encodeHeaders(headers: RequestHeaders, endStream: boolean): void;
}

/** Receives one direction of a stream. endStream on the last call. */
export interface StreamDecoder {
  decodeData(data: Buffer, endStream: boolean): void;
  /** Trailers end the stream. */
  decodeTrailers(trailers: HeaderMap): void;
}

export interface RequestDecoder extends StreamDecoder {
  decodeHeaders(headers: RequestHeaders, endStream: boolean): void;
}

export interface ResponseDecoder extends StreamDecoder {
  /** A 1xx other than 101; the final headers follow. */
  decode1xxHeaders(headers: ResponseHeaders): void;
  decodeHeaders(headers: ResponseHeaders, endStream: boolean): void;
}

/** A request the server codec could not parse: the status Envoy answers and its details string. */
export interface CodecError {
  status: 400 | 408 | 413 | 431 | 501;
  /** Envoy's response code details, e.g. 'http1.codec_error', 'http1.headers_too_large'. */
  details: string;
}

export interface ServerConnectionCallbacks {
  /**
   * A request begins; the returned decoder receives it. HTTP/1 calls this once per request, in
   * order, and only after the previous stream completed both ways (one stream at a time, so
   * pipelined requests are answered in order and reach upstream one by one).
   */
  newStream(encoder: ResponseEncoder): RequestDecoder;
  /**
   * The peer's input broke the protocol inside the stream of `decoder`. The owner answers
   * (error.status, unless the response started) through that stream's encoder; the codec reads
   * nothing more and closes the connection once that response is written.
   */
  onProtocolError(decoder: RequestDecoder, error: CodecError): void;
  /** The first byte of a request arrived (Envoy starts request_headers_timeout here). */
  onMessageBegin?(): void;
  /**
   * codec_type AUTO (the HTTP/1 codec's detectHttp2), once the first read is parsed: null, it is
   * HTTP/1 and this codec serves it; or HTTP/2's client preface and the bytes after it, when this
   * codec has let go of the socket (no listener of its own left) for the owner to hand both to
   * an HTTP/2 codec. Called before the first stream begins.
   */
  onCodecChosen?(http2Bytes: Buffer | null): void;
}

export interface ServerConnection {
  readonly protocol: Protocol;
  /**
   * Envoy's shutdownNotice/goAway: no new streams; HTTP/1 answers the active one with Connection:
   * close. Idle connections close now. HTTP/2: streams still open `timeoutMs` after the GOAWAY are
   * reset with the connection (absent or 0: they finish).
   */
  drain(timeoutMs?: number): void;
  /** request_headers_timeout fired: a request whose head is still incomplete is answered 408 (through onProtocolError) and the connection closes. */
  expireRequestHeaders(): void;
  /** Closes at once; active streams are reset with 'connection-termination'. */
  close(): void;
}

export interface ClientConnectionCallbacks {
  /** The connection closed (either side); active streams were reset first. */
  onClose(): void;
  /** No stream is active any more and the connection can take another (HTTP/1 keep-alive). */
  onIdle(): void;
}

export interface ClientConnection {
  readonly protocol: Protocol;
  /** Starts a request; HTTP/1 allows one at a time (the pool makes sure). */
  newStream(decoder: ResponseDecoder): RequestEncoder;
  /** Streams this connection can still start now (HTTP/1: 1 when idle and reusable, else 0). */
  readonly capacity: number;
  /** Response bytes received on the current stream (0: the peer said nothing yet). */
  readonly bytesReceivedOnStream: number;
  close(): void;
}
