// What a request/response exchange on an HTTP/1 connection is as a Stream, on either side: its
// callbacks, reset (HTTP/1 has none: the connection closes), read disabling (the connection's
// reads), the connection's addresses, and the write watermarks it passes on.
import type { Socket } from 'node:net';
import type { Stream, StreamCallbacks, StreamResetReason } from '../types.ts';
import type { Output, WatermarkListener } from './output.ts';

/** What a stream needs of its connection. */
export interface StreamConnection {
  readonly socket: Socket;
  readonly output: Output;
  readonly localAddress: string;
  readonly remoteAddress: string;
  readonly active: unknown;
  readDisable(disable: boolean): void;
}

export abstract class Http1Stream<C extends StreamConnection> implements Stream, WatermarkListener {
  readonly conn: C;
  callbacks: StreamCallbacks | null = null;
  /** Removed from the connection: completed or reset; nothing more is delivered. */
  done = false;

  constructor(conn: C) {
    this.conn = conn;
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

  setCallbacks(callbacks: StreamCallbacks): void {
    this.callbacks = callbacks;
    if (this.conn.output.aboveHighWatermark && this.conn.active === this) callbacks.onAboveWriteBufferHighWatermark();
  }

  resetStream(_reason: StreamResetReason): void {
    if (this.done) return;
    this.done = true;
    this.conn.socket.destroy();
  }

  readDisable(disable: boolean): void {
    if (!this.done) this.conn.readDisable(disable);
  }

  onAboveWriteBufferHighWatermark(): void {
    this.callbacks?.onAboveWriteBufferHighWatermark();
  }

  onBelowWriteBufferLowWatermark(): void {
    this.callbacks?.onBelowWriteBufferLowWatermark();
  }
}
