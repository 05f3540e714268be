// One HTTP/2 downstream connection of a connection manager: many streams at once, so the timers
// are per stream (stream_idle_timeout through the codec stream's own idle timer, request_timeout
// one timer per stream only when configured). Drain sends GOAWAY and lets streams in flight finish.
import type { Socket } from 'node:net';
import { Http2ServerConnection, type Http2ServerStream, type Http2CodecStats } from '../codec/index.ts';
import type { CodecError, RequestDecoder, ResponseEncoder, ServerConnectionCallbacks } from '../codec/index.ts';
import type { ConnectionFacts } from '../listener/index.ts';
import { connectionAddressText, connectionPeerText } from './downstream-address.ts';
import type { ConnectionOwner } from './downstream-connection.ts';
import { HttpStream, type StreamConnection } from './stream.ts';
import { LiveList } from '../collections/live-list.ts';

export class Http2DownstreamConnection implements ServerConnectionCallbacks, StreamConnection {
  readonly hcm: ConnectionOwner;
  readonly socket: Socket;
  readonly codec: Http2ServerConnection;
  readonly localAddress: string;
  readonly dynamicMetadata: Readonly<Record<string, unknown>> | undefined;
  readonly facts: ConnectionFacts | undefined;
  readonly remoteAddress: string;
  readonly streams = new LiveList<HttpStream>();
  /** performance.now() when the last stream ended; the connection manager's sweep closes idle ones. */
  idleSince: number;
  requestCount = 0;
  /** The stream whose headers are being decoded: a route's idle_timeout applies to it. */
  private decoding: HttpStream | null = null;
  private requestTimers: Map<HttpStream, NodeJS.Timeout> | null = null;

  constructor(hcm: ConnectionOwner, socket: Socket, facts: ConnectionFacts | undefined, stats: Http2CodecStats) {
    this.hcm = hcm;
    this.socket = socket;
    this.remoteAddress = connectionPeerText(socket, facts);
    this.localAddress = facts === undefined ? connectionAddressText(socket.localAddress, socket.localPort) : connectionAddressText(facts.destinationIp, facts.destinationPort);
    this.dynamicMetadata = facts?.dynamicMetadata;
    this.facts = facts;
    this.idleSince = performance.now();
    const config = hcm.config;
    const scheme = (socket as { encrypted?: boolean }).encrypted === true ? 'https' : 'http';
    this.codec = new Http2ServerConnection(socket, this, {
      scheme,
      maxRequestHeadersKb: config.maxRequestHeadersKb,
      maxHeadersCount: config.maxHeadersCount,
      ...config.http2,
      stats,
      underscores: hcm.underscores(true),
      streamBufferLimitBytes: config.bufferLimitBytes,
    });
  }

  /** Streams in flight (the connection manager's idle sweep and close accounting). */
  get busy(): boolean {
    return this.streams.size > 0;
  }

  newStream(encoder: ResponseEncoder): RequestDecoder {
    const stream = new HttpStream(this, encoder);
    stream.connectionEntry = this.streams.add(stream);
    this.decoding = stream;
    this.hcm.onNewStream(stream, true);
    const idleMs = this.hcm.streamIdleTimeoutMs();
    if (idleMs > 0) this.armIdle(stream, idleMs);
    const ms = this.hcm.config.requestTimeoutMs;
    if (ms > 0) (this.requestTimers ??= new Map()).set(stream, setTimeout(() => this.onRequestTimeout(stream), ms));
    return stream;
  }

  onProtocolError(decoder: RequestDecoder, error: CodecError): void {
    (decoder as HttpStream).onCodecError(error);
  }

  onRequestComplete(stream: HttpStream): void {
    this.clearRequestTimer(stream);
  }

  /** A route's idle_timeout: called while the route of the stream being decoded is looked up. */
  setStreamIdleTimeout(ms: number): void {
    const stream = this.decoding;
    if (stream !== null && !stream.ended && ms > 0) this.armIdle(stream, ms);
  }

  onStreamEnd(stream: HttpStream): void {
    if (stream.connectionEntry === null || !this.streams.delete(stream.connectionEntry)) return;
    if (this.decoding === stream) this.decoding = null;
    this.clearRequestTimer(stream);
    if (this.streams.size === 0) this.idleSince = performance.now();
  }

  drain(timeoutMs?: number): void {
    this.codec.drain(timeoutMs);
  }

  close(): void {
    this.codec.close();
  }

  private armIdle(stream: HttpStream, ms: number): void {
    (stream.encoder as Http2ServerStream).setIdleTimeout(ms, () => {
      if (stream.ended) return;
      this.hcm.stats.downstreamRqIdleTimeout.inc();
      this.hcm.expireStream(stream, 'SI', 'stream timeout', 'stream_idle_timeout');
    });
  }

  private clearRequestTimer(stream: HttpStream): void {
    const timers = this.requestTimers;
    const timer = timers?.get(stream);
    if (timer === undefined) return;
    clearTimeout(timer);
    timers!.delete(stream);
  }

  private onRequestTimeout(stream: HttpStream): void {
    this.requestTimers?.delete(stream);
    if (stream.ended || stream.requestComplete) return;
    this.hcm.stats.downstreamRqTimeout.inc();
    stream.sendLocalReply(408, 'request timeout', '', 'request_overall_timeout');
  }
}
