// One end of an in-process connection to an internal listener (Envoy's user-space IoHandle pair).
// It is a net.Socket without a handle, so the codecs, tcp_proxy and node:tls take it as they take
// a TCP socket: the HTTP/1 codec cannot consume a handle and reads 'data' events instead, node:tls
// and node:http2 wrap it in their JS stream adapter. Bytes written on one end are queued on the
// other and delivered from its _read (never inside the writer's call): no re-entrancy between
// the two ends. Back-pressure: a write completes while the peer holds less than the buffer size
// (envoy.bootstrap.internal_listener's buffer_size_kb) unread; beyond it the write waits for the
// peer to read, so the writer's own buffer fills and write() answers false, as on a full kernel
// socket buffer. end() is a half-close (the peer reads EOF after the queued bytes); destroy() is
// EOF for the peer too, and its later writes fail with EPIPE (Envoy: the peer's write end closes).
import net from 'node:net';
import type { SharedObject } from '../../filter-state/index.ts';

/** The address Envoy gives the connecting end: nothing is bound on that side. */
export const INTERNAL_CLIENT_ADDRESS = 'envoy://internal_client_address/';

type WriteDone = (error?: Error | null) => void;

interface SocketName {
  address: string;
  family: string;
}

export class InternalSocket extends net.Socket {
  private peer: InternalSocket | null = null;
  private readonly bufferLimit: number;
  private readonly local: SocketName;
  private readonly remote: SocketName;
  /** Bytes the peer wrote that this end has not pushed into its readable side yet. */
  private inbound: Buffer[] = [];
  private inboundBytes = 0;
  private inboundEnded = false;
  /** _read found nothing queued: the next bytes (or EOF) are delivered when they arrive. */
  private waiting = false;
  private scheduled = false;
  /** The peer's write that filled this end's buffer; it completes once this end reads. */
  private blockedWrite: WriteDone | null = null;
  private received = 0;
  private sent = 0;
  /** The listener's end: the dynamic metadata the cluster's internal_upstream passed through. */
  passthroughMetadata: Readonly<Record<string, unknown>> | undefined;
  /** The listener's end: the filter state objects the connecting stream or connection shared (Envoy's
   *  internal client connection factory puts them in the new connection's filter state). */
  sharedFilterState: readonly SharedObject[] | undefined;

  constructor(local: string, remote: string, bufferSize: number, allowHalfOpen: boolean) {
    super({ allowHalfOpen });
    this.bufferLimit = bufferSize;
    this.local = { address: local, family: 'envoy_internal' };
    this.remote = { address: remote, family: 'envoy_internal' };
  }

  /** Joins two ends. */
  static pair(a: InternalSocket, b: InternalSocket): void {
    a.peer = b;
    b.peer = a;
  }

  // net.Socket reads its addresses through these; a handle-less socket has none of its own.
  _getsockname(): SocketName {
    return this.local;
  }

  _getpeername(): SocketName {
    return this.remote;
  }

  override _read(): void {
    if (this.inbound.length > 0 || this.inboundEnded) this.deliver();
    else this.waiting = true;
  }

  override _write(chunk: Buffer | string, encoding: BufferEncoding, done: WriteDone): void {
    this.send(typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk, done);
  }

  override _writev(chunks: Array<{ chunk: Buffer | string; encoding: BufferEncoding }>, done: WriteDone): void {
    this.send(Buffer.concat(chunks.map(({ chunk, encoding }) => (typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk))), done);
  }

  override _final(done: WriteDone): void {
    this.peer?.receiveEnd();
    done();
  }

  override _destroy(error: Error | null, done: WriteDone): void {
    const peer = this.peer;
    this.peer = null;
    // A write of the peer's waiting for room here will never land.
    const blocked = this.blockedWrite;
    this.blockedWrite = null;
    blocked?.(epipe());
    if (peer !== null) {
      peer.peer = null;
      peer.receiveEnd();
    }
    super._destroy(error, done);
  }

  private send(chunk: Buffer, done: WriteDone): void {
    const peer = this.peer;
    if (peer === null) {
      done(epipe());
      return;
    }
    this.sent += chunk.length;
    this.refreshTimer();
    peer.receive(chunk, done);
  }

  private receive(chunk: Buffer, done: WriteDone): void {
    this.inbound.push(chunk);
    this.inboundBytes += chunk.length;
    this.wake();
    if (this.inboundBytes < this.bufferLimit) done();
    else this.blockedWrite = done;
  }

  private receiveEnd(): void {
    this.inboundEnded = true;
    this.wake();
  }

  private wake(): void {
    if (!this.waiting || this.scheduled) return;
    this.scheduled = true;
    process.nextTick(() => this.deliver());
  }

  private deliver(): void {
    this.waiting = false;
    this.scheduled = false;
    if (this.destroyed) return;
    const chunks = this.inbound;
    if (chunks.length > 0) {
      this.inbound = [];
      this.inboundBytes = 0;
      for (const chunk of chunks) {
        this.received += chunk.length;
        this.push(chunk);
      }
      this.refreshTimer();
    }
    if (this.inboundEnded) this.push(null);
    const blocked = this.blockedWrite;
    this.blockedWrite = null;
    blocked?.();
  }

  /** Activity restarts socket.setTimeout's inactivity timer, as net's reads and writes on a handle do. */
  private refreshTimer(): void {
    (this as unknown as { _unrefTimer(): void })._unrefTimer();
  }

  /** What bytesRead and bytesWritten report (net.Socket's getters read the handle). */
  get byteCounts(): { read: number; written: number } {
    return { read: this.received, written: this.sent };
  }
}

Object.defineProperties(InternalSocket.prototype, {
  bytesRead: {
    get(this: InternalSocket) {
      return this.byteCounts.read;
    },
  },
  bytesWritten: {
    get(this: InternalSocket) {
      return this.byteCounts.written;
    },
  },
});

/**
 * node:tls takes a net.Socket without a handle for one still connecting and starts its handshake
 * at the socket's next 'connect'; an internal socket is connected already (the listener's end
 * never emits it), so the TLS layer is told once it has wrapped the socket.
 */
export function startTlsOn(socket: net.Socket): void {
  if (socket instanceof InternalSocket) socket.emit('connect');
}

function epipe(): Error {
  return Object.assign(new Error('write EPIPE'), { code: 'EPIPE', errno: -32, syscall: 'write' });
}
