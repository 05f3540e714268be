// A connection's outgoing bytes, coalesced: everything encoded in one event-loop turn (a head, a
// small body, the chunk terminator, even several pipelined responses) leaves in one socket write,
// made after the turn's I/O callbacks (setImmediate), as Envoy writes a connection's buffer once
// per event. A microtask is too early: a consumed socket's parser calls back from C++ once per
// head, body and message end, with microtasks run between them, so a response's head and body
// left in two writes (two TLS records). Large output is written at once, without copying.
import type { Socket } from 'node:net';
import type { HeaderMap } from '../types.ts';

/** Above this many pending bytes, write now instead of waiting for the microtask. */
const FLUSH_AT = 64 * 1024;
/** Up to this many bytes the pieces are copied into one buffer; above, one writev takes them as they are. */
const COPY_UP_TO = 4 * 1024;

export interface WatermarkListener {
  onAboveWriteBufferHighWatermark(): void;
  onBelowWriteBufferLowWatermark(): void;
}

/** Outputs with bytes queued this turn, written by one immediate. */
const pending: Output[] = [];

function flushPending(): void {
  // An index loop: a flush may queue output on another connection (a watermark callback).
  for (let i = 0; i < pending.length; i++) pending[i].flush();
  pending.length = 0;
}

export class Output {
  readonly socket: Socket;
  /** Who hears about back-pressure (the current stream's owner), or null. */
  listener: WatermarkListener | null = null;
  /** Whether socket.write said "stop" and no 'drain' came yet. */
  aboveHighWatermark = false;
  private chunks: (string | Buffer)[] = [];
  private bytes = 0;
  private allStrings = true;
  private scheduled = false;
  private endAfterFlush = false;

  private readonly onDrain = (): void => {
    if (!this.aboveHighWatermark) return;
    this.aboveHighWatermark = false;
    this.listener?.onBelowWriteBufferLowWatermark();
  };

  constructor(socket: Socket) {
    this.socket = socket;
    socket.on('drain', this.onDrain);
  }

  /** Another codec takes the socket (nothing was queued: it only read). */
  detach(): void {
    this.socket.removeListener('drain', this.onDrain);
    this.listener = null;
  }

  /** Queues latin1 text (heads, chunk framing). */
  text(s: string): void {
    this.chunks.push(s);
    this.bytes += s.length;
    this.queued();
  }

  /** Queues body bytes (kept by reference: the caller must not reuse the buffer). */
  data(b: Buffer): void {
    if (b.length === 0) return;
    this.chunks.push(b);
    this.bytes += b.length;
    this.allStrings = false;
    this.queued();
  }

  /** Queues `b` as one chunk of a chunked body; endStream adds the last chunk. Empty data is no chunk. */
  chunk(b: Buffer, endStream: boolean): void {
    if (b.length > 0) {
      this.text(b.length.toString(16) + '\r\n');
      this.data(b);
      this.text(endStream ? '\r\n0\r\n\r\n' : '\r\n');
    } else if (endStream) {
      this.text('0\r\n\r\n');
    }
  }

  /** Writes what is pending, then half-closes the socket (FIN). */
  end(): void {
    this.endAfterFlush = true;
    this.flush();
  }

  private queued(): void {
    if (this.bytes >= FLUSH_AT) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      if (pending.push(this) === 1) setImmediate(flushPending);
    }
  }

  flush(): void {
    this.scheduled = false;
    const socket = this.socket;
    if (this.bytes > 0 && socket.writable) {
      const chunks = this.chunks;
      let ok: boolean;
      if (chunks.length === 1) {
        const c = chunks[0];
        ok = typeof c === 'string' ? socket.write(c, 'latin1') : socket.write(c);
      } else if (this.allStrings) {
        ok = socket.write(chunks.join(''), 'latin1');
      } else if (this.bytes <= COPY_UP_TO) {
        const out = Buffer.allocUnsafe(this.bytes);
        let at = 0;
        for (const c of chunks) at += typeof c === 'string' ? out.write(c, at, 'latin1') : c.copy(out, at);
        ok = socket.write(out);
      } else {
        // Big: let the socket gather the pieces (one writev) instead of copying them.
        socket.cork();
        for (const c of chunks) typeof c === 'string' ? socket.write(c, 'latin1') : socket.write(c);
        socket.uncork();
        ok = socket.writableLength < socket.writableHighWaterMark;
      }
      if (!ok && !this.aboveHighWatermark) {
        this.aboveHighWatermark = true;
        this.listener?.onAboveWriteBufferHighWatermark();
      }
    }
    this.chunks = [];
    this.bytes = 0;
    this.allStrings = true;
    if (this.endAfterFlush) {
      this.endAfterFlush = false;
      if (socket.writable) socket.end();
    }
  }
}

/** `name: value\r\n` lines of a header map (arrays one line per value), skipping `skip`'s names. */
export function headerLines(headers: HeaderMap, skip: (name: string) => boolean): string {
  let out = '';
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || skip(name)) continue;
    if (typeof value === 'string') out += name + ': ' + value + '\r\n';
    else for (const v of value) out += name + ': ' + v + '\r\n';
  }
  return out;
}
