// What both HTTP/1 connection sides share: the socket and its coalesced output, the parser fed
// by a consumed socket handle (node:http's read path) or by 'data' events, nested read disabling,
// the switch to raw bytes after an upgrade, and the connection's addresses.
import type { Socket } from 'node:net';
import { allocParser, type NativeParser, type ParseError, kOnExecute } from './parser.ts';
import { Output } from './output.ts';
import { addressText, consumeSocket, setSocketReading } from './socket.ts';

export abstract class Http1Connection {
  readonly socket: Socket;
  readonly output: Output;
  protected readonly parser: NativeParser;
  protected consumed = false;
  protected readDisables = 0;
  protected reading = true;
  /** After an upgrade or CONNECT: the socket's bytes are the stream's, not HTTP/1. */
  protected raw = false;
  protected closed = false;
  protected lastError = '';
  private local: string | null = null;
  private remote: string | null = null;
  private readonly onDataBound: (chunk: Buffer) => void;
  private readonly onEndBound = (): void => this.onEnd();
  private readonly onErrorBound = (err: NodeJS.ErrnoException): void => {
    this.lastError = err.code ?? err.message;
  };
  private readonly onCloseBound = (): void => this.onClose();

  constructor(socket: Socket, parserType: number, maxHeaderBytes: number) {
    this.socket = socket;
    this.output = new Output(socket);
    // No setNoDelay here: Legate makes its TCP sockets with noDelay (listeners, pool connects), and
    // on a TLSSocket the call was one more setsockopt per connection.
    this.parser = allocParser(parserType, maxHeaderBytes);
    this.onDataBound = (chunk) => this.onData(chunk);
  }

  /** Starts reading once the subclass set its parser callbacks; `early` are bytes already read from the socket. */
  protected startReading(early: Buffer | null): void {
    const socket = this.socket;
    if (consumeSocket(socket, this.parser)) {
      this.consumed = true;
      this.parser[kOnExecute] = (ret: number | ParseError) => this.onExecute(ret);
    } else {
      socket.on('data', this.onDataBound);
    }
    if (early !== null) this.onData(early);
    socket.on('end', this.onEndBound);
    socket.on('error', this.onErrorBound);
    socket.on('close', this.onCloseBound);
  }

  /** Lets go of the socket for another codec: no listener of this connection stays on it. Call from a parser callback, as enterRaw. */
  protected detach(): void {
    this.closed = true;
    const socket = this.socket;
    if (this.consumed) {
      this.parser.unconsume();
      this.consumed = false;
    } else {
      socket.removeListener('data', this.onDataBound);
    }
    socket.removeListener('end', this.onEndBound);
    socket.removeListener('error', this.onErrorBound);
    socket.removeListener('close', this.onCloseBound);
    this.output.detach();
  }

  get localAddress(): string {
    return (this.local ??= addressText(this.socket.localAddress, this.socket.localPort));
  }

  get remoteAddress(): string {
    return (this.remote ??= addressText(this.socket.remoteAddress, this.socket.remotePort));
  }

  close(): void {
    this.socket.destroy();
  }

  readDisable(disable: boolean): void {
    if (disable) this.readDisables++;
    else if (this.readDisables > 0) this.readDisables--;
    this.updateReading();
  }

  updateReading(): void {
    const want = this.wantsToRead();
    if (want === this.reading) return;
    this.reading = want;
    setSocketReading(this.socket, this.consumed, want);
  }

  /** Upgrade or CONNECT accepted: the parser lets go of the socket; `rest` and every later byte go to onRawData. */
  protected enterRaw(rest: Buffer): void {
    this.raw = true;
    // A tunnel closes one direction at a time: the peer's FIN must not end our side too.
    this.socket.allowHalfOpen = true;
    this.releaseParser((chunk) => this.onRawData(chunk));
    if (rest.length > 0) this.onRawData(rest);
    this.updateReading();
  }

  /** The parser lets go of the socket: from now on every byte read goes to `onBytes`. */
  protected releaseParser(onBytes: (chunk: Buffer) => void): void {
    if (this.consumed) {
      this.parser.unconsume();
      this.consumed = false;
      // The handle may be stopped (a close stops reading before its discard starts), and the
      // socket's own stream, which never read it, would not start it again on resume(): without
      // this a closing connection missed the peer's FIN and held its socket for the whole delay.
      setSocketReading(this.socket, true, true);
    } else {
      this.socket.removeListener('data', this.onDataBound);
    }
    this.reading = true;
    this.socket.on('data', onBytes);
  }

  /** Whether the socket should be read now (raw or not, nothing disabled, the side's own rules). */
  protected abstract wantsToRead(): boolean;
  /** Bytes read without a consumed handle (to parse). */
  protected abstract onData(chunk: Buffer): void;
  /** The consumed handle's read was parsed. */
  protected abstract onExecute(ret: number | ParseError): void;
  /** Bytes of an upgraded stream. */
  protected abstract onRawData(chunk: Buffer): void;
  protected abstract onEnd(): void;
  protected abstract onClose(): void;
}
