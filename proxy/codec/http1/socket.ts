// The few net.Socket internals the HTTP/1 codec uses, in one place: handing the socket's handle to
// the parser (node:http's fast read path), starting/stopping reads, the inactivity timer.
import type { Socket } from 'node:net';
import type { NativeParser } from './parser.ts';

interface StreamHandle {
  isStreamBase?: boolean;
  _consumed?: boolean;
  reading: boolean;
  readStart(): number;
  readStop(): number;
}

interface SocketInternals {
  _handle: StreamHandle | null;
  _unrefTimer(): void;
}

/** Lets the parser read the socket's handle directly; false when it cannot (no native stream handle). */
export function consumeSocket(socket: Socket, parser: NativeParser): boolean {
  const handle = (socket as unknown as SocketInternals)._handle;
  if (handle === null || handle.isStreamBase !== true || handle._consumed === true) return false;
  handle._consumed = true;
  parser.consume(handle);
  return true;
}

/** Starts or stops reading: on the handle when the parser consumes it, else through the stream. */
export function setSocketReading(socket: Socket, consumed: boolean, on: boolean): void {
  if (!consumed) {
    if (on) socket.resume();
    else socket.pause();
    return;
  }
  const handle = (socket as unknown as SocketInternals)._handle;
  if (handle === null || handle.reading === on) return;
  handle.reading = on;
  if (on) handle.readStart();
  else handle.readStop();
}

/** A read happened: socket.setTimeout's inactivity timer restarts (consumed reads bypass net). */
export function unrefTimer(socket: Socket): void {
  (socket as unknown as SocketInternals)._unrefTimer();
}

/** 'ip:port', IPv6 in brackets. */
export function addressText(ip: string | undefined, port: number | undefined): string {
  if (ip === undefined) return '';
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}
