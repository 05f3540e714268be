// One downstream connection of a connection manager: its codec, the stream it is serving, and the
// per-connection timers (stream idle through the socket's own inactivity timer, refreshed by every
// read and write; request and headers timeouts only when configured). HTTP/1 serves one stream at
// a time, so a per-connection timer covers the stream too.
import type { Socket } from 'node:net';
import { Http1ServerConnection } from '../codec/index.ts';
import type { CodecError, RequestDecoder, ResponseEncoder, ServerConnection, ServerConnectionCallbacks, UnderscorePolicy } from '../codec/index.ts';
import type { ConnectionFacts } from '../listener/index.ts';
import { connectionAddressText, connectionPeerText } from './downstream-address.ts';
import type { HttpConnectionManager } from '../config/model.ts';
import { HttpStream, type StreamConnection, type StreamManager } from './stream.ts';

/** What a connection needs of its connection manager (the HCM implements it). */
export interface ConnectionOwner extends StreamManager {
  readonly config: HttpConnectionManager;
  onNewStream(stream: HttpStream, http2?: boolean): void;
  expireStream(stream: HttpStream, flag: string, body: string, details: string): void;
  underscores(http2: boolean): UnderscorePolicy | undefined;
  /** stream_idle_timeout for a stream starting now (the overload manager's reduce_timeouts may shorten it). */
  streamIdleTimeoutMs(): number;
}

export class DownstreamConnection implements ServerConnectionCallbacks, StreamConnection {
  readonly hcm: ConnectionOwner;
  readonly socket: Socket;
  readonly facts: ConnectionFacts | undefined;
  readonly codec: ServerConnection;
  /** 'ip:port' where the client was going: the original_dst listener filter's restored address, if any. */
  readonly localAddress: string;
  readonly dynamicMetadata: Readonly<Record<string, unknown>> | undefined;
  readonly remoteAddress: string;
  active: HttpStream | null = null;
  /** performance.now() when the last stream ended; the connection manager's sweep closes idle ones. */
  idleSince: number;
  requestCount = 0;
  private timeoutMs: number;
  private requestTimer: NodeJS.Timeout | undefined = undefined;
  private headersTimer: NodeJS.Timeout | undefined = undefined;

  /** codec_type AUTO: what the connection manager does once the codec has read the first bytes (see onCodecChosen). */
  onChosen: ((http2Bytes: Buffer | null) => void) | undefined = undefined;
  private readonly onTimeoutBound = (): void => this.onSocketTimeout();

  /** `detectHttp2`: codec_type AUTO, the first read may hand the connection to HTTP/2 (onChosen). */
  constructor(hcm: ConnectionOwner, socket: Socket, facts: ConnectionFacts | undefined, detectHttp2 = false) {
    this.hcm = hcm;
    this.socket = socket;
    this.facts = facts;
    this.remoteAddress = connectionPeerText(socket, facts);
    this.localAddress = facts === undefined ? connectionAddressText(socket.localAddress, socket.localPort) : connectionAddressText(facts.destinationIp, facts.destinationPort);
    this.dynamicMetadata = facts?.dynamicMetadata;
    this.idleSince = performance.now();
    const config = hcm.config;
    // A TLSSocket (the chain's transport socket terminated TLS) has encrypted = true.
    const scheme = (socket as { encrypted?: boolean }).encrypted === true ? 'https' : 'http';
    this.codec = new Http1ServerConnection(socket, this, {
      maxRequestHeadersKb: config.maxRequestHeadersKb,
      maxHeadersCount: config.maxHeadersCount,
      scheme,
      underscores: hcm.underscores(false),
      delayedCloseMs: config.delayedCloseTimeoutMs,
      detectHttp2,
    });
    this.timeoutMs = config.streamIdleTimeoutMs;
    if (this.timeoutMs > 0) {
      socket.setTimeout(this.timeoutMs);
      socket.on('timeout', this.onTimeoutBound);
    }
  }

  /** A request's first byte: request_headers_timeout runs until its head is complete. */
  onMessageBegin(): void {
    const ms = this.hcm.config.requestHeadersTimeoutMs;
    if (ms > 0 && this.headersTimer === undefined) this.headersTimer = setTimeout(() => this.onHeadersTimeout(), ms);
  }

  /** A stream in flight (the connection manager's idle sweep and close accounting). */
  get busy(): boolean {
    return this.active !== null;
  }

  newStream(encoder: ResponseEncoder): RequestDecoder {
    this.clearHeadersTimer();
    const stream = new HttpStream(this, encoder);
    this.active = stream;
    this.hcm.onNewStream(stream);
    const idleMs = this.hcm.streamIdleTimeoutMs();
    if (idleMs !== this.timeoutMs && idleMs > 0) this.setStreamIdleTimeout(idleMs);
    // request_timeout runs until the whole request is in.
    const ms = this.hcm.config.requestTimeoutMs;
    if (ms > 0) this.requestTimer = setTimeout(() => this.onRequestTimeout(stream), ms);
    return stream;
  }

  onCodecChosen(http2Bytes: Buffer | null): void {
    if (http2Bytes !== null) {
      // The HTTP/2 preface: nothing of this connection stays on the socket.
      this.clearHeadersTimer();
      this.socket.setTimeout(0);
      this.socket.removeListener('timeout', this.onTimeoutBound);
    }
    this.onChosen?.(http2Bytes);
  }

  onProtocolError(decoder: RequestDecoder, error: CodecError): void {
    (decoder as HttpStream).onCodecError(error);
  }

  onRequestComplete(_stream: HttpStream): void {
    this.clearRequestTimer();
  }

  /** A route's idle_timeout replaces the connection manager's for this stream. */
  setStreamIdleTimeout(ms: number): void {
    if (ms === this.timeoutMs) return;
    if (this.timeoutMs === 0 && ms > 0) this.socket.on('timeout', this.onTimeoutBound);
    this.timeoutMs = ms;
    this.socket.setTimeout(ms);
  }

  onStreamEnd(stream: HttpStream): void {
    if (this.active !== stream) return;
    this.active = null;
    this.clearRequestTimer();
    this.idleSince = performance.now();
    const base = this.hcm.config.streamIdleTimeoutMs;
    if (this.timeoutMs !== base && base > 0) this.setStreamIdleTimeout(base);
  }

  /** HTTP/1 needs no deadline: the connection closes after the response in flight. */
  drain(_timeoutMs?: number): void {
    this.codec.drain();
  }

  close(): void {
    this.codec.close();
  }

  private clearRequestTimer(): void {
    if (this.requestTimer === undefined) return;
    clearTimeout(this.requestTimer);
    this.requestTimer = undefined;
  }

  private onRequestTimeout(stream: HttpStream): void {
    this.requestTimer = undefined;
    if (stream.ended || stream.requestComplete) return;
    this.hcm.stats.downstreamRqTimeout.inc();
    stream.sendLocalReply(408, 'request timeout', '', 'request_overall_timeout', { connection: 'close' });
  }

  private onHeadersTimeout(): void {
    this.headersTimer = undefined;
    this.codec.expireRequestHeaders();
  }

  private clearHeadersTimer(): void {
    if (this.headersTimer === undefined) return;
    clearTimeout(this.headersTimer);
    this.headersTimer = undefined;
  }

  /** No bytes either way for the stream idle timeout: the active stream expires (408 SI, or a reset). */
  private onSocketTimeout(): void {
    const stream = this.active;
    if (stream === null || stream.ended) return;
    this.hcm.stats.downstreamRqIdleTimeout.inc();
    this.hcm.expireStream(stream, 'SI', 'stream timeout', 'stream_idle_timeout');
  }
}
