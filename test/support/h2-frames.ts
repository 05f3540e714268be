// A bare HTTP/2 client at the frame level, for what node:http2's client hides: it reacts to every
// GOAWAY by closing, so a test of the shutdown notice (GOAWAY naming stream 2^31-1) and the final
// GOAWAY after drain_timeout must read the frames itself. Requests are GETs with a literal HPACK
// block (no table), enough to open streams.
import net from 'node:net';
import { EventEmitter } from 'node:events';

export const FRAME_HEADERS = 0x1;
export const FRAME_SETTINGS = 0x4;
export const FRAME_GOAWAY = 0x7;

export interface Frame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
  at: number; // performance.now() when it arrived
}

function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

/** A literal header field without indexing, the name from the static table. */
function literal(nameIndex: number, value: string): Buffer {
  const v = Buffer.from(value);
  if (v.length > 126) throw new Error('value too long for this tiny encoder');
  return Buffer.from([nameIndex, v.length, ...v]);
}

export class RawH2Client extends EventEmitter {
  readonly socket: net.Socket;
  readonly frames: Frame[] = [];
  private pending = Buffer.alloc(0);

  constructor(port: number) {
    super();
    this.socket = net.connect({ host: '127.0.0.1', port });
    this.socket.on('error', () => undefined);
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), frame(FRAME_SETTINGS, 0, 0, Buffer.alloc(0))]));
  }

  /** GET `path` on stream `streamId` (odd, increasing), END_STREAM set. */
  get(streamId: number, path: string, authority = 'x'): void {
    // :method GET (2) and :scheme http (6) indexed; :path (4) and :authority (1) literal.
    const block = Buffer.concat([Buffer.from([0x82, 0x86]), literal(4, path), literal(1, authority)]);
    this.socket.write(frame(FRAME_HEADERS, 0x5, streamId, block));
  }

  /** The next frame matching `match` (one already received counts), or a rejection after timeoutMs. */
  waitFrame(what: string, match: (f: Frame) => boolean, timeoutMs = 5000): Promise<Frame> {
    const found = this.frames.find(match);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('frame', onFrame);
        reject(new Error(`no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      const onFrame = (f: Frame) => {
        if (!match(f)) return;
        clearTimeout(timer);
        this.off('frame', onFrame);
        resolve(f);
      };
      this.on('frame', onFrame);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.pending = Buffer.concat([this.pending, chunk]);
    while (this.pending.length >= 9) {
      const length = this.pending.readUIntBE(0, 3);
      if (this.pending.length < 9 + length) return;
      const f: Frame = {
        type: this.pending[3],
        flags: this.pending[4],
        streamId: this.pending.readUInt32BE(5) & 0x7fffffff,
        payload: this.pending.subarray(9, 9 + length),
        at: performance.now(),
      };
      this.pending = this.pending.subarray(9 + length);
      // The peer's SETTINGS get their ACK, as the protocol requires.
      if (f.type === FRAME_SETTINGS && (f.flags & 0x1) === 0) this.socket.write(frame(FRAME_SETTINGS, 0x1, 0, Buffer.alloc(0)));
      this.frames.push(f);
      this.emit('frame', f);
    }
  }
}

/** A GOAWAY frame's last stream id. */
export function goawayLastStream(f: Frame): number {
  return f.payload.readUInt32BE(0) & 0x7fffffff;
}
