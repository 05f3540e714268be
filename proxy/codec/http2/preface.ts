// codec_type AUTO on a connection without ALPN 'h2': HTTP/2 with prior knowledge starts with the
// client connection preface (RFC 9113 3.4). The first bytes are read, compared and given back to
// the socket, where either codec parses them first.
import type { Socket } from 'node:net';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** Calls `done(true)` for the HTTP/2 preface, `done(false)` at the first byte that differs; never if the socket closes first. */
export function detectHttp2Preface(socket: Socket, done: (http2: boolean) => void): void {
  let seen: Buffer | null = null;
  const onReadable = (): void => {
    const chunk = socket.read() as Buffer | null;
    if (chunk === null) return;
    seen = seen === null ? chunk : Buffer.concat([seen, chunk]);
    const n = Math.min(seen.length, PREFACE.length);
    const matches = seen.compare(PREFACE, 0, n, 0, n) === 0;
    // A prefix of the preface: wait for the rest (a handful of bytes at most).
    if (matches && n < PREFACE.length) return;
    socket.removeListener('readable', onReadable);
    socket.unshift(seen);
    done(matches);
  };
  socket.on('readable', onReadable);
}
