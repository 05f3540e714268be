// HTTP/1 downstream connections: requests in, responses out, one stream at a time. After a request
// is complete the next one is held (llhttp pauses right after its head) until the current stream
// completed both ways, so pipelined requests are answered in order and a bad second request
// cannot cost the first its response. See ../README.md.
import type { Socket } from 'node:net';
import type {
  CodecError,
  Protocol,
  RequestDecoder,
  RequestHeaders,
  ResponseEncoder,
  ResponseHeaders,
  ServerConnection,
  ServerConnectionCallbacks,
  HeaderMap,
} from '../types.ts';
import {
  addHeaders,
  connectionHas,
  HEADERS_FAIL,
  HEADERS_OK,
  HEADERS_PAUSE,
  HEADERS_UPGRADE,
  isParseError,
  kOnBody,
  kOnHeaders,
  kOnHeadersComplete,
  kOnMessageBegin,
  kOnMessageComplete,
  methods,
  newHeaderMap,
  releaseParser,
  REQUEST,
  type ParseError,
} from './parser.ts';
import { CLIENT_PREFACE } from '../http2/preface.ts';
import { Http1Connection } from './connection-base.ts';
import { headerLines } from './output.ts';
import { REASON_PHRASES } from './reason-phrases.ts';
import { Http1Stream } from './stream-base.ts';
import { unrefTimer } from './socket.ts';
import { applyUnderscorePolicy, type UnderscorePolicy } from '../header-underscores.ts';

export interface Http1ServerOptions {
  /** Envoy's max_request_headers_kb (60). */
  maxRequestHeadersKb: number;
  /** Envoy's max_headers_count (100). */
  maxHeadersCount: number;
  scheme: 'http' | 'https';
  /** headers_with_underscores_action (absent: ALLOW). */
  underscores?: UnderscorePolicy;
  /** Envoy's delayed_close_timeout: after our FIN, how long the peer gets to close first (absent: 1000; 0: none). */
  delayedCloseMs?: number;
  /** codec_type AUTO: the first read may be HTTP/2's client preface, handed on through onCodecChosen. */
  detectHttp2?: boolean;
}

const EMPTY = Buffer.alloc(0);
/** Envoy's default delayed_close_timeout. */
const DELAYED_CLOSE_MS = 1000;

// How a response body is framed.
const BODY_LENGTH = 0; // content-length, or close-delimited
const BODY_CHUNKED = 1;
const BODY_NONE = 2; // HEAD, 204, 304: body bytes are dropped
const BODY_RAW = 3; // after a 101 / CONNECT 2xx

/** A request head parsed while the previous stream was still busy. */
interface HeldHead {
  head: RequestHeaders;
  endStream: boolean;
  keepAlive: boolean;
  raw: boolean;
}

/** llhttp error code -> the answer (Envoy's response code details where they exist). */
function codecError(err: ParseError): CodecError {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, details: 'http1.headers_too_large' };
    case 'HPE_INVALID_HEADER_TOKEN':
      return { status: 400, details: 'http1.invalid_characters' };
    case 'HPE_INVALID_URL':
      return { status: 400, details: 'http1.invalid_url' };
    case 'HPE_INVALID_TRANSFER_ENCODING':
    case 'HPE_INVALID_CONTENT_LENGTH':
      if (err.reason.includes('Content-Length') && err.reason.includes('Transfer-Encoding')) {
        return { status: 400, details: 'http1.content_length_and_chunked_not_allowed' };
      }
      return { status: 400, details: err.code === 'HPE_INVALID_TRANSFER_ENCODING' ? 'http1.invalid_transfer_encoding' : 'http1.codec_error' };
    default:
      return { status: 400, details: 'http1.codec_error' };
  }
}

const statusLines: string[] = [];
function statusLine(status: number): string {
  return (statusLines[status] ??= `HTTP/1.1 ${status} ${REASON_PHRASES[status] ?? 'Unknown'}\r\n`);
}

/** We frame the body and say whether the connection stays: the owner's values are not written. */
function isFramingHeader(name: string): boolean {
  return name === 'connection' || name === 'transfer-encoding';
}
function keepAll(): boolean {
  return false;
}

export class Http1ServerConnection extends Http1Connection implements ServerConnection {
  readonly protocol: Protocol = 'HTTP/1.1';
  readonly callbacks: ServerConnectionCallbacks;
  readonly options: Http1ServerOptions;
  /** The stream being served (at most one). */
  active: ServerStream | null = null;
  /** No new streams: the active one answers with Connection: close. */
  draining = false;
  // The message being parsed.
  private pairs: string[] | null = null;
  private url = '';
  private inBody = false;
  private trailers: string[] | null = null;
  private messageStream: ServerStream | null = null;
  private messageUpgrade = false;
  private upgradeStop = false;
  private headerCheck: CodecError | null = null;
  // Pipelining: the next request's head, the bytes after it, or its parse error.
  private held: HeldHead | null = null;
  private stash: Buffer | null = null;
  private heldError: CodecError | null = null;
  /** The current request asked to close (or we decided to): nothing after it is read. */
  private closing = false;
  /** After our FIN: the input is read and dropped until the peer closes. */
  private discarding = false;
  private failed = false;
  /** codec_type AUTO before the first read is parsed (or while what came is the start of HTTP/2's preface). */
  private choosing: boolean;
  private prefaceBytes = 0;

  constructor(socket: Socket, callbacks: ServerConnectionCallbacks, options: Http1ServerOptions) {
    super(socket, REQUEST, options.maxRequestHeadersKb * 1024);
    this.callbacks = callbacks;
    this.options = options;
    const parser = this.parser;
    parser[kOnMessageBegin] = () => this.onMessageBegin();
    parser[kOnHeaders] = (flat: string[], url: string) => this.onHeaders(flat, url);
    parser[kOnHeadersComplete] = (major: number, minor: number, flat: string[] | undefined, method: number, url: string | undefined, _s: number, _m: string, upgrade: boolean, keepAlive: boolean) =>
      this.onHeadersComplete(major, minor, flat, method, url, upgrade, keepAlive);
    parser[kOnBody] = (chunk: Buffer) => this.onBody(chunk);
    parser[kOnMessageComplete] = () => this.onMessageComplete();
    this.choosing = options.detectHttp2 === true;
    // Bytes a listener filter (tls_inspector) read and gave back wait in the socket's buffer,
    // where a consumed handle would never see them: they are parsed first.
    const early = socket.readableLength > 0 ? (socket.read() as Buffer | null) : null;
    if (early !== null && this.choosing) {
      // Under AUTO they choose the codec: the owner hears of it once it has this connection.
      this.startReading(null);
      queueMicrotask(() => this.onData(early));
    } else {
      this.startReading(early);
    }
  }

  /** request_headers_timeout: a request begun but without its whole head gets 408, then the connection closes. */
  expireRequestHeaders(): void {
    if (this.active !== null || this.closing || this.failed || this.closed) return;
    this.failed = true;
    this.updateReading();
    this.startErrorStream({ status: 408, details: 'request_header_timeout' });
  }

  drain(): void {
    this.draining = true;
    if (this.active === null) this.closeAfterFlush();
  }


  // --- reading ---

  protected onData(chunk: Buffer): void {
    if (this.held !== null || this.stash !== null) {
      // Read before the pause took effect: keep it behind the held request.
      this.stash = this.stash === null ? chunk : Buffer.concat([this.stash, chunk]);
      return;
    }
    this.dispatch(chunk);
  }

  /** The consumed socket's read was parsed (C++ called execute). */
  protected onExecute(ret: number | ParseError): void {
    unrefTimer(this.socket);
    const rest = this.afterExecute(ret, null);
    if (rest !== null) this.dispatch(rest);
  }

  private dispatch(data: Buffer): void {
    let rest: Buffer | null = data;
    while (rest !== null) rest = this.afterExecute(this.parser.execute(rest), rest);
  }

  /** What execute said; returns the bytes to parse next, if any. `data` null: the consumed read, fetched only when needed. */
  private afterExecute(ret: number | ParseError, data: Buffer | null): Buffer | null {
    if (this.choosing) {
      // llhttp stops after exactly HTTP/2's client preface, having called nothing but
      // onMessageBegin. A first read that is neither that nor the start of it (reads without a
      // whole head: rare) is HTTP/1 for good.
      if (isParseError(ret) && ret.code === 'HPE_PAUSED_H2_UPGRADE') {
        this.handOverHttp2((data ?? this.parser.getCurrentBuffer()).subarray(ret.bytesParsed));
        return null;
      }
      if (isParseError(ret) || !this.prefaceSoFar(data ?? this.parser.getCurrentBuffer())) this.chooseHttp1();
    }
    if (this.closed || this.socket.destroyed) return null;
    if (this.held !== null) {
      // Paused right after the next head (HPE_PAUSED, or a plain count when that head is an upgrade).
      const at = isParseError(ret) ? ret.bytesParsed : ret;
      data ??= this.parser.getCurrentBuffer();
      this.stash = data.subarray(at);
      this.updateReading();
      return null;
    }
    if (isParseError(ret)) {
      this.parseError(ret);
      return null;
    }
    if (!this.upgradeStop) return null;
    // llhttp stopped after a message with Upgrade or CONNECT: what follows is not HTTP/1.
    this.upgradeStop = false;
    data ??= this.parser.getCurrentBuffer();
    const rest = data.subarray(ret);
    if (this.active?.raw === true) {
      this.enterRaw(rest);
      return null;
    }
    return rest.length > 0 ? rest : null; // h2c is served as HTTP/1.1: parsing goes on
  }

  /** Whether every byte read so far is the start of HTTP/2's preface (the next read decides, as the preface may come in pieces). */
  private prefaceSoFar(read: Buffer): boolean {
    const at = this.prefaceBytes;
    if (at + read.length >= CLIENT_PREFACE.length || CLIENT_PREFACE.compare(read, 0, read.length, at, at + read.length) !== 0) return false;
    this.prefaceBytes += read.length;
    return true;
  }

  private chooseHttp1(): void {
    this.choosing = false;
    this.callbacks.onCodecChosen?.(null);
  }

  /** The connection is HTTP/2 with prior knowledge: the socket, the preface and what followed go to the owner's HTTP/2 codec. */
  private handOverHttp2(rest: Buffer): void {
    this.choosing = false;
    this.detach();
    setImmediate(releaseParser, this.parser);
    this.callbacks.onCodecChosen?.(Buffer.concat([CLIENT_PREFACE, rest]));
  }

  private onMessageBegin(): void {
    if (this.active === null) this.callbacks.onMessageBegin?.();
  }

  private onHeaders(flat: string[], url: string): void {
    if (this.inBody) this.trailers = this.trailers === null ? flat : this.trailers.concat(flat);
    else {
      this.pairs = this.pairs === null ? flat : this.pairs.concat(flat);
      this.url += url;
    }
  }

  private onHeadersComplete(major: number, minor: number, flat: string[] | undefined, methodIndex: number, url: string | undefined, upgrade: boolean, keepAlive: boolean): number {
    if (flat === undefined) {
      // Many headers came earlier through kOnHeaders.
      flat = this.pairs ?? [];
      url = this.url;
    }
    this.pairs = null;
    this.url = '';
    // A head in the first read: HTTP/1 is chosen before its stream begins.
    if (this.choosing) this.chooseHttp1();
    if (this.closing || this.failed) return HEADERS_PAUSE;
    if (flat.length > this.options.maxHeadersCount * 2) {
      this.headerCheck = { status: 431, details: 'http1.too_many_headers' };
      return HEADERS_FAIL;
    }
    const allowed = applyUnderscorePolicy(this.options.underscores, flat);
    if (allowed === null) {
      this.headerCheck = { status: 400, details: 'http1.unexpected_underscore' };
      return HEADERS_FAIL;
    }
    flat = allowed;
    const headers = newHeaderMap();
    if (!addHeaders(headers, flat)) {
      this.headerCheck = { status: 400, details: 'http1.invalid_host' };
      return HEADERS_FAIL;
    }
    const te = headers['transfer-encoding'];
    if (te !== undefined && (typeof te !== 'string' || te.toLowerCase() !== 'chunked')) {
      // llhttp lets "gzip, chunked" and (after this callback) "xchunked" through; Envoy takes only chunked.
      this.headerCheck = { status: 400, details: 'http1.invalid_transfer_encoding' };
      return HEADERS_FAIL;
    }
    const method = methods[methodIndex];
    let path = url ?? '';
    // An absolute-form target (a request to a forward proxy, RFC 9112 3.2.2): its authority becomes
    // the Host and its path the :path, as Envoy's allow_absolute_url (on by default) does.
    if (method !== 'CONNECT' && !path.startsWith('/') && ABSOLUTE_URL.test(path)) {
      const absolute = parseAbsoluteUrl(path);
      if (absolute === undefined) {
        this.headerCheck = { status: 400, details: 'http1.invalid_url' };
        return HEADERS_FAIL;
      }
      headers.host = absolute.host;
      path = absolute.path;
    }
    const raw = upgrade && (method === 'CONNECT' || String(headers.upgrade).toLowerCase() !== 'h2c');
    const length = headers['content-length'];
    const endStream = !raw && te === undefined && (length === undefined || Number(length) === 0);
    const head: RequestHeaders = {
      method,
      path,
      scheme: this.options.scheme,
      protocol: major === 1 && minor === 0 ? 'HTTP/1.0' : 'HTTP/1.1',
      headers,
    };
    this.inBody = true;
    this.messageUpgrade = upgrade;
    if (this.active !== null) {
      this.held = { head, endStream, keepAlive, raw };
      return HEADERS_PAUSE;
    }
    this.start(head, endStream, keepAlive, raw);
    return raw ? HEADERS_UPGRADE : HEADERS_OK;
  }

  private start(head: RequestHeaders, endStream: boolean, keepAlive: boolean, raw: boolean): void {
    const stream = new ServerStream(this, head.method, head.protocol, keepAlive, raw);
    this.active = stream;
    this.messageStream = stream;
    this.output.listener = stream;
    stream.decoder = this.callbacks.newStream(stream);
    stream.endDecoded = endStream;
    if (!stream.done) stream.decoder.decodeHeaders(head, endStream);
  }

  private onBody(chunk: Buffer): void {
    const stream = this.messageStream;
    if (stream !== null && !stream.done) stream.decoder.decodeData(chunk, false);
  }

  private onMessageComplete(): void {
    this.inBody = false;
    const trailers = this.trailers;
    this.trailers = null;
    if (this.messageUpgrade) {
      this.messageUpgrade = false;
      this.upgradeStop = true;
    }
    const stream = this.messageStream;
    this.messageStream = null;
    if (stream === null || stream.raw) return; // a raw stream's bytes are its payload, not a message
    stream.requestComplete = true;
    if (!stream.keepAlive) this.closing = true;
    if (!stream.endDecoded && !stream.done) {
      stream.endDecoded = true;
      if (trailers !== null && trailers.length > 0) {
        const map = newHeaderMap();
        addHeaders(map, trailers);
        stream.decoder.decodeTrailers(map);
      } else {
        stream.decoder.decodeData(EMPTY, true);
      }
    }
    if (stream.responseComplete && !stream.done) this.streamDone(stream);
    this.updateReading();
  }

  private parseError(err: ParseError): void {
    if (this.closing || this.failed) return; // bytes after a close are never served
    this.failed = true;
    const error = this.headerCheck ?? codecError(err);
    this.headerCheck = null;
    this.updateReading();
    const stream = this.active;
    if (stream === null) {
      this.startErrorStream(error);
    } else if (stream.requestComplete && this.messageStream !== stream) {
      this.heldError = error; // the next request is bad: answered once the current one is done
    } else {
      // Inside the current request (bad chunk framing, ...).
      stream.requestComplete = true;
      stream.closeAfter = true;
      if (!stream.done) this.callbacks.onProtocolError(stream.decoder, error);
      if (stream.responseComplete && !stream.done) this.finishAndClose(stream);
    }
  }

  private startErrorStream(error: CodecError): void {
    const stream = new ServerStream(this, 'GET', 'HTTP/1.1', false, false);
    stream.requestComplete = true;
    stream.closeAfter = true;
    this.active = stream;
    this.output.listener = stream;
    stream.decoder = this.callbacks.newStream(stream);
    if (!stream.done) this.callbacks.onProtocolError(stream.decoder, error);
  }

  /** Upgrade/CONNECT: the parser lets go of the socket; every later byte is the stream's payload. */
  protected onRawData(chunk: Buffer): void {
    const stream = this.active;
    if (stream !== null && !stream.done) stream.decoder.decodeData(chunk, false);
  }

  protected wantsToRead(): boolean {
    if (this.discarding) return !this.closed;
    return this.raw
      ? !this.closed && this.readDisables === 0
      : !this.closed && !this.failed && !this.closing && this.readDisables === 0 && this.held === null && this.heldError === null;
  }

  protected onEnd(): void {
    const stream = this.active;
    if (this.raw && stream !== null) {
      // The peer half-closed the tunnel.
      if (!stream.requestComplete) {
        stream.requestComplete = true;
        if (!stream.done) stream.decoder.decodeData(EMPTY, true);
      }
      if (stream.responseComplete && !stream.done) this.streamDone(stream);
      return;
    }
    if (stream !== null && !stream.done) {
      // Envoy's HTTP/1 connections are not half-open: a FIN before the response is a disconnect.
      this.lastError ||= 'downstream remote close';
      this.socket.destroy();
      return;
    }
    this.closeAfterFlush();
  }

  protected onClose(): void {
    this.closed = true;
    const stream = this.active;
    if (stream !== null && !stream.done) {
      stream.done = true;
      stream.callbacks?.onResetStream('connection-termination', this.lastError || 'connection closed');
    }
    this.output.listener = null;
    setImmediate(releaseParser, this.parser);
  }

  // --- stream life ---

  /** Both directions of `stream` completed on a connection that stays open. */
  streamDone(stream: ServerStream): void {
    stream.done = true;
    this.active = null;
    this.output.listener = null;
    this.readDisables = 0;
    if (this.raw) return; // both halves of the tunnel are closed: the socket closes by itself
    if (this.closing || this.draining) {
      this.closeAfterFlush();
      return;
    }
    if (this.heldError !== null) {
      const error = this.heldError;
      this.heldError = null;
      this.startErrorStream(error);
      return;
    }
    if (this.held !== null) {
      const held = this.held;
      const stash = this.stash ?? EMPTY;
      this.held = null;
      this.stash = null;
      this.start(held.head, held.endStream, held.keepAlive, held.raw);
      this.parser.resume();
      // Executed even when empty: llhttp completes a bodiless message on it.
      this.dispatch(stash);
    }
    this.updateReading();
  }

  /** The response of `stream` is complete and the connection closes after it. */
  finishAndClose(stream: ServerStream): void {
    stream.done = true;
    this.closeAfterFlush();
  }

  private closeAfterFlush(): void {
    this.closing = true;
    this.updateReading();
    const socket = this.socket;
    if (socket.destroyed || socket.writableEnded) return;
    this.output.end();
    // Give the peer a moment to read and close first (a close with unread input sends RST), and
    // read on, discarding, as Envoy does: the peer's FIN then closes the connection at once
    // instead of at the deadline.
    if (!this.raw && !this.discarding) {
      this.discarding = true;
      this.releaseParser(discard);
      this.updateReading();
    }
    const delayMs = this.options.delayedCloseMs ?? DELAYED_CLOSE_MS;
    // `on`: both events fire once per socket, and `once` costs two objects a listener.
    socket.on('finish', () => {
      if (delayMs <= 0) {
        socket.destroy(); // delayed close disabled: closed once the response is flushed
        return;
      }
      // Cleared when the peer closes first (the usual case): a pending timer would hold the
      // socket, and all the connection's objects with it, for the whole delay.
      const timer = setTimeout(destroySocket, delayMs, socket).unref();
      socket.on('close', () => clearTimeout(timer));
    });
  }
}

function discard(): void {}

function destroySocket(socket: Socket): void {
  socket.destroy();
}

const NO_DECODER: RequestDecoder = {
  decodeHeaders() {},
  decodeData() {},
  decodeTrailers() {},
};

/** One request/response exchange: the ResponseEncoder and the Stream in one object. */
class ServerStream extends Http1Stream<Http1ServerConnection> implements ResponseEncoder {
  readonly method: string;
  readonly protocol: Protocol;
  readonly keepAlive: boolean;
  /** Upgrade or CONNECT: the request's payload is raw bytes. */
  readonly raw: boolean;
  decoder: RequestDecoder = NO_DECODER;
  requestComplete = false;
  /** The decoder was told endStream. */
  endDecoded = false;
  responseComplete = false;
  headersSent = false;
  closeAfter = false;
  private body = BODY_LENGTH;

  constructor(conn: Http1ServerConnection, method: string, protocol: Protocol, keepAlive: boolean, raw: boolean) {
    super(conn);
    this.method = method;
    this.protocol = protocol;
    this.keepAlive = keepAlive;
    this.raw = raw;
  }

  encode1xxHeaders(headers: ResponseHeaders): void {
    if (this.headersSent || this.done) return;
    const out = this.conn.output;
    out.text(statusLine(headers.status) + headerLines(headers.headers, isFramingHeader) + '\r\n');
    out.flush();
  }

  encodeHeaders(response: ResponseHeaders, endStream: boolean): void {
    if (this.headersSent || this.done) return;
    this.headersSent = true;
    const status = response.status;
    const headers = response.headers;
    let head = statusLine(status);
    if (this.raw && (status === 101 || (this.method === 'CONNECT' && status >= 200 && status < 300))) {
      // The tunnel is accepted: headers as given, no framing; raw bytes follow both ways.
      this.body = BODY_RAW;
      this.conn.output.text(head + headerLines(headers, keepAll) + '\r\n');
      if (endStream) this.endResponse();
      return;
    }
    if (this.raw) {
      // A refused upgrade is an ordinary response, and the connection's last.
      this.requestComplete = true;
      this.closeAfter = true;
    }
    let close = this.closeAfter || !this.keepAlive || this.conn.draining || connectionHas(headers.connection, 'close');
    let framing = '';
    if (this.method === 'HEAD' || status === 204 || status === 304 || status < 200) {
      this.body = BODY_NONE;
    } else if (headers['content-length'] !== undefined) {
      this.body = BODY_LENGTH;
    } else if (endStream) {
      framing = 'content-length: 0\r\n';
    } else if (this.protocol === 'HTTP/1.1') {
      this.body = BODY_CHUNKED;
      framing = 'transfer-encoding: chunked\r\n';
    } else {
      close = true; // an HTTP/1.0 client reads the body to the close
    }
    this.closeAfter = close;
    if (close) framing += 'connection: close\r\n';
    else if (this.protocol === 'HTTP/1.0') framing += 'connection: keep-alive\r\n';
    head += headerLines(headers, isFramingHeader) + framing + '\r\n';
    this.conn.output.text(head);
    if (endStream) this.endResponse();
  }

  encodeData(data: Buffer, endStream: boolean): void {
    if (this.responseComplete || this.done) return;
    const out = this.conn.output;
    if (this.body === BODY_CHUNKED) out.chunk(data, endStream);
    else if (this.body !== BODY_NONE) {
      out.data(data);
    }
    if (endStream) this.endResponse();
  }

  encodeTrailers(trailers: HeaderMap): void {
    if (this.responseComplete || this.done) return;
    if (this.body === BODY_CHUNKED) this.conn.output.text('0\r\n' + headerLines(trailers, isFramingHeader) + '\r\n');
    this.endResponse();
  }

  private endResponse(): void {
    this.responseComplete = true;
    const conn = this.conn;
    if (this.body === BODY_RAW) {
      conn.output.end(); // half-close: the peer may still send
      if (this.requestComplete) conn.streamDone(this);
    } else if (this.closeAfter || !this.endDecoded) {
      // A response complete before its request's body: as Envoy, the connection closes after it
      // rather than reading the rest of a body nobody wants.
      conn.finishAndClose(this);
    } else if (this.requestComplete) {
      conn.streamDone(this);
    }
  }
}

const ABSOLUTE_URL = /^https?:\/\//i;

// http://host[:port]/path?query -> its authority as sent, and its path (at least '/') with the query.
function parseAbsoluteUrl(url: string): { host: string; path: string } | undefined {
  try {
    const parsed = new URL(url);
    if (parsed.host === '' || parsed.username !== '' || parsed.password !== '') return undefined;
  } catch {
    return undefined;
  }
  const from = url.indexOf('//') + 2;
  let end = from;
  while (end < url.length && url[end] !== '/' && url[end] !== '?' && url[end] !== '#') end++;
  const rest = url.slice(end);
  return { host: url.slice(from, end), path: rest.startsWith('/') ? rest : `/${rest}` };
}
