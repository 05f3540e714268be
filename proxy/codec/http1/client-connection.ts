// HTTP/1 upstream connections: requests out, responses in, one stream at a time (the pool makes
// sure). The connection is offered again (onIdle) only when the request and the response both
// completed and the response allows keep-alive; otherwise it closes.
import type { Socket } from 'node:net';
import type {
  ClientConnection,
  ClientConnectionCallbacks,
  HeaderMap,
  Protocol,
  RequestEncoder,
  RequestHeaders,
  ResponseDecoder,
} from '../types.ts';
import {
  addHeaders,
  connectionHas,
  HEADERS_FAIL,
  HEADERS_OK,
  HEADERS_SKIP_BODY,
  HEADERS_UPGRADE,
  isParseError,
  kOnBody,
  kOnHeaders,
  kOnHeadersComplete,
  kOnMessageComplete,
  newHeaderMap,
  releaseParser,
  RESPONSE,
  type ParseError,
} from './parser.ts';
import { Http1Connection } from './connection-base.ts';
import { headerLines } from './output.ts';
import { Http1Stream } from './stream-base.ts';
import { unrefTimer } from './socket.ts';

export interface Http1ClientOptions {
  /** Envoy's max_response_headers_kb (60). */
  maxResponseHeadersKb: number;
  /** Envoy's max_headers_count (100). */
  maxHeadersCount: number;
}

const EMPTY = Buffer.alloc(0);

const BODY_LENGTH = 0;
const BODY_CHUNKED = 1;
const BODY_RAW = 3;

/** Methods whose empty body is still announced (content-length: 0), as Envoy and curl do. */
function announcesEmptyBody(method: string): boolean {
  return method === 'POST' || method === 'PUT' || method === 'PATCH';
}

function isTransferEncoding(name: string): boolean {
  return name === 'transfer-encoding';
}

export class Http1ClientConnection extends Http1Connection implements ClientConnection {
  readonly protocol: Protocol = 'HTTP/1.1';
  readonly callbacks: ClientConnectionCallbacks;
  readonly options: Http1ClientOptions;
  active: ClientStream | null = null;
  /** Nothing said this connection must close (a response's keep-alive, our own requests). */
  reusable = true;
  private pairs: string[] | null = null;
  private inBody = false;
  private trailers: string[] | null = null;
  /** The message being parsed is a 1xx: its completion is not the response's. */
  private informational = false;
  private upgradeStop = false;
  private headerError: string | null = null;
  /** The stream completed inside the current consumed read, if any. */
  private justDone: ClientStream | null = null;
  /**
   * The last body chunk of the read being parsed, held until the read is done: if the message
   * completes in the same read it goes with end_stream (one call, and one DATA frame with
   * END_STREAM on an HTTP/2 downstream), as Envoy's codec dispatches its buffered body.
   */
  private heldBody: Buffer | null = null;

  constructor(socket: Socket, callbacks: ClientConnectionCallbacks, options: Http1ClientOptions) {
    super(socket, RESPONSE, options.maxResponseHeadersKb * 1024);
    this.callbacks = callbacks;
    this.options = options;
    const parser = this.parser;
    parser[kOnHeaders] = (flat: string[]) => this.onHeaders(flat);
    parser[kOnHeadersComplete] = (_major: number, _minor: number, flat: string[] | undefined, _m: number, _u: string, status: number, _text: string, _upgrade: boolean, keepAlive: boolean) =>
      this.onHeadersComplete(flat, status, keepAlive);
    parser[kOnBody] = (chunk: Buffer) => this.onBody(chunk);
    parser[kOnMessageComplete] = () => this.onMessageComplete();
    this.startReading(null);
  }

  get capacity(): number {
    return this.active === null && this.reusable && !this.closed && !this.socket.destroyed ? 1 : 0;
  }

  get bytesReceivedOnStream(): number {
    return this.active?.bytesReceived ?? 0;
  }

  newStream(decoder: ResponseDecoder): RequestEncoder {
    if (this.active !== null) throw new Error('HTTP/1 connection already has an active stream');
    const stream = new ClientStream(this, decoder);
    this.active = stream;
    this.justDone = null;
    this.output.listener = stream;
    this.readDisables = 0;
    this.updateReading();
    return stream;
  }

  // --- reading ---

  protected onData(chunk: Buffer): void {
    if (!this.received(this.active, chunk.length)) return;
    this.dispatch(chunk);
  }

  protected onExecute(ret: number | ParseError): void {
    unrefTimer(this.socket);
    this.releaseBody();
    // The callbacks already ran: the read belongs to the stream they may have just completed.
    const stream = this.active ?? this.justDone;
    this.justDone = null;
    if (!this.received(stream, isParseError(ret) ? ret.bytesParsed : ret)) return;
    const rest = this.afterExecute(ret, null);
    if (rest !== null) this.enterRaw(rest);
  }

  /** Counts a read for `stream`; bytes with no request outstanding break the protocol: close. */
  private received(stream: ClientStream | null, bytes: number): boolean {
    if (stream === null) {
      this.lastError = 'response bytes with no request outstanding';
      this.socket.destroy();
      return false;
    }
    stream.bytesReceived += bytes;
    return true;
  }

  private dispatch(data: Buffer): void {
    const ret = this.parser.execute(data);
    this.releaseBody();
    const rest = this.afterExecute(ret, data);
    if (rest !== null) this.enterRaw(rest);
  }

  /** Returns the bytes after a 101 / CONNECT 2xx head (they are the tunnel's), else null. */
  private afterExecute(ret: number | ParseError, data: Buffer | null): Buffer | null {
    if (this.closed || this.socket.destroyed) return null;
    if (isParseError(ret)) {
      this.protocolError(this.headerError ?? `http1.codec_error: ${ret.code} ${ret.reason}`);
      return null;
    }
    if (!this.upgradeStop) return null;
    this.upgradeStop = false;
    data ??= this.parser.getCurrentBuffer();
    return data.subarray(ret);
  }

  private onHeaders(flat: string[]): void {
    if (this.inBody) this.trailers = this.trailers === null ? flat : this.trailers.concat(flat);
    else this.pairs = this.pairs === null ? flat : this.pairs.concat(flat);
  }

  private onHeadersComplete(flat: string[] | undefined, status: number, keepAlive: boolean): number {
    flat ??= this.pairs ?? [];
    this.pairs = null;
    const stream = this.active;
    if (stream === null || stream.done) return HEADERS_FAIL;
    if (flat.length > this.options.maxHeadersCount * 2) {
      this.headerError = 'http1.too_many_headers';
      return HEADERS_FAIL;
    }
    const headers = newHeaderMap();
    addHeaders(headers, flat);
    if (status >= 100 && status < 200 && status !== 101) {
      // llhttp completes a 1xx as its own message; the final response follows.
      this.informational = true;
      stream.decoder.decode1xxHeaders({ status, headers });
      return HEADERS_OK;
    }
    this.inBody = true;
    if (!keepAlive) this.reusable = false;
    const tunnel = status === 101 || (stream.method === 'CONNECT' && status >= 200 && status < 300);
    const head = stream.method === 'HEAD';
    const length = headers['content-length'];
    const endStream = !tunnel && (head || status === 204 || status === 304 || (length !== undefined && Number(length) === 0 && headers['transfer-encoding'] === undefined));
    stream.endDecoded = endStream;
    if (tunnel) {
      stream.tunnel = true;
      this.reusable = false;
      this.upgradeStop = true; // after this head, the bytes are the tunnel's
    }
    // Only a chunked body can end in trailers.
    stream.decoder.decodeHeaders({ status, headers, noTrailers: headers['transfer-encoding'] === undefined }, endStream);
    if (tunnel) return HEADERS_UPGRADE;
    return head ? HEADERS_SKIP_BODY : HEADERS_OK;
  }

  private onBody(chunk: Buffer): void {
    this.releaseBody();
    this.heldBody = chunk;
  }

  private releaseBody(): void {
    const held = this.heldBody;
    if (held === null) return;
    this.heldBody = null;
    const stream = this.active;
    if (stream !== null && !stream.done) stream.decoder.decodeData(held, false);
  }

  private onMessageComplete(): void {
    this.inBody = false;
    const trailers = this.trailers;
    this.trailers = null;
    const held = this.heldBody;
    this.heldBody = null;
    if (this.informational) {
      this.informational = false;
      return;
    }
    const stream = this.active;
    if (stream === null || stream.done || stream.tunnel) return;
    stream.responseComplete = true;
    if (!stream.endDecoded) {
      stream.endDecoded = true;
      if (trailers !== null && trailers.length > 0) {
        if (held !== null) stream.decoder.decodeData(held, false);
        const map = newHeaderMap();
        addHeaders(map, trailers);
        if (!stream.done) stream.decoder.decodeTrailers(map);
      } else {
        stream.decoder.decodeData(held ?? EMPTY, true);
      }
    }
    if (!stream.done && !stream.requestComplete) {
      // The upstream answered before it had the whole request: this connection cannot be reused.
      this.reusable = false;
    }
    if (!stream.done) this.streamDone(stream);
  }

  private protocolError(details: string): void {
    const stream = this.active;
    this.reusable = false;
    this.lastError = details;
    if (stream !== null && !stream.done) {
      stream.done = true;
      stream.callbacks?.onResetStream('protocol-error', details);
    }
    this.socket.destroy();
  }

  /** A 101 or CONNECT 2xx: the parser lets go of the socket; later bytes go to the stream raw. */
  protected onRawData(chunk: Buffer): void {
    const stream = this.active;
    if (stream === null || stream.done) return;
    stream.bytesReceived += chunk.length;
    stream.decoder.decodeData(chunk, false);
  }

  protected wantsToRead(): boolean {
    return !this.closed && this.readDisables === 0;
  }

  protected onEnd(): void {
    const stream = this.active;
    if (this.raw) {
      if (stream !== null && !stream.done && !stream.responseComplete) {
        stream.responseComplete = true;
        stream.decoder.decodeData(EMPTY, true);
        if (stream.requestComplete) this.streamDone(stream);
      }
      return;
    }
    if (stream !== null && !stream.done) {
      // A close-delimited body ends here; anything else cut short is a termination (in onClose).
      const ret = this.parser.finish();
      if (isParseError(ret)) this.lastError = `${ret.code} ${ret.reason}`;
    }
    this.reusable = false;
    this.socket.destroy();
  }

  protected onClose(): void {
    this.closed = true;
    this.reusable = false;
    this.heldBody = null;
    const stream = this.active;
    if (stream !== null && !stream.done) {
      stream.done = true;
      stream.callbacks?.onResetStream('connection-termination', this.lastError || 'upstream connection closed');
    }
    this.output.listener = null;
    setImmediate(releaseParser, this.parser);
    this.callbacks.onClose();
  }

  /** Request and response both complete (or the response ended the exchange). */
  streamDone(stream: ClientStream): void {
    stream.done = true;
    this.active = null;
    this.justDone = stream;
    this.output.listener = null;
    if (this.raw) return; // both tunnel halves closed: the socket closes by itself
    if (this.reusable && !this.socket.destroyed) {
      this.callbacks.onIdle();
      return;
    }
    if (!this.socket.destroyed) {
      this.output.end();
      this.socket.destroy();
    }
  }
}

/** One request/response exchange upstream: the RequestEncoder and the Stream in one object. */
class ClientStream extends Http1Stream<Http1ClientConnection> implements RequestEncoder {
  readonly decoder: ResponseDecoder;
  method = '';
  bytesReceived = 0;
  requestComplete = false;
  responseComplete = false;
  endDecoded = false;
  /** The response switched protocols (101, CONNECT 2xx). */
  tunnel = false;
  private headersSent = false;
  private body = BODY_LENGTH;

  constructor(conn: Http1ClientConnection, decoder: ResponseDecoder) {
    super(conn);
    this.decoder = decoder;
  }

  encodeHeaders(request: RequestHeaders, endStream: boolean): void {
    if (this.headersSent || this.done) return;
    this.headersSent = true;
    const method = request.method;
    const headers = request.headers;
    this.method = method;
    let framing = '';
    if (method === 'CONNECT' || (headers.upgrade !== undefined && connectionHas(headers.connection, 'upgrade'))) {
      this.body = BODY_RAW; // what follows the head is the tunnel's, once the upstream agrees
    } else if (headers['content-length'] !== undefined) {
      this.body = BODY_LENGTH;
    } else if (endStream) {
      if (announcesEmptyBody(method)) framing = 'content-length: 0\r\n';
    } else {
      this.body = BODY_CHUNKED;
      framing = 'transfer-encoding: chunked\r\n';
    }
    if (connectionHas(headers.connection, 'close')) this.conn.reusable = false;
    this.conn.output.text(method + ' ' + request.path + ' HTTP/1.1\r\n' + headerLines(headers, isTransferEncoding) + framing + '\r\n');
    if (endStream) this.endRequest();
  }

  encodeData(data: Buffer, endStream: boolean): void {
    if (this.requestComplete || this.done) return;
    const out = this.conn.output;
    if (this.body === BODY_CHUNKED) out.chunk(data, endStream);
    else out.data(data);
    if (endStream) this.endRequest();
  }

  encodeTrailers(trailers: HeaderMap): void {
    if (this.requestComplete || this.done) return;
    if (this.body === BODY_CHUNKED) this.conn.output.text('0\r\n' + headerLines(trailers, isTransferEncoding) + '\r\n');
    this.endRequest();
  }

  private endRequest(): void {
    this.requestComplete = true;
    if (this.body === BODY_RAW && this.tunnel) {
      this.conn.output.end(); // half-close the tunnel
      if (this.responseComplete) this.conn.streamDone(this);
    } else if (this.responseComplete) {
      this.conn.streamDone(this);
    }
  }
}
